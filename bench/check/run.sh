#!/bin/bash
# tern check against Zonemaster (`make bench-check`): the wall time of `tern check domain corp.lab`
# and of `zonemaster-cli corp.lab --hints` on test_check.py's simulated Internet (one network
# namespace), in the same run, with Zonemaster's ERROR findings checked to stay a subset of tern's
# each round (bench/README.md). Writes bench/results/check.md.
#   BENCH_CHECK_ROUNDS=N   rounds (default 10): each runs both tools once, in alternating order
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_CHECK_OUT:-$ROOT/bench/results/check.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-check.XXXXXX")

BENCH=check BENCH_KEEP=${BENCH_CHECK_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for p in zonemaster-cli knotd unbound unshare nsenter; do
	command -v "$p" >/dev/null || { log "$p is missing: run make deps"; exit 1; }
done
bench_binaries
# tern beside ternd: test_check.py finds it there (ternlib.TERND's directory)
cp "$(dirname "$TERND")/tern" "$WORK/bin/tern"

bench_drive "${BENCH_CHECK_SCHED:-none}" "$PY" "$HERE/bench_check.py" --work "$WORK" --ternd "$WORK/bin/ternd" \
	--out "$OUT" --rounds "${BENCH_CHECK_ROUNDS:-10}" --fixture-rounds "${BENCH_CHECK_FIXTURE_ROUNDS:-3}"
