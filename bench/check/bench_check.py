"""bench-check: tern check domain against zonemaster-cli on the lab of tests/system/test_check.py
(started through its check_lab(), not copied), in the same run: per round each tool once, the order
alternating, wall time of the whole command (both entered into the namespace the same way), and
Zonemaster's ERROR messages checked to stay covered by tern's findings (test_check_zonemaster's
mapping). Best and median of the rounds; target: tern's median <= 0.5x Zonemaster's."""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

import benchlib  # noqa: E402

ZONE = "corp.lab"
TARGET = 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--fixture-rounds", type=int, default=3, help="rounds over the broken-zone fixtures (0: none)")
    ap.add_argument("--sched", default="none")
    a = ap.parse_args()
    os.environ["TERND"] = a.ternd  # test_check takes ternd and tern from here
    import test_check as tc
    import test_check_zonemaster as zm

    load_before = benchlib.loadavg()
    times = {"tern": [], "tern+registry": [], "zonemaster": []}
    tern_ms, queries, zm_seen, tern_seen = [], [], set(), set()
    with tc.check_lab(os.path.join(a.work, "lab")) as lab:
        hints = os.path.join(lab.dir, "root.hints")
        base = [tc.TERN, "check", "domain", ZONE, "--hints", hints, "--json"]
        runs = {"tern": base + ["--no-whois"], "tern+registry": base + tc.REGISTRY_ARGS}

        def tern(kind):
            t0 = time.monotonic()
            r = lab.ns.run(runs[kind], check=False, timeout=120)
            seconds = time.monotonic() - t0
            report = json.loads(r.stdout)
            return seconds, report

        # warm-up: page cache, the servers' first answers
        tern("tern")
        zm.zonemaster_errors(lab, ZONE)
        for i in range(a.rounds):
            order = ["tern", "tern+registry", "zonemaster"]
            if i % 2:
                order.reverse()
            round_codes = {}
            for kind in order:
                if kind == "zonemaster":
                    errors, seconds = zm.zonemaster_errors(lab, ZONE)
                    zm_seen.update(errors)
                else:
                    seconds, report = tern(kind)
                    round_codes[kind] = sorted({f["code"] for f in report["findings"]})
                    tern_seen.update(round_codes[kind])
                    if kind == "tern":
                        tern_ms.append(report["ms"])
                        queries.append(report["queries"])
                times[kind].append(seconds)
            for kind, codes in round_codes.items():
                missing = zm.covered(errors, codes)
                assert not missing, "round %d, %s: Zonemaster's errors not covered: %s" % (i + 1, kind, missing)
            print("[bench-check] round %d: %s" % (i + 1, ", ".join("%s %.3f s" % (k, times[k][-1]) for k in times)),
                  file=sys.stderr)
        # the fixtures: the same comparison where Zonemaster does report errors
        fixtures = {z: {"tern": [], "zonemaster": [], "errors": set(), "codes": set()} for z in zm.ZONES if z != ZONE}
        for i in range(a.fixture_rounds):
            for zone, f in fixtures.items():
                order = ["tern", "zonemaster"] if i % 2 == 0 else ["zonemaster", "tern"]
                for kind in order:
                    if kind == "zonemaster":
                        errors, seconds = zm.zonemaster_errors(lab, zone)
                        f["errors"].update(errors)
                    else:
                        t0 = time.monotonic()
                        codes, _ = zm.tern_codes(lab, zone)
                        seconds = time.monotonic() - t0
                        f["codes"].update(codes)
                    f[kind].append(seconds)
                missing = zm.covered(errors, codes)
                assert not missing, "%s: Zonemaster's errors not covered: %s" % (zone, missing)
            print("[bench-check] fixtures round %d done" % (i + 1), file=sys.stderr)

    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    ratio = med["tern"] / med["zonemaster"]
    ratio_reg = med["tern+registry"] / med["zonemaster"]
    lines = [
        "# tern check against Zonemaster (`make bench-check`)",
        "",
        "Wall time of one command on the lab of `tests/system/test_check.py` (a network namespace: Knot serving "
        "the root and `lab.`, ternd serving `corp.lab.` with a Knot secondary one serial behind, the WHOIS and "
        "RDAP stand-ins), %d rounds, each running every row once in alternating order, after one warm-up run "
        "of each; every command entered into the namespace with `nsenter` the same way." % a.rounds,
        "",
        "| command | best s | median s | median / Zonemaster | target |",
        "|---|---|---|---|---|",
        "| `tern check domain %s --hints FILE --no-whois --json` | %.3f | %.3f | %.3f | <= %.1f %s |" % (
            ZONE, best["tern"], med["tern"], ratio, TARGET, "met" if ratio <= TARGET else "NOT met"),
        "| the same with `--whois` and `--rdap` (the stand-ins) | %.3f | %.3f | %.3f | <= %.1f %s |" % (
            best["tern+registry"], med["tern+registry"], ratio_reg, TARGET, "met" if ratio_reg <= TARGET else "NOT met"),
        "| `zonemaster-cli %s --hints FILE --no-ipv6 --raw --level ERROR --json-stream` | %.3f | %.3f | 1.000 | |" % (
            ZONE, best["zonemaster"], med["zonemaster"]),
        "",
        "tern's own figure of the check (`ms` in its report, without process start): median %.1f ms, %d DNS "
        "queries." % (statistics.median(tern_ms), statistics.median(queries)),
        "",
        "Findings: Zonemaster's ERROR messages over all rounds (ADDRESS01 for 198.18/15 left out): %s; "
        "tern's codes: %s. Zonemaster's errors stayed a subset of tern's findings in every round (the mapping "
        "of `tests/system/test_check_zonemaster.py`)." % (
            ", ".join(sorted(zm_seen)) or "none", ", ".join(sorted(tern_seen)) or "none"),
        "",
    ]
    if a.fixture_rounds:
        tz = sum(statistics.median(f["tern"]) for f in fixtures.values())
        zz = sum(statistics.median(f["zonemaster"]) for f in fixtures.values())
        lines += [
            "The broken-zone fixtures of `tests/system/test_check.py` (and its clean ones), %d rounds each, "
            "`tern check domain ZONE --no-whois` against the same Zonemaster command; the subset checked each "
            "round:" % a.fixture_rounds,
            "",
            "| zone | tern median s | Zonemaster median s | ratio | Zonemaster's errors | tern's findings |",
            "|---|---|---|---|---|---|",
        ] + ["| %s | %.3f | %.3f | %.3f | %s | %s |" % (
            z, statistics.median(f["tern"]), statistics.median(f["zonemaster"]),
            statistics.median(f["tern"]) / statistics.median(f["zonemaster"]),
            ", ".join(sorted(f["errors"])) or "none", ", ".join(sorted(f["codes"])) or "none")
            for z, f in fixtures.items()] + [
            "| **all %d** | %.3f | %.3f | **%.3f** | | |" % (len(fixtures), tz, zz, tz / zz),
            "",
        ]
    lines += [
        "Machine: %s; load average before %s, after %s; scheduling %s. tern %s." % (
            benchlib.machine(a.work), load_before, benchlib.loadavg(), a.sched, benchlib.ternd_version()),
        "",
        "Per round (s): " + "; ".join("%s %s" % (k, " ".join("%.3f" % x for x in v)) for k, v in times.items()),
        "",
    ]
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
