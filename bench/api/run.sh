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

log() { printf '[bench-api %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# Every process the driver starts is listed in $WORK/pids; whatever is still running at exit
# (the driver killed, Ctrl-C, an error) is stopped here, by pid and only if it is still ours.
DRIVER=
cleanup() {
	local rc=$? pid
	if [ -n "$DRIVER" ] && kill -0 "$DRIVER" 2>/dev/null; then
		kill -TERM "$DRIVER" 2>/dev/null || true # it stops its servers on SIGTERM
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$DRIVER" 2>/dev/null || break; sleep 0.5; done
	fi
	if [ -f "$WORK/pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] || continue
			if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -e "$WORK"; then
				kill -TERM "$pid" 2>/dev/null || true
			fi
		done <"$WORK/pids"
		sleep 0.5
		while read -r pid; do
			[ -n "$pid" ] || continue
			if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -e "$WORK"; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done <"$WORK/pids"
	fi
	if [ "${BENCH_API_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$HERE/deps.sh"
if [ -z "${TERND:-}" ]; then
	make -C "$ROOT" --no-print-directory build >&2
	TERND=$ROOT/build/ternd
fi
# a copy, so a rebuild during the run does not change what is measured
mkdir -p "$WORK/bin" && cp "$TERND" "$WORK/bin/ternd"
# the change -> served poller, from its source (bench/poll.c)
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/bin/dnspoll" "$ROOT/bench/poll.c"

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --poll "$WORK/bin/dnspoll" --out "$OUT")
[ "$QUICK" = 1 ] && args+=(--quick)
[ -n "${BENCH_API_CHANGES:-}" ] && args+=(--changes "$BENCH_API_CHANGES")
[ -n "${BENCH_API_ZONES:-}" ] && args+=(--zones "$BENCH_API_ZONES")
[ -n "${BENCH_API_WRITES:-}" ] && args+=(--writes "$BENCH_API_WRITES")
[ -n "${BENCH_API_SECONDS:-}" ] && args+=(--seconds "$BENCH_API_SECONDS")
[ -n "${BENCH_API_POLL_MS:-}" ] && args+=(--poll-ms "$BENCH_API_POLL_MS")
[ -n "${BENCH_API_WARMUP:-}" ] && args+=(--warmup "$BENCH_API_WARMUP")
[ "${BENCH_API_STRACE:-1}" = 0 ] && args+=(--no-strace)
# BENCH_API_SCHED: how the client and both servers (which inherit it) are scheduled. On a shared
# host, neighbours' CPU load shows up as milliseconds of wake-up delay in every figure: "fifo"
# (SCHED_FIFO priority 10, root only) or "nice" (nice -10) shields the benchmark from them.
sched=()
case "${BENCH_API_SCHED:-none}" in
none) ;;
nice) sched=(nice -n -10) ;;
fifo) sched=(chrt -f 10) ;;
*) log "BENCH_API_SCHED must be none, nice or fifo"; exit 2 ;;
esac
args+=(--sched "${BENCH_API_SCHED:-none}")
load=$(cut -d' ' -f1 /proc/loadavg)
if [ "${BENCH_API_SCHED:-none}" = none ] && awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	log "warning: load average $load on $(nproc) CPUs: other work will show in the figures (BENCH_API_SCHED=fifo shields the run)"
fi
log "work directory $WORK; results to $OUT"
# in the background, so that a signal to this script runs the trap at once
"${sched[@]}" "$PY" "$HERE/bench_api.py" "${args[@]}" &
DRIVER=$!
wait "$DRIVER"
