#!/bin/bash
# Usage counting benchmark (`make bench-usage`, issue 26): instructions per query in the UDP worker
# with usage.count-queries on and off, and dnstap off and on for ternd and for Knot with mod-dnstap
# (callgrind, the same replay as bench-signal's: 10,000 queries
# over 1,000 names). Writes bench/results/usage.md and .json (bench/README.md).
#   BENCH_USAGE_QUERIES=N   queries replayed under callgrind (default 10000)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_USAGE_OUT:-$ROOT/bench/results/usage.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-usage.XXXXXX")

BENCH=usage BENCH_KEEP=${BENCH_USAGE_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

command -v valgrind >/dev/null || { log "valgrind is missing: apt-get install valgrind"; exit 1; }
$PY -c 'import dns.message' 2>/dev/null || { log "python3-dnspython is needed"; exit 1; }
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --out "$OUT")
[ -n "${BENCH_USAGE_QUERIES:-}" ] && args+=(--queries "$BENCH_USAGE_QUERIES")
bench_drive "${BENCH_USAGE_SCHED:-none}" "$PY" "$HERE/bench_usage.py" "${args[@]}"
