#!/bin/bash
# Internet-facing PoPs benchmark (`make bench-edge`, issue 25): instructions per query with response
# rate limiting off vs on, the amplification factor under a spoofed flood against Knot's mod-rrl,
# DNS over TLS against NSD and BIND, and the XoT section (bench/README.md). Writes
# bench/results/edge.md and .json. Needs root (a network namespace and a raw socket).
#   BENCH_EDGE_ONLY=ipq,amp,dot,xot   measure some parts, keep the others' figures from edge.json
#   BENCH_EDGE_QUICK=1                a smoke run: 1,000 queries, a 2,000-query flood, 1 round, 3 s DoT
#   BENCH_EDGE_ROUNDS=N               flood rounds (default 3); BENCH_EDGE_DOT_ROUNDS (3)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_EDGE_OUT:-$ROOT/bench/results/edge.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-edge.XXXXXX")

BENCH=edge BENCH_KEEP=${BENCH_EDGE_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

[ "$(id -u)" -eq 0 ] || { log "needs root (network namespace, raw socket)"; exit 1; }
for p in valgrind callgrind_annotate knotd kdig nsd named dnsperf openssl taskset ip nsenter unshare cc; do
	command -v "$p" >/dev/null || { log "$p is missing: run bench/edge/deps.sh"; exit 1; }
done
$PY -c 'import dns.message' 2>/dev/null || { log "python3-dnspython is needed: run bench/edge/deps.sh"; exit 1; }
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --out "$OUT")
[ -n "${BENCH_EDGE_ONLY:-}" ] && args+=(--only "$BENCH_EDGE_ONLY")
[ -n "${BENCH_EDGE_ROUNDS:-}" ] && args+=(--rounds "$BENCH_EDGE_ROUNDS")
[ -n "${BENCH_EDGE_DOT_ROUNDS:-}" ] && args+=(--dot-rounds "$BENCH_EDGE_DOT_ROUNDS")
if [ "${BENCH_EDGE_QUICK:-0}" = 1 ]; then
	args+=(--queries 1000 --names 10000 --flood 2000 --pace 1000 --rounds 1 --dot-seconds 3 --dot-rounds 1
		--xot-rounds 1 --big-rrs 100000)
fi
bench_drive "${BENCH_EDGE_SCHED:-none}" "$PY" "$HERE/bench_edge.py" "${args[@]}"
