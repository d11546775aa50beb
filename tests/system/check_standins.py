"""Stand-ins for the parts of the simulated Internet that Debian packages no server for (test_check.py):
a registry's WHOIS server (port 43, RFC 3912) and RDAP server (RFC 9083), and an authoritative server
that serves zones real servers refuse to load (a CNAME at the apex, a CNAME beside other data: Knot,
NSD, BIND and ternd all reject those zones, and the checks must see them served).

    check_standins.py dns ADDR ZONES.json [DELAY]
                                               zones {apex: [[owner, ttl, type, rdata], ...]}; other
                                               names get REFUSED (a lame server for them); answers
                                               over 1232 octets go truncated (TC) over UDP, whole over
                                               TCP; DELAY seconds before each answer (a slow server)
    check_standins.py whois ADDR PORT REG.json {domain: {registrar, expires, ns: [...]}}
    check_standins.py whois-flood ADDR PORT    answers every question with text that never ends
    check_standins.py whois-slow ADDR PORT     answers with a line every 0.2 s, never closing
    check_standins.py rdap ADDR PORT REG.json  GET /rdap/domain/NAME as application/rdap+json
    check_standins.py rdap-html ADDR PORT      answers every request with an HTML page
Run with /usr/bin/python3; each prints nothing and serves until killed."""
import http.server
import json
import socket
import socketserver
import sys
import threading
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.flags


def load_zones(path):
    with open(path) as f:
        raw = json.load(f)
    zones = {}
    for apex, records in raw.items():
        data = {}
        for owner, ttl, rtype, rdata in records:
            name = dns.name.from_text(owner)
            t = dns.rdatatype.from_text(rtype)
            rs = data.setdefault((name, t), dns.rrset.RRset(name, dns.rdataclass.IN, t))
            rs.add(dns.rdata.from_text(dns.rdataclass.IN, t, rdata), ttl)
        zones[dns.name.from_text(apex)] = data
    return zones


def delegation(data, apex, qname):
    """The zone cut below apex at or above qname (a name with NS records other than the apex), or None."""
    for n, t in data:
        if t == dns.rdatatype.NS and n != apex and qname.is_subdomain(n):
            return n
    return None


def answer(zones, wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    qname, qtype = q.question[0].name, q.question[0].rdtype
    apex = max((z for z in zones if qname.is_subdomain(z)), key=lambda z: len(z), default=None)
    if apex is None:
        r.set_rcode(dns.rcode.REFUSED)
        return r
    data = zones[apex]
    cut = delegation(data, apex, qname)
    if cut is not None and not (qname == cut and qtype == dns.rdatatype.DS):
        r.authority.append(data[(cut, dns.rdatatype.NS)])  # a referral, glue from the zone's data
        for ns in data[(cut, dns.rdatatype.NS)]:
            if (ns.target, dns.rdatatype.A) in data:
                r.additional.append(data[(ns.target, dns.rdatatype.A)])
        return r
    r.flags |= dns.flags.AA
    if (qname, qtype) in data:
        r.answer.append(data[(qname, qtype)])
        sigs = [rd for rd in data.get((qname, dns.rdatatype.RRSIG), []) if rd.type_covered == qtype]
        if sigs:  # the zone's data may carry RRSIGs: the ones over the answer go with it
            rs = dns.rrset.RRset(qname, dns.rdataclass.IN, dns.rdatatype.RRSIG, qtype)
            for rd in sigs:
                rs.add(rd, data[(qname, dns.rdatatype.RRSIG)].ttl)
            r.answer.append(rs)
    elif (qname, dns.rdatatype.CNAME) in data:
        r.answer.append(data[(qname, dns.rdatatype.CNAME)])
    else:
        if not any(n == qname for n, _ in data):
            r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(data[(apex, dns.rdatatype.SOA)])
    return r


def serve_dns(addr, path, delay):
    zones = load_zones(path)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, 53))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, 53))
    tcp.listen(16)

    def tcp_loop():
        while True:
            c, _ = tcp.accept()
            try:
                c.settimeout(5)
                n = int.from_bytes(c.recv(2), "big")
                wire = b""
                while len(wire) < n:
                    chunk = c.recv(n - len(wire))
                    if not chunk:
                        break
                    wire += chunk
                out = answer(zones, wire).to_wire(max_size=65535)
                c.sendall(len(out).to_bytes(2, "big") + out)
            except Exception:
                pass
            finally:
                c.close()

    threading.Thread(target=tcp_loop, daemon=True).start()
    while True:
        wire, peer = udp.recvfrom(65535)
        try:
            r = answer(zones, wire)
            out = r.to_wire(max_size=65535)
            if len(out) > 1232:
                r.answer.clear()
                r.authority.clear()
                r.additional.clear()
                r.flags |= dns.flags.TC
                out = r.to_wire(max_size=65535)
            time.sleep(delay)
            udp.sendto(out, peer)
        except Exception:
            pass


class Whois(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve_whois(addr, port, path, flood, slow=False):
    reg = {}
    if path:
        with open(path) as f:
            reg = json.load(f)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            name = self.rfile.readline(512).decode("ascii", "replace").strip().lower().rstrip(".")
            if slow:
                try:
                    while True:
                        self.wfile.write(b"% please wait\r\n")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    return
            if flood:
                line = b"% this registry has a lot to say " + b"x" * 200 + b"\r\n"
                try:
                    while True:
                        self.wfile.write(line * 64)
                except OSError:
                    return
            d = reg.get(name)
            if not d:
                self.wfile.write(("No match for \"%s\".\r\n" % name.upper()).encode())
                return
            text = "Domain Name: %s\r\nRegistrar: %s\r\nRegistry Expiry Date: %s\r\n" % (
                name.upper(), d["registrar"], d["expires"])
            text += "".join("Name Server: %s\r\n" % ns.upper() for ns in d["ns"])
            text += ">>> Last update of WHOIS database: 2026-12-06T00:00:00Z <<<\r\n"
            self.wfile.write(text.encode())

    Whois((addr, port), Handler).serve_forever()


def serve_rdap(addr, port, path, html):
    reg = {}
    if path:
        with open(path) as f:
            reg = json.load(f)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if html:
                self.send(200, "text/html", b"<html><body><h1>Welcome to our registry portal</h1></body></html>")
                return
            prefix = "/rdap/domain/"
            name = self.path[len(prefix):].lower().rstrip(".") if self.path.startswith(prefix) else ""
            d = reg.get(name)
            if not d:
                body = {"errorCode": 404, "title": "Not Found", "rdapConformance": ["rdap_level_0"]}
                self.send(404, "application/rdap+json", json.dumps(body).encode())
                return
            body = {
                "rdapConformance": ["rdap_level_0"],
                "objectClassName": "domain",
                "ldhName": name,
                "entities": [{"objectClassName": "entity", "roles": ["registrar"],
                              "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                                       ["fn", {}, "text", d["registrar"]]]]}],
                "events": [{"eventAction": "registration", "eventDate": "2020-01-01T00:00:00Z"},
                           {"eventAction": "expiration", "eventDate": d["expires"]}],
                "nameservers": [{"objectClassName": "nameserver", "ldhName": ns} for ns in d["ns"]],
            }
            self.send(200, "application/rdap+json", json.dumps(body).encode())

    http.server.ThreadingHTTPServer((addr, port), Handler).serve_forever()


def main(argv):
    mode = argv[1]
    if mode == "dns":
        serve_dns(argv[2], argv[3], float(argv[4]) if len(argv) > 4 else 0.0)
    elif mode in ("whois", "whois-flood", "whois-slow"):
        serve_whois(argv[2], int(argv[3]), argv[4] if len(argv) > 4 else None, mode == "whois-flood",
                    mode == "whois-slow")
    elif mode in ("rdap", "rdap-html"):
        serve_rdap(argv[2], int(argv[3]), argv[4] if len(argv) > 4 else None, mode == "rdap-html")
    else:
        sys.exit("unknown mode %s" % mode)


if __name__ == "__main__":
    main(sys.argv)
