"""`ternd --check` (config and zone validation with file:line errors), SIGHUP reload, clean stop."""
import os
import re
import shutil
import signal
import subprocess

import dns.rcode
import pytest

from sysutil import (BAD_ZONES, TERND, ZONE_FILES, Ternd, assert_aa, assert_answer, assert_rcode, describe,
                     poll, serve, wait_tcp)


def run_check(config, timeout=10):
    p = subprocess.run([TERND, "--check", "-c", config], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stderr


def write_config(tmp_path, text, name="ternd.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def zones_yaml(zones):
    return "zones:\n" + "".join('  - name: %s\n    file: "%s"\n' % (n, f) for n, f in zones.items())


def good_config(tmp_path, zones=None):
    return write_config(tmp_path, 'server:\n  listen:\n    - "127.0.0.1@53001"\n' + zones_yaml(zones or ZONE_FILES))


def error_lines(stderr, filename):
    """Line numbers of `...filename:LINE:` error messages in stderr."""
    return [int(m) for m in re.findall(r"(?:^|[\s/])" + re.escape(filename) + r":(\d+):", stderr, re.M)]


# --- ternd --check -------------------------------------------------------------------------------

def test_check_accepts_good_config(tmp_path):
    rc, err = run_check(good_config(tmp_path))
    assert rc == 0, "--check failed on the good zones:\n" + err


def test_check_accepts_relative_zone_path(tmp_path):
    shutil.copy(ZONE_FILES["example.net"], tmp_path / "net.zone")
    cfg = write_config(tmp_path, 'server:\n  listen:\n    - "127.0.0.1@53001"\n'
                                 'zones:\n  - name: example.net\n    file: net.zone\n')
    rc, err = run_check(cfg)
    assert rc == 0, err


# (file, lines the error may name or None for any, a regex the message must contain)
BAD = [
    ("bad-nosoa.zone", None, r"SOA"),
    ("bad-outofzone.zone", {7}, r"(?i)out.of.zone|outside"),
    ("bad-cname.zone", {7, 8}, r"CNAME"),
    ("bad-apexcname.zone", {6}, r"CNAME"),
    ("bad-twocname.zone", {7, 8}, r"CNAME"),
    ("bad-noapexns.zone", None, r"\bNS\b"),
    ("bad-twosoa.zone", {4, 6}, r"SOA"),
    ("bad-rdata.zone", {7}, r"."),
    ("bad-syntax.zone", {7}, r"."),
]


@pytest.mark.parametrize("fname,lines,word", BAD, ids=[b[0] for b in BAD])
def test_check_rejects_bad_zone(tmp_path, fname, lines, word):
    path = os.path.join(BAD_ZONES, fname)
    rc, err = run_check(good_config(tmp_path, {"example.com": path}))
    assert rc != 0, "--check accepted %s:\n%s" % (fname, err)
    found = error_lines(err, fname)
    assert found, "no `%s:LINE:` error on stderr:\n%s" % (fname, err)
    if lines is not None:
        assert set(found) & lines, "error at line(s) %s, expected one of %s:\n%s" % (found, sorted(lines), err)
    msg = [l for l in err.splitlines() if fname + ":" in l]
    assert any(re.search(word, l) for l in msg), "no message matching %r:\n%s" % (word, err)


def test_check_reports_every_bad_zone(tmp_path):
    zones = {"example.com": os.path.join(BAD_ZONES, "bad-outofzone.zone"),
             "example.net": os.path.join(BAD_ZONES, "bad-rdata.zone"),
             "sub.example.com": ZONE_FILES["sub.example.com"]}
    rc, err = run_check(good_config(tmp_path, zones))
    assert rc != 0
    assert error_lines(err, "bad-outofzone.zone") and error_lines(err, "bad-rdata.zone"), err


def test_check_missing_zone_file(tmp_path):
    missing = str(tmp_path / "does-not-exist.zone")
    rc, err = run_check(good_config(tmp_path, {"example.com": missing}))
    assert rc != 0
    assert "does-not-exist.zone" in err, err


CONFIG_HEAD = 'server:\n  listen:\n    - "127.0.0.1@53001"\n'  # lines 1-3


@pytest.mark.parametrize("body,line,word", [
    ('  bogus-key: 1\n', 4, "bogus-key"),
    ('    - "not-an-address@53"\n', 4, None),
    ('    - "127.0.0.1@70000"\n', 4, None),
    ('  edns-buffer-size: lots\n', 4, "edns-buffer-size"),
], ids=["unknown-key", "bad-address", "bad-port", "bad-number"])
def test_check_rejects_bad_config(tmp_path, body, line, word):
    cfg = write_config(tmp_path, CONFIG_HEAD + body + zones_yaml({"example.net": ZONE_FILES["example.net"]}))
    rc, err = run_check(cfg)
    assert rc != 0, "--check accepted:\n" + open(cfg).read()
    assert line in error_lines(err, "ternd.yaml"), "expected ternd.yaml:%d: in stderr:\n%s" % (line, err)
    if word:
        assert word in err, err


def test_check_rejects_unknown_zone_key(tmp_path):
    cfg = write_config(tmp_path, CONFIG_HEAD + "zones:\n  - name: example.net\n"
                       '    file: "%s"\n    colour: blue\n' % ZONE_FILES["example.net"])
    rc, err = run_check(cfg)
    assert rc != 0
    assert 7 in error_lines(err, "ternd.yaml"), err
    assert "colour" in err, err


def test_check_rejects_yaml_syntax_error(tmp_path):
    cfg = write_config(tmp_path, CONFIG_HEAD + "zones:\n  - name: [example.net\n")
    rc, err = run_check(cfg)
    assert rc != 0
    assert error_lines(err, "ternd.yaml"), err


def test_check_missing_config():
    rc, err = run_check("/nonexistent/ternd.yaml")
    assert rc != 0
    assert "/nonexistent/ternd.yaml" in err, err


# --- SIGHUP reload -------------------------------------------------------------------------------

def reload_zone(serial, addr, extra=""):
    return ("$ORIGIN reload.test.\n$TTL 60\n"
            "@ IN SOA ns1.reload.test. hostmaster.reload.test. %d 7200 3600 1209600 60\n"
            "@ IN NS ns1.reload.test.\nns1 IN A 192.0.2.1\nwww IN A %s\n%s" % (serial, addr, extra))


def a_of(srv, name):
    try:
        r = srv.query(name, "A")
    except Exception:
        return None
    return {rd.to_text() for rs in r.answer for rd in rs} if r.rcode() == dns.rcode.NOERROR else r.rcode()


@pytest.fixture
def rsrv(tmp_path):
    zone = tmp_path / "reload.zone"
    zone.write_text(reload_zone(1, "192.0.2.10"))
    s = serve({"reload.test": str(zone)}, workdir=str(tmp_path))
    s.zone_path = zone
    yield s
    s.stop()


def test_sighup_reloads_changed_zone(rsrv):
    assert_answer(rsrv.query("www.reload.test", "A"), "www.reload.test", "A", "192.0.2.10")
    rsrv.zone_path.write_text(reload_zone(2, "192.0.2.20"))
    rsrv.reload()
    got = poll(lambda: a_of(rsrv, "www.reload.test") == {"192.0.2.20"})
    assert got, "after SIGHUP still %s" % a_of(rsrv, "www.reload.test")
    r = rsrv.query("reload.test", "SOA")
    assert r.answer[0][0].serial == 2, describe(r)
    assert rsrv.proc.poll() is None


def test_sighup_twice_in_a_row(rsrv):
    for serial, addr in ((2, "192.0.2.21"), (3, "192.0.2.22")):
        rsrv.zone_path.write_text(reload_zone(serial, addr))
        rsrv.reload()
        assert poll(lambda: a_of(rsrv, "www.reload.test") == {addr}), a_of(rsrv, "www.reload.test")


def test_sighup_with_broken_zone_keeps_old_data(rsrv):
    rsrv.zone_path.write_text(reload_zone(2, "192.0.2.20"))
    rsrv.reload()
    assert poll(lambda: a_of(rsrv, "www.reload.test") == {"192.0.2.20"})
    log_before = len(rsrv.log_text())
    rsrv.zone_path.write_text(reload_zone(3, "192.0.2.30", "bad IN A 999.1.2.3\n"))
    rsrv.reload()
    logged = poll(lambda: "reload.zone" in rsrv.log_text()[log_before:])
    assert logged, "the failed load is not logged with the file name; log:\n" + rsrv.log_text()
    assert rsrv.proc.poll() is None, "ternd died on a broken zone"
    assert a_of(rsrv, "www.reload.test") == {"192.0.2.20"}, "the previous zone must keep serving"
    assert rsrv.query("reload.test", "SOA").answer[0][0].serial == 2
    # Fixing the file and reloading again brings the new data.
    rsrv.zone_path.write_text(reload_zone(4, "192.0.2.40"))
    rsrv.reload()
    assert poll(lambda: a_of(rsrv, "www.reload.test") == {"192.0.2.40"}), a_of(rsrv, "www.reload.test")


def test_sighup_with_deleted_zone_file_keeps_old_data(rsrv):
    os.unlink(rsrv.zone_path)
    log_before = len(rsrv.log_text())
    rsrv.reload()
    assert poll(lambda: "reload.zone" in rsrv.log_text()[log_before:]), rsrv.log_text()
    assert a_of(rsrv, "www.reload.test") == {"192.0.2.10"}


def test_sighup_adds_and_removes_zones(rsrv):
    listen = ["127.0.0.1@%d" % rsrv.port]
    rsrv.zones["example.net"] = ZONE_FILES["example.net"]
    rsrv.write_config(listen, "tcp-idle-timeout: 1")
    rsrv.reload()
    assert poll(lambda: a_of(rsrv, "www.example.net") == {"198.51.100.80"}), a_of(rsrv, "www.example.net")
    r = rsrv.query("www.example.net", "A")
    assert_aa(r)
    del rsrv.zones["reload.test"]
    rsrv.write_config(listen, "tcp-idle-timeout: 1")
    rsrv.reload()
    assert poll(lambda: a_of(rsrv, "www.reload.test") == dns.rcode.REFUSED), a_of(rsrv, "www.reload.test")
    assert a_of(rsrv, "www.example.net") == {"198.51.100.80"}


def test_sighup_with_broken_config_keeps_running(rsrv):
    log_before = len(rsrv.log_text())
    with open(rsrv.config, "a") as f:
        f.write("bogus-top-level-key: 1\n")
    rsrv.reload()
    assert poll(lambda: "ternd.yaml" in rsrv.log_text()[log_before:]), \
        "the bad config is not logged; log:\n" + rsrv.log_text()
    assert rsrv.proc.poll() is None
    assert a_of(rsrv, "www.reload.test") == {"192.0.2.10"}


def test_sighup_config_change_applies_identity(rsrv):
    import dns.edns
    listen = ["127.0.0.1@%d" % rsrv.port]
    rsrv.write_config(listen, "identity: reloaded.example")
    rsrv.reload()
    nsid = [dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")]

    def got_nsid():
        r = rsrv.query("www.reload.test", "A", use_edns=0, options=nsid)
        return [o.data for o in r.options if o.otype == dns.edns.OptionType.NSID] == [b"reloaded.example"]
    assert poll(got_nsid), "NSID after reload: %s" % rsrv.query("www.reload.test", "A", use_edns=0,
                                                               options=nsid).options


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_reloads_do_not_grow_memory(tmp_path, monkeypatch):
    """Each SIGHUP once kept its configuration until exit (about 2 KiB a reload): a year of
    reloads every minute is a gigabyte. Only the first configuration stays now."""
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0")
    zone = tmp_path / "reload.zone"
    zone.write_text(reload_zone(1, "192.0.2.10"))
    s = serve({"reload.test": str(zone)}, workdir=str(tmp_path))
    log = open(s.log)
    try:
        def hup(n):
            """n reloads, one after the other (signals sent faster would merge)."""
            for _ in range(n):
                s.reload()
                seen = [""]

                def done():
                    seen[0] += log.read()
                    return "reload done" in seen[0]
                assert poll(done, timeout=10, interval=0.001), "a reload did not finish"
        hup(1000)  # allocator warm-up (frees happen on the reclaim thread: its caches fill first)
        before = rss_kib(s.proc.pid)
        hup(1500)
        grown = rss_kib(s.proc.pid) - before
        assert grown < 800, "RSS grew %d KiB over 1500 reloads" % grown
        assert s.proc.poll() is None
    finally:
        log.close()
        s.stop()


def test_queries_answered_throughout_reloads(rsrv):
    import threading
    import dns.message
    import dns.query
    stop = threading.Event()
    bad = []
    count = [0]

    def hammer():
        q = dns.message.make_query("www.reload.test", "A")
        while not stop.is_set():
            try:
                r = dns.query.udp(q, rsrv.addr, port=rsrv.port, timeout=1)
                got = {rd.to_text() for rs in r.answer for rd in rs}
                if r.rcode() != dns.rcode.NOERROR or len(got) != 1:
                    bad.append(r.to_text())
            except Exception as e:  # a timeout is a dropped query
                bad.append(repr(e))
            count[0] += 1

    t = threading.Thread(target=hammer)
    t.start()
    try:
        for serial in range(2, 8):
            rsrv.zone_path.write_text(reload_zone(serial, "192.0.2.%d" % serial))
            rsrv.reload()
            assert poll(lambda: a_of(rsrv, "www.reload.test") == {"192.0.2.%d" % serial}), serial
            # a few queries per reload, however fast it is (an unchanged configuration file is not
            # read again, so a reload of one zone takes milliseconds)
            assert poll(lambda: count[0] >= 4 * (serial - 1), timeout=10)
    finally:
        stop.set()
        t.join()
    assert not bad, "%d of %d queries failed during reloads, e.g. %s" % (len(bad), count[0], bad[:3])
    assert count[0] > 20


# --- stopping ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly(tmp_path, sig):
    s = Ternd({"example.net": ZONE_FILES["example.net"]}, workdir=str(tmp_path)).start()
    wait_tcp(s.addr, s.port)
    assert_rcode(s.query("www.example.net", "A"), dns.rcode.NOERROR)
    s.query("www.example.net", "A", tcp=True)
    s.proc.send_signal(sig)
    try:
        rc = s.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        s.proc.kill()
        s.proc.wait()
        pytest.fail("ternd did not stop within 5 s of %s" % sig.name)
    s.logf.close()
    assert rc == 0, "exit code %s; log:\n%s" % (rc, s.log_text())


def test_stop_with_open_tcp_connection(tmp_path):
    from sysutil import tcp_connect
    s = Ternd({"example.net": ZONE_FILES["example.net"]}, workdir=str(tmp_path)).start()
    wait_tcp(s.addr, s.port)
    conn = tcp_connect(s.port)
    try:
        s.proc.send_signal(signal.SIGTERM)
        rc = s.proc.wait(timeout=5)
    finally:
        conn.close()
        s.stop()
    assert rc == 0
