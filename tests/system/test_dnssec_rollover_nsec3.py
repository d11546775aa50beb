"""ZSK and KSK rollovers of corp.lab. (Ed25519, NSEC3 without salt or iterations) signed online
by ternd, watched for six minutes by Unbound, BIND named and Knot Resolver in the DNSSEC lab: see
rolllab.py and test_dnssec_rollover.py (the ECDSA/NSEC variant)."""
from apilib import keys  # noqa: F401 (fixture)
from dnsseclab import lab  # noqa: F401 (fixture)
from rolllab import run_rollover


def test_rollovers_validate_throughout(lab, keys, tmp_path):  # noqa: F811
    run_rollover(lab, keys, tmp_path, {"algorithm": "ed25519", "denial": "nsec3"})
