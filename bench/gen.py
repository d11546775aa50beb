#!/usr/bin/python3
"""Benchmark data, deterministic (seeded): the 100k-name zone bench.test, the dnsperf query file
with the expected outcome of every query, and the big zone big.test with an exact RR count.

  gen.py OUTDIR [--names 100000] [--queries 200000] [--big-rrs 1000000] [--seed 6]

Writes OUTDIR/bench.test.zone, OUTDIR/queries.txt ("name type", dnsperf's format),
OUTDIR/queries.expect ("name type rcode kind" per line, same order), OUTDIR/big.test.zone and
OUTDIR/big.test.rrs (the RR count of big.test)."""

import argparse
import os
import random
import string

LETTERS = string.ascii_lowercase
ALNUM = string.ascii_lowercase + string.digits
RESERVED = {"ns1", "ns2", "wild", "sub", "mail", "nx"}


def make_labels(rng, count, taken):
    """count unique host labels (4..12 characters), 10% of them below a "www"/"mail"/"api" label."""
    out = []
    while len(out) < count:
        n = rng.randint(4, 12)
        label = rng.choice(LETTERS) + "".join(rng.choices(ALNUM, k=n - 1))
        if rng.random() < 0.10:
            label = rng.choice(("www", "mail", "api")) + "." + label
        if label in taken or label.split(".")[-1] in RESERVED:
            continue
        taken.add(label)
        out.append(label)
    return out


def ipv4(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def ipv6(i):
    return "2001:db8:%x:%x::%x" % ((i >> 16) & 0xFFFF, i & 0xFFFF, (i * 7) & 0xFFFF)


def header(origin):
    return (
        f"$ORIGIN {origin}.\n$TTL 3600\n"
        f"@ IN SOA ns1.{origin}. hostmaster.{origin}. 2026112301 7200 900 1209600 300\n"
        "@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mail\n"
        "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\nmail IN A 192.0.2.25\n"
    )


HEADER_RRS = 7


def gen_bench_zone(rng, path, nnames):
    """The 100k-name zone: every name has an A; 50% an AAAA, 10% an MX (to another host), 10% a TXT.
    Plus a wildcard (*.wild) and a delegation (sub, with glue). Returns {label: [types]}."""
    labels = make_labels(rng, nnames, set())
    hosts = {}
    with open(path, "w") as f:
        f.write(header("bench.test"))
        f.write('*.wild IN A 192.0.2.100\n*.wild IN AAAA 2001:db8::100\n*.wild IN TXT "wildcard answer"\n')
        f.write("sub IN NS ns1.sub\nsub IN NS ns2.sub\nns1.sub IN A 192.0.2.201\nns2.sub IN A 192.0.2.202\n")
        for i, label in enumerate(labels):
            types = ["A"]
            f.write(f"{label} IN A {ipv4(i)}\n")
            if rng.random() < 0.5:
                types.append("AAAA")
                f.write(f"{label} IN AAAA {ipv6(i)}\n")
            if rng.random() < 0.1:
                types.append("MX")
                f.write(f"{label} IN MX 10 {labels[rng.randrange(nnames)]}\n")
            if rng.random() < 0.1:
                types.append("TXT")
                token = "".join(rng.choices(ALNUM, k=rng.randint(16, 48)))
                f.write(f'{label} IN TXT "v=spf1 ip4:{ipv4(i)} -all" "{token}"\n')
            hosts[label] = types
    return hosts


def mixed_case(rng, name):
    while True:
        out = "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in name)
        if out != name or not any(c.isalpha() for c in name):
            return out


def gen_queries(rng, hosts, nqueries, qpath, epath):
    """80% existing name+type, 10% NXDOMAIN, 10% other: NODATA types, apex, wildcard, case
    variants, below the delegation. The expect file holds rcode and kind for each line."""
    labels = list(hosts)
    existing = set(labels) | {l.split(".", 1)[1] for l in labels if "." in l}  # hosts and empty non-terminals
    weights = {"A": 60, "AAAA": 25, "MX": 7.5, "TXT": 7.5}
    with open(qpath, "w") as q, open(epath, "w") as e:
        for _ in range(nqueries):
            r = rng.random()
            if r < 0.80:
                label = rng.choice(labels)
                types = hosts[label]
                qtype = rng.choices(types, [weights[t] for t in types])[0]
                name, rcode, kind = f"{label}.bench.test", "NOERROR", "answer"
            elif r < 0.90:
                qtype = rng.choice(("A", "AAAA"))
                if rng.random() < 0.7:
                    while True:
                        label = "".join(rng.choices(ALNUM, k=rng.randint(5, 14)))
                        if label not in existing and label not in RESERVED:
                            break
                    name = f"{label}.bench.test"
                else:
                    name = "nx%d.%s.bench.test" % (rng.randrange(1000), rng.choice(labels))
                rcode, kind = "NXDOMAIN", "nxdomain"
            elif r < 0.93:
                label = rng.choice(labels)
                qtype = rng.choice(("SRV", "CAA", "NS", "HTTPS", "PTR"))
                name, rcode, kind = f"{label}.bench.test", "NOERROR", "nodata"
            elif r < 0.94:
                qtype = rng.choice(("SOA", "NS", "MX"))
                name, rcode, kind = "bench.test", "NOERROR", "answer"
            elif r < 0.97:
                qtype = rng.choice(("A", "AAAA", "TXT"))
                label = "".join(rng.choices(ALNUM, k=rng.randint(3, 10)))
                name, rcode, kind = f"{label}.wild.bench.test", "NOERROR", "answer"
            elif r < 0.99:
                label = rng.choice(labels)
                name = mixed_case(rng, f"{label}.bench.test")
                qtype, rcode, kind = "A", "NOERROR", "answer"
            else:
                label = "".join(rng.choices(ALNUM, k=rng.randint(3, 10)))
                qtype = rng.choice(("A", "AAAA"))
                name, rcode, kind = f"{label}.sub.bench.test", "NOERROR", "referral"
            q.write(f"{name} {qtype}\n")
            e.write(f"{name} {qtype} {rcode} {kind}\n")


def gen_big_zone(rng, path, target):
    """Exactly target RRs: hosts with an A, 50% an AAAA, 25% a TXT, 25% an MX, until the count."""
    total = HEADER_RRS
    labels = make_labels(rng, target // 2 + 10000, set())
    with open(path, "w") as f:
        f.write(header("big.test"))
        i = 0
        while total < target:
            label = labels[i]
            rrs = [f"{label} IN A {ipv4(i)}\n"]
            if rng.random() < 0.5:
                rrs.append(f"{label} IN AAAA {ipv6(i)}\n")
            if rng.random() < 0.25:
                rrs.append(f'{label} IN TXT "host {i}"\n')
            if rng.random() < 0.25:
                rrs.append(f"{label} IN MX 10 {labels[rng.randrange(len(labels) // 2)]}\n")
            rrs = rrs[: target - total]
            f.writelines(rrs)
            total += len(rrs)
            i += 1
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--names", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200_000)
    ap.add_argument("--big-rrs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    rng = random.Random(a.seed)
    hosts = gen_bench_zone(rng, os.path.join(a.outdir, "bench.test.zone"), a.names)
    gen_queries(rng, hosts, a.queries, os.path.join(a.outdir, "queries.txt"), os.path.join(a.outdir, "queries.expect"))
    rrs = gen_big_zone(random.Random(a.seed + 1), os.path.join(a.outdir, "big.test.zone"), a.big_rrs)
    with open(os.path.join(a.outdir, "big.test.rrs"), "w") as f:
        f.write(f"{rrs}\n")


if __name__ == "__main__":
    main()
