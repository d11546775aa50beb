"""ternd's log lines (issue 19): with journald as the reader of stderr ($JOURNAL_STREAM names it)
each line starts with its syslog priority, so `journalctl -p err` finds the errors, every line of a
message of several lines included; `log.format: json` writes one JSON object a line (time, level,
message), a message of several lines and one quoting hostile bytes still one valid object; a reload
switches the format."""
import json
import os
import re
import subprocess
import time

from ternlib import TERND, free_port, terminate, wait_udp

GOOD = "$ORIGIN ok.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n"
# a zone that does not load: its error names the file and line (and the bytes are not UTF-8)
BAD = "$ORIGIN bad.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.\xff\n"


def configure(tmp_path, fmt=None):
    (tmp_path / "ok.test.zone").write_text(GOOD)
    (tmp_path / "bad.test.zone").write_bytes(BAD.encode("latin-1"))
    port = free_port()
    conf = tmp_path / "ternd.yaml"
    text = ('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: ok.test\n    file: ok.test.zone\n'
            '  - name: bad.test\n    file: bad.test.zone\n' % port)
    if fmt:
        text += "log:\n  format: %s\n" % fmt
    conf.write_text(text)
    return conf, port


def start(conf, port, log, journal_of=None):
    f = open(log, "ab")
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal_of:
        st = os.fstat(f.fileno()) if journal_of == "self" else os.stat(journal_of)
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=f, stderr=f, env=env)
    wait_udp("127.0.0.1", port, proc=proc)
    return proc, f


def lines_of(log, until, timeout=10):
    deadline = time.time() + timeout
    while True:
        text = open(log, "rb").read().decode("utf-8", errors="replace")
        if until in text:
            return text.splitlines()
        assert time.time() < deadline, "%r never logged:\n%s" % (until, text[-3000:])
        time.sleep(0.05)


def start_lines(tmp_path, fmt=None, journal_of=None):
    """A ternd started on tmp_path's configuration, its log's lines once every zone is served."""
    conf, port = configure(tmp_path, fmt)
    log = tmp_path / "ternd.log"
    proc, f = start(conf, port, log, journal_of=journal_of)
    try:
        return lines_of(log, "all zones served")
    finally:
        terminate(proc)
        f.close()


def test_journald_lines_carry_priorities(tmp_path):
    lines = start_lines(tmp_path, journal_of="self")
    assert lines, lines
    bad = [line for line in lines if not re.match(r"^<[3467]>(error|warning|info|debug): ", line)]
    assert bad == [], bad  # every line, those of multi-line messages too
    errors = [line for line in lines if line.startswith("<3>")]
    assert any("bad.test" in line for line in errors), lines
    assert all(line.startswith("<3>error: ") for line in errors)
    assert any(line.startswith("<6>info: ready: ") for line in lines), lines
    # no time stamp: journald keeps its own
    assert not any(re.match(r"^<\d>\d{4}-\d\d-\d\dT", line) for line in lines)


def test_a_journal_stream_of_another_file_changes_nothing(tmp_path):
    other = tmp_path / "other"
    other.write_text("")
    lines = start_lines(tmp_path, journal_of=str(other))
    assert any(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: ready: ", line) for line in lines), lines
    assert not any(line.startswith("<") for line in lines)


def test_json_lines(tmp_path):
    # the configuration in a directory whose name is not UTF-8: messages that name its files
    # carry that byte, and the JSON must still be valid UTF-8
    odd = tmp_path / os.fsdecode(b"dir\xff")
    odd.mkdir()
    conf, port = configure(odd, "json")
    log = tmp_path / "ternd.log"
    proc, f = start(conf, port, log)
    try:
        lines = lines_of(log, "all zones served")
        raw = open(log, "rb").read()
        raw.decode("utf-8")  # strictly: the directory's 0xff byte is quoted as \uFFFD, not written raw
        assert b"dir\\uFFFD" in raw, raw[-2000:]
        objs = [json.loads(line) for line in lines]  # every line one valid object
        assert all(set(o) == {"time", "level", "message"} for o in objs), objs
        assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", o["time"]) for o in objs), objs
        errs = [o for o in objs if o["level"] == "error" and "bad.test" in o["message"]]
        assert errs, objs
        assert any(o["message"].startswith("ready: ") and o["level"] == "info" for o in objs)
        # a reload back to text: later lines are text
        conf.write_text(conf.read_text().replace("format: json", "format: text"))
        proc.send_signal(1)
        lines = lines_of(log, "info: reload done")
        assert re.match(r"^\d{4}-.*Z info: reload done", lines[-1]), lines[-3:]
    finally:
        terminate(proc)
        f.close()


def test_json_lines_under_journald(tmp_path):
    lines = start_lines(tmp_path, "json", journal_of="self")
    for line in lines:
        m = re.match(r"^<(\d)>(\{.*\})$", line)
        assert m, line
        o = json.loads(m.group(2))
        assert int(m.group(1)) == {"error": 3, "warning": 4, "info": 6, "debug": 7}[o["level"]], line
