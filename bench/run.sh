#!/bin/bash
# Tern benchmark (`make bench`): ternd against Knot DNS, NSD and a QR-flipping floor responder on
# loopback. Prints the table of medians and writes it to bench/results/latest.md. See bench/README.md.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
PY=/usr/bin/python3

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then q=1; else q=0; fi
ROUNDS=${BENCH_ROUNDS:-$([ $q = 1 ] && echo 1 || echo 3)}
SECS=${BENCH_SECONDS:-$([ $q = 1 ] && echo 3 || echo 10)}
BIG_RRS=${BENCH_BIG_RRS:-$([ $q = 1 ] && echo 100000 || echo 1000000)}
LAT_QPS=${BENCH_LAT_QPS:-20000}
KEEP_AWAKE=${BENCH_KEEP_AWAKE:-1} # 0: measure latency with the server CPU left to sleep
LAT_SECS=${BENCH_LAT_SECONDS:-$([ $q = 1 ] && echo 1 || echo 3)}
REPLAY=${BENCH_REPLAY:-10000}
DNSPERF_ARGS=${BENCH_DNSPERF_ARGS:--c 1 -q 100}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
SERVERS=${BENCH_SERVERS:-ternd knot nsd floor}
PHASES=${BENCH_PHASES:-load callgrind big}
TERND=${TERND:-$ROOT/build/ternd}
RESULTS=${BENCH_RESULTS:-$BENCH/results}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
DATA=$WORK/data
export BENCH_DB=$WORK/results.jsonl
export TERND_ALLOW_ROOT=${TERND_ALLOW_ROOT:-1} # every server runs as root here: ternd is told it is meant

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- processes we started
STARTED=()
state() { [ -r "/proc/$1/stat" ] && sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null || echo X; }
alive() { local s; s=$(state "$1"); [ "$s" != X ] && [ "$s" != Z ]; }

# stop PID TIMEOUT: SIGTERM to the server, then wait until it and every process it forked are gone
# (callgrind writes its output files at exit); SIGKILL what remains after TIMEOUT seconds.
stop() {
	local pid=$1 timeout=${2:-20} tree p t=0
	tree=$($PY "$BENCH/procs.py" tree "$pid" 2>/dev/null || echo "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	while :; do
		local left=0
		for p in $tree; do alive "$p" && left=1; done
		[ $left = 0 ] && break
		if [ $t -ge $((timeout * 10)) ]; then
			log "pid $pid did not stop within ${timeout}s: SIGKILL"
			for p in $tree; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
			break
		fi
		sleep 0.1
		t=$((t + 1))
	done
	wait "$pid" 2>/dev/null || true
	forget "$pid"
}

# forget PID: once reaped, a PID may be reused by someone else's process.
forget() {
	local keep=() q
	for q in "${STARTED[@]}"; do [ "$q" = "$1" ] || keep+=("$q"); done
	STARTED=("${keep[@]}")
}

# run CMD...: runs CMD in the background and waits for it, so that a signal to this script is acted
# on at once (bash defers its traps while a foreground command runs); cleanup stops CMD too.
run() {
	"$@" &
	local pid=$! rc=0
	STARTED+=("$pid")
	wait "$pid" || rc=$?
	forget "$pid"
	return $rc
}

cleanup() {
	local pid
	for pid in "${STARTED[@]}"; do alive "$pid" && stop "$pid" 5; done
	STARTED=()
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- servers
# server_conf NAME DIR PORT ZONE FILE: writes NAME's configuration into DIR, sets CMD.
server_conf() {
	local name=$1 dir=$2 port=$3 zone=$4 file=$5
	mkdir -p "$dir"
	case $name in
	ternd)
		cat >"$dir/ternd.yaml" <<-EOF
			server:
			  listen: ["127.0.0.1@$port"]
			  udp-workers: 1
			log: {level: warning}
			zones:
			  - name: $zone
			    file: $file
		EOF
		CMD=("$TERND" -c "$dir/ternd.yaml") ;;
	knot)
		mkdir -p "$dir/run" "$dir/storage"
		cat >"$dir/knot.conf" <<-EOF
			server:
			    rundir: "$dir/run"
			    listen: 127.0.0.1@$port
			    udp-workers: 1
			    tcp-workers: 1
			    background-workers: 1
			database:
			    storage: "$dir/storage"
			control:
			    listen: "$dir/run/knot.sock"
			log:
			  - target: stderr
			    any: warning
			template:
			  - id: default
			    storage: "$dir/storage"
			    zonefile-sync: -1
			    zonefile-load: whole
			    journal-content: none
			zone:
			  - domain: $zone
			    file: "$file"
		EOF
		CMD=(knotd -c "$dir/knot.conf") ;;
	nsd)
		cat >"$dir/nsd.conf" <<-EOF
			server:
			    server-count: 1
			    ip-address: 127.0.0.1@$port
			    do-ip6: no
			    username: ""
			    chroot: ""
			    zonesdir: "$dir"
			    database: ""
			    pidfile: "$dir/nsd.pid"
			    xfrdfile: "$dir/xfrd.state"
			    xfrdir: "$dir"
			    zonelistfile: "$dir/zone.list"
			    logfile: "$dir/nsd.log"
			    verbosity: 0
			    zonefiles-write: 0
			    rrl-ratelimit: 0
			remote-control:
			    control-enable: no
			zone:
			    name: $zone
			    zonefile: "$file"
		EOF
		CMD=(nsd -d -c "$dir/nsd.conf") ;;
	floor)
		CMD=("$WORK/floor" 127.0.0.1 "$port") ;;
	*) die "unknown server $name" ;;
	esac
}

# start NAME DIR PORT ZONE FILE [WRAPPER...]: starts the server in the background, sets SPID.
start() {
	local name=$1 dir=$2 port=$3 zone=$4 file=$5
	shift 5
	server_conf "$name" "$dir" "$port" "$zone" "$file"
	"$@" "${CMD[@]}" >"$dir/server.log" 2>&1 &
	SPID=$!
	STARTED+=("$SPID")
}

# ready NAME DIR PORT ZONE PID [dnsq ready options]: prints the epoch time the zone first answered.
ready() {
	local name=$1 dir=$2 port=$3 zone=$4 pid=$5
	shift 5
	local any=()
	[ "$name" = floor ] && any=(--any)
	run $PY "$BENCH/dnsq.py" ready "$port" "$zone" --pid "$pid" "${any[@]}" "$@" ||
		die "$name did not answer on port $port; the end of $dir/server.log: $(tail -5 "$dir/server.log")"
}

PIN=(taskset -c "$SERVER_CPU")

# repin NAME PID: moves every thread of the tree to the server CPU. Needed for knotd, which pins
# its UDP workers itself (worker i to CPU i), overriding the taskset it was started under.
repin() {
	local name=$1 pid=$2 p before after
	before=$($PY "$BENCH/procs.py" affinity "$pid")
	for p in $($PY "$BENCH/procs.py" tree "$pid"); do taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null 2>&1 || true; done
	after=$($PY "$BENCH/procs.py" affinity "$pid")
	[ "$before" = "$SERVER_CPU" ] || log "$name had threads on CPUs {$before}: moved to {$after}"
	[ "$after" = "$SERVER_CPU" ] || die "$name: could not pin every thread to CPU $SERVER_CPU ($after)"
	$PY "$BENCH/report.py" json affinity "$name" "{\"before\": \"$before\", \"after\": \"$after\"}"
}

# ---------------------------------------------------------------- set-up
"$BENCH/deps.sh"
[ -x "$TERND" ] || die "$TERND not found: run 'make build' first"
cp "$TERND" "$WORK/ternd" # a snapshot: a rebuild during the run must not change the binary measured
TERND_BUILT=$(date -u -r "$TERND" '+%Y-%m-%d %H:%M UTC')
TERND=$WORK/ternd
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs, client and server share one"
mkdir -p "$RESULTS" "$DATA"
cc -O2 -Wall -Wextra -o "$WORK/floor" "$BENCH/floor.c"
log "generating data in $DATA (zone of 100,000 names, queries, big zone of $BIG_RRS RRs)"
run $PY "$BENCH/gen.py" "$DATA" --big-rrs "$BIG_RRS"
ZONE=bench.test
ZFILE=$DATA/bench.test.zone
read -r -a PORTS <<<"$($PY "$BENCH/dnsq.py" ports 4 | tr '\n' ' ')"
declare -A PORT
i=0
for s in ternd knot nsd floor; do PORT[$s]=${PORTS[$i]}; i=$((i + 1)); done

knot_v=$(knotd -V 2>&1 | grep -o 'version [0-9.]*' | head -1 | cut -d' ' -f2)
nsd_v=$(nsd -v 2>&1 | grep -o 'version [0-9.]*' | head -1 | cut -d' ' -f2)
perf_v=$(dnsperf -h 2>&1 | grep -o 'Version [0-9.]*' | cut -d' ' -f2)
vg_v=$(valgrind --version)
rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
PROFILE=$WORK/ternd-profile.md
method="dnsperf $perf_v \`$DNSPERF_ARGS -l $SECS\` pinned to CPU $CLIENT_CPU, each server pinned to CPU $SERVER_CPU \
(ternd udp-workers 1; knotd udp/tcp/background-workers 1; nsd server-count 1, RRL off; every thread of every \
server re-pinned after start, as knotd pins its UDP workers itself), servers taking turns \
$SERVERS in each round. CPU/query = utime+stime of the server's process tree (/proc/PID/stat, all threads) over \
the run / queries answered; the floor is bench/floor.c (recvmmsg/sendmmsg, flips QR). Latency: dnsperf -v at a \
fixed $LAT_QPS QPS for $LAT_SECS s per server and round, percentiles of the per-query latencies (dnsperf 2.10 \
prints no percentiles itself)$([ "$KEEP_AWAKE" = 1 ] && echo ', with a SCHED_IDLE spinner keeping the server CPU out of idle (BENCH_KEEP_AWAKE=0 to drop it)'). Instructions/query: $vg_v callgrind (--collect-atstart=yes, --trace-children=yes, \
all output files of the process tree summed), Ir of a run replaying the first $REPLAY queries of the query file \
one at a time minus Ir of a run that only starts (zone load) and stops, / $REPLAY. Memory: PSS summed over the \
process tree (NSD's forked children share the zone with their parent; plain VmRSS sums count it once per \
process) after the load runs. Big zone: time from exec until the zone's SOA is answered (polled every 10 ms), \
memory 1 s later; bytes/RR = PSS / RRs. Queries: 80% existing names, 10% NXDOMAIN, 10% NODATA types, apex, \
wildcard, mixed case and names below a delegation; no EDNS (dnsperf's default)."
$PY "$BENCH/report.py" meta date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
	machine "$(nproc) x $cpu_model, Linux $(uname -r)" ternd_rev "$rev, built $TERND_BUILT" knot_version "Knot DNS $knot_v" \
	nsd_version "NSD $nsd_v" method "$method" lat_qps "$LAT_QPS" profile_file "$PROFILE" rounds "$ROUNDS" \
	seconds "$SECS" big_rrs "$BIG_RRS" quick "$QUICK" loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
log "work dir $WORK; ports: ternd ${PORT[ternd]} knot ${PORT[knot]} nsd ${PORT[nsd]} floor ${PORT[floor]}"

has_phase() { [[ " $PHASES " == *" $1 "* ]]; }

# ---------------------------------------------------------------- CPU per query, QPS, latency
if has_phase load; then
	declare -A PID
	for s in $SERVERS; do
		start "$s" "$WORK/load/$s" "${PORT[$s]}" "$ZONE" "$ZFILE" "${PIN[@]}"
		PID[$s]=$SPID
		ready "$s" "$WORK/load/$s" "${PORT[$s]}" "$ZONE" "$SPID" --timeout 300 >/dev/null
		repin "$s" "$SPID"
	done
	for r in $(seq 1 "$ROUNDS"); do
		for s in $SERVERS; do
			d=$WORK/load/$s
			c0=$($PY "$BENCH/procs.py" cpu "${PID[$s]}")
			b0=$($PY "$BENCH/procs.py" busy "$SERVER_CPU")
			# shellcheck disable=SC2086
			run taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$DATA/queries.txt" -l "$SECS" \
				$DNSPERF_ARGS >"$d/dnsperf.$r.log" 2>&1 || die "dnsperf failed against $s: $(tail -3 "$d/dnsperf.$r.log")"
			c1=$($PY "$BENCH/procs.py" cpu "${PID[$s]}")
			b1=$($PY "$BENCH/procs.py" busy "$SERVER_CPU")
			$PY "$BENCH/report.py" dnsperf "$s" "$r" "$d/dnsperf.$r.log" "$c0" "$c1" "$b0" "$b1"
			# An idle vCPU wakes up in milliseconds (the floor's own p99 is ~4 ms when its CPU
			# sleeps): a SCHED_IDLE spinner keeps the server CPU awake for every server alike and
			# yields to the server at once, so the latency measured is the servers' own.
			awake=
			if [ "$KEEP_AWAKE" = 1 ]; then
				taskset -c "$SERVER_CPU" chrt --idle 0 sh -c 'while :; do :; done' &
				awake=$!
			fi
			run taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$DATA/queries.txt" -l "$LAT_SECS" \
				-c 1 -q 100 -Q "$LAT_QPS" -v >"$d/latency.$r.log" 2>&1 || die "dnsperf -v failed against $s"
			[ -n "$awake" ] && { kill "$awake"; wait "$awake" 2>/dev/null || true; }
			$PY "$BENCH/report.py" latency "$s" "$r" "$d/latency.$r.log"
			log "round $r $s: $(grep -E 'Queries per second' "$d/dnsperf.$r.log" | tr -s ' ') \
$(grep -E 'Queries lost' "$d/dnsperf.$r.log" | tr -s ' ')"
		done
	done
	for s in $SERVERS; do
		$PY "$BENCH/report.py" json mem "$s" "$($PY "$BENCH/procs.py" mem "${PID[$s]}")"
		if [ "$s" != floor ]; then
			v=$($PY "$BENCH/dnsq.py" verify "${PORT[$s]}" "$DATA/queries.expect" --sample 200)
			$PY "$BENCH/report.py" json verify "$s" "$v"
			log "verify $s: $v"
		fi
		stop "${PID[$s]}" 20
	done
fi

# ---------------------------------------------------------------- instructions per query
if has_phase callgrind; then
	head -n "$REPLAY" "$DATA/queries.expect" >"$DATA/replay.expect"
	for s in $SERVERS; do
		for mode in idle replay; do
			d=$WORK/cg/$s-$mode
			mkdir -p "$d"
			log "callgrind $s $mode"
			start "$s" "$d" "${PORT[$s]}" "$ZONE" "$ZFILE" "${PIN[@]}" valgrind --tool=callgrind -q \
				--collect-atstart=yes --trace-children=yes --callgrind-out-file="$d/callgrind.out.%p"
			ready "$s" "$d" "${PORT[$s]}" "$ZONE" "$SPID" --interval 0.5 --timeout 1800 >/dev/null
			if [ "$mode" = replay ]; then
				run $PY "$BENCH/dnsq.py" replay "${PORT[$s]}" "$DATA/replay.expect" --count "$REPLAY" >"$d/replay.json" ||
					log "warning: $s lost queries in the callgrind replay: $(cat "$d/replay.json")"
				out=$(cat "$d/replay.json")
				$PY "$BENCH/report.py" json replay "$s" "$out"
			fi
			stop "$SPID" 600
			ls "$d"/callgrind.out.* >/dev/null 2>&1 || die "callgrind wrote nothing for $s ($mode): $(tail -5 "$d/server.log")"
			$PY "$BENCH/report.py" callgrind "$s" "$mode" "$d"
		done
	done
	if [[ " $SERVERS " == *" ternd "* ]]; then
		idle=("$WORK"/cg/ternd-idle/callgrind.out.*) replay=("$WORK"/cg/ternd-replay/callgrind.out.*)
		$PY "$BENCH/report.py" profile "${idle[0]}" "${replay[0]}" "$REPLAY" >"$PROFILE" ||
			log "warning: no ternd profile"
	fi
fi

# ---------------------------------------------------------------- the big zone
if has_phase big; then
	BIG=$DATA/big.test.zone
	rrs=$(cat "$DATA/big.test.rrs")
	for r in $(seq 1 "$ROUNDS"); do
		for s in $SERVERS; do
			[ "$s" = floor ] && continue
			d=$WORK/big/$s-$r
			t0=$(date +%s.%N)
			start "$s" "$d" "${PORT[$s]}" big.test "$BIG" "${PIN[@]}"
			t1=$(ready "$s" "$d" "${PORT[$s]}" big.test "$SPID" --interval 0.01 --timeout 900)
			repin "$s" "$SPID"
			sleep 1
			m=$($PY "$BENCH/procs.py" mem "$SPID")
			$PY "$BENCH/report.py" json big "$s" "$($PY -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(load_s=float(sys.argv[3])-float(sys.argv[2]), rrs=int(sys.argv[4])); print(json.dumps(d))' "$m" "$t0" "$t1" "$rrs")"
			log "big zone round $r $s: answered after $(echo "$t1 - $t0" | bc) s, $m"
			stop "$SPID" 60
		done
	done
	if [[ " $SERVERS " == *" ternd "* ]]; then
		d=$WORK/big/ternd-1
		/usr/bin/time -f '%e %M' -o "$d/check.time" "$TERND" --check -c "$d/ternd.yaml" >"$d/check.log" 2>&1 ||
			log "warning: ternd --check failed: $(tail -3 "$d/check.log")"
		read -r wall maxrss <"$d/check.time"
		$PY "$BENCH/report.py" json check ternd "{\"wall_s\": $wall, \"maxrss_kb\": $maxrss}"
	fi
fi

# ---------------------------------------------------------------- the table
$PY "$BENCH/report.py" table "$RESULTS/latest.md"
cp "$BENCH_DB" "$RESULTS/latest.jsonl"
log "written $RESULTS/latest.md"
