#!/usr/bin/python3
"""Benchmark records and the results table. Every measurement is appended as one JSON line to
$BENCH_DB; `table` turns them into the table of medians (stdout and a markdown file).

  report.py dnsperf SERVER ROUND LOG CPU0 CPU1 BUSY0 BUSY1   a load run (dnsperf log, tree CPU ticks,
                                                            busy ticks of the server's CPU)
  report.py latency SERVER ROUND LOG                        a dnsperf -v run at a fixed rate
  report.py meta KEY VALUE ...                              the run's parameters (first record)
  report.py json KIND SERVER JSON                           any other record (mem, verify, replay ...)
  report.py callgrind SERVER MODE DIR                       total Ir of every callgrind.out.* in DIR
  report.py profile IDLE_OUT REPLAY_OUT N                   per-function Ir/query, replay minus idle
  report.py table OUT.md                                    print the table and write it to OUT.md
"""

import glob
import json
import os
import re
import statistics
import subprocess
import sys

SERVERS = ["ternd", "knot", "nsd", "floor"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def db_path():
    return os.environ["BENCH_DB"]


def append(rec):
    with open(db_path(), "a") as f:
        f.write(json.dumps(rec) + "\n")


def load_db():
    with open(db_path()) as f:
        return [json.loads(line) for line in f if line.strip()]


def parse_dnsperf(text):
    def num(label):
        m = re.search(r"^\s*" + re.escape(label) + r":\s+([\d.]+)", text, re.M)
        return float(m.group(1)) if m else None

    rcodes = {}
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        for code, n in re.findall(r"([A-Z]+) (\d+)", m.group(1)):
            rcodes[code] = int(n)
    return {
        "sent": num("Queries sent"),
        "completed": num("Queries completed"),
        "lost": num("Queries lost"),
        "qps": num("Queries per second"),
        "avg_latency_s": num("Average Latency (s)"),
        "rcodes": rcodes,
    }


def cmd_dnsperf(server, rnd, log, cpu0, cpu1, busy0, busy1):
    with open(log) as f:
        d = parse_dnsperf(f.read())
    ticks = int(cpu1) - int(cpu0)
    d.update(kind="load", server=server, round=int(rnd), cpu_ticks=ticks)
    done = d["completed"] or 0
    d["cpu_us_per_query"] = ticks * 1e6 / CLK_TCK / done if done else None
    d["other_ticks_on_server_cpu"] = int(busy1) - int(busy0) - ticks
    append(d)


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def cmd_latency(server, rnd, log):
    lat = []
    with open(log) as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith("> "):
            parts = line.split()
            try:
                lat.append(float(parts[-1]) * 1e6)
            except ValueError:
                pass
    lat.sort()
    d = parse_dnsperf(text)
    append({"kind": "lat", "server": server, "round": int(rnd), "samples": len(lat),
            "p50_us": percentile(lat, 50), "p99_us": percentile(lat, 99), "lost": d["lost"], "qps": d["qps"]})


def callgrind_total(path):
    total = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("totals:") or (line.startswith("summary:") and total is None):
                total = int(line.split()[1])
    return total or 0


def cmd_callgrind(server, mode, d):
    files = sorted(glob.glob(os.path.join(d, "callgrind.out.*")))
    per = {os.path.basename(p): callgrind_total(p) for p in files}
    append({"kind": "cg", "server": server, "mode": mode, "ir": sum(per.values()), "files": per})


def annotate(path):
    """{function: exclusive Ir} from callgrind_annotate's function list."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    fns, section = {}, 0
    for line in out.splitlines():
        if "file:function" in line:
            section = 1
            continue
        if section == 1 and line.startswith("----"):
            section = 2
            continue
        m = re.match(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*)$", line)
        if section == 2 and m:
            fn = re.sub(r"\s*\[[^\]]*\]$", "", m.group(2))  # the object path
            fn = re.sub(r"^.*/", "", fn)  # the source directory
            fns[fn] = fns.get(fn, 0) + int(m.group(1).replace(",", ""))
        elif section == 2 and not line.strip():
            break
    return fns


def cmd_profile(idle, replay, n):
    a, b = annotate(idle), annotate(replay)
    n = max(1, int(n))
    diff = {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}
    total = sum(diff.values()) or 1
    rows = sorted(diff.items(), key=lambda kv: -kv[1])[:25]
    lines = [f"Ir/query total: {total:.0f} (per function: replay run minus idle run, / {n})", "",
             "| Ir/query | share | function |", "|---:|---:|---|"]
    for fn, v in rows:
        lines.append(f"| {v:.0f} | {100 * v / total:.1f}% | `{fn}` |")
    print("\n".join(lines))


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=2):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}"


def cmd_table(out_md):
    recs = load_db()
    meta = next((r for r in recs if r["kind"] == "meta"), {})
    by = lambda kind, s: [r for r in recs if r["kind"] == kind and r["server"] == s]  # noqa: E731
    fig = {s: {} for s in SERVERS}
    for s in SERVERS:
        loads = by("load", s)
        fig[s]["qps"] = med([r["qps"] for r in loads])
        fig[s]["cpu"] = med([r["cpu_us_per_query"] for r in loads])
        fig[s]["lost"] = sum((r["lost"] or 0) for r in loads)
        fig[s]["completed"] = sum((r["completed"] or 0) for r in loads)
        lats = by("lat", s)
        fig[s]["p50"] = med([r["p50_us"] for r in lats])
        fig[s]["p99"] = med([r["p99_us"] for r in lats])
        mem = by("mem", s)
        fig[s]["mem"] = mem[-1]["pss_kb"] / 1024 if mem else None
        fig[s]["rss"] = mem[-1]["rss_kb"] / 1024 if mem else None
        cg = {r["mode"]: r["ir"] for r in by("cg", s)}
        reps = [r for r in by("replay", s)]
        nrep = reps[-1]["sent"] if reps else None
        fig[s]["ipq"] = (cg["replay"] - cg["idle"]) / nrep if nrep and "replay" in cg and "idle" in cg else None
        big = by("big", s)
        fig[s]["big_load"] = med([b["load_s"] for b in big])
        fig[s]["big_mem"] = med([b["pss_kb"] / 1024 for b in big])
        fig[s]["big_bpr"] = med([b["pss_kb"] * 1024 / b["rrs"] for b in big])
    floor = fig["floor"]["cpu"]
    for s in SERVERS:
        c = fig[s]["cpu"]
        fig[s]["above"] = c - floor if c is not None and floor is not None and s != "floor" else None

    rounds, secs = meta.get("rounds"), meta.get("seconds")
    rrs = meta.get("big_rrs")
    rows = [
        ("QPS (bound by dnsperf on its one core)", "qps", 0),
        ("server CPU µs/query", "cpu", 2),
        ("CPU above the floor µs/query", "above", 2),
        ("instructions/query (callgrind)", "ipq", 0),
        (f"latency p50 µs (at {meta.get('lat_qps')} QPS)", "p50", 1),
        (f"latency p99 µs (at {meta.get('lat_qps')} QPS)", "p99", 1),
        ("memory after load MiB (PSS)", "mem", 1),
        (f"{rrs:,}-RR zone: load time s".replace(",", "\u2009") if rrs else "big zone: load time s", "big_load", 2),
        (f"{rrs:,}-RR zone: memory MiB (PSS)".replace(",", "\u2009") if rrs else "big zone: memory MiB", "big_mem", 1),
        (f"{rrs:,}-RR zone: bytes/RR".replace(",", "\u2009") if rrs else "big zone: bytes/RR", "big_bpr", 0),
    ]
    kv, nv = meta.get("knot_version", "Knot"), meta.get("nsd_version", "NSD")
    md = []
    md.append(f"# Tern benchmark: ternd vs {kv} vs {nv}\n")
    md.append(f"{meta.get('date', '')} · {meta.get('machine', '')} · ternd {meta.get('ternd_rev', '')} · "
              f"medians of {rounds} round(s) of {secs} s · load average at start {meta.get('loadavg', '?')}{' · QUICK MODE' if meta.get('quick') else ''}\n")
    md.append("| figure | ternd | Knot | NSD | floor | ternd/Knot | ternd/NSD |")
    md.append("|---|---:|---:|---:|---:|---:|---:|")
    for label, key, digits in rows:
        vals = [fig[s][key] for s in SERVERS]
        md.append(f"| {label} | " + " | ".join(fmt(v, digits) for v in vals) + " | "
                  f"{ratio(fig['ternd'][key], fig['knot'][key])} | {ratio(fig['ternd'][key], fig['nsd'][key])} |")
    md.append("")

    # Targets of issue 6.
    t = fig["ternd"]
    k, n = fig["knot"], fig["nsd"]

    def verdict(ok):
        return "n/a" if ok is None else ("met" if ok else "NOT met")

    def le(a, b):
        return None if a is None or b is None else a <= b

    low = min([v for v in (k["ipq"], n["ipq"]) if v is not None], default=None)
    md.append("Targets (issue 6):\n")
    md.append(f"- instructions/query <= 0.8 x min(Knot, NSD) = {fmt(0.8 * low, 0) if low else 'n/a'}: "
              f"{verdict(le(t['ipq'], 0.8 * low if low else None))}")
    md.append(f"- CPU above the floor <= Knot's: {verdict(le(t['above'], k['above']))}")
    md.append(f"- QPS >= Knot's: {verdict(le(k['qps'], t['qps']))}")
    md.append(f"- p99 latency <= Knot's: {verdict(le(t['p99'], k['p99']))}")
    md.append(f"- big zone load time <= Knot's: {verdict(le(t['big_load'], k['big_load']))}")
    md.append(f"- big zone bytes/RR <= NSD's: {verdict(le(t['big_bpr'], n['big_bpr']))}")
    md.append("")

    busy = [r["other_ticks_on_server_cpu"] / (CLK_TCK * secs) for r in recs if r["kind"] == "load" and secs]
    if busy and statistics.median(busy) > 0.05:
        md.append(f"**Warning: other processes kept the server CPU {100 * statistics.median(busy):.0f}% busy during "
                  "the load runs (median); QPS, CPU/query and latency are disturbed. Instructions/query are not.**\n")
    md.append("Checks:\n")
    for s in SERVERS:
        line = f"- {s}: {fig[s]['completed']:,.0f} answered, {fig[s]['lost']:,.0f} lost in the load runs"
        for v in by("verify", s):
            line += f"; sample {v['ok']}/{v['checked']} as expected"
            if v["failures"]:
                line += " (e.g. " + "; ".join(v["failures"][:3]) + ")"
        for r in by("replay", s):
            line += f"; callgrind replay {r['sent'] - r['lost']}/{r['sent']} answered"
        md.append(line)
    md.append("")

    md.append("Per round (QPS / CPU µs per query / other busy ticks on the server CPU / lost):\n")
    md.append("| round | " + " | ".join(SERVERS) + " |")
    md.append("|---" * (len(SERVERS) + 1) + "|")
    for rnd in sorted({r["round"] for r in recs if r["kind"] == "load"}):
        cells = []
        for s in SERVERS:
            r = next((x for x in recs if x["kind"] == "load" and x["server"] == s and x["round"] == rnd), None)
            cells.append("n/a" if not r else
                         f"{fmt(r['qps'], 0)} / {fmt(r['cpu_us_per_query'])} / {r['other_ticks_on_server_cpu']} / "
                         f"{r['lost']:.0f}")
        md.append(f"| {rnd} | " + " | ".join(cells) + " |")
    md.append("")

    md.append("Details:\n")
    for s in SERVERS:
        mem = by("mem", s)
        if mem:
            m = mem[-1]
            md.append(f"- {s} after load: VmRSS {m['rss_kb'] / 1024:.1f} MiB summed over {m['procs']} process(es), "
                      f"PSS {m['pss_kb'] / 1024:.1f} MiB")
        for b in by("big", s):
            md.append(f"- {s} big zone ({b['rrs']:,} RRs): answers after {b['load_s']:.2f} s; VmRSS "
                      f"{b['rss_kb'] / 1024:.1f} MiB over {b['procs']} process(es), PSS {b['pss_kb'] / 1024:.1f} MiB, "
                      f"peak VmHWM {b['hwm_kb'] / 1024:.1f} MiB")
        cg = by("cg", s)
        if cg:
            md.append(f"- {s} callgrind: " + ", ".join(f"{r['mode']} {r['ir']:,} Ir in {len(r['files'])} file(s)"
                                                        for r in cg))
    moved = sorted({f"{r['server']} (CPUs {r['before']})" for r in recs
                    if r["kind"] == "affinity" and r["before"] != r["after"]})
    if moved:
        md.append("- threads that had set their own CPU affinity, moved to the server CPU after start: "
                  + ", ".join(moved))
    for r in recs:
        if r["kind"] == "check":
            md.append(f"- {r['server']} --check of the big zone: {r['wall_s']:.2f} s wall, max RSS "
                      f"{r['maxrss_kb'] / 1024:.1f} MiB (parse + build, no server)")
    md.append("")
    md.append("Method: " + meta.get("method", ""))
    md.append("")
    prof = meta.get("profile_file")
    if prof and os.path.exists(prof):
        md.append("## Where ternd's instructions go (callgrind, exclusive Ir per query)\n")
        with open(prof) as f:
            md.append(f.read())
    text = "\n".join(md) + "\n"
    print(text)
    with open(out_md, "w") as f:
        f.write(text)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "dnsperf":
        cmd_dnsperf(*args)
    elif cmd == "latency":
        cmd_latency(*args)
    elif cmd == "meta":
        rec = {"kind": "meta", "server": "all"}
        for k, v in zip(args[0::2], args[1::2]):
            rec[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
        rec["quick"] = rec.get("quick") == 1
        append(rec)
    elif cmd == "json":
        rec = json.loads(args[2])
        rec.update(kind=args[0], server=args[1])
        append(rec)
    elif cmd == "callgrind":
        cmd_callgrind(*args)
    elif cmd == "profile":
        cmd_profile(*args)
    elif cmd == "table":
        cmd_table(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
