"""dist/tern-anycast-agent's judgement (issue 21), without a broker: what it makes of a sequence of
ternd's MQTT messages (State.reasons), including what an earlier ternd process left retained;
and its refusals of bad arguments (anonymous, plain MQTT off loopback, a missing file); and
dist/tern-anycast-hook with its state directory, driven as ternd runs it.
test_signals_bird.py runs it against a real broker and BIRD."""
import importlib.machinery
import importlib.util
import os
import subprocess

import pytest

from ternlib import ROOT

AGENT = os.path.join(ROOT, "dist", "tern-anycast-agent")


def load():
    loader = importlib.machinery.SourceFileLoader("tern_anycast_agent", AGENT)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


agent = load()
T = 1_800_000_000  # a start: seconds


def state(*msgs, withdraw="zone-expiring,signatures-expiring"):
    s = agent.State(withdraw.split(","))
    for cond, zone, st, when in msgs:
        s.update(cond, zone, st, when)
    return s


def test_ready_announces_and_each_condition_withdraws():
    up = [("crashed", "", "clear", T), ("running", "", "set", T + 1), ("zone-ready", "a.test", "set", T),
          ("all-zones-ready", "", "set", T + 1)]
    assert state(*up).reasons() == []
    assert state(*up[:3]).reasons() == ["all-zones-ready not set"]
    assert state(*up, ("shutting-down", "", "set", T + 5)).reasons() == ["shutting-down set"]
    assert state(*up, ("running", "", "clear", T + 5)).reasons() == ["running clear"]
    # the will carries the time of the connection, before running: it counts all the same
    assert state(*up, ("crashed", "", "set", T)).reasons() == ["crashed set"]
    assert state(*up, ("zone-expiring", "a.test", "set", T + 9)).reasons() == ["zone-expiring set for a.test"]
    assert state(*up, ("signatures-expiring", "a.test", "set", T)).reasons() == [
        "signatures-expiring set for a.test"]  # at load: the zone-ready's second
    assert state(*up, ("zone-expiring", "a.test", "set", T + 9), ("zone-expiring", "a.test", "clear", T + 12)
                 ).reasons() == []
    # a condition not listed does nothing; listed, it withdraws (without a zone too)
    assert state(*up, ("query-rate-high", "", "set", T + 9)).reasons() == []
    assert state(*up, ("query-rate-high", "", "set", T + 9),
                 withdraw="query-rate-high").reasons() == ["query-rate-high set"]


def test_what_an_earlier_process_left_does_not_count():
    up = [("running", "", "set", T + 100), ("zone-ready", "a.test", "set", T + 100),
          ("all-zones-ready", "", "set", T + 101)]
    # a shutting-down before this process's running; a zone's condition before its zone-ready; one of
    # a zone no longer served; a condition without a zone before running
    assert state(("shutting-down", "", "set", T + 50), *up).reasons() == []
    assert state(("zone-expiring", "a.test", "set", T + 50), *up).reasons() == []
    assert state(*up, ("zone-expiring", "gone.test", "set", T + 50),
                 ("zone-ready", "gone.test", "clear", T + 60)).reasons() == []
    assert state(("query-rate-high", "", "set", T + 50), *up, withdraw="query-rate-high").reasons() == []
    # a zone whose zone-ready has not come yet: its condition counts (withdrawn rather than announced)
    assert state(*up, ("zone-expiring", "b.test", "set", T + 50)).reasons() == ["zone-expiring set for b.test"]


@pytest.mark.parametrize("args, message", [
    (["--broker", "mqtt://127.0.0.1"], "no credentials"),
    (["--broker", "mqtt://192.0.2.1", "--username", "u", "--password-file", "/etc/hostname"],
     "is MQTT without TLS to a broker not on loopback"),
    (["--broker", "http://127.0.0.1"], "is not mqtt://HOST[:PORT]"),
    (["--broker", "mqtt://127.0.0.1:99999", "--username", "u", "--password-file", "/etc/hostname"], "has a bad port"),
    (["--broker", "mqtt://127.0.0.1", "--username", "u", "--password-file", "/nonexistent"],
     "--password-file: '/nonexistent' cannot be read"),
    (["--broker", "mqtt://127.0.0.1", "--password-file", "/etc/hostname"], "--password-file needs --username"),
    (["--broker", "mqtt://127.0.0.1", "--cert-file", "/etc/hostname", "--key-file", "/etc/hostname"],
     "a client certificate needs an mqtts:// broker"),
    (["--broker", "mqtt://127.0.0.1", "--username", "u", "--password-file", "/etc/hostname", "--keepalive", "0"],
     "--keepalive: 0"),
])
def test_bad_arguments_are_named(args, message):
    r = subprocess.run(["/usr/bin/python3", AGENT, "--pop", "p", "--protocol", "anycast"] + args,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and message in r.stderr, r.stderr


HOOK = os.path.join(ROOT, "dist", "tern-anycast-hook")


def test_hook_with_state_withdraws_on_the_expiring_conditions(tmp_path):
    """tern-anycast-hook with TERN_BIRD_STATE: each change as ternd runs it (argv, TERN_* env), a
    birdc that writes down its arguments; the route follows all-zones-ready and every zone's
    zone-expiring and signatures-expiring. Its parent (this process) is the ternd: a new parent
    starts afresh. Without the directory an expiring condition fails with a message."""
    calls = tmp_path / "calls"
    birdc = tmp_path / "birdc"
    birdc.write_text("#!/bin/sh\necho \"$*\" >>%s\n" % calls)
    birdc.chmod(0o755)
    base = {"PATH": os.environ["PATH"], "TERN_BIRD_PROTOCOL": "anycast", "TERN_BIRDC": str(birdc),
            "TERN_BIRD_STATE": str(tmp_path / "state")}

    def hook(cond, state, zone=None, env=base):
        e = dict(env, TERN_CONDITION=cond, TERN_STATE=state)
        if zone:
            e["TERN_ZONE"] = zone
        r = subprocess.run([HOOK, cond, state], env=e, capture_output=True, text=True, timeout=10)
        last = calls.read_text().splitlines()[-1] if calls.exists() else None
        return r.returncode, last, r.stderr

    assert hook("all-zones-ready", "set")[:2] == (0, "enable anycast")
    assert hook("zone-expiring", "set", "a.test.")[:2] == (0, "disable anycast")
    assert hook("signatures-expiring", "set", "b/x.test.")[:2] == (0, "disable anycast")
    assert hook("zone-expiring", "clear", "a.test.")[:2] == (0, "disable anycast")  # b still expiring
    assert hook("signatures-expiring", "clear", "b/x.test.")[:2] == (0, "enable anycast")
    n = len(calls.read_text().splitlines())
    assert hook("query-rate-high", "set")[0] == 0 and len(calls.read_text().splitlines()) == n  # not used
    assert hook("zone-expiring", "set", "a.test.")[1] == "disable anycast"
    assert hook("all-zones-ready", "clear")[1] == "disable anycast"
    assert hook("zone-expiring", "clear", "a.test.")[1] == "disable anycast"  # not every zone served
    assert hook("all-zones-ready", "set")[1] == "enable anycast"
    assert hook("shutting-down", "set")[1] == "disable anycast"
    # another ternd (the recorded parent differs): what the previous one said is forgotten
    (tmp_path / "state" / "pid").write_text("1\n")
    assert hook("all-zones-ready", "set")[1] == "enable anycast"
    # TERN_BIRD_WITHDRAW names the conditions
    env = dict(base, TERN_BIRD_WITHDRAW="query-rate-high")
    assert hook("query-rate-high", "set", env=env)[1] == "disable anycast"
    assert hook("query-rate-high", "clear", env=env)[1] == "enable anycast"
    # without the state directory: the readiness mapping, and a message for the rest
    env = {k: v for k, v in base.items() if k != "TERN_BIRD_STATE"}
    assert hook("shutting-down", "set", env=env)[:2] == (0, "disable anycast")
    rc, _, err = hook("zone-expiring", "set", "a.test.", env=env)
    assert rc == 2 and "zone-expiring needs TERN_BIRD_STATE" in err, err
