#!/bin/bash
# Signals benchmark (`make bench-signal`, issue 21): readiness to action (ternd's exec hook, MQTT
# and D-Bus against a 1 s DNS poller and Knot's D-Bus started, each calling birdc in a BIRD/BGP lab
# of two network namespaces) and instructions per query with signalling on vs off. Writes
# bench/results/signal.md and .json (bench/README.md). Needs root (network namespaces).
#   BENCH_SIGNAL_ONLY=ipq|ready   measure one part, keep the other's figures from signal.json (report:
#                                 only write signal.md again from signal.json)
#   BENCH_SIGNAL_RUNS=N           ternd starts per stop signal (default 50); BENCH_SIGNAL_KNOT_RUNS (20)
#   BENCH_SIGNAL_EXTRA='...'      YAML lines added under signals: for the "on" run (e.g. an ede condition)
#   BENCH_SIGNAL_QUERIES=N        queries replayed under callgrind (default 10000)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_SIGNAL_OUT:-$ROOT/bench/results/signal.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-signal.XXXXXX")

BENCH=signal BENCH_KEEP=${BENCH_SIGNAL_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

[ "$(id -u)" -eq 0 ] || { log "needs root (network namespaces)"; exit 1; }
for p in bird birdc mosquitto mosquitto_passwd dbus-daemon dbus-monitor knotd valgrind cc ip nsenter unshare openssl; do
	command -v "$p" >/dev/null || { log "$p is missing: run bench/signal/deps.sh"; exit 1; }
done
$PY -c 'import paho.mqtt.client, dns.message' 2>/dev/null ||
	{ log "python3-paho-mqtt and python3-dnspython are needed: run bench/signal/deps.sh"; exit 1; }
bench_binaries
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$WORK/bin/birdclog" "$HERE/birdclog.c"

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --birdclog "$WORK/bin/birdclog" --out "$OUT")
[ -n "${BENCH_SIGNAL_ONLY:-}" ] && args+=(--only "$BENCH_SIGNAL_ONLY")
[ -n "${BENCH_SIGNAL_RUNS:-}" ] && args+=(--runs "$BENCH_SIGNAL_RUNS")
[ -n "${BENCH_SIGNAL_KNOT_RUNS:-}" ] && args+=(--knot-runs "$BENCH_SIGNAL_KNOT_RUNS")
[ -n "${BENCH_SIGNAL_QUERIES:-}" ] && args+=(--queries "$BENCH_SIGNAL_QUERIES")
[ -n "${BENCH_SIGNAL_EXTRA:-}" ] && args+=(--signals-extra "$BENCH_SIGNAL_EXTRA")
[ "${BENCH_SIGNAL_KEEP:-0}" = 1 ] && args+=(--keep-lab)
bench_drive "${BENCH_SIGNAL_SCHED:-none}" "$PY" "$HERE/bench_signal.py" "${args[@]}"
