"""Dynamic answers through a caching resolver (issue 17, "Through Unbound"): Unbound with its
subnetcache module forwards geo.test to ternd with the clients' Client Subnet (RFC 7871). Two
clients in different mapped subnets get different answers, each the one `explain` gives; repeats
from the same subnets are answered from Unbound's cache (ternd's query counter in /metrics does not
move), which holds only because ternd's ECS scope tells Unbound how far each answer reaches."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

import ternlib
from apilib import keys, server_fixture  # noqa: F401

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"

ZONE = """$ORIGIN geo.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
www 300 IN DYN pool br 192.0.2.10
www 300 IN DYN pool nl 192.0.2.20
www 300 IN DYN pool world 192.0.2.1 192.0.2.2
www 300 IN DYN answer world
www 300 IN DYN geo 198.51.100.0/24 br world
www 300 IN DYN geo 203.0.113.0/24 nl world
late 300 IN DYN pool br 192.0.2.10
late 300 IN DYN pool nl 192.0.2.20
late 300 IN DYN pool world 192.0.2.1 192.0.2.2
late 300 IN DYN answer world
late 300 IN DYN geo 198.51.100.0/24 br world
late 300 IN DYN geo 203.0.113.0/24 nl world
"""

# module-config and the three subnet options as the issue gives them; test. is a static local zone
# by default (RFC 6761), and forwarding to loopback needs do-not-query-localhost: no
UNBOUND_CONF = """server:
    interface: 127.0.0.1
    port: {port}
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
    access-control: 127.0.0.0/8 allow
    local-zone: "test." nodefault
    module-config: "subnetcache iterator"
    send-client-subnet: 127.0.0.1
    client-subnet-zone: geo.test
    client-subnet-always-forward: yes
    max-client-subnet-ipv4: 24
    max-client-subnet-ipv6: 56
    prefetch: no
remote-control:
    control-enable: no
forward-zone:
    name: "geo.test"
    forward-addr: 127.0.0.1@{ternd_port}
"""

_zdir = tempfile.mkdtemp(prefix="dyn-unbound-")
with open(os.path.join(_zdir, "geo.test.zone"), "w") as _f:
    _f.write(ZONE)

srv = server_fixture(zones={"geo.test": os.path.join(_zdir, "geo.test.zone")})


@pytest.fixture(scope="module")
def unbound(srv, tmp_path_factory):
    if not os.access(UNBOUND, os.X_OK):
        pytest.skip("no unbound")
    d = str(tmp_path_factory.mktemp("unbound"))
    port = ternlib.free_port()
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write(UNBOUND_CONF.format(port=port, dir=d, ternd_port=srv.port))
    log = open(os.path.join(d, "unbound.log"), "w")
    proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        ternlib.wait_udp("127.0.0.1", port, proc=proc)
        yield port
    finally:
        ternlib.terminate(proc)
        log.close()


def ternd_queries(srv):
    """ternd's DNS queries answered so far, every type (/metrics)."""
    text = srv.api(None).get("/metrics", token=False).body.decode()
    counts = re.findall(r'^tern_dns_queries_total\{qtype="[^"]+"\} (\d+)$', text, re.M)
    assert counts, text
    return sum(int(c) for c in counts)


def resolve(port, client, prefix, name="www.geo.test"):
    """name A through Unbound for a client sending ECS client/prefix."""
    q = dns.message.make_query(name, "A", use_edns=0, options=[dns.edns.ECSOption(client, prefix)])
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR, r
    return sorted(rd.address for rrset in r.answer for rd in rrset)


def explained(srv, keys, client, prefix):
    qs = urllib.parse.urlencode({"name": "www.geo.test", "type": "A", "client": client, "ecs": prefix})
    r = srv.api(keys.token("operator", admin=True)).get("/api/v1/explain?" + qs)
    assert r.status == 200, r
    return sorted(r.json["rrset"]["records"])


def test_clients_get_their_answers_and_repeats_come_from_unbound_cache(srv, keys, unbound):
    first = {}
    for client, want in (("198.51.100.7", ["192.0.2.10"]), ("203.0.113.5", ["192.0.2.20"])):
        before = ternd_queries(srv)
        got = resolve(unbound, client, 24)
        assert got == want, (client, got)
        assert got == explained(srv, keys, client, 24)
        assert ternd_queries(srv) == before + 1, "Unbound did not ask ternd for %s" % client
        first[client] = got
    assert first["198.51.100.7"] != first["203.0.113.5"]
    # other clients of the same /24s, in turns: every answer from Unbound's subnet cache
    before = ternd_queries(srv)
    for i in range(20):
        assert resolve(unbound, "198.51.100.%d" % (100 + i), 24) == ["192.0.2.10"]
        assert resolve(unbound, "203.0.113.%d" % (100 + i), 24) == ["192.0.2.20"]
    time.sleep(0.2)
    assert ternd_queries(srv) == before, "repeats reached ternd: Unbound did not cache by scope"
    # a client of neither subnet is a new question for ternd, and gets the answer list
    assert resolve(unbound, "192.0.2.200", 24) == ["192.0.2.1", "192.0.2.2"]
    assert ternd_queries(srv) == before + 1


def test_unmapped_client_first_does_not_hide_the_map(srv, unbound):
    """The answer to a client no entry maps is the resource's default, but its ECS scope covers
    only the block around the client that no entry touches (docs/dynamic-answers.md: not 0, the
    issue's wording). With scope 0, Unbound would keep that default for every client of the name,
    and the mapped subnets asking after it would get it from its cache."""
    before = ternd_queries(srv)
    assert resolve(unbound, "192.0.2.200", 24, "late.geo.test") == ["192.0.2.1", "192.0.2.2"]
    assert resolve(unbound, "198.51.100.7", 24, "late.geo.test") == ["192.0.2.10"]
    assert resolve(unbound, "203.0.113.5", 24, "late.geo.test") == ["192.0.2.20"]
    assert ternd_queries(srv) == before + 3, "a mapped client was answered from the unmapped one's cache entry"
    assert resolve(unbound, "192.0.2.201", 24, "late.geo.test") == ["192.0.2.1", "192.0.2.2"]
    time.sleep(0.2)
    assert ternd_queries(srv) == before + 3, "the unmapped block's answer was not cached"
