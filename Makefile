# Tern: the README's commands. `make run` and `make test` work on a fresh Debian 12 machine.
.PHONY: all deps build build-asan run test unit system lint clean soak bench bench-api bench-pop bench-dnssec bench-geo bench-scale bench-catalog bench-fleet bench-signal bench-ddns bench-check bench-usage fuzz fuzz-smoke deb test-pg

DEB_PACKAGES := build-essential meson ninja-build pkg-config libknot-dev liburcu-dev libyaml-dev \
	libcmocka-dev libssl-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev \
	python3-jwt python3-cryptography libclang-rt-dev knot knot-dnsutils nsd bind9 bind9-utils python3-dnspython python3-pytest dnsutils clang clang-format \
	clang-tidy cppcheck dnsperf unbound knot-resolver ldnsutils bind9-dnsutils knot-dnssecutils python3-pytest-xdist iproute2 \
	libmaxminddb-dev libmaxmind-db-writer-perl mmdb-bin gdnsd knot-module-geoip pdns-server pdns-backend-geoip \
	scdoc man-db groff-base systemd debhelper lintian android-boringssl libnss3-tools pebble openssl \
	bird2 libdbus-1-dev dbus-daemon dbus-bin libmosquitto-dev mosquitto mosquitto-clients python3-paho-mqtt \
	lego \
	libidn2-dev whois \
	libpq-dev postgresql-15 zonemaster-cli dnsviz \
	chromium chromium-driver python3-selenium \
	libfstrm-dev fstrm-bin dnstap-ldns knot-module-dnstap libexpat1-dev
PY := /usr/bin/python3
# ternd refuses to run as root unless told (server.user, privdrop.h): the tests, the benches and
# `make run` run everything as root on a fresh machine, so they say so here
export TERND_ALLOW_ROOT ?= 1
BUILD := build
ASAN := build-asan
PORT ?= 5300
# System tests run in parallel (python3-pytest-xdist), one test file per worker: its module
# fixtures (servers) stay in one process, and the long waits of one file overlap the others.
# tests/system/conftest.py hands out the longest files first. Three at a time on two cores: the
# two six-minute rollover files mostly wait on timers, and run beside everything else.
PYTEST_WORKERS ?= 4
PYTEST := $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

all: build

# Installs missing Debian packages only (idempotent, quiet when everything is there).
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ $$(id -u) -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The release build is linked as one unit (LTO: the answer path's calls across modules inline);
# an older build/ takes it with `meson configure build -Db_lto=true`.
$(BUILD)/build.ninja:
	meson setup $(BUILD) -Db_lto=true

$(ASAN)/build.ninja:
	meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: $(ASAN)/build.ninja
	ninja -C $(ASAN)

run: deps build
	@mkdir -p run && $(PY) tools/devtoken.py run/keys --tenant example > run/token
	@tools/devcert.sh run/tls
	@echo "ternd on 127.0.0.1:$(PORT) (UDP+TCP) serving examples/, API on 127.0.0.1:8053; try:"
	@echo "  dig @127.0.0.1 -p $(PORT) www.example.com A"
	@echo "  dig @127.0.0.1 -p $(PORT) +dnssec www.example.com A   # signed by ternd (README: validate with delv)"
	@echo "  kdig @127.0.0.1 -p 8530 +tls www.example.com A   # DNS over TLS (run/tls/cert.pem, self-signed)"
	@echo "API tenant \"example\", token (24 h; also in run/token):"
	@echo "  export TERN_API=http://127.0.0.1:8053 TERN_TOKEN=$$(cat run/token)"
	@echo "  curl -H \"Authorization: Bearer \$$TERN_TOKEN\" -d '{\"name\":\"shop.test\"}' \$$TERN_API/api/v1/zones"
	@echo "  curl -X PUT -H \"Authorization: Bearer \$$TERN_TOKEN\" -d '{\"ttl\":300,\"records\":[\"192.0.2.7\"]}' \$$TERN_API/api/v1/zones/shop.test/rrsets/www/A"
	@echo "  dig @127.0.0.1 -p $(PORT) www.shop.test A"
	@$(PY) tools/devtoken.py run/keys --tenant operator --admin > run/admin-token
	@echo "Why a client gets its answer (zones of the configuration need an admin token, run/admin-token):"
	@echo "  TERN_TOKEN=\$$(cat run/admin-token) $(BUILD)/tern explain geo.example.com A --client 198.51.100.7 --ecs 24"
	$(BUILD)/ternd -c examples/ternd.yaml

unit: build-asan
	meson test -C $(ASAN) --print-errorlogs

system: build-asan
	TERND=$(CURDIR)/$(ASAN)/ternd $(PYTEST) tests/system

test: deps build-asan
	meson test -C $(ASAN) --print-errorlogs
	TERND=$(CURDIR)/$(ASAN)/ternd $(PYTEST) tests/system
	$(MAKE) fuzz-smoke

# The API test files again with every ternd's store in PostgreSQL 15 (TERN_STORE=pg: pglib.py starts a
# server of its own in each worker, unix socket only); left out: the tests that open tern.db
# themselves, and backup/restore (SQLite files; PostgreSQL has pg_dump). `make test` runs a subset
# of these on PostgreSQL (tests/system/test_pg_store.py).
PG_API_TESTS := tests/system/test_api_*.py tests/system/test_services.py tests/system/test_dnssec_signing.py \
	tests/system/test_jwks_url.py tests/system/test_xfr.py tests/system/test_zone_rules.py tests/system/test_ddns.py \
	tests/system/test_zone_recreate.py tests/system/test_ixfr_out.py tests/system/test_usage.py \
	tests/system/test_onboard.py
test-pg: build-asan
	TERN_STORE=pg TERND=$(CURDIR)/$(ASAN)/ternd $(PYTEST) $(PG_API_TESTS) -k "not test_approval_is_one_transaction \
		and not test_keys_shown_without_private_material and not test_unloadable_keys_refuse_writes_after_restart"

FUZZ_SECONDS ?= 60

# libFuzzer harnesses (tests/fuzz/): each for FUZZ_SECONDS; failing inputs land in tests/fuzz/crashes/.
fuzz: deps
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# In make test: every regression input, crash and seed once, then 10 s of each harness.
fuzz-smoke: deps
	tests/fuzz/run.sh --replay
	tests/fuzz/run.sh --parallel 10

lint:
	clang-format --dry-run --Werror $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
		-I src --suppress=missingIncludeSystem src
	clang-tidy -p $(BUILD) --quiet $$(git ls-files 'src/*.c') 2>/dev/null

# Debian packages (debian/): ternd (daemon, unit, man pages, default /etc/tern/ternd.yaml, user
# tern) and tern (CLI), built from a copy of the tracked files (no build directory of the checkout
# goes in) into deb/, then checked by lintian. tests/system/test_deb.py builds, installs and purges.
deb: deps
	rm -rf deb && mkdir -p deb/src
	git ls-files -z | tar --null -T - -cf - | tar -x -C deb/src
	cd deb/src && dpkg-buildpackage -us -uc -b
	lintian --fail-on error --info deb/*.changes

# Soak: ternd under dnsperf load for SOAK_SECONDS (default 600) while its zone changes every second.
SOAK_SECONDS ?= 600
soak: deps build
	@command -v dnsperf >/dev/null || (SUDO=$$( [ $$(id -u) -eq 0 ] || echo sudo ); $$SUDO apt-get install -y -qq dnsperf)
	$(PY) tests/soak/soak.py --seconds $(SOAK_SECONDS)

# The benchmark of issue 6 (bench/README.md): ternd vs Knot DNS, NSD and the kernel floor;
# writes bench/results/latest.md. BENCH_QUICK=1 for a short smoke run.
bench: build
	bash bench/run.sh

# The control plane against PowerDNS 4.7 (bench/api/README.md); BENCH_API_QUICK=1 for a quick run.
bench-api: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/api/run.sh

# DNSSEC (bench/README.md): signing a 1M-RR zone, change -> signed answer, instructions per DO=1
# query, against Knot; writes bench/results/dnssec.md. BENCH_DNSSEC_QUICK=1 for a quick run.
bench-dnssec: build
	bash bench/deps.sh
	TERND=$(CURDIR)/$(BUILD)/ternd bench/dnssec/run.sh

# PoP propagation (bench/README.md): API change -> served on 3 ternd PoPs and on a Knot secondary,
# Knot -> Knot for reference; writes bench/results/pop.md. BENCH_POP_CHANGES=10 for a quick run.
bench-pop: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/pop/run.sh

# Dynamic answers (bench/README.md): instructions per EDNS Client Subnet query of a geo resource of
# 1,000 subnets next to a static name; writes bench/results/geo.md. BENCH_GEO_QUICK=1 for a quick run.
bench-geo: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/geo/run.sh

# Many small zones (bench/README.md): 100,000 zone files served by ternd, Knot and NSD: start to
# every zone served, CPU, PSS, `ternd --check`, SIGHUP after one file changed; writes
# bench/results/scale.md. BENCH_SCALE_ZONES=10000 for a quick run.
bench-scale: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/scale/run.sh

# A catalog of BENCH_CATALOG_MEMBERS (100,000) followed by a ternd PoP and Knot: one member added
# and removed, by IXFR; times, bytes and CPU (bench/README.md). Writes bench/results/catalog.md.
BENCH_CATALOG_MEMBERS ?= 100000
bench-catalog: build
	$(PY) bench/scale/bench_catalog.py --ternd $(CURDIR)/$(BUILD)/ternd --members $(BENCH_CATALOG_MEMBERS) \
		--label "$$(git rev-parse --short HEAD)" --out bench/results/catalog.md

# A fleet of PoPs (bench/README.md): a 10,000-zone catalog consumed by 20 ternd PoPs, then 20 Knot
# PoPs, each in a network namespace: empty -> all served, a burst of 1,000 API changes, a frozen PoP,
# memory per secondary zone beside NSD; writes bench/results/fleet.md. BENCH_FLEET_QUICK=1: quick.
bench-fleet: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/fleet/run.sh

# Signals (bench/README.md): readiness, SIGTERM and SIGKILL to the birdc call for ternd's hook, MQTT
# and D-Bus against a 1 s DNS poller and Knot's D-Bus, and instructions per query with signalling on
# vs off; writes bench/results/signal.md. BENCH_SIGNAL_ONLY=ipq (or ready) reruns one part.
bench-signal: build
	bash bench/signal/deps.sh
	TERND=$(CURDIR)/$(BUILD)/ternd bench/signal/run.sh

# Services (bench/README.md): a service's creation to its A served and to a certificate for its
# canonical name plus an alias with the HTTPS record served, against lego --http on the same pebble,
# and the control plane's change -> served beside it; writes bench/results/service.md (~3 minutes).
.PHONY: bench-service
bench-service: build
	bash bench/service/deps.sh
	TERND=$(CURDIR)/$(BUILD)/ternd bench/service/run.sh

# Internet-facing PoPs (bench/README.md): instructions per query with RRL off vs on, amplification
# under a spoofed flood vs Knot mod-rrl, DoT vs NSD and BIND, XoT; writes bench/results/edge.md.
# BENCH_EDGE_ONLY=amp (or ipq, dot, xot) reruns one part; BENCH_EDGE_QUICK=1 for a quick run.
.PHONY: bench-edge
bench-edge: build
	bash bench/edge/deps.sh
	TERND=$(CURDIR)/$(BUILD)/ternd bench/edge/run.sh

# Dynamic updates (bench/README.md): sequential TSIG-signed RFC 2136 updates to ternd, Knot and BIND,
# updates/s and update -> served p50/p99 (polled every 0.1 ms); writes bench/results/ddns.md.
# BENCH_DDNS_UPDATES=200 BENCH_DDNS_LATENCY=50 for a quick run.
bench-ddns: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/ddns/run.sh

# tern check against Zonemaster (bench/README.md): wall time of `tern check domain corp.lab` and of
# `zonemaster-cli corp.lab --hints` on test_check.py's lab, Zonemaster's errors a subset of tern's;
# writes bench/results/check.md. BENCH_CHECK_ROUNDS=3 for a quick run.
bench-check: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/check/run.sh

# Usage counting (bench/README.md): instructions per query in the UDP worker with
# usage.count-queries on and off (callgrind); writes bench/results/usage.md.
bench-usage: build
	bash bench/usage/deps.sh
	TERND=$(CURDIR)/$(BUILD)/ternd bench/usage/run.sh

# The control plane on PostgreSQL (bench/README.md, "bench-pg"): ternd with api.store in PostgreSQL
# against PowerDNS with gpgsql on one PostgreSQL 15: API writes/s, zones/s, change -> served and
# queries/s; writes bench/results/pg.md. Its packages come in bench/pg/deps.sh. BENCH_PG_QUICK=1: quick.
.PHONY: bench-pg
bench-pg: build
	TERND=$(CURDIR)/$(BUILD)/ternd bench/pg/run.sh

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz deb
