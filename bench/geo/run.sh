#!/bin/bash
# Dynamic answers benchmark (`make bench-geo`): instructions per query of ternd's geo answers, next
# to its static answers and to Knot's mod-geoip and gdnsd's geoip plugin on the same rules
# (bench/README.md). Writes bench/results/geo.md.
#   BENCH_GEO_QUICK=1   100 subnets, 1,000 queries (a smoke run)
#   BENCH_GEO_SERVERS=ternd   measure only these (comma-separated of ternd,knot,gdnsd; while
#                       tuning): logs the figures and writes no report
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_GEO_OUT:-$ROOT/bench/results/geo.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-geo.XXXXXX")

BENCH=geo BENCH_KEEP=${BENCH_GEO_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for p in valgrind cc knotd gdnsd; do
	command -v "$p" >/dev/null || { log "$p is missing: run bench/deps.sh"; exit 1; }
done
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --out "$OUT")
if [ -n "${BENCH_GEO_SERVERS:-}" ]; then
	args+=(--servers "$BENCH_GEO_SERVERS")
fi
if [ "${BENCH_GEO_QUICK:-0}" = 1 ]; then
	args+=(--subnets 100 --queries 1000)
fi
bench_drive "${BENCH_GEO_SCHED:-none}" "$PY" "$HERE/bench_geo.py" "${args[@]}"
