#!/bin/bash
# Service benchmark (`make bench-service`, issue 20): a service's creation to its A answer and to a
# certificate for its canonical name plus one alias with the HTTPS record served, against lego
# (`--http`) from the same pebble in the same run. Root (a network namespace). Writes
# bench/results/service.md (and service.json). See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
PY=/usr/bin/python3
OUT=${BENCH_SERVICE_OUT:-$ROOT/bench/results/service.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-service.XXXXXX")

BENCH=service BENCH_KEEP=${BENCH_SERVICE_KEEP:-0}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

"$HERE/deps.sh"
bench_binaries
RESPONDER=$(dirname "$TERND")/tern-acme-responder
[ -x "$RESPONDER" ] || { log "$RESPONDER not found: run 'make build' first"; exit 1; }
cp "$RESPONDER" "$WORK/bin/tern-acme-responder"

args=(--work "$WORK" --ternd "$WORK/bin/ternd" --responder "$WORK/bin/tern-acme-responder"
	--poll "$WORK/bin/dnspoll" --out "$OUT")
[ -n "${BENCH_SERVICE_RUNS:-}" ] && args+=(--runs "$BENCH_SERVICE_RUNS")
[ -n "${BENCH_SERVICE_CHANGES:-}" ] && args+=(--changes "$BENCH_SERVICE_CHANGES")
bench_drive "${BENCH_SERVICE_SCHED:-none}" "$PY" "$HERE/bench_service.py" "${args[@]}"
