#!/bin/bash
# Fleet benchmark (`make bench-fleet`): a ternd primary's catalog of API zones consumed by 20 ternd
# PoPs, then by 20 Knot PoPs, each in its own network namespace; memory per secondary zone beside NSD.
# Writes bench/results/fleet.md (and .json). See bench/README.md. Needs root for the namespaces
# (else the PoPs go on 127.0.1.x addresses).
# BENCH_FLEET_QUICK=1: 1,000 zones, 5 PoPs, 100 changes. BENCH_FLEET_ZONES, _POPS, _CHANGES set each;
# BENCH_FLEET_SENDERS the burst's concurrent API clients (default 8); BENCH_FLEET_POLL_QPS the poller's bound;
# BENCH_FLEET_QUIET the bursts measured by the PoPs' logs alone, the poller silent (default 3; 0: none);
# BENCH_FLEET_KNOT=0 leaves the Knot fleet out, BENCH_FLEET_NSD=0 NSD's memory per zone.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_FLEET_OUT:-$ROOT/bench/results/fleet.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-fleet.XXXXXX")

BENCH=fleet BENCH_KEEP=${BENCH_FLEET_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for p in knotd nsd ip cc; do
	command -v "$p" >/dev/null || { log "$p is missing: apt-get install knot nsd iproute2 build-essential"; exit 1; }
done
$PY -c 'import jwt, cryptography' 2>/dev/null ||
	{ log "python3-jwt and python3-cryptography are needed (apt-get install)"; exit 1; }
bench_binaries
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/bin/soawait" "$HERE/soawait.c"
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/bin/logstamp" "$HERE/logstamp.c"
cc -O2 -std=c11 -Wall -Wextra -Werror -pthread -o "$WORK/bin/apiburst" "$HERE/apiburst.c"

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --soawait "$WORK/bin/soawait" --apiburst "$WORK/bin/apiburst" --out "$OUT")
# The PoPs log what they serve at info, each line stamped as it comes (BENCH_FLEET_LOGS=0: warnings
# only, to files, no such figures)
[ "${BENCH_FLEET_LOGS:-1}" != 0 ] && args+=(--logstamp "$WORK/bin/logstamp")
# Each PoP stands for a machine of its own: their files go to memory (/dev/shm), so that 20 PoPs'
# disk copies (ternd) or journals (Knot) do not queue on this one disk with each other and with the
# primary's store, whose fsyncs (one per API change) stay on disk. Reached through $WORK/pops, so
# the PoPs' command lines name $WORK (bench/lib.sh stops what is left by that).
if [ "${BENCH_FLEET_POPS_ON_DISK:-0}" != 1 ] && [ -d /dev/shm ]; then
	BENCH_TMPFS=$(mktemp -d /dev/shm/tern-bench-fleet-pops.XXXXXX) # removed by bench_cleanup
	ln -s "$BENCH_TMPFS" "$WORK/pops"
	args+=(--pop-root "$WORK/pops")
fi
if [ "${BENCH_FLEET_QUICK:-0}" = 1 ]; then
	args+=(--quick --zones 1000 --pops 5 --changes 100)
fi
[ -n "${BENCH_FLEET_ZONES:-}" ] && args+=(--zones "$BENCH_FLEET_ZONES")
[ -n "${BENCH_FLEET_POPS:-}" ] && args+=(--pops "$BENCH_FLEET_POPS")
[ -n "${BENCH_FLEET_CHANGES:-}" ] && args+=(--changes "$BENCH_FLEET_CHANGES")
[ -n "${BENCH_FLEET_SENDERS:-}" ] && args+=(--senders "$BENCH_FLEET_SENDERS")
[ -n "${BENCH_FLEET_QUIET:-}" ] && args+=(--quiet "$BENCH_FLEET_QUIET")
[ -n "${BENCH_FLEET_POLL_QPS:-}" ] && args+=(--poll-qps "$BENCH_FLEET_POLL_QPS")
[ "${BENCH_FLEET_KNOT:-1}" = 0 ] && args+=(--no-knot)
[ "${BENCH_FLEET_NSD:-1}" = 0 ] && args+=(--no-nsd)
[ -n "${BENCH_FLEET_WORKERS:-}" ] && args+=(--pop-workers "$BENCH_FLEET_WORKERS")
[ -n "${BENCH_FLEET_NET:-}" ] && args+=(--net "$BENCH_FLEET_NET")
# BENCH_FLEET_SCHED: none, nice or fifo (bench/lib.sh, bench_drive)
bench_drive "${BENCH_FLEET_SCHED:-none}" "$PY" "$HERE/bench_fleet.py" "${args[@]}"
