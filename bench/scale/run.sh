#!/bin/bash
# Many small zones (`make bench-scale`): ternd, Knot and NSD each serving N zone files of six
# records; start to every zone served, CPU, PSS, `ternd --check`, SIGHUP after one file changed
# (bench/README.md). Writes bench/results/scale.md.
#   BENCH_SCALE_ZONES=10000   the number of zones (default 100,000)
#   BENCH_SCALE_SERVERS="ternd"  a subset of "ternd knot nsd"
#   BENCH_SCALE_REUSE=DIR      zone files an earlier run generated (kept with BENCH_SCALE_KEEP=1)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_SCALE_OUT:-$ROOT/bench/results/scale.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-scale.XXXXXX")

BENCH=scale BENCH_KEEP=${BENCH_SCALE_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for p in knotd knotc nsd cc; do
	command -v "$p" >/dev/null || { log "$p is missing: run bench/deps.sh"; exit 1; }
done
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --out "$OUT" --zones "${BENCH_SCALE_ZONES:-100000}")
[ -n "${BENCH_SCALE_SERVERS:-}" ] && args+=(--servers "$BENCH_SCALE_SERVERS")
[ -n "${BENCH_SCALE_REUSE:-}" ] && args+=(--reuse "$BENCH_SCALE_REUSE")
bench_drive "${BENCH_SCALE_SCHED:-none}" "$PY" "$HERE/bench_scale.py" "${args[@]}"

# The API's zones in the store (bench_scale_api.py, bench/results/scale-api.md): 1,000 and then
# BENCH_SCALE_API_ZONES zones (default 1,000,000; 0 skips it).
if [ "${BENCH_SCALE_API_ZONES:-1000000}" != 0 ]; then
	OUT=${BENCH_SCALE_API_OUT:-$ROOT/bench/results/scale-api.md}
	bench_drive "${BENCH_SCALE_SCHED:-none}" "$PY" "$HERE/bench_scale_api.py" --work "$WORK" --ternd "$WORK/bin/ternd" \
		--out "$OUT" --zones "${BENCH_SCALE_API_ZONES:-1000000}"
fi
