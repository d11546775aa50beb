"""The web console (issue 23): GET /console/, its script and style served by ternd with the check
page's strict headers, the API its only backend. In the lab of dnsseclab.py (Knot serving the root
and lab., which delegates corp.lab. to ternd), Chromium (headless, inside the lab's namespace through
chromedriver) signs in with a token, creates corp.lab., adds and edits records in batches that dig
then sees served, files a proposal that a second user approves (and one the first rejects), shows
the history, locks and unlocks, runs check and shows the resolution picture; at 320 px wide nothing
scrolls sideways; the keyboard alone reaches the record form; a TXT holding markup is shown as text;
every request the browser made went to ternd. Screenshots are kept in the pytest temporary directory
(console-shots*/), or in $TERN_CONSOLE_SHOTS when set.

The sign-in at an identity provider (api.console-login: OpenID Connect's code flow with PKCE, done
by the console's script) is tried against oidc_standin.py, a stand-in provider written in Python
because Debian packages no OpenID Connect provider: its authorize page signs a user in with a form,
its token endpoint checks code, PKCE verifier, client_id and redirect_uri, its /jwks is copied into
ternd's api.jwks. The browser signs in there, lands back signed in as the tenant the ID token names,
lists that tenant's zones and adds a record; a forged state, a tampered code and a wrong verifier
are refused, saying so, with no session; the browser reached only ternd and the provider."""
import base64
import hashlib
import json
import os
import re
import shutil
import tempfile
import subprocess
import time
import urllib.request

import pytest

import dnsseclab as L
import ternlib
from apilib import Api, ApiTernd, keys  # noqa: F401 (the fixture)
from oidc_standin import StandInIdP

API_PORT = 8056
URL = "http://127.0.0.1:%d" % API_PORT
HOSTILE = "<img src=x onerror=alert(1)>"
IDP_PORT = 8057  # the stand-in identity provider's, beside ternd in the lab
IDP = "http://127.0.0.1:%d" % IDP_PORT
IDP_NAME = "Stand-in IdP"
CLIENT_ID = "tern-console"
IDP_USERS = {"frank": ("correct horse", "frank")}  # user: (password, sub: the tenant)
CSP_PLAIN = ("default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
             "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
# with api.console-login, connect-src names the provider's token endpoint too, nothing else of it
CSP = CSP_PLAIN.replace("connect-src 'self'", "connect-src 'self' %s/token" % IDP)
WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "ternd", "api", "web")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
DIG = shutil.which("dig")

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
  console-login:
    name: "{idp_name}"
    issuer: "{idp}"
    authorization-endpoint: "{idp}/authorize"
    token-endpoint: "{idp}/token"
    client-id: "{client_id}"
    allow-http: true
"""

needs_browser = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER and DIG),
                                   reason="chromium, chromium-driver and dig are needed")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, keys):  # noqa: F811
    lab = L.Lab(tmp_path_factory.mktemp("consolelab"))
    try:
        L.start_parents(lab)
        d = os.path.join(lab.dir, "ternd")
        os.makedirs(os.path.join(d, "data"))
        # the stand-in provider, and ternd's key set: the test's keys and the provider's, read from
        # its /jwks as an operator copies them
        lab.idp = lab.ns.call(StandInIdP, IDP_PORT, CLIENT_ID, URL + "/console/callback", URL, IDP_USERS)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        idp_keys = lab.ns.call(lambda: json.load(opener.open(IDP + "/jwks", timeout=5)))["keys"]
        with open(keys.jwks) as f:
            doc = json.load(f)
        doc["keys"] += idp_keys
        jwks = os.path.join(d, "jwks.json")
        with open(jwks, "w") as f:
            json.dump(doc, f)
        conf = os.path.join(d, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_CONF.format(addr=L.CORP_ADDR, port=API_PORT, data=os.path.join(d, "data"), jwks=jwks,
                                      hints=os.path.join(lab.dir, "root.hints"), idp=IDP, idp_name=IDP_NAME,
                                      client_id=CLIENT_ID))
        lab.ternd = lab.spawn("ternd", [L.TERND, "-c", conf], os.path.join(d, "ternd.log"))
        lab.alice = keys.token("alice")
        lab.bob = keys.token("bob", admin=True)  # the second user: an operator who reviews
        client = Api(API_PORT, lab.alice)
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
        shots = os.environ.get("TERN_CONSOLE_SHOTS") or str(tmp_path_factory.mktemp("console-shots"))
        os.makedirs(shots, exist_ok=True)
        lab.shots = shots
        yield lab
        assert "AddressSanitizer" not in lab.ternd.log_text()
        dead = lab.dead()
        assert not dead, "lab processes died: %s" % dead
    finally:
        if getattr(lab, "idp", None):
            lab.idp.close()
        lab.close()


def dig(lab, name, rtype):
    """dig's short answer from ternd (sorted lines), inside the lab."""
    r = lab.ns.run([DIG, "+short", "+norec", "+time=2", "+tries=2", "@" + L.CORP_ADDR, name, rtype], check=False)
    return sorted(line for line in r.stdout.splitlines() if line)


def wait_dig(lab, name, rtype, want, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = dig(lab, name, rtype)
        if got == sorted(want):
            return got
        assert time.time() < deadline, "dig %s %s: %r, want %r" % (name, rtype, got, want)
        time.sleep(0.1)


# ---- the page, its script and style ----

@pytest.mark.parametrize("path,ctype,src", [("/console/", "text/html", "console.html"),
                                            ("/console", "text/html", "console.html"),
                                            ("/console/app.js", "text/javascript", "console.js"),
                                            ("/console/style.css", "text/css", "console.css"),
                                            ("/console/callback", "text/html", "console.html")])
def test_served_with_strict_headers(lab, path, ctype, src):
    r = lab.api("GET", path, token=False)
    assert r.status == 200, r
    assert r.headers.get("Content-Type").startswith(ctype), r.headers
    h = r.headers
    assert h.get("Content-Security-Policy") == CSP, h
    assert h.get("X-Content-Type-Options") == "nosniff"
    assert h.get("X-Frame-Options") == "DENY"
    assert h.get("Cache-Control") == "no-store"
    assert not h.get("Set-Cookie")
    with open(os.path.join(WEB, src), "rb") as f:
        assert r.body == f.read()


def test_page_refers_only_to_itself(lab):
    """No external script, style, font or image; no inline script, style or handler; every field
    has a label; the script writes text, never markup, and sends the token only as a header."""
    html = lab.api("GET", "/console/", token=False).body.decode()
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/console/app.js">']
    assert re.findall(r"<link[^>]*>", html) == ['<link rel="stylesheet" href="/console/style.css">']
    assert not re.search(r"(src|href|action)=\"(https?:)?//", html), html
    assert "<style" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html)
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and ids <= labelled, ids - labelled
    assert "<div role=\"button\"" not in html and "tabindex=\"0\"" not in html
    js = lab.api("GET", "/console/app.js", token=False).body.decode()
    assert '"Authorization": "Bearer " + token' in js and 'credentials: "omit"' in js
    assert "sessionStorage" in js and "document.cookie" not in js and "localStorage" not in js
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
    assert "eval(" not in js and "document.write" not in js and "new Function" not in js
    body = js.split('"use strict"', 1)[1]
    assert not re.search(r"https?://|[\"']//[a-z0-9.-]+", body), "a request outside this origin"
    for route in ("/api/v1/zones", "/rrsets", "/proposals/", "/changes", "/lock", "/api/v1/check?format=svg"):
        assert route in js, route
    css = lab.api("GET", "/console/style.css", token=False).body.decode()
    assert "@import" not in css and "url(" not in css and "@font-face" not in css


# ---- Chromium ----

class Browser:
    """Chromium through chromedriver, both inside the lab's namespace (started from one of its
    threads); every call to the driver runs on such a thread too."""

    def __init__(self, lab, name, width=1200, height=1000):
        self.lab, self.name = lab, name
        self.profile = tempfile.mkdtemp(prefix="tern-console-")
        self.shot_n = 0
        self.drv = lab.ns.call(self._start, width, height)

    def _start(self, width, height):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-extensions", "--disable-background-networking", "--disable-sync",
                  "--disable-component-update", "--disable-default-apps", "--hide-scrollbars",
                  "--window-size=%d,%d" % (width, height), "--user-data-dir=" + self.profile):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        drv.set_page_load_timeout(30)
        return drv

    def do(self, fn, *args):
        return self.lab.ns.call(fn, self.drv, *args)

    def shot(self, what):
        self.shot_n += 1
        path = os.path.join(self.lab.shots, "%s-%02d-%s.png" % (self.name, self.shot_n, what))
        self.do(lambda d: d.save_screenshot(path))
        assert os.path.getsize(path) > 1000, path
        return path

    def logs(self):
        return self.do(lambda d: (d.get_log("performance"), d.get_log("browser"), d.get_cookies()))

    def close(self):
        try:
            self.lab.ns.call(self.drv.quit)
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browser(lab):
    opened = []

    def make(name, **kw):
        b = Browser(lab, name, **kw)
        opened.append(b)
        return b
    yield make
    for b in opened:
        b.close()


def By():
    from selenium.webdriver.common.by import By as B
    return B


def wait(d, cond, timeout=30, what="the condition"):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(d, timeout, ignored_exceptions=(NoSuchElementException,
                                                             StaleElementReferenceException)).until(cond)
    except Exception:
        said = [e.text for e in d.find_elements(By().ID, "status")]  # none on the provider's pages
        raise AssertionError("waited for %s; status: %r; at %s" % (what, said, d.current_url))


def status(d):
    return d.find_element(By().ID, "status").text


def sign_in(d, token):
    d.get(URL + "/console/")
    if not d.find_element(By().ID, "signin-view").is_displayed():
        d.find_element(By().ID, "signout").click()
    f = d.find_element(By().ID, "token")
    f.clear()
    f.send_keys(token)
    d.find_element(By().ID, "signin-submit").click()
    wait(d, lambda d: d.find_element(By().ID, "zones-view").is_displayed(), what="the zones view")


def sign_out(d):
    d.find_element(By().ID, "signout").click()
    wait(d, lambda d: d.find_element(By().ID, "signin-view").is_displayed(), what="the sign-in view")


def open_zone(d, name):
    d.find_element(By().ID, "nav-zones").click()  # the list is emptied, then the first page shown
    wait(d, lambda d: d.find_elements(By().CSS_SELECTOR, "button[aria-label='Open zone %s']" % name),
         what="zone %s listed" % name)[0].click()
    wait(d, lambda d: d.find_element(By().ID, "zone-view").is_displayed() and
         d.find_element(By().ID, "zone-h").text == name and d.find_elements(By().CSS_SELECTOR, "#records tr"),
         what="zone %s open" % name)


def stage(d, name, rtype, ttl, records):
    for field, value in (("rr-name", name), ("rr-type", rtype), ("rr-ttl", str(ttl)),
                         ("rr-records", "\n".join(records))):
        e = d.find_element(By().ID, field)
        if not e.get_attribute("readonly"):  # name and type while editing
            e.clear()
            e.send_keys(value)
    d.find_element(By().ID, "rr-stage").click()


def apply_batch(d):
    d.find_element(By().ID, "batch-apply").click()
    wait(d, lambda d: "applied" in status(d) or "apply:" in status(d), what="the batch applied")
    assert "applied" in status(d), status(d)


def record_rows(d):
    """{(name, type): (ttl, [records])} as the table shows them (read in one script: the table is
    redrawn as answers arrive)."""
    rows = d.execute_script(
        "return Array.from(document.querySelectorAll('#records tr')).map(function (tr) {"
        " var td = tr.querySelectorAll('td');"
        " return [td[0].textContent, td[1].textContent, td[2].textContent,"
        "  Array.from(td[3].querySelectorAll('.rdata')).map(function (e) { return e.textContent; })]; });")
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def requests_outside(perf):
    """URLs the browser fetched that are not ternd's (nor the data: picture, nor chrome's own pages)."""
    urls = []
    for entry in perf:
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls, [u for u in urls if not u.startswith(("chrome:", "chrome-untrusted:", "data:", URL + "/"))]


@needs_browser
def test_console_in_chromium(lab, browser):
    pytest.importorskip("selenium")
    b = browser("story")
    B = By()

    # sign in; a bad token is refused and says so
    def bad_sign_in(d):
        d.get(URL + "/console/")
        d.find_element(B.ID, "token").send_keys("not.a.token")
        d.find_element(B.ID, "signin-submit").click()
        wait(d, lambda d: "signed out" in status(d) or "failed" in status(d), what="a refusal")
        return d.find_element(B.ID, "signin-view").is_displayed(), status(d)
    shown, said = b.do(bad_sign_in)
    assert shown and said.startswith("signed out: "), said
    b.shot("refused")
    b.do(sign_in, lab.alice)
    assert b.do(lambda d: d.find_element(B.ID, "whoami").text) == "signed in as alice"
    b.shot("signed-in")

    # create corp.lab. (the lab's parent delegates it to ns1.corp.lab., ternd)
    def create(d):
        d.find_element(B.ID, "new-zone").send_keys("corp.lab")
        d.find_element(B.ID, "create-submit").click()
        wait(d, lambda d: d.find_element(B.ID, "zone-view").is_displayed() and
             d.find_element(B.ID, "zone-h").text == "corp.lab." and d.find_elements(B.CSS_SELECTOR, "#records tr"),
             what="the new zone")
        return record_rows(d)
    rows = b.do(create)
    assert ("corp.lab.", "SOA") in rows and ("corp.lab.", "NS") in rows, rows
    # the ownership line shows only where the zone carries ownership (the ownership routes)
    owned = "ownership" in lab.api("GET", "/api/v1/zones/corp.lab").json
    assert b.do(lambda d: d.find_element(B.ID, "ownership").is_displayed()) == owned
    assert lab.api("GET", "/api/v1/zones/corp.lab").json["tenant"] == "alice"

    # three record sets in one batch: one change, one serial, one journal entry
    serial = lab.api("GET", "/api/v1/zones/corp.lab").json["serial"]

    def add(d):
        stage(d, "ns1", "A", 300, [L.CORP_ADDR])
        stage(d, "www", "a", 120, ["192.0.2.31", "192.0.2.32"])
        stage(d, "evil", "TXT", 300, ['"%s"' % HOSTILE])
        items = [li.text for li in d.find_elements(B.CSS_SELECTOR, "#batch > li")]
        apply_batch(d)
        wait(d, lambda d: ("evil.corp.lab.", "TXT") in record_rows(d), what="the records shown")
        return items, record_rows(d)
    items, rows = b.do(add)
    assert len(items) == 3 and items[1].startswith("set www.corp.lab. A TTL 120: 192.0.2.31 | 192.0.2.32"), items
    assert rows[("www.corp.lab.", "A")] == ("120", ["192.0.2.31", "192.0.2.32"]), rows
    assert rows[("evil.corp.lab.", "TXT")] == ("300", ['"%s"' % HOSTILE]), rows
    b.shot("records-added")
    wait_dig(lab, "ns1.corp.lab", "A", [L.CORP_ADDR])
    wait_dig(lab, "www.corp.lab", "A", ["192.0.2.31", "192.0.2.32"])
    assert dig(lab, "evil.corp.lab", "TXT") == ['"%s"' % HOSTILE]
    changes = lab.api("GET", "/api/v1/zones/corp.lab/changes").json["changes"]
    assert len([c for c in changes if c["serial_from"] == serial]) == 1
    one = [c for c in changes if c["serial_from"] == serial][0]
    assert len([r for r in one["added"] if r["type"] != "SOA"]) == 4 and one["by"] == "alice", one  # ns1, www x2, evil

    # edit www (the form filled from the row) and delete nothing else: one more change
    def edit(d):
        d.find_element(B.CSS_SELECTOR, "button[aria-label='Edit www.corp.lab. A']").click()
        assert d.find_element(B.ID, "rr-name").get_attribute("value") == "www.corp.lab."
        assert d.switch_to.active_element.get_attribute("id") == "rr-ttl"
        r = d.find_element(B.ID, "rr-records")
        r.clear()
        r.send_keys("192.0.2.41")
        ttl = d.find_element(B.ID, "rr-ttl")
        ttl.clear()
        ttl.send_keys("60")
        d.find_element(B.ID, "rr-stage").click()
        apply_batch(d)
        wait(d, lambda d: record_rows(d)[("www.corp.lab.", "A")] == ("60", ["192.0.2.41"]), what="the edit shown")
    b.do(edit)
    wait_dig(lab, "www.corp.lab", "A", ["192.0.2.41"])
    b.shot("record-edited")

    # a deletion and an addition in one batch
    def delete_and_add(d):
        d.find_element(B.CSS_SELECTOR, "button[aria-label='Delete ns1.corp.lab. A']").click()
        # changing one's mind: the deletion replaced by a new value for the same name and type
        stage(d, "ns1", "A", 300, [L.CORP_ADDR])
        stage(d, "mail", "MX", 300, ["10 mx.corp.lab."])
        d.find_element(B.CSS_SELECTOR, "button[aria-label='Delete evil.corp.lab. TXT']").click()
        items = [li.text for li in d.find_elements(B.CSS_SELECTOR, "#batch > li")]
        d.find_element(B.CSS_SELECTOR, "#batch > li:last-child button").click()  # remove the TXT deletion
        items2 = [li.text for li in d.find_elements(B.CSS_SELECTOR, "#batch > li")]
        apply_batch(d)
        return items, items2
    items, items2 = b.do(delete_and_add)
    assert len(items) == 3 and items[-1].startswith("delete evil.corp.lab. TXT"), items
    assert len(items2) == 2 and not [i for i in items2 if i.startswith("delete")], items2
    wait_dig(lab, "mail.corp.lab", "MX", ["10 mx.corp.lab."])
    assert dig(lab, "ns1.corp.lab", "A") == [L.CORP_ADDR]
    assert dig(lab, "evil.corp.lab", "TXT") == ['"%s"' % HOSTILE]

    # a proposal by alice: not applied until reviewed
    def propose(d):
        stage(d, "review", "TXT", 300, ['"reviewed by bob"'])
        d.find_element(B.ID, "batch-propose").click()
        wait(d, lambda d: "filed for review" in status(d), what="the proposal filed")
        wait(d, lambda d: d.find_elements(B.CSS_SELECTOR, "#proposals li.proposal[data-status='pending']"),
             what="the proposal listed")
        li = d.find_element(B.CSS_SELECTOR, "#proposals li.proposal[data-status='pending']")
        return status(d), li.get_attribute("data-id"), li.text
    said, pid, text = b.do(propose)
    assert "by alice" in text and "set review.corp.lab. TXT TTL 300" in text, text
    assert dig(lab, "review.corp.lab", "TXT") == []
    b.shot("proposal-filed")

    # alice cannot approve her own
    def approve_own(d):
        d.find_element(B.CSS_SELECTOR, "button[aria-label='Approve proposal %s']" % pid).click()
        wait(d, lambda d: "approve proposal" in status(d), what="the refusal")
        return status(d), d.find_element(B.ID, "status").get_attribute("class")
    said, cls = b.do(approve_own)
    assert "cannot be approved by its author" in said and cls == "error", said
    assert dig(lab, "review.corp.lab", "TXT") == []

    # bob (the second user) signs in, finds the zone by searching, approves: served
    b.do(sign_out)
    b.do(sign_in, lab.bob)

    def find(d):
        d.find_element(B.ID, "search").send_keys("corp")
        d.find_element(B.ID, "search-submit").click()
        wait(d, lambda d: "matching" in d.find_element(B.ID, "zones-caption").text, what="the search")
        return [e.text for e in d.find_elements(B.CSS_SELECTOR, "#zones tr td:first-child")]
    assert b.do(find) == ["corp.lab."]
    b.shot("search")

    def approve(d):
        open_zone(d, "corp.lab.")
        d.find_element(B.CSS_SELECTOR, "button[aria-label='Approve proposal %s']" % pid).click()
        wait(d, lambda d: "approved and applied" in status(d), what="the approval")
        wait(d, lambda d: d.find_elements(B.CSS_SELECTOR, "#proposals li[data-id='%s'][data-status='applied']" % pid),
             what="the proposal applied")
        return d.find_element(B.CSS_SELECTOR, "#proposals li[data-id='%s']" % pid).text
    text = b.do(approve)
    assert "applied" in text and "reviewed by bob" in text, text
    wait_dig(lab, "review.corp.lab", "TXT", ['"reviewed by bob"'])
    b.shot("proposal-approved")

    # bob proposes too; alice rejects it: nothing served
    def bob_proposes(d):
        stage(d, "bob", "A", 300, ["192.0.2.66"])
        d.find_element(B.ID, "batch-propose").click()
        wait(d, lambda d: "filed for review" in status(d), what="bob's proposal")
        return re.search(r"proposal (\d+)", status(d)).group(1)
    pid2 = b.do(bob_proposes)
    b.do(sign_out)
    b.do(sign_in, lab.alice)

    def reject(d):
        open_zone(d, "corp.lab.")
        d.find_element(B.CSS_SELECTOR, "button[aria-label='Reject proposal %s']" % pid2).click()
        wait(d, lambda d: "rejected" in status(d), what="the rejection")
        wait(d, lambda d: d.find_elements(B.CSS_SELECTOR, "#proposals li[data-id='%s'][data-status='rejected']"
                                          % pid2), what="the proposal rejected")
        return d.find_element(B.CSS_SELECTOR, "#proposals li[data-id='%s']" % pid2).text
    text = b.do(reject)
    assert "by bob" in text and "reviewed by alice" in text, text
    assert dig(lab, "bob.corp.lab", "A") == []

    # the history: the journal, newest first, each change credited
    def history(d):
        return [li.text for li in d.find_elements(B.CSS_SELECTOR, "#history > li.change")]
    hist = b.do(history)
    journal = lab.api("GET", "/api/v1/zones/corp.lab/changes?limit=20").json["changes"]
    assert len(hist) == len(journal) >= 4, hist
    assert hist[0].startswith("serial %d \u2192 %d" % (journal[0]["serial_from"], journal[0]["serial_to"]))
    assert "by alice" in hist[0] and '+ review.corp.lab. 300 TXT "reviewed by bob"' in hist[0], hist[0]
    assert any("- www.corp.lab. 120 A 192.0.2.31" in h and "+ www.corp.lab. 60 A 192.0.2.41" in h for h in hist), hist
    b.do(lambda d: d.find_element(B.ID, "history-h").location_once_scrolled_into_view)
    b.shot("history")

    # lock: a batch is refused with the reason; unlock: it goes through
    def lock(d):
        d.find_element(B.ID, "lock-reason").send_keys("migration <b>now</b>")
        d.find_element(B.ID, "lock").click()
        wait(d, lambda d: d.find_element(B.ID, "lock-state").text.startswith("Locked"), what="the lock")
        state = d.find_element(B.ID, "lock-state").text
        stage(d, "late", "A", 300, ["192.0.2.99"])
        d.find_element(B.ID, "batch-apply").click()
        wait(d, lambda d: "apply:" in status(d), what="the refusal")
        said = status(d)
        d.find_element(B.ID, "unlock").click()
        wait(d, lambda d: d.find_element(B.ID, "lock-state").text == "Not locked.", what="the unlock")
        apply_batch(d)
        return state, said
    state, said = b.do(lock)
    assert state == "Locked: migration <b>now</b>", state
    assert "migration <b>now</b>" in said, said
    wait_dig(lab, "late.corp.lab", "A", ["192.0.2.99"])

    # check the zone: the resolution picture from the lab's root
    def check(d):
        open_zone(d, "corp.lab.")
        d.find_element(B.ID, "zone-check").click()
        wait(d, lambda d: d.find_elements(B.ID, "check-report") or "check:" in status(d), timeout=90,
             what="the check")
        wait(d, lambda d: d.execute_script(
            "var i = document.getElementById('check-report'); return i && i.complete && i.naturalWidth > 0;"),
            what="the picture")
        return status(d), d.find_element(B.ID, "check-report").get_attribute("src")
    said, src = b.do(check)
    assert said.startswith("check done: 1 servers"), said
    assert src.startswith("data:image/svg+xml;base64,")
    import base64
    svg = base64.b64decode(src.split(",", 1)[1]).decode()
    assert L.CORP_ADDR in svg and "corp.lab." in svg
    b.shot("check")

    # every request went to ternd; none was blocked by the CSP; no cookie
    perf, console, cookies = b.logs()
    urls, outside = requests_outside(perf)
    assert not outside, outside
    for path in ("/console/", "/console/app.js", "/console/style.css", "/api/v1/zones?limit=1",
                 "/api/v1/zones/corp.lab./rrsets", "/api/v1/zones/corp.lab./changes?limit=20",
                 "/api/v1/check?format=svg", "/api/v1/zones/corp.lab./proposals/%s/approve" % pid,
                 "/api/v1/zones/corp.lab./proposals/%s/reject" % pid2):
        assert URL + path in urls, (path, urls)
    assert not [c for c in console if "Content Security Policy" in c.get("message", "")], console
    assert not cookies
    assert len([f for f in os.listdir(lab.shots) if f.startswith("story-")]) >= 8


@needs_browser
def test_markup_in_a_record_is_text(lab, browser):
    """The TXT holding <img src=x onerror=alert(1)>: shown as those characters, no element made of
    it, no script run (no alert, no console error from an image x), in the records and the history."""
    pytest.importorskip("selenium")
    if lab.api("GET", "/api/v1/zones/corp.lab/rrsets/evil/TXT").status != 200:
        r = lab.api("POST", "/api/v1/zones", {"name": "corp.lab", "rrsets": [
            {"name": "evil", "type": "TXT", "ttl": 300, "records": ['"%s"' % HOSTILE]}]})
        assert r.status == 201, r
    b = browser("hostile")
    B = By()

    def look(d):
        sign_in(d, lab.alice)
        open_zone(d, "corp.lab.")
        cells = [e.text for e in d.find_elements(B.CSS_SELECTOR, "#records .rdata")]
        imgs = d.execute_script("return document.querySelectorAll('main img').length")
        hist = d.find_element(B.ID, "history").text
        try:
            alert = d.switch_to.alert.text
        except Exception:
            alert = None
        return cells, imgs, hist, alert
    cells, imgs, hist, alert = b.do(look)
    assert '"%s"' % HOSTILE in cells, cells
    assert imgs == 0 and alert is None
    assert HOSTILE in hist
    perf, console, _ = b.logs()
    urls, outside = requests_outside(perf)
    assert not outside and URL + "/x" not in urls, urls
    b.shot("text")


@needs_browser
def test_320px_wide_has_no_horizontal_scroll(lab, browser):
    pytest.importorskip("selenium")
    if lab.api("GET", "/api/v1/zones/corp.lab").status != 200:
        assert lab.api("POST", "/api/v1/zones", {"name": "corp.lab"}).status == 201
    lab.api("PUT", "/api/v1/zones/corp.lab/rrsets/long/TXT",
            {"ttl": 300, "records": ['"%s"' % ("averyveryverylongwordwithoutanyspaces" * 6)]})
    b = browser("narrow", width=320, height=900)
    B = By()

    def widths(d):
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": 320, "height": 900, "deviceScaleFactor": 1, "mobile": True})
        out = {}
        d.get(URL + "/console/")
        out["signin"] = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        sign_in(d, lab.alice)
        out["zones"] = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        open_zone(d, "corp.lab.")
        out["zone"] = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        d.find_element(B.ID, "nav-check").click()
        out["check"] = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        return out
    out = b.do(widths)
    for view, (scroll, inner) in out.items():
        assert inner == 320 and scroll <= inner, (view, scroll, inner)
    b.do(lambda d: d.find_element(B.ID, "nav-zones").click())
    b.do(lambda d: wait(d, lambda d: d.find_element(B.ID, "zones-view").is_displayed()))
    b.shot("zones-320px")
    b.do(open_zone, "corp.lab.")
    b.shot("zone-320px")


@needs_browser
def test_keyboard_alone_reaches_the_record_form(lab, browser):
    """Tab, typing and Enter only: sign in, open the zone, reach the record form, fill it, stage
    the record and apply the batch; the record is served."""
    pytest.importorskip("selenium")
    if lab.api("GET", "/api/v1/zones/corp.lab").status != 200:
        assert lab.api("POST", "/api/v1/zones", {"name": "corp.lab"}).status == 201
    b = browser("keyboard")
    B = By()
    from selenium.webdriver.common.keys import Keys

    def active(d):
        e = d.switch_to.active_element
        return e.get_attribute("id") or e.get_attribute("aria-label") or e.tag_name

    def tab_to(d, want, limit=200):
        seen = []
        for _ in range(limit):
            d.switch_to.active_element.send_keys(Keys.TAB)
            a = active(d)
            seen.append(a)
            if a == want:
                return seen
        raise AssertionError("Tab never reached %s: %s" % (want, seen))

    def keys_only(d):
        d.get(URL + "/console/")
        tab_to(d, "token")
        d.switch_to.active_element.send_keys(lab.alice + Keys.ENTER)
        wait(d, lambda d: d.find_element(B.ID, "zones-view").is_displayed(), what="signed in")
        wait(d, lambda d: d.find_elements(B.CSS_SELECTOR, "button[aria-label='Open zone corp.lab.']"))
        tab_to(d, "Open zone corp.lab.")
        d.switch_to.active_element.send_keys(Keys.ENTER)
        wait(d, lambda d: d.find_element(B.ID, "zone-view").is_displayed() and
             d.find_elements(B.CSS_SELECTOR, "#records tr"), what="the zone")
        order = tab_to(d, "rr-name")
        d.switch_to.active_element.send_keys("kbd")
        for value in ("TXT", None, '"typed"'):
            d.switch_to.active_element.send_keys(Keys.TAB)
            if value:
                d.switch_to.active_element.send_keys(value)
        tab_to(d, "rr-stage")
        d.switch_to.active_element.send_keys(Keys.ENTER)
        wait(d, lambda d: "added to the batch" in status(d), what="staged")
        tab_to(d, "batch-apply")
        d.switch_to.active_element.send_keys(Keys.ENTER)
        wait(d, lambda d: "applied" in status(d) or "apply:" in status(d), what="applied")
        return order, status(d)
    order, said = b.do(keys_only)
    assert "applied" in said, said
    # the form comes after the records' own buttons, in the page's order
    assert order.index("rr-name") > max(i for i, a in enumerate(order) if a.startswith("Edit ")), order
    wait_dig(lab, "kbd.corp.lab", "TXT", ['"typed"'])
    b.shot("keyboard")



@needs_browser
def test_zones_search_and_paging(lab, browser, keys):  # noqa: F811
    """300 zones of one tenant: pages of 25 forwards and back; a search for "7" (57 of them) over
    the listing read 200 at a time gives pages of 25, 25 and 7 matches, in the listing's order."""
    pytest.importorskip("selenium")
    dora = keys.token("dora")
    names = ["n%03d.bulk.lab" % i for i in range(300)]
    r = lab.api("POST", "/api/v1/zones/batch", {"zones": [{"name": n} for n in names]}, token=dora)
    assert r.status == 201, r
    listing = [n + "." for n in names]  # canonical order: one parent, labels n000 .. n299
    matching = [n for n in listing if "7" in n]
    assert len(matching) == 57
    b = browser("paging")
    B = By()

    def page(d):
        return d.execute_script(
            "return [document.getElementById('zones-caption').textContent,"
            " Array.from(document.querySelectorAll('#zones tr td:first-child')).map(function (e) {"
            "  return e.textContent; }), document.getElementById('zones-prev').disabled,"
            " document.getElementById('zones-next').disabled];")

    def turn(d, button, caption):
        d.find_element(B.ID, button).click()
        wait(d, lambda d: page(d)[0].endswith(caption), what=caption)
        return page(d)

    def walk(d):
        sign_in(d, dora)
        wait(d, lambda d: "(page 1)" in page(d)[0], what="the first page")
        seen = [page(d)]
        seen.append(turn(d, "zones-next", "(page 2)"))
        seen.append(turn(d, "zones-next", "(page 3)"))
        seen.append(turn(d, "zones-prev", "(page 2)"))
        d.find_element(B.ID, "search").send_keys("7")
        d.find_element(B.ID, "search-submit").click()
        wait(d, lambda d: "matching" in page(d)[0] and "(page 1)" in page(d)[0], what="the search")
        found = [page(d)]
        found.append(turn(d, "zones-next", "(page 2)"))
        found.append(turn(d, "zones-next", "(page 3)"))
        return seen, found
    seen, found = b.do(walk)
    assert seen[0][1:] == [listing[:25], True, False], seen[0]
    assert seen[1][1] == listing[25:50] and seen[2][1] == listing[50:75] and seen[3][1] == listing[25:50]
    assert seen[3][2] is False
    assert found[0][0] == "Zones matching \u201c7\u201d (page 1)", found[0]
    assert found[0][1] == matching[:25] and found[1][1] == matching[25:50], found
    assert found[2][1] == matching[50:] and found[2][3] is True, found[2]
    b.shot("search-page3")


@needs_browser
def test_history_pages(lab, browser, keys):  # noqa: F811
    """A zone with 25 changes: the history shows the newest 20, "Older changes" the other 5, each
    once, in the journal's order; then the button goes away."""
    pytest.importorskip("selenium")
    erin = keys.token("erin")
    assert lab.api("POST", "/api/v1/zones", {"name": "hist.lab"}, token=erin).status == 201
    for i in range(25):
        r = lab.api("PUT", "/api/v1/zones/hist.lab/rrsets/h/TXT", {"ttl": 60, "records": ['"v%d"' % i]}, token=erin)
        assert r.status in (200, 201), r
    journal = []
    cursor = ""
    while True:
        r = lab.api("GET", "/api/v1/zones/hist.lab/changes?limit=20" + cursor, token=erin).json
        journal += r["changes"]
        if not r["next"]:
            break
        cursor = "&cursor=%d" % r["next"]
    b = browser("history")
    B = By()

    def entries(d):
        return d.execute_script("return Array.from(document.querySelectorAll('#history > li.change p'))"
                                ".map(function (p) { return p.textContent; })")

    def walk(d):
        sign_in(d, erin)
        open_zone(d, "hist.lab.")
        wait(d, lambda d: len(entries(d)) == 20, what="20 entries")
        first = entries(d)
        more = d.find_element(B.ID, "history-more")
        assert more.is_displayed()
        more.click()
        wait(d, lambda d: len(entries(d)) == len(journal), what="all entries")
        return first, entries(d), d.find_element(B.ID, "history-more").is_displayed()
    first, every, still = b.do(walk)
    want = ["serial %d \u2192 %d" % (c["serial_from"], c["serial_to"]) for c in journal]
    assert len(journal) == 25 and [e.split(" at ")[0] for e in first] == want[:20], first
    assert [e.split(" at ")[0] for e in every] == want and not still


# ---- sign-in at the identity provider (api.console-login) ----

def test_config_json_says_where_to_sign_in(lab):
    """GET /console/config.json: the provider's public settings, no secret, the console's headers."""
    r = lab.api("GET", "/console/config.json", token=False)
    assert r.status == 200 and r.headers.get("Content-Type") == "application/json", r
    assert r.headers.get("Content-Security-Policy") == CSP and r.headers.get("Cache-Control") == "no-store"
    assert r.json == {"login": {"name": IDP_NAME, "issuer": IDP, "authorization_endpoint": IDP + "/authorize",
                                "token_endpoint": IDP + "/token", "client_id": CLIENT_ID, "scope": "openid",
                                "bearer": "id_token"}}, r.json


def test_without_console_login(keys, tmp_path):  # noqa: F811
    """No api.console-login: config.json says so and the CSP reaches this origin only."""
    t = ApiTernd(keys, workdir=str(tmp_path)).start()
    try:
        r = t.api().get("/console/config.json")
        assert r.status == 200 and r.json == {"login": None}, r
        assert r.headers.get("Content-Security-Policy") == CSP_PLAIN
        assert t.api().get("/console/").headers.get("Content-Security-Policy") == CSP_PLAIN
    finally:
        t.stop()
    assert "AddressSanitizer" not in t.log_text()


LOGIN_OK = ('  console-login:\n    name: "Corp SSO"\n    issuer: "https://sso.example"\n'
            '    authorization-endpoint: "https://sso.example/auth"\n    token-endpoint: "https://sso.example/token"\n'
            '    client-id: "tern"\n')


@pytest.mark.parametrize("lines,message", [
    (LOGIN_OK.replace('token-endpoint: "https', 'token-endpoint: "http'),
     'api.console-login.token-endpoint: "http://sso.example/token" is not an https:// URL (http:// only with '
     'api.console-login.allow-http, a test mode)'),
    (LOGIN_OK.replace('issuer: "https', 'issuer: "http'), 'api.console-login.issuer: "http://sso.example" is not'),
    (LOGIN_OK.replace('/auth"', '/auth#x"'), "api.console-login.authorization-endpoint: "),
    (LOGIN_OK.replace('/token"', "/token; script-src *\""), "api.console-login.token-endpoint: "),
    (LOGIN_OK.replace('    client-id: "tern"\n', ""), "api.console-login.client-id: missing required key"),
    (LOGIN_OK + '    scope: "profile email"\n', 'api.console-login.scope: "profile email" does not hold openid'),
    (LOGIN_OK + '    bearer: "cookie"\n', "api.console-login.bearer"),
    (LOGIN_OK.replace('/token"', '/' + 'x' * 600 + '"'), "api.console-login.token-endpoint"),
])
def test_console_login_refused_by_check(lines, message, keys, tmp_path):  # noqa: F811
    conf = tmp_path / "ternd.yaml"
    conf.write_text("server:\n  listen: [\"127.0.0.1@%d\"]\napi:\n  listen: \"127.0.0.1@%d\"\n"
                    "  data-dir: \"%s\"\n  jwks: \"%s\"\n%s" % (ternlib.free_port(), ternlib.free_port(),
                                                              tmp_path / "data", keys.jwks, lines))
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert message in r.stderr + r.stdout, r.stderr + r.stdout


def test_console_login_needs_the_tenant_api(tmp_path):
    conf = tmp_path / "ternd.yaml"
    conf.write_text("server:\n  listen: [\"127.0.0.1@%d\"]\napi:\n  listen: \"127.0.0.1@%d\"\n%s"
                    % (ternlib.free_port(), ternlib.free_port(), LOGIN_OK))
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "api.console-login: needs the tenant API" in r.stderr + r.stdout, r.stderr


def test_console_login_accepted_by_check(keys, tmp_path):  # noqa: F811
    conf = tmp_path / "ternd.yaml"
    conf.write_text("server:\n  listen: [\"127.0.0.1@%d\"]\napi:\n  listen: \"127.0.0.1@%d\"\n"
                    "  data-dir: \"%s\"\n  jwks: \"%s\"\n%s    scope: \"openid profile\"\n    bearer: access-token\n"
                    % (ternlib.free_port(), ternlib.free_port(), tmp_path / "data", keys.jwks, LOGIN_OK))
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr + r.stdout


def session(d):
    """This tab's console session: the token, the sign-in request in flight."""
    return d.execute_script("return [sessionStorage.getItem('tern.console.token'),"
                            " sessionStorage.getItem('tern.console.login')]")


def to_provider(d, B, user="frank", password="correct horse", button="login"):
    """From the console's sign-in view to the provider's form, filled and sent (or cancelled)."""
    d.get(URL + "/console/")
    if not d.find_element(B.ID, "signin-view").is_displayed():
        d.find_element(B.ID, "signout").click()
    wait(d, lambda d: d.find_element(B.ID, "idp-signin").is_displayed(), what="the provider's button")
    assert d.find_element(B.ID, "idp-signin").text == "Sign in with " + IDP_NAME
    d.find_element(B.ID, "idp-signin").click()
    wait(d, lambda d: d.current_url.startswith(IDP + "/authorize?") and d.find_elements(B.ID, "username"),
         what="the provider's sign-in form")
    d.find_element(B.ID, "username").send_keys(user)
    d.find_element(B.ID, "password").send_keys(password)
    d.find_element(B.ID, button).click()


def refused(d, B):
    wait(d, lambda d: status(d).startswith("sign in refused: "), what="the refusal")
    return (status(d), d.find_element(B.ID, "signin-view").is_displayed(), d.find_element(B.ID, "nav").is_displayed(),
            session(d), d.current_url)


@needs_browser
def test_sign_in_at_the_identity_provider(lab, browser, keys):  # noqa: F811
    pytest.importorskip("selenium")
    frank = Api(API_PORT, keys.token("frank"))
    if lab.ns.call(frank.request, "GET", "/api/v1/zones/idp.lab").status != 200:
        assert lab.ns.call(frank.request, "POST", "/api/v1/zones", {"name": "idp.lab"}).status == 201
    if lab.api("GET", "/api/v1/zones/corp.lab").status != 200:  # alice's: not to be listed to frank
        assert lab.api("POST", "/api/v1/zones", {"name": "corp.lab"}).status == 201
    tokens_before = lab.ns.call(lambda: len(lab.idp.seen("POST", "/token")))
    b = browser("idp")
    B = By()

    def go(d):
        to_provider(d, B)
        wait(d, lambda d: d.find_element(B.ID, "zones-view").is_displayed() and
             d.find_elements(B.CSS_SELECTOR, "button[aria-label^='Open zone ']"), what="the zones view")
        zones = [e.get_attribute("aria-label") for e in d.find_elements(B.CSS_SELECTOR,
                                                                         "button[aria-label^='Open zone ']")]
        return d.current_url, d.find_element(B.ID, "whoami").text, zones, session(d)
    where, who, zones, (tok, pending) = b.do(go)
    assert where == URL + "/console/", where  # the code left the address bar
    assert who == "signed in as frank" and zones == ["Open zone idp.lab."], (who, zones)
    assert pending is None and tok in lab.idp.issued
    payload = tok.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "frank" and claims["iss"] == IDP and claims["aud"] == CLIENT_ID
    b.shot("signed-in")

    # the token endpoint saw the PKCE verifier whose S256 challenge went to /authorize
    token_posts = lab.idp.seen("POST", "/token")[tokens_before:]
    assert len(token_posts) == 1, token_posts
    form = token_posts[0][3]
    asked = lab.idp.seen("GET", "/authorize")[-1][2]
    assert asked["code_challenge_method"] == "S256" and asked["client_id"] == CLIENT_ID
    assert base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=").decode() \
        == asked["code_challenge"]
    assert form["redirect_uri"] == URL + "/console/callback" and "client_secret" not in form

    # a record, through the console, served
    def add(d):
        open_zone(d, "idp.lab.")
        stage(d, "www", "A", 300, ["192.0.2.77"])
        apply_batch(d)
    b.do(add)
    wait_dig(lab, "www.idp.lab.", "A", ["192.0.2.77"])
    changes = lab.ns.call(frank.request, "GET", "/api/v1/zones/idp.lab/changes?limit=1").json["changes"]
    assert changes[0]["by"] == "frank", changes
    b.shot("record-added")

    # sign-out forgets the token
    def out(d):
        sign_out(d)
        return session(d)
    assert b.do(out) == [None, None]

    perf, console, cookies = b.logs()
    urls = [json.loads(e["message"])["message"]["params"]["request"]["url"] for e in perf
            if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"]
    elsewhere = [u for u in urls if not u.startswith(("chrome:", "chrome-untrusted:", "data:", URL + "/", IDP + "/"))]
    assert not elsewhere, elsewhere
    assert [u for u in urls if u.startswith(IDP + "/")] and URL + "/console/config.json" in urls
    at_idp = {u.split("?")[0] for u in urls if u.startswith(IDP)} - {IDP + "/favicon.ico"}  # the browser's own
    assert at_idp == {IDP + "/authorize", IDP + "/login", IDP + "/token"}, urls
    for t in lab.idp.issued:  # no token in an address, nor in ternd's log
        assert not [u for u in urls if t in u]
        assert t not in lab.ternd.log_text()
    assert not [c for c in console if "Content Security Policy" in c.get("message", "")], console
    assert not cookies or all(c.get("domain") != "127.0.0.1" or "tern" not in c["name"] for c in cookies)


@needs_browser
def test_identity_provider_answers_refused(lab, browser):
    """A forged state, a tampered code, a wrong PKCE verifier, a replayed answer: each refused by
    the console or the provider, said in the status line, no session, no API request."""
    pytest.importorskip("selenium")
    b = browser("idp-refused")
    B = By()

    def held(d):
        """The provider's answer (the address it sends the browser back to), not followed."""
        to_provider(d, B)
        wait(d, lambda d: d.find_elements(B.ID, "back"), what="the held answer")
        return d.find_element(B.ID, "back").get_attribute("href")

    lab.idp.hold = True
    try:
        # a state other than the tab's: refused before the code is traded
        before = len(lab.idp.seen("POST", "/token"))

        def forged_state(d):
            back = held(d)
            d.get(re.sub(r"state=[^&]+", "state=" + "A" * 43, back))
            return refused(d, B)
        said, signin, nav, sess, where = b.do(forged_state)
        assert said == ("sign in refused: the answer's state does not match this tab's request (a forged or "
                        "stale answer)"), said
        assert signin and not nav and sess == [None, None] and where == URL + "/console/"
        assert len(lab.idp.seen("POST", "/token")) == before
        b.shot("forged-state")

        # a code altered on the way: the provider refuses it
        def tampered(d):
            back = held(d)
            code = re.search(r"code=([^&]+)", back).group(1)
            d.get(back.replace("code=" + code, "code=" + code[:-4] + ("AAAA" if code[-4:] != "AAAA" else "BBBB")))
            return refused(d, B)
        said, signin, nav, sess, _ = b.do(tampered)
        assert said == ("sign in refused: %s refused the code: invalid_grant (unknown, used or expired code)"
                        % IDP_NAME), said
        assert signin and not nav and sess == [None, None]
        b.shot("tampered-code")

        # another verifier than the one whose challenge was sent: the provider refuses it
        def wrong_verifier(d):
            back = held(d)
            d.get(URL + "/console/")
            d.execute_script("var p = JSON.parse(sessionStorage.getItem('tern.console.login'));"
                             "p.verifier = p.verifier.split('').reverse().join('') + 'x';"
                             "sessionStorage.setItem('tern.console.login', JSON.stringify(p));")
            d.get(back)
            return refused(d, B)
        said, signin, nav, sess, _ = b.do(wrong_verifier)
        assert said == ("sign in refused: %s refused the code: invalid_grant (code_verifier does not match the "
                        "code_challenge)" % IDP_NAME), said
        assert signin and not nav and sess == [None, None]
        b.shot("wrong-verifier")
        assert [r for r in lab.idp.refusals if "code_verifier" in r[2]]

        # the user cancels at the provider: its error, said as it came
        def cancelled(d):
            to_provider(d, B, button="cancel")
            return refused(d, B)
        said, signin, nav, sess, _ = b.do(cancelled)
        assert said == "sign in refused: %s said no: access_denied (the user cancelled)" % IDP_NAME, said
        assert signin and not nav and sess == [None, None]
        b.shot("cancelled")

        perf, console, _ = b.logs()
        urls = [json.loads(e["message"])["message"]["params"]["request"]["url"] for e in perf
                if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"]
        assert not [u for u in urls if u.startswith(URL + "/api/")], urls  # never signed in

        # the right answer signs in; the same answer again finds no request in flight
        def replay(d):
            back = held(d)
            d.get(back)
            wait(d, lambda d: d.find_element(B.ID, "zones-view").is_displayed(), what="signed in")
            sign_out(d)
            d.get(back)
            return refused(d, B)
        said, signin, nav, sess, _ = b.do(replay)
        assert said == "sign in refused: no sign-in was started in this tab", said
        assert signin and not nav and sess == [None, None]
        b.shot("replayed")
    finally:
        lab.idp.hold = False
