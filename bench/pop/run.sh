#!/bin/bash
# PoP propagation benchmark (`make bench-pop`): change -> served on ternd PoPs, on a Knot secondary of
# ternd and on a Knot secondary of Knot. Writes bench/results/pop.md. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_POP_OUT:-$ROOT/bench/results/pop.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-pop.XXXXXX")

BENCH=pop BENCH_KEEP=${BENCH_POP_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for p in knotd knotc cc; do
	command -v "$p" >/dev/null || { log "$p is missing: apt-get install knot build-essential"; exit 1; }
done
$PY -c 'import dns.query, jwt, cryptography' 2>/dev/null ||
	{ log "python3-dnspython, python3-jwt and python3-cryptography are needed (apt-get install)"; exit 1; }
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --poll "$WORK/bin/dnspoll" --out "$OUT")
[ -n "${BENCH_POP_CHANGES:-}" ] && args+=(--changes "$BENCH_POP_CHANGES")
[ -n "${BENCH_POP_NAMES:-}" ] && args+=(--names "$BENCH_POP_NAMES")
# BENCH_POP_SCHED: none, nice or fifo (bench/lib.sh, bench_drive)
bench_drive "${BENCH_POP_SCHED:-none}" "$PY" "$HERE/bench_pop.py" "${args[@]}"
