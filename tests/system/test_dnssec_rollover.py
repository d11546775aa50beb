"""ZSK and KSK rollovers of corp.lab. (ECDSA P-256, NSEC) signed online by ternd, watched for six
minutes by Unbound, BIND named and Knot Resolver in the DNSSEC lab: see rolllab.py. The NSEC3 +
Ed25519 variant is test_dnssec_rollover_nsec3.py (a file of its own, so pytest-xdist's loadfile
runs the two six-minute waits side by side, each in its own lab namespace)."""
from apilib import keys  # noqa: F401 (fixture)
from dnsseclab import lab  # noqa: F401 (fixture)
from rolllab import run_rollover


def test_rollovers_validate_throughout(lab, keys, tmp_path):  # noqa: F811
    run_rollover(lab, keys, tmp_path, {"algorithm": "ecdsap256sha256", "denial": "nsec"})
