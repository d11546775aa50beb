# What the drivers of bench/api/run.sh and bench/pop/run.sh share (sourced, not run): the log
# line, the clean-up of every process a driver started, the copies of ternd and the poller, the
# scheduling choice, and running the driver. Before sourcing set BENCH (the name: "api", "pop"),
# ROOT, and WORK (the work directory, removed at exit unless BENCH_KEEP=1 or the run failed).

# The benches run every server as root: ternd is told that this is meant (server.user, privdrop.h)
export TERND_ALLOW_ROOT=${TERND_ALLOW_ROOT:-1}

log() { printf '[bench-%s %(%H:%M:%S)T] %s\n' "$BENCH" -1 "$*" >&2; }

# Every process the driver starts is listed in $WORK/pids; whatever is still running at exit (the
# driver killed, Ctrl-C, an error) is stopped here, by pid and only while its command line still
# names $WORK.
DRIVER=
bench_cleanup() {
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
	# files a bench put in memory (BENCH_TMPFS) go whatever happened: they hold RAM
	[ -n "${BENCH_TMPFS:-}" ] && rm -rf "$BENCH_TMPFS"
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Copies ternd ($TERND, else a fresh `make build`) into $WORK/bin, so a rebuild during the run
# does not change what is measured, and builds the change -> served poller (bench/poll.c) there.
bench_binaries() {
	if [ -z "${TERND:-}" ]; then
		make -C "$ROOT" --no-print-directory build >&2
		TERND=$ROOT/build/ternd
	fi
	[ -x "$TERND" ] || { log "$TERND not found: run 'make build' first"; exit 1; }
	mkdir -p "$WORK/bin"
	cp "$TERND" "$WORK/bin/ternd"
	cc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/bin/dnspoll" "$ROOT/bench/poll.c"
}

# Runs the driver ($@) as $1 says to schedule it and every server it starts (they inherit it):
# none, nice (nice -10) or fifo (SCHED_FIFO 10, root only). On a shared host, neighbours' CPU
# load shows up as milliseconds of wake-up delay in every figure; nice or fifo shields the run.
# In the background, so that a signal to the script runs the clean-up at once.
bench_drive() {
	local how=$1 sched=()
	shift
	case "$how" in
	none) ;;
	nice) sched=(nice -n -10) ;;
	fifo) sched=(chrt -f 10) ;;
	*) log "BENCH_${BENCH^^}_SCHED must be none, nice or fifo"; exit 2 ;;
	esac
	log "work directory $WORK; results to $OUT"
	"${sched[@]}" "$@" --sched "$how" &
	DRIVER=$!
	wait "$DRIVER"
}
