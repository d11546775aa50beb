#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz into build-fuzz/ and runs or replays them.
#
#   tests/fuzz/run.sh [--merge] [--parallel] SECONDS [harness...]
#       fuzz each harness (default: all) for SECONDS on a scratch copy of its seed corpus
#       (tests/fuzz/corpus_<harness>/ plus tests/fuzz/regress/<harness>-*); any crash, leak,
#       timeout or OOM is copied to tests/fuzz/crashes/<harness>-<sha1> and the exit status is 1.
#       --merge    afterwards, merge inputs with new coverage into tests/fuzz/corpus_<harness>/
#       --parallel run the harnesses at the same time (one process each)
#   tests/fuzz/run.sh --replay [harness...]
#       run every file of tests/fuzz/crashes/ and tests/fuzz/regress/ (named <harness>-...) and
#       every seed once through its harness, as plain inputs; exit 1 if any of them fails
#   tests/fuzz/run.sh --build
#       build only
#
# Environment: CC (default clang), FUZZ_BUILD (default <repo>/build-fuzz), FUZZ_ARGS (extra
# libFuzzer flags), FUZZ_KEEP=1 keeps the scratch directories.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ=$ROOT/tests/fuzz
OUT=${FUZZ_BUILD:-$ROOT/build-fuzz}
CC=${CC:-clang}
ALL_HARNESSES="query zonefile config name zone_apply rrtext api_json api_explain api_import xfrin xfrin_pipeline catalog_in token jwks http dnssec ds_answer backup dyn pops ech acme_responder acme_json deployment alias update check_answer check_registry tsig_acl check_advice api_check check_svg pg_payload bootstrap pop_usage r53_xml dconn_template dconn_query"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

die() {
	echo "run.sh: $*" >&2
	exit 2
}

max_len() {
	case $1 in
	query) echo 4096 ;;
	check_answer) echo 8192 ;; # a DNS answer as tern check receives it (UDP 1232, TCP larger)
	check_advice) echo 16384 ;; # a chat completion's JSON (the reader's cap is 256 KiB; the rules do not grow with size)
	check_registry) echo 16384 ;; # WHOIS text and RDAP JSON (the reader's cap is 1 MiB; the rules do not grow with size)    # UDP-sized messages; TCP caps are exercised by the output side
	zonefile) echo 16384 ;;
	config) echo 8192 ;;
	name) echo 2048 ;;
	zone_apply) echo 1024 ;;
	rrtext) echo 4096 ;;
	xfrin) echo 16384 ;;   # several messages of an AXFR or IXFR answer
	bootstrap) echo 16384 ;; # an AXFR answer from a previous provider, or one answer to a query
	xfrin_pipeline) echo 16384 ;; # the answers to a batch of them, interleaved
	catalog_in) echo 16384 ;; # zone text, as for zonefile
	token) echo 10240 ;;   # past AUTH_TOKEN_MAX (8192), so the length limit is crossed too
	jwks) echo 16384 ;;    # a few keys of up to 16384 bits
	http) echo 20480 ;;    # past the 16 KiB header limit
	api_import) echo 65536 ;; # zone files of hundreds of RRsets (the import's array grows past 64)
	backup) echo 8192 ;;   # a backup of a few keys (a 16-key one is about 10 KB)
	acme_responder) echo 10240 ;; # past the 8 KiB head bound
	acme_json) echo 8192 ;; # an order of 100 authorizations is about 6 KB
	r53_xml) echo 16384 ;; # a change batch of some dozens of changes
	*) echo 4096 ;;
	esac
}

# The dictionaries of a harness: its own <harness>.dict, after those of the syntax it reads.
dict_files() {
	case $1 in
	catalog_in) echo zonefile.dict catalog_in.dict ;; # zone text, with the catalog's own names
	api_import) echo zonefile.dict api_import.dict ;; # zone text, with the served-zone marker
	*) echo "$1.dict" ;;
	esac
}

# ---- build ----

# libtern and ternd's in-memory core: everything but main.c, the sockets (net/) and the HTTP API
# (api/) but its parsers of untrusted input. Objects go into an archive, so a harness links only
# what it uses.
lib_srcs() {
	local f
	for f in "$ROOT"/src/lib/*.c "$ROOT"/src/ternd/*.c "$ROOT"/src/ternd/*/*.c; do
		case ${f#"$ROOT"/} in
		src/ternd/api/api_json.c | src/ternd/http/http_response.c) ;; # request bodies: fuzz_api_json
		src/ternd/api/api_explain_ask.c) ;;                           # explain's question: fuzz_api_explain
		src/ternd/api/api_check_ask.c) ;;                             # tern check's request: fuzz_api_check
		src/ternd/api/api_deployment.c) ;;                            # services' deployments: fuzz_deployment
		src/ternd/api/api_tsig_acl.c) ;;                              # TSIG keys' ACLs: fuzz_tsig_acl
		src/ternd/api/api_backup.c) ;;                                # key backups: fuzz_backup
		src/ternd/api/pops_parse.c) ;;                                # PoPs' /healthz and counters: fuzz_pops, fuzz_pop_usage
		src/ternd/api/auth_*.c) ;; # the JWKS, bearer tokens and their scope: fuzz_jwks, fuzz_token
		src/ternd/http/http_parse.c) ;;                               # requests: fuzz_http
		src/ternd/acme/responder_main.c) continue ;;                  # a program (its own main)
		src/ternd/store/store_pg_payload.c) ;;                        # the PostgreSQL NOTIFY payload: fuzz_pg_payload
		src/ternd/api/r53_xml.c | src/ternd/api/r53_sigv4.c) ;;      # the Route 53 API's bodies and signatures: fuzz_r53_xml
		src/ternd/main.c | src/ternd/net/* | src/ternd/api/* | src/ternd/http/* | src/ternd/store/*) continue ;;
		esac
		[ -f "$f" ] && echo "${f#"$ROOT"/}"
	done
}
# The libraries: every dependency('NAME') of meson.build (threads aside), so that a module's new
# library reaches the harnesses too (a merge once added dnstap.c, linked with libfstrm, and the
# fuzz build could not link until this list was mended by hand).
PKGS=$(sed -n "s/^[A-Za-z_0-9]* *= *dependency('\([^']*\)'.*/\1/p" "$ROOT/meson.build" | grep -vx threads | tr '\n' ' ')
[ -n "$PKGS" ] || die "no dependency('...') found in $ROOT/meson.build"

build() {
	command -v "$CC" >/dev/null || die "$CC not found"
	mkdir -p "$OUT/obj" "$OUT/logs" || die "cannot create $OUT"
	# Several run.sh may share build-fuzz/: one builds at a time, and every output is written under
	# a temporary name and renamed, so a fuzzer being started never sees a half-written binary.
	exec 9>"$OUT/.lock"
	command -v flock >/dev/null && flock 9
	if [ ! -f "$OUT/probe-ok" ]; then
		printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$OUT/probe.c"
		"$CC" -fsanitize=fuzzer,address,undefined "$OUT/probe.c" -o "$OUT/probe" 2>"$OUT/logs/probe.log" ||
			die "$CC cannot link libFuzzer with ASan/UBSan (Debian: apt-get install clang libclang-rt-dev); see $OUT/logs/probe.log"
		touch "$OUT/probe-ok"
	fi
	# shellcheck disable=SC2086
	pkg-config --exists $PKGS || die "pkg-config cannot find all of: $PKGS"
	local cflags
	cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -I$ROOT/src
		$(pkg-config --cflags $PKGS)
		-fsanitize=address,undefined -fno-sanitize-recover=all"
	local libs
	libs="$(pkg-config --libs $PKGS) -lpthread"
	mkdir -p "$OUT/obj" "$OUT/logs" || die "cannot create $OUT"

	# A change of compiler or flags rebuilds everything.
	local stamp="$CC $cflags $libs"
	if [ ! -f "$OUT/flags" ] || [ "$(cat "$OUT/flags")" != "$stamp" ]; then
		rm -f "$OUT"/obj/*.o "$OUT"/fuzz_*
		printf '%s' "$stamp" >"$OUT/flags"
	fi

	# Objects depend on their source and (coarsely) on every header.
	local headers newest_h=""
	headers=$(cd "$ROOT" && find src tests/fuzz -name '*.h')
	for h in $headers; do
		if [ -z "$newest_h" ] || [ "$ROOT/$h" -nt "$newest_h" ]; then newest_h=$ROOT/$h; fi
	done
	local pids="" objs="" src obj
	rm -f "$OUT"/obj/*.failed
	for src in $(lib_srcs); do
		obj=$OUT/obj/$(echo "${src%.c}" | tr / _).o
		objs="$objs $obj"
		if [ ! -f "$obj" ] || [ "$ROOT/$src" -nt "$obj" ] || [ "$newest_h" -nt "$obj" ]; then
			# A file that does not compile (work in progress) is left out of the archive; only a
			# harness that needs it then fails, at link time.
			# shellcheck disable=SC2086
			($CC $cflags -fsanitize=fuzzer-no-link -c "$ROOT/$src" -o "$obj.tmp" 2>"$obj.log" &&
				mv -f "$obj.tmp" "$obj" || { rm -f "$obj" "$obj.tmp"; touch "$obj.failed"; }
			cat "$obj.log" >&2) &
			pids="$pids $!"
		fi
	done
	local failed=0 pid
	for pid in $pids; do wait "$pid" || failed=1; done
	[ $failed = 0 ] || die "compiling the sources failed"
	for obj in "$OUT"/obj/*.failed; do
		[ -f "$obj" ] && echo "run.sh: warning: $(basename "${obj%.o.failed}") does not compile, left out" >&2
	done
	local lib=$OUT/libtern-fuzz.a newer=0 present=""
	for obj in $objs; do
		[ -f "$obj" ] || continue
		present="$present $obj"
		{ [ ! -f "$lib" ] || [ "$obj" -nt "$lib" ]; } && newer=1
	done
	objs=$present
	if [ $newer = 1 ]; then
		rm -f "$lib.tmp"
		# shellcheck disable=SC2086
		ar rcs "$lib.tmp" $objs && mv -f "$lib.tmp" "$lib" || die "ar failed"
	fi
	pids=""
	for h in $ALL_HARNESSES; do
		local bin=$OUT/fuzz_$h hsrc=$FUZZ/fuzz_$h.c
		if [ ! -f "$bin" ] || [ "$hsrc" -nt "$bin" ] || [ "$lib" -nt "$bin" ] || [ "$newest_h" -nt "$bin" ]; then
			# shellcheck disable=SC2086
			($CC $cflags -Werror -fsanitize=fuzzer "$hsrc" "$lib" $libs -o "$bin.tmp" && mv -f "$bin.tmp" "$bin") &
			pids="$pids $!"
		fi
	done
	for pid in $pids; do wait "$pid" 2>/dev/null || failed=1; done
	command -v flock >/dev/null && flock -u 9
	[ $failed = 0 ] || die "building the harnesses failed"
}

check_harness() {
	case " $ALL_HARNESSES " in
	*" $1 "*) ;;
	*) die "unknown harness '$1' (known: $ALL_HARNESSES)" ;;
	esac
}

# ---- replay ----

replay() {
	local harnesses=$1 bad=0 n=0 f base h
	for f in "$FUZZ"/crashes/* "$FUZZ"/regress/*; do
		[ -f "$f" ] || continue
		base=$(basename "$f")
		h=${base%%-*}
		case " $ALL_HARNESSES " in
		*" $h "*) ;;
		*)
			echo "replay: $f: name does not start with a harness (<harness>-...)" >&2
			bad=1
			continue
			;;
		esac
		case " $harnesses " in *" $h "*) ;; *) continue ;; esac
		n=$((n + 1))
		if ! "$OUT/fuzz_$h" "$f" >"$OUT/logs/replay-$base.log" 2>&1; then
			echo "FAIL  $f (log: $OUT/logs/replay-$base.log)" >&2
			grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|invariant violated' \
				"$OUT/logs/replay-$base.log" | head -40 >&2
			bad=1
		fi
	done
	for h in $harnesses; do
		local seeds="$FUZZ/corpus_$h"
		[ -d "$seeds" ] || continue
		local count
		count=$(find "$seeds" -type f | wc -l)
		n=$((n + count))
		if ! find "$seeds" -type f -print0 | xargs -0 -r "$OUT/fuzz_$h" >"$OUT/logs/replay-corpus-$h.log" 2>&1; then
			echo "FAIL  a seed of corpus_$h (log: $OUT/logs/replay-corpus-$h.log)" >&2
			grep -E 'Running:|ERROR:|runtime error|invariant violated' "$OUT/logs/replay-corpus-$h.log" | tail -5 >&2
			bad=1
		fi
	done
	echo "replay: $n inputs through [$harnesses]: $([ $bad = 0 ] && echo ok || echo FAILED)"
	return $bad
}

# ---- fuzz ----

fuzz_one() {
	local h=$1 secs=$2 merge=$3
	local work
	work=$(mktemp -d "${TMPDIR:-/tmp}/tern-fuzz-$h.XXXXXX") || die "mktemp failed"
	mkdir -p "$work/corpus" "$work/artifacts"
	[ -d "$FUZZ/corpus_$h" ] && find "$FUZZ/corpus_$h" -type f -exec cp {} "$work/corpus/" \;
	for f in "$FUZZ"/regress/"$h"-*; do [ -f "$f" ] && cp "$f" "$work/corpus/"; done
	local dict="" dicts="" d
	for d in $(dict_files "$h"); do [ -f "$FUZZ/$d" ] && dicts="$dicts $FUZZ/$d"; done
	if [ -n "$dicts" ]; then # libFuzzer takes one -dict: several files are joined
		# shellcheck disable=SC2086
		cat $dicts >"$work/fuzz.dict" && dict="-dict=$work/fuzz.dict"
	fi
	local log=$OUT/logs/fuzz-$h.log
	# shellcheck disable=SC2086
	"$OUT/fuzz_$h" -max_total_time="$secs" -max_len="$(max_len "$h")" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" $dict ${FUZZ_ARGS:-} \
		"$work/corpus" >"$log" 2>&1
	local rc=$?
	local execs rate units
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	units=$(find "$work/corpus" -type f | wc -l)
	local status=ok saved=""
	for a in "$work"/artifacts/*; do
		[ -f "$a" ] || continue
		local sum kind
		sum=$(sha1sum "$a" | cut -d' ' -f1)
		kind=$(basename "$a" | cut -d- -f1)
		local known=""
		for f in "$FUZZ"/regress/"$h"-*; do
			[ -f "$f" ] && cmp -s "$a" "$f" && known=$f
		done
		if [ -n "$known" ]; then # a regress/ input still fails: its bug is not fixed yet
			saved="$saved $known ($kind, known, not fixed yet)"
			continue
		fi
		mkdir -p "$FUZZ/crashes"
		cp "$a" "$FUZZ/crashes/$h-$sum"
		saved="$saved $FUZZ/crashes/$h-$sum ($kind)"
	done
	if [ $rc != 0 ] || [ -n "$saved" ]; then
		status=FAILED
		{
			echo "==== fuzz_$h failed (exit $rc); log: $log"
			grep -E -A40 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|invariant violated|==[0-9]+== ?ERROR' "$log" | head -60
			[ -n "$saved" ] && echo "saved:$saved"
		} >&2
	fi
	if [ "$merge" = 1 ] && [ $status = ok ]; then
		mkdir -p "$FUZZ/corpus_$h"
		local before after
		before=$(find "$FUZZ/corpus_$h" -type f | wc -l)
		"$OUT/fuzz_$h" -merge=1 -max_len="$(max_len "$h")" "$FUZZ/corpus_$h" "$work/corpus" \
			>"$OUT/logs/merge-$h.log" 2>&1 || echo "merge of $h failed, see $OUT/logs/merge-$h.log" >&2
		after=$(find "$FUZZ/corpus_$h" -type f | wc -l)
		echo "merge: corpus_$h $before -> $after files"
	fi
	printf '%-9s %-7s %12s execs %8s exec/s %6s corpus  %ss\n' "$h" "$status" "${execs:-?}" "${rate:-?}" "$units" "$secs"
	[ "${FUZZ_KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
	[ $status = ok ]
}

# ---- main ----

mode=fuzz merge=0 parallel=0
while [ $# -gt 0 ]; do
	case $1 in
	--replay) mode=replay ;;
	--build) mode=build ;;
	--merge) merge=1 ;;
	--parallel) parallel=1 ;;
	-h | --help)
		sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
	shift
done

secs=""
if [ $mode = fuzz ]; then
	[ $# -ge 1 ] || die "usage: run.sh [--merge] [--parallel] SECONDS [harness...]  |  run.sh --replay [harness...]"
	secs=$1
	shift
	case $secs in '' | *[!0-9]*) die "SECONDS must be a whole number, got '$secs'" ;; esac
fi
harnesses=${*:-$ALL_HARNESSES}
for h in $harnesses; do check_harness "$h"; done

build
case $mode in
build) exit 0 ;;
replay) replay "$harnesses"; exit $? ;;
esac

bad=0
if [ $parallel = 1 ]; then
	pids=""
	for h in $harnesses; do
		fuzz_one "$h" "$secs" "$merge" &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || bad=1; done
else
	for h in $harnesses; do fuzz_one "$h" "$secs" "$merge" || bad=1; done
fi
exit $bad
