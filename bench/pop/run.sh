#!/bin/bash
# PoP propagation benchmark (`make bench-pop`): change -> served on ternd PoPs, on a Knot secondary of
# ternd and on a Knot secondary of Knot. Writes bench/results/pop.md. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_POP_OUT:-$ROOT/bench/results/pop.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-pop.XXXXXX")

log() { printf '[bench-pop %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# Every process the driver starts is listed in $WORK/pids; whatever is still running at exit is
# stopped here, by pid and only while its command line still names $WORK (or it is a poller).
DRIVER=
cleanup() {
	local rc=$? pid sig
	if [ -n "$DRIVER" ] && kill -0 "$DRIVER" 2>/dev/null; then
		kill -TERM "$DRIVER" 2>/dev/null || true # it stops its servers on SIGTERM
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$DRIVER" 2>/dev/null || break; sleep 0.5; done
	fi
	if [ -f "$WORK/pids" ]; then
		for sig in TERM KILL; do
			while read -r pid; do
				[ -n "$pid" ] || continue
				if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -e "$WORK"; then
					kill -"$sig" "$pid" 2>/dev/null || true
				fi
			done <"$WORK/pids"
			[ $sig = TERM ] && sleep 0.5
		done
	fi
	if [ "${BENCH_POP_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for p in knotd knotc cc; do
	command -v "$p" >/dev/null || { log "$p is missing: apt-get install knot build-essential"; exit 1; }
done
$PY -c 'import dns.query, jwt, cryptography' 2>/dev/null ||
	{ log "python3-dnspython, python3-jwt and python3-cryptography are needed (apt-get install)"; exit 1; }
if [ -z "${TERND:-}" ]; then
	make -C "$ROOT" --no-print-directory build >&2
	TERND=$ROOT/build/ternd
fi
[ -x "$TERND" ] || { log "$TERND not found: run 'make build' first"; exit 1; }
# copies, so a rebuild during the run does not change what is measured; the poller from its source
mkdir -p "$WORK/bin"
cp "$TERND" "$WORK/bin/ternd"
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/bin/dnspoll" "$ROOT/bench/poll.c"

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --poll "$WORK/bin/dnspoll" --out "$OUT")
[ -n "${BENCH_POP_CHANGES:-}" ] && args+=(--changes "$BENCH_POP_CHANGES")
[ -n "${BENCH_POP_NAMES:-}" ] && args+=(--names "$BENCH_POP_NAMES")
# BENCH_POP_SCHED: how the driver, the poller and every server (which inherit it) are scheduled:
# "fifo" (SCHED_FIFO 10, root) or "nice" (nice -10) keeps other load on the host out of the figures.
sched=()
case "${BENCH_POP_SCHED:-none}" in
none) ;;
nice) sched=(nice -n -10) ;;
fifo) sched=(chrt -f 10) ;;
*) log "BENCH_POP_SCHED must be none, nice or fifo"; exit 2 ;;
esac
args+=(--sched "${BENCH_POP_SCHED:-none}")
log "work directory $WORK; results to $OUT"
"${sched[@]}" "$PY" "$HERE/bench_pop.py" "${args[@]}" &
DRIVER=$!
wait "$DRIVER"
