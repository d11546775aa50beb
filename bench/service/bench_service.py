#!/usr/bin/python3
"""Service benchmark (`make bench-service`, issue 20): time from a service's creation to (a) its A
answer served and (b) a valid certificate for the canonical name plus one alias with the HTTPS
record served, against lego (Debian's, `--http`) issuing two names of the same shape from the same
pebble, in the same run. Started by bench/service/run.sh; see bench/README.md.

The lab is the tests' (tests/system/acmelab.py): a network namespace holding pebble (a CA made with
openssl, PEBBLE_VA_NOSLEEP=1, PEBBLE_AUTHZREUSE=0), unbound as pebble's -dnsserver and as ternd's
services.resolver, ternd serving the services zone app.svc.test, a second ternd standing for the
users' DNS provider (serving example.test, written through its API), and tern-acme-responder on the
ingress address. Tern and lego take turns, the order alternating; the control plane's change -> served
(PUT of an A RRset, polled by bench/poll.c every 1 ms) is measured in the same run."""
import argparse
import datetime
import json
import os
import random
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.join(ROOT, "bench", "pop"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import devtoken  # noqa: E402
from acmelab import PebbleLab  # noqa: E402
from apilib import Api  # noqa: E402
from benchlib import loadavg, machine, pct, ternd_version  # noqa: E402
import dnspoll  # noqa: E402

PEBBLE_ADDR = "127.10.9.10"
TERND_ADDR = "127.10.9.20"
INGRESS = "127.10.9.30"
LEGO_ADDR = "127.10.9.31"  # lego's own http-01 listener
USER_DNS_ADDR = "127.10.9.40"  # the users' DNS provider (a second ternd) serving example.test
RESOLVER_ADDR = "127.10.9.53"
ADDRS = (PEBBLE_ADDR, TERND_ADDR, INGRESS, LEGO_ADDR, USER_DNS_ADDR, RESOLVER_ADDR)
API_PORT = 8080
ZONE = "app.svc.test"
LEGO = shutil.which("lego") or "/usr/bin/lego"
now_ns = time.monotonic_ns  # CLOCK_MONOTONIC, the poller's clock

TERND_CONF = """server:
  listen: ["{addr}@53"]
  udp-workers: 1
log: {{level: info}}
api:
  listen: "{addr}@{port}"
  data-dir: "{data}"
  jwks: "{jwks}"
  rate-limit: 0
  nameservers: ["ns1.svc.test.", "ns2.svc.test."]
services:
  zone: {zone}
  https-ttl: 60
  regions:
    - name: eu
      continents: [EU]
  acme:
    directory: "https://{pebble}:14000/dir"
    ca-file: "{ca}"
    contact: "mailto:ops@svc.test"
    deadline: 60
  ech:
    rotate: 86400
  resolver: "{resolver}@53"
  resolver-timeout: 2
"""

USER_DNS_CONF = """server:
  listen: ["{addr}@53"]
  udp-workers: 1
log: {{level: info}}
api:
  listen: "{addr}@{port}"
  data-dir: "{data}"
  jwks: "{jwks}"
  rate-limit: 0
  nameservers: ["ns1.example.test.", "ns2.example.test."]
"""


def log(msg):
    print("[bench-service %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class Lab(PebbleLab):
    def __init__(self, work, ternd, responder, poll_bin):
        super().__init__(work, ADDRS, (PEBBLE_ADDR,), tools=(ternd, responder, LEGO, poll_bin))
        key, jwks = devtoken.ensure_keys(os.path.join(self.dir, "keys"))
        self.key = key
        self.start_unbound(RESOLVER_ADDR, {ZONE: TERND_ADDR, "example.test": USER_DNS_ADDR})
        self.pebble = self.start_pebble("pebble", PEBBLE_ADDR)
        # the users' DNS provider: a ternd of its own serving example.test through its API (knot 3.2's
        # dynamic updates stall about one in four for 0.7 s in this lab, outside Tern's control)
        uconf = os.path.join(self.dir, "user-dns.yaml")
        with open(uconf, "w") as f:
            f.write(USER_DNS_CONF.format(addr=USER_DNS_ADDR, port=API_PORT, data=os.path.join(self.dir, "user-data"),
                                         jwks=jwks))
        self.user_dns = self.spawn("user-dns", [ternd, "-c", uconf])
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_CONF.format(addr=TERND_ADDR, port=API_PORT, data=os.path.join(self.dir, "data"), jwks=jwks,
                                      zone=ZONE, pebble=PEBBLE_ADDR, ca=self.ca, resolver=RESOLVER_ADDR))
        self.ternd = self.spawn("ternd", [ternd, "-c", conf])
        self.wait_log(self.ternd, "ACME account key thumbprint ")
        thumb = re.search(r"ACME account key thumbprint (\S+)", self.ternd.log_text(10 ** 7)).group(1)
        self.responder = self.spawn("responder", [responder, "--listen", INGRESS + ":80", "--thumbprint", thumb])
        self.wait_log(self.responder, "listening on")
        self.wait_log(self.ternd, "API: listening on")
        self.op = self.api("platform")
        self.alice = self.api("alice")
        r = self.op("POST", "/api/v1/zones", {"name": ZONE})
        if r.status != 201:
            raise RuntimeError("creating %s: %s" % (ZONE, r))
        # dnspoll inside the namespace: a wrapper the Poller runs as its binary
        self.poll_ns = os.path.join(self.dir, "dnspoll-ns")
        with open(self.poll_ns, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\"\n" % " ".join(self.ns.argv([poll_bin])))
        os.chmod(self.poll_ns, 0o755)
        self.wait_log(self.user_dns, "API: listening on")
        api = Api(API_PORT, devtoken.token(self.key, "user", hours=4), USER_DNS_ADDR)
        self.user = lambda method, path, body=None: self.ns.call(api.request, method, path, body)
        r = self.user("POST", "/api/v1/zones", {"name": "example.test"})
        if r.status != 201:
            raise RuntimeError("creating example.test: %s" % r)

    def api(self, tenant):
        api = Api(API_PORT, devtoken.token(self.key, tenant, hours=4), TERND_ADDR)
        return lambda method, path, body=None: self.ns.call(api.request, method, path, body)

    def query(self, server, name, rdtype, timeout=2):
        q = dns.message.make_query(name, rdtype)
        return self.ns.call(dns.query.udp, q, server, port=53, timeout=timeout)

    def cname(self, label, target):
        """label.example.test CNAME target, at the users' DNS provider (its API, inside the namespace)."""
        r = self.user("PUT", "/api/v1/zones/example.test/rrsets/%s/CNAME" % label,
                      {"ttl": 1, "records": [target.rstrip(".") + "."]})
        if r.status != 200:
            raise RuntimeError("the users' DNS refused the CNAME of %s: %s" % (label, r))


def expect(r, status, what):
    if r.status != status:
        raise RuntimeError("%s: %d %s" % (what, r.status, r.body[:300] if hasattr(r, "body") else r))


class Prober:
    """A UDP socket inside the namespace asking ternd: (a)'s instrument (served_after) and the
    HTTPS record's look (ask)."""

    def __init__(self, lab):
        self.s = lab.ns.call(socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect((TERND_ADDR, 53))
        self.qid = 0

    def send(self, name, rdtype):
        self.qid = (self.qid + 1) & 0xFFFF
        q = dns.message.make_query(name, rdtype)
        q.id = self.qid
        self.s.send(q.to_wire())
        return q

    def receive(self, until_ns):
        """The next answer read before until_ns (any question's), or None."""
        while True:
            left = until_ns - now_ns()
            if left <= 0 or not select.select([self.s], [], [], left / 1e9)[0]:
                return None
            try:
                return dns.message.from_wire(self.s.recv(65535))
            except Exception:
                continue

    def ask(self, name, rdtype, timeout=0.2):
        q = self.send(name, rdtype)
        until = now_ns() + int(timeout * 1e9)
        while True:
            m = self.receive(until)
            if m is None or (m.id == q.id and m.question == q.question):
                return m


def served_after(prober, name, value, timeout=5.0):
    """Asks name A at once, then every 1 ms from the first question (not waiting for answers),
    until an answer to any of these questions holds value; the time that answer was read."""
    start = now_ns()
    q = dns.message.make_query(name, "A")
    for k in range(int(timeout * 1000)):
        prober.send(name, "A")
        while True:
            m = prober.receive(start + (k + 1) * 1000000)
            if m is None:
                break
            if m.question == q.question and any(rs.rdtype == dns.rdatatype.A and value in {rd.address for rd in rs}
                                                for rs in m.answer):
                return now_ns()
    raise RuntimeError("%s A %s not served after %.0f s" % (name, value, timeout))


def https_served(prober, name):
    m = prober.ask(name, "HTTPS")
    if m is None or m.rcode() != dns.rcode.NOERROR:
        return False
    for rs in m.answer:
        if rs.rdtype == dns.rdatatype.HTTPS:
            for rd in rs:
                if rd.priority == 1 and 5 in {int(k) for k in rd.params}:
                    return True
    return False


def tern_run(lab, prober, i):
    """One service created, its alias pointed at it and added; the times in seconds from the
    creation request: api (its answer), a (A served, served_after), cname (the alias's CNAME
    written), alias (the alias's POST answered),
    cert1 (the first certificate valid: canonical alone), cert2 (a valid certificate naming both),
    b (cert2 and the HTTPS record served)."""
    alias = "t%d-%d.example.test" % (i, random.randrange(1 << 30))
    t0 = now_ns()
    r = lab.alice("POST", "/api/v1/services", {"deployment": {"regions": {"eu": {"ipv4": [INGRESS]}}}})
    t_api = now_ns()
    expect(r, 201, "POST /api/v1/services")
    sid, canonical = r.json["id"], r.json["canonical"].rstrip(".")
    t_a = served_after(prober, canonical, INGRESS)
    lab.cname(alias.split(".")[0], canonical)
    t_cname = now_ns()
    r = lab.alice("POST", "/api/v1/services/%s/domains" % sid, {"name": alias})
    t_alias = now_ns()
    expect(r, 202, "POST domains")
    t_cert1 = t_cert2 = t_b = c = None
    deadline = time.monotonic() + 90
    while t_b is None:
        if time.monotonic() > deadline:
            raise RuntimeError("service %s: no certificate for %s and %s with its record after 90 s: %s"
                               % (sid, canonical, alias, c))
        c = lab.alice("GET", "/api/v1/services/%s/certificate" % sid).json
        t = now_ns()
        if c["state"] == "valid" and t_cert1 is None:
            t_cert1 = t
        if c["state"] == "valid" and alias in c["names"] and canonical in c["names"] and t_cert2 is None:
            t_cert2 = t
        if t_cert2 is not None and https_served(prober, canonical):
            t_b = now_ns()
            break
        if c["state"] == "failed":
            raise RuntimeError("service %s: certificate failed: %s" % (sid, c.get("last_failure")))
        time.sleep(0.005)
    d = {x["name"]: x for x in lab.alice("GET", "/api/v1/services/%s/domains" % sid).json["domains"]}
    if d[alias]["state"] != "verified":
        raise RuntimeError("alias %s: %s" % (alias, d[alias]))
    s = lambda t: (t - t0) / 1e9  # noqa: E731
    return {"api": s(t_api), "a": s(t_a), "cname": s(t_cname), "alias": s(t_alias), "cert1": s(t_cert1),
            "cert2": s(t_cert2), "b": s(t_b), "names": c["names"]}


def lego_run(lab, i, path):
    """lego --http for two names of the same shape (lego<i>.app.svc.test A LEGO_ADDR, and
    l<i>.example.test CNAME to it), its account registered before; seconds from exec to exit."""
    name = "lego%d-%d" % (i, random.randrange(1 << 30))
    r = lab.op("PUT", "/api/v1/zones/%s/rrsets/%s/A" % (ZONE, name), {"ttl": 60, "records": [LEGO_ADDR]})
    expect(r, 200, "PUT lego's A")
    canonical = "%s.%s" % (name, ZONE)
    alias = "l%s.example.test" % name
    lab.cname("l" + name, canonical)
    env = dict(os.environ, LEGO_CA_CERTIFICATES=lab.ca)
    argv = lab.ns.argv([LEGO, "--server", lab.pebble.directory, "--email", "bench@svc.test", "--accept-tos",
                        "--path", path, "--domains", canonical, "--domains", alias, "--http", "--http.port",
                        LEGO_ADDR + ":80", "run"])
    t0 = now_ns()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    took = (now_ns() - t0) / 1e9
    if p.returncode != 0 or not os.path.exists(os.path.join(path, "certificates", canonical + ".crt")):
        raise RuntimeError("lego failed (%d):\n%s" % (p.returncode, p.stdout + p.stderr))
    return took, p.stderr


def control_plane(lab, prober, changes):
    """change -> served, in rounds of two (the order alternating): a PUT of .../rrsets/cp/A in the
    services zone, seen by dnspoll asking every 1 ms on a grid anchored at the send (bench-api's
    measure) and by the prober of (a) (asking as the PUT's answer arrives, then every 1 ms); and a
    service created, its A asked for the same way as in (a), and the service deleted at once (so
    that the certificate thread works on few of them). ms from the request, and the API's answers."""
    name = "cp.%s" % ZONE
    poller = dnspoll.Poller(lab.poll_ns, name, ["%s@53" % TERND_ADDR], timeout_ms=10000, interval_us=1000)
    out = {"grid": [], "prober": [], "api": [], "create_api": [], "create_a": []}
    try:
        for i in range(1, changes + 6):
            for what in (("put", "create") if i % 2 else ("create", "put")):
                if what == "put":
                    v = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
                    poller.expect(i, v)
                    t0 = now_ns()
                    poller.anchor(t0)
                    r = lab.op("PUT", "/api/v1/zones/%s/rrsets/cp/A" % ZONE, {"ttl": 60, "records": [v]})
                    t_api = now_ns()
                    expect(r, 200, "PUT cp A")
                    t_seen = served_after(prober, name, v)
                    served, timeouts = poller.wait(i, 15)
                    if timeouts:
                        raise RuntimeError("change %d of %s not served" % (i, name))
                    if i > 5:  # 5 warm-up rounds
                        out["grid"].append((served[0][0] - t0) / 1e6)
                        out["prober"].append((t_seen - t0) / 1e6)
                        out["api"].append((t_api - t0) / 1e6)
                else:
                    t0 = now_ns()
                    r = lab.alice("POST", "/api/v1/services", {"deployment": {"regions": {"eu": {"ipv4": [INGRESS]}}}})
                    t_api = now_ns()
                    expect(r, 201, "POST /api/v1/services")
                    t_seen = served_after(prober, r.json["canonical"].rstrip("."), INGRESS)
                    expect(lab.alice("DELETE", "/api/v1/services/%s" % r.json["id"]), 200, "DELETE service")
                    if i > 5:
                        out["create_a"].append((t_seen - t0) / 1e6)
                        out["create_api"].append((t_api - t0) / 1e6)
                time.sleep(0.002)
        poller.quit()
    finally:
        poller.kill()
    return out


def summary(xs):
    return {"n": len(xs), "best": min(xs), "median": statistics.median(xs), "p90": pct(xs, 90), "max": max(xs)}


def lego_steps(text):
    """lego's log lines of one run (its steps, second resolution)."""
    return [ln for ln in text.splitlines() if "] acme:" in ln or "validated" in ln or "Server responded" in ln]


def lego_validation_waits(runs):
    """Seconds from each "Trying to solve HTTP-01" to its "The server validated our request" in
    lego's logs (whole seconds: lego's log has no finer clock)."""
    out = []
    for r in runs:
        start = None
        for ln in r["log"]:
            t = datetime.datetime.strptime(ln[:19], "%Y/%m/%d %H:%M:%S")
            if "Trying to solve HTTP-01" in ln:
                start = t
            elif "validated our request" in ln and start is not None:
                out.append((t - start).total_seconds())
                start = None
    return out


def report(res, args):
    t, lg, cp = res["tern"], res["lego"], res["control"]
    issuance = [c2 - c1 for c1, c2 in zip(t["cert1"], t["cert2"])]
    med = statistics.median
    lines = ["# `make bench-service`: a service's certificate against lego, same pebble, same run", "",
             "%s; ternd %s. %s. lego: Debian's `%s`. %d runs each, Tern and lego taking turns (the order "
             "alternating from run to run)." % (res["date"], res["version"], res["machine"], res["lego_version"],
                                                 args.runs), "",
             "| seconds from the request creating the service | best | median | p90 | max |",
             "|---|---:|---:|---:|---:|"]

    def row(label, xs, f="%.3f"):
        s = summary(xs)
        lines.append("| %s | %s | %s | %s | %s |" % (label, f % s["best"], f % s["median"], f % s["p90"],
                                                      f % s["max"]))
    row("Tern: the API's answer to `POST /api/v1/services`", t["api"], "%.4f")
    row("Tern: **(a) the A answer served** (asked as the answer arrives, then every 1 ms)", t["a"], "%.4f")
    row("Tern: the alias's CNAME written (the users' DNS provider's API)", t["cname"], "%.4f")
    row("Tern: the alias added: `POST .../domains` answered", t["alias"], "%.4f")
    row("Tern: the first certificate valid (the canonical name alone)", t["cert1"])
    row("Tern: a valid certificate naming the canonical name and the alias", t["cert2"])
    row("Tern: **(b) that certificate valid and the HTTPS record served**", t["b"])
    row("Tern: **issuance of the two-name certificate** (the row two above minus the first certificate)", issuance)
    row("**lego** `--http`: two names of the same shape (exec to exit; its account registered before)", lg)
    lines += ["", "| control plane: `PUT .../rrsets/cp/A` in %s, %d changes | median ms | p99 ms | max ms |"
              % (ZONE, len(cp["grid"])), "|---|---:|---:|---:|"]
    for label, xs in (("change -> served, dnspoll on a 1 ms grid anchored at the send (bench-api's measure)",
                       cp["grid"]),
                      ("change -> served, asked as the PUT's answer arrives, then every 1 ms (the instrument of (a))",
                       cp["prober"]),
                      ("&nbsp;&nbsp;the API's answer to the PUT", cp["api"])):
        lines.append("| %s | %.2f | %.2f | %.2f |" % (label, med(xs), pct(xs, 99), max(xs)))
    for label, xs in (("**(a)** a service created: its A served (the instrument of (a); %d services, each deleted "
                       "at once)" % len(cp["create_a"]), cp["create_a"]),
                      ("&nbsp;&nbsp;the API's answer to the creation", cp["create_api"]),
                      ("(a) in the %d certificate runs above" % len(t["a"]), [x * 1e3 for x in t["a"]])):
        lines.append("| %s | %.2f | %.2f | %.2f |" % (label, med(xs), pct(xs, 99), max(xs)))
    ok_i = med(issuance) <= med(lg)
    a_p99, p99_grid, p99_same = pct(cp["create_a"], 99), pct(cp["grid"], 99), pct(cp["prober"], 99)
    a_runs_max = max(t["a"]) * 1e3
    lines += ["", "**Targets (issue 20)**:",
              "- Tern's issuance time <= lego's: the two-name issuance took Tern %.3f s (median; best %.3f s), lego "
              "%.3f s (median; best %.3f s): **%s**. From the creation request to (b), which holds two issuances "
              "(the canonical name's, started at creation, and the one adding the alias once it is verified), "
              "median %.3f s: %s lego's median." % (med(issuance), min(issuance), med(lg), min(lg),
                                                   "met" if ok_i else "not met", med(t["b"]),
                                                   "below" if med(t["b"]) <= med(lg) else "above"),
              "- (a) within the control plane's change -> served p99: (a) of the %d certificate runs at most %.2f ms "
              "(median %.2f), against a change's p99 of %.2f ms (the instrument of (a); %.2f ms on dnspoll's grid): "
              "**%s**. Over %d creations timed in the same rounds as the changes, taking turns, (a) median %.2f ms "
              "and p99 %.2f ms, a change median %.2f ms and p99 %.2f ms: %s." %
              (len(t["a"]), a_runs_max, med(t["a"]) * 1e3, p99_same, p99_grid,
               "met" if a_runs_max <= p99_same else "not met", len(cp["create_a"]), med(cp["create_a"]), a_p99,
               med(cp["prober"]), p99_same,
               "no slower than a change" if a_p99 <= p99_same else
               "the p99 %.2f ms (%.0f%%) above a change's" % (a_p99 - p99_same, (a_p99 / p99_same - 1) * 100)),
              ""]
    waits = lego_validation_waits(res["runs"])
    if waits:
        lines += ["lego's logs: each http-01 challenge solved one after the other, %s s from \"Trying to solve\" "
                  "to \"validated\" (whole seconds, its log's clock)." % ", ".join("%.0f" % w for w in waits), ""]
    lines += NOTES
    sched = {"none": "the host's default", "nice": "nice -10",
             "fifo": "SCHED_FIFO priority 10"}.get(args.sched, args.sched)
    lines += ["", "Scheduling of the driver and of every process of the lab (lego, pebble, unbound, both ternds, the "
              "responder, dnspoll): %s (BENCH_SERVICE_SCHED=%s). Host load average at the start %s, at the end %s."
              % (sched, args.sched, res["load_start"], res["load_end"]), ""]
    return "\n".join(lines)


NOTES = [
    "**How**: one lab (tests/system/acmelab.py) in a network namespace: pebble (`PEBBLE_VA_NOSLEEP=1`, "
    "`PEBBLE_AUTHZREUSE=0`, so every order validates every name), unbound as pebble's `-dnsserver` and as "
    "ternd's `services.resolver`, ternd (`udp-workers: 1`, the services zone app.svc.test), a second ternd as "
    "the users' DNS provider serving example.test (knot 3.2.6 was tried there first: about one dynamic update in "
    "four took 0.7 s instead of 1 ms, UDP or TCP, knsupdate or dnspython, which put its stall into Tern's clock "
    "and not into lego's), tern-acme-responder on the ingress address. Tern's clock starts as the creation request is "
    "sent; the alias is `t<i>.example.test CNAME <canonical>` written at the users' DNS provider, then added "
    "by `POST /api/v1/services/{id}/domains`; the certificate is read by `GET .../certificate` every 5 ms and "
    "the HTTPS record (ServiceMode, with ech) asked of ternd. lego (`run --http --http.port <its own "
    "address>:80`, its account registered in an untimed first run) issues `lego<i>.app.svc.test` (an A to its "
    "address, through ternd's API) and `llego<i>.example.test` (a CNAME to it, at the users' DNS provider): the same shape, the "
    "same pebble, the same resolver; its time is the process's, exec to exit (a Go binary's start and the "
    "files it writes included, a few tens of ms).",
    "",
    "**Why lego takes seconds**: lego 4.9 solves the http-01 challenges one after the other, and after "
    "answering one it looks at the authorization once at once; when pebble has not validated it yet (the "
    "validation runs beside the answer), it waits its backoff's first interval, 5 s (randomized) when the CA "
    "sends no Retry-After, as pebble does not: the gaps of its log above. When pebble happens to be done "
    "before that first look, lego takes a fraction of a second (the best case). Tern answers every challenge "
    "of an order first, so that the CA validates them together, then polls each authorization and the order "
    "after 125, 250 and 500 ms, then 1 s doubling to 60 s (`acme_poll_next_ms`, src/ternd/acme/acme_client.c; "
    "a longer Retry-After is honoured).",
    "",
    "**(a)**: the canonical name is the server's (`<uuid>.app.svc.test`), so the client can ask for it only "
    "once the API has answered: (a) is the API's answer plus one UDP exchange when the record is already "
    "served then, which it is (the A is written by the creation's own commit, as a PUT's record is). A PUT's "
    "change -> served and a creation's (a) are timed in the same rounds, taking turns. The runs share the "
    "machine with other work (the load average below): the p99s show it.",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--responder", required=True)
    ap.add_argument("--poll", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--sched", default="none")
    args = ap.parse_args()
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "version": ternd_version(), "machine": machine(args.work), "load_start": loadavg(),
           "tern": {k: [] for k in ("api", "a", "cname", "alias", "cert1", "cert2", "b")}, "lego": [], "runs": []}
    os.makedirs(os.path.join(args.work, "lab"))
    lab = Lab(os.path.join(args.work, "lab"), args.ternd, args.responder, args.poll)
    try:
        v = subprocess.run([LEGO, "--version"], capture_output=True, text=True).stdout.strip()
        dpkg = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "lego"], capture_output=True, text=True).stdout
        res["lego_version"] = "%s (package %s)" % (v, dpkg or "?")
        prober = Prober(lab)
        log("control plane: %d changes" % args.changes)
        res["control"] = control_plane(lab, prober, args.changes)
        lego_path = os.path.join(lab.dir, "lego")
        log("lego: registering its account (untimed)")
        lego_run(lab, 0, lego_path)
        for i in range(1, args.runs + 1):
            for who in (("tern", "lego") if i % 2 else ("lego", "tern")):
                if who == "tern":
                    r = tern_run(lab, prober, i)
                    for k in res["tern"]:
                        res["tern"][k].append(r[k])
                    log("run %d tern: api %.4f s, a %.4f s, cert1 %.3f s, cert2 %.3f s, b %.3f s"
                        % (i, r["api"], r["a"], r["cert1"], r["cert2"], r["b"]))
                else:
                    took, text = lego_run(lab, i, lego_path)
                    res["lego"].append(took)
                    res["runs"].append({"lego": i, "log": lego_steps(text)})
                    log("run %d lego: %.3f s" % (i, took))
    finally:
        lab.close()
    res["load_end"] = loadavg()
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(res, f, indent=1)
    text = report(res, args)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
