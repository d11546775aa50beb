#!/bin/bash
# Control-plane benchmark (`make bench-api`): ternd's HTTP API against PowerDNS 4.7 (gsqlite3, its
# HTTP API) in the same run on loopback. Prints one table and writes it to bench/results/api.md.
# See bench/api/README.md for what is measured and the knobs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
QUICK=${BENCH_API_QUICK:-0}
OUT=${BENCH_API_OUT:-$ROOT/bench/results/api.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-api.XXXXXX")

BENCH=api BENCH_KEEP=${BENCH_API_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

"$HERE/deps.sh"
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --poll "$WORK/bin/dnspoll" --out "$OUT")
[ "$QUICK" = 1 ] && args+=(--quick)
[ -n "${BENCH_API_CHANGES:-}" ] && args+=(--changes "$BENCH_API_CHANGES")
[ -n "${BENCH_API_ZONES:-}" ] && args+=(--zones "$BENCH_API_ZONES")
[ -n "${BENCH_API_WRITES:-}" ] && args+=(--writes "$BENCH_API_WRITES")
[ -n "${BENCH_API_SECONDS:-}" ] && args+=(--seconds "$BENCH_API_SECONDS")
[ -n "${BENCH_API_POLL_MS:-}" ] && args+=(--poll-ms "$BENCH_API_POLL_MS")
[ -n "${BENCH_API_FINE_POLL_MS:-}" ] && args+=(--fine-poll-ms "$BENCH_API_FINE_POLL_MS")
[ -n "${BENCH_API_WARMUP:-}" ] && args+=(--warmup "$BENCH_API_WARMUP")
[ "${BENCH_API_STRACE:-1}" = 0 ] && args+=(--no-strace)
load=$(cut -d' ' -f1 /proc/loadavg)
if [ "${BENCH_API_SCHED:-none}" = none ] && awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	log "warning: load average $load on $(nproc) CPUs: other work will show in the figures (BENCH_API_SCHED=fifo shields the run)"
fi
# BENCH_API_SCHED: none, nice or fifo (bench/lib.sh, bench_drive)
bench_drive "${BENCH_API_SCHED:-none}" "$PY" "$HERE/bench_api.py" "${args[@]}"
