"""tern check's web page (issue 22): GET /check, its script and style served by ternd with a strict
Content-Security-Policy, and POST /api/v1/check?format=svg, the report drawn on the server (root ->
TLD -> authoritative servers -> resolvers, red where they disagree, a timeline of expiries). In the
lab of dnsseclab.py (Knot serving the root and lab.), ternd serves corp.lab. from its API and walks
from the lab's root (api.check-hints, check-allow-private); an Unbound is the vantage resolver.
Chromium (headless, run inside the lab's namespace through chromedriver) submits the form: the SVG
appears with every server, and the page asks nothing but ternd."""
import base64
import os
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

import dnsseclab as L
from apilib import Api, keys  # noqa: F401 (the fixture)

API_PORT = 8054
RESOLVER = L.MORE_RESOLVERS["unbound-static"]
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> & "quoted" \'x\' ]]> <!--'

TERND_CONF = """server:
  listen: ["{addr}@53"]
api:
  listen: "127.0.0.1@{port}"
  data-dir: "{data}"
  jwks: "{jwks}"
  nameservers: ["ns1.corp.lab."]
  default-ttl: 300
  soa-minimum: 60
  rate-limit: 0
  check-hints: "{hints}"
  check-allow-private: true
  check-rate: 60
  check-advice-url: "http://127.0.0.1:{advice}/ok/v1"
  check-advice-model: "web-model-1"
  check-advice-timeout: 5
"""
ADVICE_PORT = 8055  # the advice stand-in (advice_standin.py), in the lab's namespace as ternd
ADVICE_KEY = "sk-web-0123456789"
CSP = ("default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
       "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")


@pytest.fixture(scope="module")
def weblab(tmp_path_factory, keys):  # noqa: F811
    lab = L.Lab(tmp_path_factory.mktemp("weblab"))
    try:
        L.start_parents(lab)
        d = os.path.join(lab.dir, "ternd")
        os.makedirs(os.path.join(d, "data"))
        conf = os.path.join(d, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_CONF.format(addr=L.CORP_ADDR, port=API_PORT, data=os.path.join(d, "data"), jwks=keys.jwks,
                                      hints=os.path.join(lab.dir, "root.hints"), advice=ADVICE_PORT))
        lab.advice_log = os.path.join(lab.dir, "advice-requests.jsonl")
        lab.spawn("advice", ["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "advice_standin.py"),
                             "127.0.0.1", str(ADVICE_PORT), lab.advice_log], os.path.join(lab.dir, "advice.log"))
        lab.ternd = lab.spawn("ternd", ["env", "TERN_ADVICE_KEY=" + ADVICE_KEY, L.TERND, "-c", conf],
                              os.path.join(d, "ternd.log"))
        lab.token = keys.token("web")
        client = Api(API_PORT, lab.token)
        lab.api = lambda *a, **kw: lab.ns.call(client.request, *a, **kw)
        deadline = time.time() + 20
        while True:
            try:
                if lab.api("GET", "/healthz").status == 200:
                    break
            except OSError:
                pass
            assert lab.ternd.alive() and time.time() < deadline, lab.ternd.log_text()
            time.sleep(0.1)
        rrsets = [{"name": "ns1", "type": "A", "ttl": 300, "records": [L.CORP_ADDR]},
                  {"name": "www", "type": "A", "ttl": 120, "records": ["192.0.2.31"]},
                  {"name": "evil", "type": "TXT", "ttl": 300, "records": ['"%s"' % HOSTILE.replace('"', '\\"')]}]
        r = lab.api("POST", "/api/v1/zones", {"name": "corp.lab", "rrsets": rrsets})
        assert r.status == 201, r
        lab.wait_soa(L.CORP_ADDR, "corp.lab.", lab.ternd)
        L.start_unbound(lab, "unbound-static", [])
        yield lab
        dead = lab.dead()
        assert not dead, "lab processes died: %s" % dead
    finally:
        lab.close()


def svg_check(lab, body, token=None):
    r = lab.api("POST", "/api/v1/check?format=svg", body, token=token)
    assert r.status == 200, r
    if os.environ.get("TERN_WEB_SVG_DIR"):  # to look at the pictures
        with open(os.path.join(os.environ["TERN_WEB_SVG_DIR"], body["kind"] + "-" + body["name"] + ".svg"), "wb") as f:
            f.write(r.body)
    assert "AddressSanitizer" not in lab.ternd.log_text()
    return r, ET.fromstring(r.body)


def texts(node):
    return [t.text or "" for t in node.iter(SVG + "text")]


def servers(root):
    return [g for g in root.iter(SVG + "g") if "server" in (g.get("class") or "").split()]


def assert_page_headers(r):
    h = r.headers
    assert h.get("Content-Security-Policy") == CSP, h
    assert h.get("X-Content-Type-Options") == "nosniff"
    assert h.get("X-Frame-Options") == "DENY"
    assert h.get("Cache-Control") == "no-store"
    assert "frame-ancestors 'none'" in h.get("Content-Security-Policy")


# ---- the page, its script and style ----

@pytest.mark.parametrize("path,ctype", [("/check", "text/html"), ("/check/app.js", "text/javascript"),
                                        ("/check/style.css", "text/css")])
def test_page_served_with_strict_headers(weblab, path, ctype):
    r = weblab.api("GET", path, token=False)
    assert r.status == 200, r
    assert r.headers.get("Content-Type").startswith(ctype), r.headers
    assert_page_headers(r)
    with open(os.path.join(os.path.dirname(L.__file__), "..", "..", "src", "ternd", "api", "web",
                           {"/check": "check.html", "/check/app.js": "check.js",
                            "/check/style.css": "check.css"}[path]), "rb") as f:
        assert r.body == f.read()


def test_page_refers_only_to_itself(weblab):
    """No external script, style, font or image; no inline script or style (the CSP would block it)."""
    html = weblab.api("GET", "/check", token=False).body.decode()
    assert '<script src="/check/app.js"></script>' in html
    assert '<link rel="stylesheet" href="/check/style.css">' in html
    assert not re.search(r"(src|href|action)=\"(https?:)?//", html), html
    assert "<style" not in html and " style=" not in html and "onclick" not in html
    assert len(re.findall(r"<script", html)) == 1
    for field in ("token", "kind", "name", "resolvers"):
        assert 'id="%s"' % field in html
    for kind in ("domain", "fqdn", "cache"):
        assert '<option value="%s"' % kind in html
    js = weblab.api("GET", "/check/app.js", token=False).body.decode()
    # the token goes in the Authorization header, never a cookie; requests only to this origin
    assert '"Authorization": "Bearer " + token' in js and 'credentials: "omit"' in js
    assert "/api/v1/check?format=svg" in js and not re.search(r"https?://|//[a-z0-9.-]+/", js.split('"use strict"')[1])
    assert "innerHTML" not in js and "eval(" not in js and "document.cookie" not in js


def test_check_route_errors_carry_no_page_headers(weblab):
    r = weblab.api("POST", "/api/v1/check?format=png", {"kind": "fqdn", "name": "www.corp.lab"})
    assert r.status == 400 and b'"format"' in r.body, r
    r = weblab.api("POST", "/api/v1/check?format=svg", {"kind": "fqdn", "name": "www.corp.lab"}, token=False)
    assert r.status == 401, r


# ---- the SVG ----

def test_svg_fqdn_draws_every_server_and_resolver(weblab):
    r, root = svg_check(weblab, {"kind": "fqdn", "name": "www.corp.lab", "resolvers": [RESOLVER]})
    assert r.headers.get("Content-Type").startswith("image/svg+xml")
    assert_page_headers(r)
    json_rep = weblab.api("POST", "/api/v1/check", {"kind": "fqdn", "name": "www.corp.lab",
                                                     "resolvers": [RESOLVER]}).json
    drawn = {(g.get("data-role"), g.get("data-addr")) for g in servers(root)}
    want = {(s["role"], s["addr"]) for s in json_rep["servers"]}
    assert want and want <= drawn, (want, drawn)
    roles = {role for role, _ in drawn}
    assert "resolver" in roles and ({"auth", "child", "both"} & roles), roles
    hops = {(g.get("data-zone"), g.get("data-child")) for g in root.iter(SVG + "g") if g.get("class") == "hop"}
    assert hops == {(".", "lab."), ("lab.", "corp.lab.")}, hops
    assert (("resolver", RESOLVER)) in drawn
    all_text = "\n".join(texts(root))
    assert "192.0.2.31" in all_text and "TTL 120 s" in all_text and "root (hint)" in all_text and "-> corp.lab." in all_text
    assert not [g for g in servers(root) if "disagree" in g.get("class")], "all agree: nothing red"
    # the path: lines from the root to the TLD's servers, to the zone's, to the resolver
    lines = list(next(g for g in root.iter(SVG + "g") if g.get("class") == "path").iter(SVG + "line"))
    assert len(lines) >= 3
    # the timeline: the chain's answer (120 s) and the zone's negative answers (60 s)
    tl = next(g for g in root.iter(SVG + "g") if g.get("class") == "timeline")
    rows = [g for g in tl.iter(SVG + "g") if "expiry" in g.get("class").split()]
    secs = sorted(int(g.get("data-seconds")) for g in rows)
    assert 120 in secs and 60 in secs, secs
    labels = [" ".join(texts(g)) for g in rows]
    assert any(l.startswith("delegation of corp.lab. (NS, from lab.)") for l in labels), labels
    assert any(l.startswith("delegation of lab. (NS, from .)") for l in labels), labels
    res = [g for g in rows if " ".join(texts(g)).startswith("resolver %s: 192.0.2.31" % RESOLVER)]
    assert len(res) == 1 and 0 < int(res[0].get("data-seconds")) <= 120, labels
    assert "disagree" not in res[0].get("class").split()
    neg = [g for g in rows if "negative" in g.get("class").split()]
    assert neg and int(neg[0].get("data-seconds")) == 60
    now = int(tl.get("data-now"))
    assert abs(now - time.time()) < 60
    assert all(int(g.get("data-expires")) == now + int(g.get("data-seconds")) for g in rows)


def test_svg_domain(weblab):
    """check domain: the zone's server (NS at parent and child: role both), the referrals from the
    root and lab., the SOA's negative-cache TTL on the timeline."""
    r, root = svg_check(weblab, {"kind": "domain", "name": "corp.lab"})
    assert root.get("data-kind") == "domain"
    drawn = [(g.get("data-role"), g.get("data-addr"), g.get("data-ns")) for g in servers(root)]
    assert drawn == [("both", L.CORP_ADDR, "ns1.corp.lab.")], drawn
    hops = [g for g in root.iter(SVG + "g") if g.get("class") == "hop"]
    assert {(g.get("data-zone"), g.get("data-addr"), g.get("data-child")) for g in hops} == {
        (".", L.ROOT_ADDR, "lab."), ("lab.", L.LAB_ADDR, "corp.lab.")}
    assert [int(g.get("data-ttl")) for g in hops] == [300, 300]  # lab. 300 NS in the root, $TTL 300 in lab.
    rows = [g for g in root.iter(SVG + "g") if "expiry" in (g.get("class") or "").split()]
    assert [int(g.get("data-seconds")) for g in rows if "negative" in g.get("class")] == [60]


def test_svg_cache_timeline_and_disagreement(weblab):
    """A resolver that cached NXDOMAIN for a name added since: its box and its timeline row are red,
    and the row says how long it keeps the negative answer."""
    lab = weblab
    name = "late.corp.lab."
    assert lab.query(RESOLVER, name, "A", rd=True).rcode() == 3
    r = lab.api("PUT", "/api/v1/zones/corp.lab/rrsets/late/A", {"ttl": 300, "records": ["192.0.2.77"]})
    assert r.status in (200, 201), r
    deadline = time.time() + 5
    while not lab.query(L.CORP_ADDR, name, "A", rd=False).answer:
        assert time.time() < deadline
        time.sleep(0.02)
    r, root = svg_check(lab, {"kind": "cache", "name": name, "resolvers": [RESOLVER]})
    res = [g for g in servers(root) if g.get("data-role") == "resolver"]
    assert [g.get("data-addr") for g in res] == [RESOLVER]
    assert "disagree" in res[0].get("class").split(), ET.tostring(res[0])
    assert "NXDOMAIN" in "".join(texts(res[0]))
    tl = next(g for g in root.iter(SVG + "g") if g.get("class") == "timeline")
    rows = [g for g in tl.iter(SVG + "g") if "expiry" in g.get("class").split()]
    cached = [g for g in rows if RESOLVER in "".join(texts(g))]
    assert len(cached) == 1 and {"negative", "disagree"} <= set(cached[0].get("class").split()), rows
    assert 0 < int(cached[0].get("data-seconds")) <= L.CACHE_TTL
    assert any("192.0.2.77" in "".join(texts(g)) and int(g.get("data-seconds")) == 300 for g in rows)
    assert any("negative answers of corp.lab." in "".join(texts(g)) for g in rows)
    assert [g for g in root.iter(SVG + "g") if (g.get("class") or "").startswith("finding")]


def test_svg_escapes_hostile_answers(weblab):
    """A TXT answer holding markup: the SVG stays well-formed, the text reads as it was, no element
    came from it."""
    r, root = svg_check(weblab, {"kind": "fqdn", "name": "evil.corp.lab", "type": "TXT"})
    body = r.body.decode()
    assert "<script" not in body and "<!--" not in body and "]]>" not in body
    assert "&lt;script&gt;" in body and "&amp;" in body and "&quot;" in body
    assert not list(root.iter(SVG + "script")) and not list(root.iter("script"))
    answers = [t.text for t in root.iter(SVG + "text") if t.get("class") == "answer"]
    assert any("<script>alert(1)</script> &" in (a or "") for a in answers), answers


def test_svg_escapes_hostile_names(weblab):
    """A CNAME to a name whose label holds markup (DNS labels may hold any octet; the API takes them
    as \\DDD): the target in the picture reads as tern check prints it, escaped for XML."""
    r = weblab.api("PUT", "/api/v1/zones/corp.lab/rrsets/hostile/CNAME",
                   {"ttl": 300, "records": ["x\\060svg\\062\\038\\034\\039y.corp.lab."]})
    assert r.status in (200, 201), r
    deadline = time.time() + 5
    while not weblab.query(L.CORP_ADDR, "hostile.corp.lab.", "CNAME", rd=False).answer:
        assert time.time() < deadline
        time.sleep(0.02)
    r, root = svg_check(weblab, {"kind": "fqdn", "name": "hostile.corp.lab"})
    body = r.body.decode()
    assert "<svg>" not in body.split("\n", 1)[1].replace("<svg xmlns", "")
    labels = [" ".join(texts(g)) for g in root.iter(SVG + "g") if "expiry" in (g.get("class") or "").split()]
    # the name in presentation form: each special octet behind a backslash, but itself
    assert any('CNAME x\\<svg\\>\\&\\"\\\'y.corp.lab.' in l for l in labels), labels
    assert "x\\&lt;svg\\&gt;\\&amp;\\&quot;\\&#39;y" in body


# ---- Chromium ----

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def browse(url, token, name, resolver, profile):
    """In the lab's namespace (a thread of it; chromedriver and Chromium inherit it): opens the page,
    fills the form, submits, waits for the picture. Returns what it saw and the network log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-extensions", "--disable-background-networking", "--user-data-dir=" + profile):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        drv.set_page_load_timeout(30)
        drv.get(url + "/check")
        drv.find_element(By.ID, "token").send_keys(token)
        Select(drv.find_element(By.ID, "kind")).select_by_value("fqdn")
        drv.find_element(By.ID, "name").send_keys(name)
        drv.find_element(By.ID, "resolvers").send_keys(resolver)
        drv.find_element(By.ID, "submit").click()
        WebDriverWait(drv, 90).until(lambda d: d.find_elements(By.ID, "report") or "failed" in d.find_element(
            By.ID, "status").text)
        status = drv.find_element(By.ID, "status").text
        img = drv.find_elements(By.ID, "report")
        src = img[0].get_attribute("src") if img else ""
        WebDriverWait(drv, 10).until(lambda d: d.execute_script(
            "var i = document.getElementById('report'); return i && i.complete && i.naturalWidth > 0;"))
        width = drv.execute_script("return document.getElementById('report').naturalWidth")
        cookies = drv.get_cookies()
        perf = drv.get_log("performance")
        console = drv.get_log("browser")
        return dict(status=status, src=src, width=width, perf=perf, console=console, cookies=cookies)
    finally:
        drv.quit()


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver are not installed")
def test_chromium_submits_the_form(weblab):
    import json
    pytest.importorskip("selenium")
    profile = tempfile.mkdtemp(prefix="tern-chromium-")
    try:
        url = "http://127.0.0.1:%d" % API_PORT
        seen = weblab.ns.call(browse, url, weblab.token, "www.corp.lab", RESOLVER, profile)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert seen["src"].startswith("data:image/svg+xml;base64,"), seen["status"]
    assert seen["width"] > 0 and "done" in seen["status"], seen["status"]
    root = ET.fromstring(base64.b64decode(seen["src"].split(",", 1)[1]))
    drawn = {(g.get("data-role"), g.get("data-addr")) for g in servers(root)}
    rep = weblab.api("POST", "/api/v1/check", {"kind": "fqdn", "name": "www.corp.lab", "resolvers": [RESOLVER]}).json
    assert {(s["role"], s["addr"]) for s in rep["servers"]} <= drawn, drawn
    assert ("resolver", RESOLVER) in drawn
    assert [g for g in root.iter(SVG + "g") if g.get("class") == "timeline"]
    # every request the page made went to ternd (or is the data: picture); none was refused by the CSP
    # (the browser's own new-tab page, chrome://, loads before the page: not the page's requests, and
    # not on the network)
    urls, page = [], []
    for entry in seen["perf"]:
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
            if msg["params"].get("documentURL", "").startswith(url + "/"):
                page.append(msg["params"]["request"]["url"])
    assert page, seen["perf"][:5]
    outside = [u for u in page if not (u.startswith(url + "/") or u.startswith("data:"))]
    assert not outside, outside
    network = [u for u in urls if not u.startswith(("chrome:", "chrome-untrusted:", "data:", url + "/"))]
    assert not network, network
    urls = page
    for path in ("/check", "/check/app.js", "/check/style.css", "/api/v1/check?format=svg"):
        assert url + path in urls, urls
    assert not [c for c in seen["console"] if "Content Security Policy" in c.get("message", "")], seen["console"]
    assert not seen["cookies"]


def test_api_check_carries_the_advice(weblab):
    """api.check-advice-url: POST /api/v1/check's report carries the endpoint's prose, labelled, the
    key from ternd's environment in its Authorization header, the findings sent whole."""
    import json
    r = weblab.api("POST", "/api/v1/check", {"kind": "fqdn", "name": "www.corp.lab", "resolvers": [RESOLVER]})
    assert r.status == 200, r
    rep = r.json
    assert rep["advice"]["model"] == "web-model-1" and rep["advice"]["label"] == "generated, not a finding", rep
    assert "one serial behind" in rep["advice"]["text"] and "\x1b" not in rep["advice"]["text"], rep["advice"]
    with open(weblab.advice_log) as f:
        sent = [json.loads(line) for line in f if line.strip()]
    assert sent and sent[-1]["headers"]["Authorization"] == "Bearer " + ADVICE_KEY, sent[-1:]
    body = sent[-1]["body"]
    prompt = body["messages"][1]["content"]
    assert json.loads(prompt[prompt.index("\n") + 1:])["findings"] == rep["findings"]
    assert RESOLVER not in sent[-1]["raw"]


def test_advice_url_needs_a_model(tmp_path):
    """api.check-advice-url without api.check-advice-model: ternd --check names the missing key and
    the key that needs it (an endpoint without a model would be asked for nothing it can answer)."""
    import subprocess
    from ternlib import TERND, free_port
    conf = tmp_path / "ternd.yaml"
    conf.write_text("server:\n  listen: [\"127.0.0.1@%d\"]\napi:\n  listen: \"127.0.0.1@%d\"\n"
                    "  data-dir: \"%s\"\n  check-advice-url: \"http://127.0.0.1:9/v1\"\n"
                    % (free_port(), free_port(), tmp_path / "data"))
    r = subprocess.run([TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "api.check-advice-model: missing required key (api.check-advice-url names an endpoint)" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
