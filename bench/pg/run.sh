#!/bin/bash
# The control plane on PostgreSQL (`make bench-pg`, issue 24): ternd with api.store in PostgreSQL
# against PowerDNS 4.7 with gpgsql, both on one PostgreSQL 15 of the run's own; API writes/s, zone
# creations/s, change -> served and queries/s. Writes bench/results/pg.md. bench/README.md, "bench-pg".
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
QUICK=${BENCH_PG_QUICK:-0}
OUT=${BENCH_PG_OUT:-$ROOT/bench/results/pg.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-pg.XXXXXX")

BENCH=pg BENCH_KEEP=${BENCH_PG_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

"$HERE/deps.sh"
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --poll "$WORK/bin/dnspoll" --out "$OUT")
[ "$QUICK" = 1 ] && args+=(--quick)
[ -n "${BENCH_PG_CHANGES:-}" ] && args+=(--changes "$BENCH_PG_CHANGES")
[ -n "${BENCH_PG_ZONES:-}" ] && args+=(--zones "$BENCH_PG_ZONES")
[ -n "${BENCH_PG_WRITES:-}" ] && args+=(--writes "$BENCH_PG_WRITES")
[ -n "${BENCH_PG_SECONDS:-}" ] && args+=(--seconds "$BENCH_PG_SECONDS")
[ -n "${BENCH_PG_WARMUP:-}" ] && args+=(--warmup "$BENCH_PG_WARMUP")
[ -n "${BENCH_PG_QPS_SECONDS:-}" ] && args+=(--qps-seconds "$BENCH_PG_QPS_SECONDS")
load=$(cut -d' ' -f1 /proc/loadavg)
if [ "${BENCH_PG_SCHED:-none}" = none ] && awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	log "warning: load average $load on $(nproc) CPUs: other work will show in the figures (BENCH_PG_SCHED=fifo shields the run)"
fi
bench_drive "${BENCH_PG_SCHED:-none}" "$PY" "$HERE/bench_pg.py" "${args[@]}"
