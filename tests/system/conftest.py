"""The order the system test files run in under pytest-xdist (make test: --dist loadfile).

xdist hands out whole files in collection order: each worker first gets one file, then one more
at once (a worker runs a test only once it knows the next one), then the next file whenever it is
down to two tests. So the suite's wall time is bounded by its longest file, plus whatever was
queued behind it. The order here is longest first (LONG, seconds measured on a 2-core machine),
with the first round's prefetched files the shortest ones, so nothing waits behind a six-minute
rollover; the rest longest first, so the end of the run is short files filling the gaps. Tests
inside a file keep their order. Without xdist the order does not matter and is left alone.
"""
import os

import pytest

# ternd refuses to run as root unless told (server.user); the suite runs as root, and every ternd
# it starts inherits this (test_privdrop.py takes it away where the refusal is the test)
os.environ.setdefault("TERND_ALLOW_ROOT", "1")

# Seconds per file (sum of its tests, setup and teardown included), from a full run with 4 workers
# (2026-12-06, junit times; files merged after it by their authors' estimates); files not listed
# take less than about 10 s. A stale entry only makes the schedule a little worse.
LONG = {
    "test_dnssec_rollover_nsec3.py": 363,
    "test_dnssec_rollover.py": 363,
    "test_deb.py": 281,
    "test_hints.py": 245,
    "test_jwks_url.py": 142,
    "test_dnssec_rfc5011.py": 124,
    "test_route53_terraform.py": 122,
    "test_pg_store.py": 104,
    "test_dnssec_roll.py": 100,
    "test_modules.py": 98,
    "test_dnssec_unsign.py": 85,
    "test_dnssec_algroll.py": 68,
    "test_service_aliases.py": 66,
    "test_console.py": 60,
    "test_dyn_signed.py": 55,
    "test_signals.py": 53,
    "test_dnssec_signing.py": 51,
    "test_domainconnect.py": 50,
    "test_signed_secondaries.py": 48,
    "test_dnssec_unsign_lab.py": 42,
    "test_hints_owner.py": 40,
    "test_check_zonemaster.py": 37,
    "test_service_certs.py": 36,
    "test_rrl.py": 35,
    "test_api_import.py": 34,
    "test_signals_bird.py": 34,
    "test_dnssec_lab.py": 31,
    "test_config_unsign.py": 30,
    "test_xot_in.py": 27,
    "test_dot.py": 27,
    "test_signals_mqtt.py": 27,
    "test_api_slowloris.py": 25,
    "test_signed_downstream.py": 25,
    "test_scale.py": 24,
    "test_tcp.py": 24,
    "test_knot_diff.py": 23,
    "test_secondary.py": 23,
    "test_pop_usage.py": 21,
    "test_secondary_workers.py": 21,
    "test_signals_channels.py": 21,
    "test_signals_ksk.py": 21,
    "test_xfr.py": 19,
    "test_check.py": 19,
    "test_mutation.py": 17,
    "test_check_cache.py": 16,
    "test_cli.py": 15,
    "test_signals_dbus.py": 15,
    "test_ixfr_in.py": 14,
    "test_tcp_abuse.py": 14,
    "test_xfrin_pipeline.py": 13,
    "test_store_copy.py": 12,
    "test_dnssec_backup.py": 11,
    "test_usage.py": 11,
}


def schedule(files, workers):
    """files (in collection order) in the order to hand them out to workers."""
    longest = sorted(files, key=lambda f: -LONG.get(os.path.basename(f), 0))  # stable: ties by name
    first, rest = longest[:workers], longest[workers:]
    short = [f for f in reversed(rest) if os.path.basename(f) not in LONG][:workers]
    return first + short + [f for f in rest if f not in short]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers < 2:
        return
    by_file = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::")[0], []).append(item)
    items[:] = [item for f in schedule(list(by_file), workers) for item in by_file[f]]
