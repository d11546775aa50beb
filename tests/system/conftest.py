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

# Seconds per file (sum of its tests, setup and teardown included), from a full run; files not
# listed take less than about 10 s. A stale entry only makes the schedule a little worse.
LONG = {
    "test_deb.py": 200,
    "test_dnssec_rollover_nsec3.py": 368,
    "test_dnssec_rollover.py": 365,
    "test_dnssec_rfc5011.py": 122,
    "test_hints.py": 245,
    "test_route53_terraform.py": 130,
    "test_jwks_url.py": 70,
    "test_service_aliases.py": 60,
    "test_console.py": 50,
    "test_domainconnect.py": 45,
    "test_dnssec_roll.py": 102,
    "test_dnssec_unsign.py": 89,
    "test_modules.py": 88,
    "test_fleet.py": 70,
    "test_scale.py": 65,
    "test_dnssec_algroll.py": 68,
    "test_signed_secondaries.py": 49,
    "test_dnssec_signing.py": 43,
    "test_catalog_scale.py": 45,
    "test_dnssec_unsign_lab.py": 43,
    "test_dyn_signed.py": 40,
    "test_dnssec_lab.py": 37,
    "test_api_import.py": 36,
    "test_config_unsign.py": 31,
    "test_zonefile_signing.py": 30,
    "test_cli.py": 28,
    "test_knot_diff.py": 27,
    "test_api_slowloris.py": 26,
    "test_secondary.py": 26,
    "test_dnssec_backup.py": 25,
    "test_signed_downstream.py": 25,
    "test_signals_dbus.py": 22,
    "test_ixfr_in.py": 21,
    "test_mutation.py": 21,
    "test_tcp.py": 19,
    "test_xfr.py": 19,
    "test_check_reload.py": 15,
    "test_zone_rules.py": 15,
    "test_batch_journal.py": 14,
    "test_ixfr_out.py": 14,
    "test_tcp_abuse.py": 14,
    "test_catalog.py": 12,
    "test_denial.py": 12,
    "test_dyn_cname.py": 12,
    "test_dyn_explain.py": 12,
    "test_dyn_knot.py": 12,
    "test_dyn_knot_geodb.py": 12,
    "test_api_input.py": 10,
    "test_pg_store.py": 190,
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
