"""The ACME lab the tests share (test_acme, test_service_certs): a network namespace holding Debian's
pebble (its listener certificate made here with openssl, as Debian ships none; its issuing root read
from /roots/0), unbound as pebble's -dnsserver (recursive, with stubs to the lab's ternd), and the
lab's processes with their logs."""
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from dnsseclab import Netns, Proc, run
from ternlib import terminate

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

UNBOUND_CONF = """server:
    interface: {addr}
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    do-ip6: no
    do-not-query-localhost: no
    access-control: 0.0.0.0/0 allow
    module-config: "iterator"
    local-zone: "test." nodefault
    cache-max-ttl: 5
    cache-max-negative-ttl: 1
remote-control:
    control-enable: no
"""
STUB = """stub-zone:
    name: "{zone}."
    stub-addr: {addr}@53
"""


def openssl(*args, cwd):
    run([OPENSSL] + list(args), cwd=cwd)


def make_listener_certs(d, addrs):
    """A CA (d/ca.pem) and a certificate for the pebbles' listeners (IP SANs addrs)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=pebble listener CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=%s,DNS:localhost\n" % ",".join("IP:" + a for a in addrs))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=pebble",
            "-keyout", "listener.key", "-out", "listener.csr", cwd=d)
    openssl("x509", "-req", "-in", "listener.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "ext.cnf", "-out", "listener.pem", cwd=d)


class PebbleLab:
    """The namespace (with addrs on its loopback) and the processes started in it."""

    def __init__(self, workdir, addrs, pebble_addrs, tools=()):
        for tool in (PEBBLE, UNBOUND, OPENSSL) + tuple(tools):
            if not os.access(tool, os.X_OK):
                raise RuntimeError("%s missing (make deps; make build-asan)" % tool)
        self.dir = str(workdir)
        self.procs = []
        self.ns = Netns(addrs)
        self.ca = os.path.join(self.dir, "ca.pem")
        make_listener_certs(self.dir, pebble_addrs)

    def spawn(self, name, args):
        log = os.path.join(self.dir, name + ".log")
        p = Proc(name, self.ns.popen(args, log), log)
        self.procs.append(p)
        return p

    def wait_log(self, p, text, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in p.log_text(10 ** 7):
                return
            if not p.alive():
                raise RuntimeError("%s exited:\n%s" % (p.name, p.log_text()))
            time.sleep(0.05)
        raise RuntimeError("%s did not log %r:\n%s" % (p.name, text, p.log_text()))

    def start_unbound(self, addr, stubs):
        """unbound on addr:53, recursing, with a stub {zone: server address} each."""
        ud = os.path.join(self.dir, "unbound")
        os.makedirs(ud)
        self.resolver = addr
        with open(os.path.join(ud, "unbound.conf"), "w") as f:
            f.write(UNBOUND_CONF.format(addr=addr, dir=ud))
            for zone, server in stubs.items():
                f.write(STUB.format(zone=zone, addr=server))
        self.unbound = self.spawn("unbound", [UNBOUND, "-d", "-c", os.path.join(ud, "unbound.conf")])
        return self.unbound

    def wait_resolver(self, name, expect, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.ns.run(["dig", "+short", "+time=1", "+tries=1", "@" + self.resolver, name, "A"], check=False)
            if r.stdout.strip() == expect:
                return
            time.sleep(0.2)
        raise RuntimeError("unbound does not resolve %s:\n%s" % (name, self.unbound.log_text()))

    def start_pebble(self, name, addr, reject=0, validity=None):
        """A pebble on addr:14000 (management :15000), validating http-01 on port 80 through the
        resolver; .directory is its URL, .root the root it issues under (PEM file). validity: the
        certificates' lifetime in seconds (None: pebble's default, five years)."""
        conf = os.path.join(self.dir, name + ".json")
        extra = {"certificateValidityPeriod": validity} if validity else {}
        with open(conf, "w") as f:
            json.dump({"pebble": {**extra, "listenAddress": addr + ":14000", "managementListenAddress": addr + ":15000",
                                  "certificate": os.path.join(self.dir, "listener.pem"),
                                  "privateKey": os.path.join(self.dir, "listener.key"),
                                  "httpPort": 80, "tlsPort": 5001, "ocspResponderURL": "",
                                  "externalAccountBindingRequired": False}}, f)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_AUTHZREUSE="0", PEBBLE_WFE_NONCEREJECT=str(reject))
        log = os.path.join(self.dir, name + ".log")
        logf = open(log, "a")
        try:
            popen = subprocess.Popen(self.ns.argv([PEBBLE, "-config", conf, "-dnsserver", self.resolver + ":53"]),
                                     stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                     preexec_fn=self.ns._preexec())
        finally:
            logf.close()
        p = Proc(name, popen, log)
        self.procs.append(p)
        self.wait_log(p, "Listening on: " + addr + ":14000")
        p.directory = "https://%s:14000/dir" % addr
        p.root = os.path.join(self.dir, name + "-root.pem")
        ctx = ssl.create_default_context(cafile=self.ca)
        # pebble logs its ACME listener before its management one is up: under load the first
        # connection to :15000 may be refused, so wait for that listener too (10 s at most)
        deadline = time.time() + 10
        while True:
            try:
                pem = self.ns.call(lambda: urllib.request.urlopen("https://%s:15000/roots/0" % addr, context=ctx,
                                                                  timeout=10).read())
                break
            except urllib.error.URLError as e:
                if not isinstance(e.reason, ConnectionRefusedError) or time.time() > deadline:
                    raise
                time.sleep(0.05)
        with open(p.root, "wb") as f:
            f.write(pem)
        return p

    def stop(self, p):
        terminate(p.proc, timeout=5)
        self.procs.remove(p)

    def close(self):
        while self.procs:
            terminate(self.procs.pop().proc, timeout=5)
        self.ns.close()
