"""The systemd unit (issue 19): dist/ternd.service.in as meson writes it for this build. Type=notify
(READY=1 from ternd: test_sdnotify.py), its own user with CAP_NET_BIND_SERVICE alone, and
hardening that `systemd-analyze security --offline=true` scores at 2.0 or below, under every
anchor the issue measured on Debian 12 (PowerDNS 2.3, NSD 5.0, Knot 7.0, BIND 9.6);
`systemd-analyze verify` finds nothing wrong with it (its binary and man pages those of the build)."""
import os
import re
import subprocess

import pytest

from ternlib import TERND

BUILD = os.path.dirname(TERND)
UNIT = os.path.join(BUILD, "ternd.service")
BOUND = 2.0

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/systemd-analyze"), reason="no systemd-analyze")


def unit_text():
    assert os.path.exists(UNIT), "%s was not written (meson.build configures dist/ternd.service.in)" % UNIT
    with open(UNIT, encoding="utf-8") as f:
        return f.read()


def score(path):
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", path], capture_output=True,
                       text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    return float(m.group(1))


def test_unit_scores_below_every_anchor(tmp_path):
    text = unit_text()
    got = score(UNIT)
    print("systemd-analyze security: ternd.service %.1f" % got)
    assert got <= BOUND, got
    # the bound means something: the same unit without its sandboxing scores far above it
    bare = tmp_path / "ternd.service"
    bare.write_text("\n".join(line for line in text.splitlines()
                              if not re.match(r"(Protect|Private|Restrict|SystemCall|Capability|NoNew)", line)))
    assert score(str(bare)) > 5.0


def test_unit_runs_ternd_as_its_own_user_and_tells_readiness():
    fields = {}
    for line in unit_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            fields.setdefault(k, []).append(v)
    assert fields["Type"] == ["notify"]
    assert fields["User"] == ["tern"] and fields["Group"] == ["tern"]
    assert fields["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert fields["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert fields["NoNewPrivileges"] == ["yes"] and fields["ProtectSystem"] == ["strict"]
    assert fields["StateDirectory"] == ["tern"]
    assert fields["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    start = fields["ExecStart"][0].split()
    assert os.path.basename(start[0]) == "ternd" and start[1] == "-c" and start[2].endswith("/tern/ternd.yaml")
    assert fields["ExecStartPre"][0].split()[1] == "--check"


def test_unit_verifies(tmp_path):
    """systemd-analyze verify: the unit's syntax, its binary, its man pages (those of this build)."""
    man = tmp_path / "man"
    for page, section in (("ternd.8", "8"), ("ternd.yaml.5", "5")):
        (man / ("man" + section)).mkdir(parents=True, exist_ok=True)
        (man / ("man" + section) / page).write_bytes(open(os.path.join(BUILD, page), "rb").read())
    text = re.sub(r"(?m)^(ExecStart(?:Pre)?=)\S+/ternd", r"\g<1>" + os.path.abspath(TERND), unit_text())
    unit = tmp_path / "ternd.service"
    unit.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANPATH=str(man) + ":"))
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r.stdout + r.stderr
