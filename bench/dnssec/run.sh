#!/bin/bash
# DNSSEC benchmark (`make bench-dnssec`): ternd's online signer against Knot DNS (same algorithm,
# 2 signing threads) in the same run. Writes bench/results/dnssec.md. See bench/README.md.
#   BENCH_DNSSEC_QUICK=1   100k RRs, 20 changes, 2,000 replayed queries (a smoke run)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_DNSSEC_OUT:-$ROOT/bench/results/dnssec.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-dnssec.XXXXXX")

BENCH=dnssec BENCH_KEEP=${BENCH_DNSSEC_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for p in knotd knotc kdig valgrind dnssec-keygen dnssec-signzone cc; do
	command -v "$p" >/dev/null || { log "$p is missing: run bench/deps.sh"; exit 1; }
done
$PY -c 'import dns.query, jwt, cryptography' 2>/dev/null ||
	{ log "python3-dnspython, python3-jwt and python3-cryptography are needed (apt-get install)"; exit 1; }
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --poll "$WORK/bin/dnspoll" --out "$OUT")
if [ "${BENCH_DNSSEC_QUICK:-0}" = 1 ]; then
	args+=(--big-rrs 100000 --changes 20 --replay 2000)
fi
[ -n "${BENCH_DNSSEC_RRS:-}" ] && args+=(--big-rrs "$BENCH_DNSSEC_RRS")
[ -n "${BENCH_DNSSEC_CHANGES:-}" ] && args+=(--changes "$BENCH_DNSSEC_CHANGES")
[ -n "${BENCH_DNSSEC_PHASES:-}" ] && args+=(--phases "$BENCH_DNSSEC_PHASES")
bench_drive "${BENCH_DNSSEC_SCHED:-none}" "$PY" "$HERE/bench_dnssec.py" "${args[@]}"
