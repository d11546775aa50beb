#!/bin/bash
# Dynamic update benchmark (`make bench-ddns`): sequential TSIG-signed updates to ternd, Knot DNS and
# BIND, updates/s and update -> served. Writes bench/results/ddns.md. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_DDNS_OUT:-$ROOT/bench/results/ddns.md}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/tern-bench-ddns.XXXXXX")

BENCH=ddns BENCH_KEEP=${BENCH_DDNS_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for p in knotd named strace cc; do
	command -v "$p" >/dev/null || { log "$p is missing: apt-get install knot bind9 strace build-essential"; exit 1; }
done
$PY -c 'import dns.update, jwt, cryptography' 2>/dev/null ||
	{ log "python3-dnspython, python3-jwt and python3-cryptography are needed (apt-get install)"; exit 1; }
bench_binaries

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --poll "$WORK/bin/dnspoll" --out "$OUT")
[ -n "${BENCH_DDNS_UPDATES:-}" ] && args+=(--updates "$BENCH_DDNS_UPDATES")
[ -n "${BENCH_DDNS_LATENCY:-}" ] && args+=(--latency "$BENCH_DDNS_LATENCY")
[ -n "${BENCH_DDNS_SERVERS:-}" ] && args+=(--servers "$BENCH_DDNS_SERVERS")
[ -n "${BENCH_DDNS_ROUNDS:-}" ] && args+=(--rounds "$BENCH_DDNS_ROUNDS")
bench_drive "${BENCH_DDNS_SCHED:-fifo}" "$PY" "$HERE/bench_ddns.py" "${args[@]}"
