"""The signals lab (issue 21), shared by test_signals_bird.py, test_signals_mqtt.py,
test_signals_dbus.py and bench/signal/bench_signal.py: network namespaces held by a sleeping
process, a veth between two of them, BIRD speakers and peers with birdc, a mosquitto broker that
refuses anonymous clients (password file, ACL, a TLS listener wanting client certificates), its
PKI, and a private dbus-daemon's configuration."""
import subprocess
import time

from ternlib import free_port, terminate, zone_text  # noqa: F401 (the tests import it from here)

ROUTE = "198.51.100.53/32"


def wait(pred, what, timeout):
    end = time.time() + timeout
    while not pred():
        assert time.time() < end, what
        time.sleep(0.02)
    return time.time()


class Ns:
    """A network namespace held by a sleeping process, lo up."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep infinity"])
        self.path = "/proc/%d/ns/net" % self.holder.pid
        deadline = time.time() + 5
        while self.run(["ip", "link", "show", "lo"], check=False).stdout.find("UP") < 0:
            assert time.time() < deadline, "lo not up"
            time.sleep(0.02)

    def argv(self, args):
        return ["nsenter", "--net=" + self.path, "--"] + list(args)

    def run(self, args, check=True):
        r = subprocess.run(self.argv(args), capture_output=True, text=True, timeout=30)
        assert not check or r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def popen(self, args, log, **kw):
        """args run in the namespace (nsenter execs them: the Popen's pid is theirs)."""
        return subprocess.Popen(self.argv(args), stdout=log, stderr=subprocess.STDOUT, **kw)

    def close(self):
        self.holder.kill()
        self.holder.wait()


def veth(a, b, suffix, a_addr="10.53.0.1/30", b_addr="10.53.0.2/30"):
    """A veth between namespaces a and b (tas<suffix> in a, tbp<suffix> in b), addressed and up."""
    subprocess.run(["ip", "link", "add", "tas" + suffix, "type", "veth", "peer", "name", "tbp" + suffix], check=True)
    subprocess.run(["ip", "link", "set", "tas" + suffix, "netns", str(a.holder.pid)], check=True)
    subprocess.run(["ip", "link", "set", "tbp" + suffix, "netns", str(b.holder.pid)], check=True)
    a.run(["ip", "addr", "add", a_addr, "dev", "tas" + suffix])
    a.run(["ip", "link", "set", "tas" + suffix, "up"])
    b.run(["ip", "addr", "add", b_addr, "dev", "tbp" + suffix])
    b.run(["ip", "link", "set", "tbp" + suffix, "up"])


def bird(ns, tmp_path, name, conf):
    """BIRD in ns with configuration conf, its control socket in tmp_path (a pathlib.Path): (Popen,
    socket) once birdc reaches it."""
    (tmp_path / ("%s.conf" % name)).write_text(conf)
    sock = str(tmp_path / ("%s.ctl" % name))
    log = open(tmp_path / ("%s.log" % name), "w")
    proc = ns.popen(["bird", "-f", "-c", str(tmp_path / ("%s.conf" % name)), "-s", sock,
                     "-P", str(tmp_path / ("%s.pid" % name))], log)
    deadline = time.time() + 10
    while subprocess.run(["birdc", "-s", sock, "show", "status"], capture_output=True).returncode != 0:
        assert proc.poll() is None and time.time() < deadline, open(tmp_path / ("%s.log" % name)).read()
        time.sleep(0.05)
    return proc, sock


def birdc(sock, *args):
    return subprocess.run(["birdc", "-s", sock] + list(args), capture_output=True, text=True, timeout=10).stdout


def has_route(sock, route=ROUTE):
    return route in birdc(sock, "show", "route", route)


def speaker_conf(statics, a_ip="10.53.0.1", b_ip="10.53.0.2"):
    """The speaker beside ternd: one static protocol per name in statics (disabled at start), each
    a blackhole route (the first ROUTE, then 198.51.100.54, ...), exported over BGP to the peer."""
    text = "router id %s;\nprotocol device {}\n" % a_ip
    for i, name in enumerate(statics):
        text += "protocol static %s { disabled yes; ipv4; route 198.51.100.%d/32 blackhole; }\n" % (name, 53 + i)
    text += ("protocol bgp peer { local %s as 65001; neighbor %s as 65002; hold time 3; connect retry time 1;\n"
             "  ipv4 { import none; export all; }; }\n" % (a_ip, b_ip))
    return text


def peer_conf(a_ip="10.53.0.1", b_ip="10.53.0.2"):
    return ("router id %s;\nprotocol device {}\n"
            "protocol bgp speaker { local %s as 65002; neighbor %s as 65001; hold time 3; connect retry time 1;\n"
            "  ipv4 { import all; export none; }; }\n" % (b_ip, b_ip, a_ip))


def bgp_lab(a, b, d, statics, suffix):
    """A veth between a and b, a BIRD speaker in a (speaker_conf(statics)) and its BGP peer in b,
    the session established: (speaker, speaker socket, peer, peer socket)."""
    veth(a, b, suffix)
    started = []
    try:
        speaker, ssock = bird(a, d, "speaker", speaker_conf(statics))
        started.append(speaker)
        peer, psock = bird(b, d, "peer", peer_conf())
        started.append(peer)
        wait(lambda: "Established" in birdc(psock, "show", "protocols", "speaker"), "BGP up", 30)
    except BaseException:
        for p in started:
            terminate(p, 5)
        raise
    return speaker, ssock, peer, psock


PASSWORDS = {"ternd": "ternd-secret", "reader": "reader-secret", "nobody": "nobody-secret"}
ACL = """user ternd
topic write tern/#
user ternd-tls
topic write tern/#
user reader
topic read tern/#
user nobody
"""


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """A CA, the broker's certificate for 127.0.0.1, client certificates for ternd-tls and reader,
    and one from another CA (a client the broker must not know)."""
    d.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=tern test CA",
            cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, ext in [("broker", ["-extfile", "san.ext"]), ("ternd-tls", []), ("reader", [])]:
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".crt", "-days", "2", *ext, cwd=d)
    return d


class Broker:
    """mosquitto on two loopback ports: plain (password file, ACL) and TLS (client certificate
    required, its CN the user name). Runs as root (`user root`), so it can write its log. With ns
    it runs in that namespace (ns.argv)."""

    def __init__(self, d, pki, port=None, tls_port=None, ns=None):
        self.dir = d
        d.mkdir(exist_ok=True)
        self.pki = pki
        self.ns = ns
        self.port = port or free_port()
        self.tls_port = tls_port or free_port()
        pw = d / "passwords"
        pw.write_text("")
        for user, password in PASSWORDS.items():
            subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True, capture_output=True)
        (d / "acl").write_text(ACL)
        self.log = d / "mosquitto.log"
        (d / "mosquitto.conf").write_text(
            "user root\npersistence false\nper_listener_settings false\nallow_anonymous false\n"
            "max_queued_messages 100000\n"
            "password_file %s\nacl_file %s\nlog_dest file %s\nlog_type all\n"
            "listener %d 127.0.0.1\n"
            "listener %d 127.0.0.1\ncafile %s/ca.crt\ncertfile %s/broker.crt\nkeyfile %s/broker.key\n"
            "require_certificate true\nuse_identity_as_username true\n" % (
                pw, d / "acl", self.log, self.port, self.tls_port, pki, pki, pki))
        self.proc = None

    def start(self):
        seen = len(self.log_text())  # a restart appends to the log
        argv = ["mosquitto", "-c", str(self.dir / "mosquitto.conf")]
        self.proc = subprocess.Popen(self.ns.argv(argv) if self.ns else argv,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 10
        while "Opening ipv4 listen socket on port %d" % self.tls_port not in self.log_text()[seen:]:
            assert self.proc.poll() is None and time.time() < end, self.log_text()
            time.sleep(0.05)
        return self

    def log_text(self):
        try:
            return self.log.read_text()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc:
            terminate(self.proc, 10)


def bus_config(tmp_path, socket, policy=None, extra=""):
    """A bus with the system bus's default policy (Debian's system.conf: nobody owns a name or is
    called unless a policy says so, signals pass), the policy file policy included (e.g. the shipped
    dist/org.tern.ternd.conf) and extra (XML) added; the monitor (the bus's own user) may watch
    everything."""
    inc = "  <include>%s</include>\n" % policy if policy else ""
    path = tmp_path / ("bus%s.conf" % ("" if policy else "-bare"))
    path.write_text(
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        "<busconfig>\n  <type>custom</type>\n  <listen>unix:path=%s</listen>\n  <auth>EXTERNAL</auth>\n"
        '  <policy context="default">\n    <deny own="*"/>\n    <deny send_type="method_call"/>\n'
        '    <allow send_type="signal"/>\n    <allow send_requested_reply="true" send_type="method_return"/>\n'
        '    <allow send_requested_reply="true" send_type="error"/>\n    <allow receive_type="signal"/>\n'
        '    <allow receive_type="method_return"/>\n    <allow receive_type="error"/>\n'
        '    <allow send_destination="org.freedesktop.DBus"/>\n  </policy>\n%s%s</busconfig>\n' % (
            socket, inc, extra))
    return path
