"""A hostile authoritative server for hostile.lab. (test_onboard.py), UDP only (so AXFR fails): the
apex A comes with a record outside the zone and an RRSIG, the apex TXT is too long to keep, and the
apex NSEC is answered too. Usage: onboard_hostile.py ADDR"""
import socket
import sys

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

ZONE = dns.name.from_text("hostile.lab.")


def rrset(name, rtype, *texts):
    return dns.rrset.from_text(name, 300, "IN", rtype, *texts)


DATA = {
    (ZONE, dns.rdatatype.SOA): [rrset("hostile.lab.", "SOA", "ns.hostile.lab. h.hostile.lab. 1 1800 900 604800 60")],
    (ZONE, dns.rdatatype.NS): [rrset("hostile.lab.", "NS", "ns.hostile.lab.")],
    (ZONE, dns.rdatatype.A): [rrset("hostile.lab.", "A", "192.0.2.7"), rrset("evil.example.", "A", "203.0.113.66"),
                              rrset("hostile.lab.", "RRSIG", "A 13 2 300 20300101000000 20200101000000 12345 "
                                                             "hostile.lab. dGVzdHRlc3R0ZXN0")],
    (ZONE, dns.rdatatype.TXT): [rrset("hostile.lab.", "TXT", *(['"' + "\\001" * 255 + '" "' + "\\001" * 255 + '" "' + "\\001" * 20 + '"']))],
    (ZONE, dns.rdatatype.MX): [rrset("hostile.lab.", "NSEC", "hostile.lab. A NS SOA MX TXT RRSIG NSEC")],
}


def answer(wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    qname, qtype = q.question[0].name, q.question[0].rdtype
    if not qname.is_subdomain(ZONE):
        r.set_rcode(5)
        r.flags &= ~dns.flags.AA
        return r
    for rs in DATA.get((qname, qtype), []):
        r.answer.append(rs)
    if not r.answer:
        r.authority.append(DATA[(ZONE, dns.rdatatype.SOA)][0])
    return r


def main(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        wire, peer = s.recvfrom(65535)
        try:
            s.sendto(answer(wire).to_wire(max_size=65535), peer)
        except Exception as e:  # a query it cannot read: no answer
            print("bad query from %s: %s" % (peer, e), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
