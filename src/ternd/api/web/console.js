// The web console's script (served by ternd from /console/app.js; the CSP allows only same-origin
// scripts, styles and requests). The API is its only backend: every request carries the token in
// the Authorization header (never a cookie, so no other site can make the browser act with it),
// kept in this tab's sessionStorage. Everything the API returns is put in the page as text
// (textContent, never as markup), so a record holding markup shows as what it is.
// With api.console-login (GET /console/config.json), it also signs in at an OpenID Connect provider:
// the code flow with PKCE (RFC 7636, S256) done here, a public client with no secret; the code comes
// back in /console/callback's query and is traded at the provider's token endpoint (the one place
// outside this origin the CSP lets the script reach); state and nonce tie the answer to this tab.
"use strict";
(function () {
  var PAGE = 25; // zones a page
  var SCAN = 200; // zones asked for at a time while searching
  var SCAN_PAGES = 10; // pages scanned for one page of matches before offering the next
  var KEY = "tern.console.token";

  function $(id) { return document.getElementById(id); }

  // an element with text (never markup) and attributes
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  function button(text, label, fn) {
    var b = el("button", text, { type: "button" });
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", fn);
    return b;
  }

  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  function say(text, error) {
    var s = $("status");
    s.textContent = text;
    s.className = error ? "error" : "";
  }

  function when(t) { return t ? new Date(t * 1000).toISOString().replace(".000Z", "Z") : ""; }

  // ---- the token and the API ----

  var token = null;

  function api(method, path, body, raw) {
    var opts = { method: method, credentials: "omit", cache: "no-store", headers: { "Authorization": "Bearer " + token } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    var sent = token;
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        if (token !== sent) { // signed out (or in as another) meanwhile: the answer is not shown
          var gone = new Error("signed out");
          gone.stale = true;
          throw gone;
        }
        if (!r.ok) {
          var m = "HTTP " + r.status;
          try { var e = JSON.parse(t).error; m = e.message + (e.field ? " (" + e.field + ")" : ""); } catch (x) { /* not JSON */ }
          if (r.status === 401) signOut("signed out: " + m);
          var err = new Error(m);
          err.status = r.status;
          throw err;
        }
        return raw ? t : (t ? JSON.parse(t) : null);
      });
    });
  }

  function zpath(zone, rest) { return "/api/v1/zones/" + encodeURIComponent(zone) + (rest || ""); }

  function fail(what) { return function (e) { if (!e.stale) say(what + ": " + e.message, true); }; }

  // the claims of the token, for display only (ternd verifies it)
  function claims(t) {
    try {
      var p = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(p + "===".slice((p.length + 3) % 4)))));
    } catch (e) { return {}; }
  }

  // ---- views ----

  var VIEWS = ["signin-view", "zones-view", "zone-view", "check-view"];

  // keyboard focus to a heading (focusable by script only) or a control, so that the next Tab
  // goes on from where the change happened rather than from the top of the page
  function focusOn(e) {
    if (/^H[1-6]$/.test(e.tagName)) e.setAttribute("tabindex", "-1");
    e.focus();
  }

  function show(id) {
    VIEWS.forEach(function (v) { $(v).hidden = v !== id; });
    $("nav").hidden = id === "signin-view";
    focusOn($(id).querySelector("h2"));
  }

  function signOut(msg) {
    token = null;
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(LOGIN);
    current = null;
    batch = [];
    clear($("zones"));
    clear($("records"));
    $("token").value = "";
    show("signin-view");
    say(msg || "signed out", !!msg);
  }

  function signIn(t) {
    token = t;
    return api("GET", "/api/v1/zones?limit=1").then(function () {
      sessionStorage.setItem(KEY, t);
      var c = claims(t);
      $("whoami").textContent = "signed in as " + (c.sub || "?") + (c.role === "admin" ? " (admin)" : "");
      say("signed in", false);
      return openZones("");
    });
  }

  $("signin").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var t = $("token").value.trim();
    $("token").value = "";
    signIn(t).catch(function (e) { if (e.status !== 401 && !e.stale) say("sign in failed: " + e.message, true); });
  });
  $("signout").addEventListener("click", function () { signOut(); });

  // ---- sign-in at the identity provider (api.console-login) ----

  var LOGIN = "tern.console.login"; // this tab's request in flight: state, nonce, PKCE verifier
  var login = null; // GET /console/config.json's login: the provider's public settings, or null

  function b64url(bytes) {
    var s = "";
    bytes.forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function random() { return b64url(crypto.getRandomValues(new Uint8Array(32))); }

  // where the provider sends the browser back: this console as the browser reached it
  function redirectUri() { return location.origin + "/console/callback"; }

  function startLogin() {
    var p = { state: random(), nonce: random(), verifier: random() };
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(p.verifier)).then(function (h) {
      sessionStorage.setItem(LOGIN, JSON.stringify(p));
      var q = new URLSearchParams({
        response_type: "code", client_id: login.client_id, redirect_uri: redirectUri(), scope: login.scope,
        state: p.state, nonce: p.nonce, code_challenge: b64url(new Uint8Array(h)), code_challenge_method: "S256"
      });
      var u = login.authorization_endpoint;
      location.assign(u + (u.indexOf("?") < 0 ? "?" : "&") + q.toString());
    });
  }

  function refuse(why) {
    var e = new Error(why);
    e.login = true;
    throw e;
  }

  function oauthError(j) {
    return j.error + (j.error_description ? " (" + j.error_description + ")" : "");
  }

  // /console/callback?code=...&state=... (or ?error=...): the request this tab made is taken out of
  // sessionStorage (one answer each), the code leaves the address bar, the answer is checked, the
  // code traded for tokens, the ID token's iss, aud, nonce and exp checked (ternd checks its
  // signature, against api.jwks), and the bearer token chosen signs the tab in as a pasted one does
  function finishLogin() {
    var q = new URLSearchParams(location.search);
    history.replaceState(null, "", "/console/");
    var p = null;
    try { p = JSON.parse(sessionStorage.getItem(LOGIN)); } catch (x) { /* none */ }
    sessionStorage.removeItem(LOGIN);
    return Promise.resolve().then(function () {
      if (!login) refuse("this server has no identity provider configured");
      if (!p || typeof p.state !== "string") refuse("no sign-in was started in this tab");
      if (q.get("state") !== p.state) refuse("the answer's state does not match this tab's request (a forged or stale answer)");
      if (q.get("error")) refuse(login.name + " said no: " + oauthError({ error: q.get("error"), error_description: q.get("error_description") }));
      if (!q.get("code")) refuse("the answer holds no code");
      var body = new URLSearchParams({
        grant_type: "authorization_code", code: q.get("code"), redirect_uri: redirectUri(),
        client_id: login.client_id, code_verifier: p.verifier
      });
      return fetch(login.token_endpoint, {
        method: "POST", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: body.toString()
      });
    }).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = JSON.parse(t); } catch (x) { /* not JSON */ }
        if (!r.ok) refuse(login.name + " refused the code: " + (j && typeof j.error === "string" ? oauthError(j) : "HTTP " + r.status));
        if (!j || typeof j.id_token !== "string") refuse(login.name + "'s answer holds no ID token");
        var c = claims(j.id_token);
        var aud = Array.isArray(c.aud) ? c.aud : [c.aud];
        if (c.iss !== login.issuer) refuse("the ID token's issuer is not " + login.issuer);
        if (aud.indexOf(login.client_id) < 0) refuse("the ID token is not for this console (aud)");
        if (c.nonce !== p.nonce) refuse("the ID token's nonce does not match this tab's request");
        if (typeof c.exp !== "number" || c.exp * 1000 < Date.now()) refuse("the ID token has expired");
        var bearer = login.bearer === "access_token" ? j.access_token : j.id_token;
        if (typeof bearer !== "string" || !bearer) refuse(login.name + "'s answer holds no " + login.bearer);
        return signIn(bearer);
      });
    });
  }

  $("idp-signin").addEventListener("click", function () {
    startLogin().catch(function (e) { say("sign in with " + login.name + " failed: " + e.message, true); });
  });
  $("nav-zones").addEventListener("click", function () { openZones(search); });
  $("nav-check").addEventListener("click", function () { show("check-view"); });

  // ---- zones: pages of the listing, or of the matches of a search ----

  var search = "", cursors = [], here = null, next = null;

  // a page of zones from cursor (exclusive); with a search, pages of the listing are scanned
  // until PAGE names contain the text (or SCAN_PAGES were read: the next page goes on from there)
  function zonePage(cursor) {
    var q = function (c, n) { return "/api/v1/zones?limit=" + n + (c ? "&cursor=" + encodeURIComponent(c) : ""); };
    if (!search) {
      return api("GET", q(cursor, PAGE)).then(function (r) { return { zones: r.zones, next: r.next }; });
    }
    var found = [], scanned = 0;
    function more(c) {
      return api("GET", q(c, SCAN)).then(function (r) {
        scanned++;
        for (var i = 0; i < r.zones.length; i++) {
          if (r.zones[i].name.toLowerCase().indexOf(search) >= 0) {
            found.push(r.zones[i]);
            if (found.length === PAGE)
              return { zones: found, next: i + 1 < r.zones.length || r.next ? r.zones[i].name : null };
          }
        }
        if (!r.next || scanned >= SCAN_PAGES) return { zones: found, next: r.next };
        return more(r.next);
      });
    }
    return more(cursor);
  }

  function showZones(cursor) {
    return zonePage(cursor).then(function (p) {
      here = cursor;
      next = p.next;
      var tb = $("zones");
      clear(tb);
      p.zones.forEach(function (z) {
        var tr = el("tr");
        var td = el("td");
        td.appendChild(button(z.name, "Open zone " + z.name, function () { openZone(z.name); }));
        tr.appendChild(td);
        tr.appendChild(el("td", z.serial, { "data-label": "Serial" }));
        tr.appendChild(el("td", z.locked ? "locked: " + (z.lock_reason || "") : "no", { "data-label": "Locked" }));
        tb.appendChild(tr);
      });
      $("zones-caption").textContent = (search ? "Zones matching \u201c" + search + "\u201d" : "Zones") +
        " (page " + (cursors.length + 1) + (p.zones.length ? "" : ", none") + ")";
      $("zones-prev").disabled = cursors.length === 0;
      $("zones-next").disabled = !next;
    });
  }

  function openZones(text) {
    search = (text || "").trim().toLowerCase();
    $("search").value = search;
    cursors = [];
    clear($("zones")); // no stale row to click while the first page comes
    show("zones-view");
    return showZones(null).catch(fail("zones"));
  }

  $("zone-search").addEventListener("submit", function (ev) {
    ev.preventDefault();
    search = $("search").value.trim().toLowerCase();
    cursors = [];
    showZones(null).catch(fail("search"));
  });
  $("zones-next").addEventListener("click", function () {
    cursors.push(here);
    showZones(next).catch(fail("zones"));
  });
  $("zones-prev").addEventListener("click", function () {
    showZones(cursors.pop()).catch(fail("zones"));
  });

  $("zone-create").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = $("new-zone").value.trim();
    var body = { name: name };
    var ns = $("new-ns").value.split(/[\s,]+/).filter(function (s) { return s; });
    if (ns.length) body.nameservers = ns;
    api("POST", "/api/v1/zones", body).then(function (z) {
      $("new-zone").value = "";
      $("new-ns").value = "";
      say("zone " + z.name + " created", false);
      return openZone(z.name);
    }).catch(fail("create " + name));
  });

  // ---- one zone ----

  var current = null, batch = [], historyNext = null;

  function openZone(name) {
    current = name;
    batch = [];
    showBatch();
    resetForm();
    $("zone-h").textContent = name;
    show("zone-view");
    return loadZone().catch(fail(name));
  }

  function loadZone() {
    var z = current;
    return Promise.all([api("GET", zpath(z)), api("GET", zpath(z, "/rrsets")), api("GET", zpath(z, "/proposals")),
                        api("GET", zpath(z, "/changes?limit=20"))]).then(function (r) {
      if (z !== current) return;
      showInfo(r[0]);
      showRecords(r[1].rrsets);
      showProposals(r[2].proposals);
      clear($("history"));
      showHistory(r[3]);
    });
  }

  function showInfo(z) {
    $("zone-info").textContent = "serial " + z.serial + ", serial policy " + z.serial_policy + ", tenant " + z.tenant +
      ", updated " + when(z.updated) + (z.signed_downstream ? ", signed downstream" : "");
    showOwnership(z);
    $("lock-state").textContent = z.locked ? "Locked: " + (z.lock_reason || "") : "Not locked.";
    $("lock").disabled = !!z.locked;
    $("unlock").disabled = !z.locked;
  }

  // ownership (issue 23's ownership routes, where this server has them: a zone then carries an
  // "ownership" object, and the tenant's claim of the name is at /api/v1/ownership/{name})
  function showOwnership(z) {
    var p = $("ownership");
    p.hidden = !z.ownership;
    if (!z.ownership) return;
    var o = z.ownership;
    p.textContent = "Ownership: " + (o.flagged ? "flagged: " + (o.reason || "another tenant verified this name")
      : o.verified_by ? "verified by " + o.verified_by : "not flagged");
    api("GET", "/api/v1/ownership/" + encodeURIComponent(z.name)).then(function (c) {
      if (z.name !== current) return;
      var t = "; claim " + c.state + (c.method ? " by " + c.method : "") + (c.verified ? " at " + when(c.verified) : "");
      if (c.state !== "verified" && c.txt) t += "; to verify, publish " + c.txt.name + " " + c.txt.type + " " + c.txt.value;
      p.appendChild(document.createTextNode(t));
    }).catch(function (e) {
      if (e.status === 404 && z.name === current) p.appendChild(document.createTextNode("; no claim by this tenant"));
    });
  }

  function showRecords(rrsets) {
    var tb = $("records");
    clear(tb);
    rrsets.forEach(function (s) {
      var tr = el("tr");
      tr.appendChild(el("td", s.name, { "data-label": "Name" }));
      tr.appendChild(el("td", s.type, { "data-label": "Type" }));
      tr.appendChild(el("td", s.ttl, { "data-label": "TTL" }));
      var td = el("td", null, { "data-label": "Records" });
      s.records.forEach(function (r) { td.appendChild(el("div", r, { "class": "rdata" })); });
      tr.appendChild(td);
      var act = el("td");
      if (s.type !== "SOA") {
        act.appendChild(button("Edit", "Edit " + s.name + " " + s.type, function () { editRRset(s); }));
        act.appendChild(button("Delete", "Delete " + s.name + " " + s.type, function () {
          stage({ name: s.name, type: s.type, "delete": true });
        }));
      }
      tr.appendChild(act);
      tb.appendChild(tr);
    });
  }

  // ---- the record form and the batch ----

  function absolute(name) {
    name = name.trim();
    if (name === "@" || name === "") return current;
    if (name.charAt(name.length - 1) === ".") return name;
    var zone = current.replace(/\.$/, "");
    var lower = name.toLowerCase();
    if (lower === zone.toLowerCase() || lower.slice(-(zone.length + 1)) === "." + zone.toLowerCase()) return name + ".";
    return name + "." + current;
  }

  function key(c) { return c.name.toLowerCase() + " " + c.type.toUpperCase(); }

  function stage(c) {
    // one change per name and type in a batch (the API refuses two): a later one replaces it
    batch = batch.filter(function (b) { return key(b) !== key(c); });
    batch.push(c);
    showBatch();
    say((c["delete"] ? "deletion of " : "change of ") + c.name + " " + c.type + " added to the batch (" + batch.length +
      " in it)", false);
  }

  function describe(c) {
    return c["delete"] ? "delete " + c.name + " " + c.type
      : "set " + c.name + " " + c.type + " TTL " + c.ttl + ": " + c.records.join(" | ");
  }

  function showBatch() {
    var ul = $("batch");
    clear(ul);
    batch.forEach(function (c, i) {
      var li = el("li", describe(c) + " ");
      li.appendChild(button("Remove", "Remove from the batch: " + describe(c), function () {
        batch.splice(i, 1);
        showBatch();
        focusOn($("batch-h"));
      }));
      ul.appendChild(li);
    });
    ["batch-apply", "batch-propose", "batch-discard"].forEach(function (b) { $(b).disabled = batch.length === 0; });
  }

  function resetForm() {
    $("record-form").reset();
    $("rr-name").readOnly = false;
    $("rr-type").readOnly = false;
    $("record-legend").textContent = "Add a record set";
  }

  function editRRset(s) {
    $("rr-name").value = s.name;
    $("rr-type").value = s.type;
    $("rr-ttl").value = s.ttl;
    $("rr-records").value = s.records.join("\n");
    $("rr-name").readOnly = true;
    $("rr-type").readOnly = true;
    $("record-legend").textContent = "Edit " + s.name + " " + s.type;
    $("rr-ttl").focus();
  }

  $("record-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var records = $("rr-records").value.split("\n").map(function (s) { return s.trim(); }).filter(function (s) { return s; });
    var ttl = Number($("rr-ttl").value);
    if (!records.length) return say("records: give at least one", true);
    if (!(ttl >= 0 && ttl <= 2147483647 && Math.floor(ttl) === ttl)) return say("TTL: a whole number of seconds", true);
    stage({ name: absolute($("rr-name").value), type: $("rr-type").value.trim().toUpperCase(), ttl: ttl, records: records });
    resetForm();
    $("rr-name").focus();
  });
  $("rr-cancel").addEventListener("click", resetForm);
  $("batch-discard").addEventListener("click", function () {
    batch = [];
    showBatch();
    say("batch discarded", false);
    focusOn($("rr-name"));
  });

  $("batch-apply").addEventListener("click", function () {
    var n = batch.length;
    api("PATCH", zpath(current, "/rrsets"), { rrsets: batch }).then(function (r) {
      batch = [];
      showBatch();
      say(n + " change" + (n > 1 ? "s" : "") + " applied" + (r && r.serial ? ": serial " + r.serial : ""), false);
      focusOn($("records-h"));
      return loadZone();
    }).catch(fail("apply"));
  });
  $("batch-propose").addEventListener("click", function () {
    api("POST", zpath(current, "/proposals"), { rrsets: batch }).then(function (r) {
      batch = [];
      showBatch();
      say("proposal " + r.id + " filed for review", false);
      focusOn($("proposals-h"));
      return loadZone();
    }).catch(fail("propose"));
  });

  // ---- lock ----

  $("lock-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var reason = $("lock-reason").value.trim();
    api("PUT", zpath(current, "/lock"), reason ? { reason: reason } : undefined).then(function (z) {
      $("lock-reason").value = "";
      showInfo(z);
      say("locked", false);
    }).catch(fail("lock"));
  });
  $("unlock").addEventListener("click", function () {
    api("DELETE", zpath(current, "/lock")).then(function (z) { showInfo(z); say("unlocked", false); }).catch(fail("unlock"));
  });

  // ---- proposals ----

  function showProposals(list) {
    var ul = $("proposals");
    clear(ul);
    if (!list.length) ul.appendChild(el("li", "none"));
    list.slice().reverse().forEach(function (p) {
      var li = el("li", null, { "class": "proposal", "data-id": p.id, "data-status": p.status });
      li.appendChild(el("p", "#" + p.id + " " + p.status + ", by " + p.author + " at " + when(p.created) +
        (p.reviewer ? ", reviewed by " + p.reviewer : "")));
      var changes = el("ul");
      ((p.change && p.change.rrsets) || []).forEach(function (c) { changes.appendChild(el("li", describe(c))); });
      li.appendChild(changes);
      if (p.status === "pending") {
        ["approve", "reject"].forEach(function (verb) {
          li.appendChild(button(verb === "approve" ? "Approve" : "Reject", (verb === "approve" ? "Approve" : "Reject") +
            " proposal " + p.id, function () {
            api("POST", zpath(current, "/proposals/" + p.id + "/" + verb)).then(function () {
              say("proposal " + p.id + (verb === "approve" ? " approved and applied" : " rejected"), false);
              focusOn($("proposals-h"));
              return loadZone();
            }).catch(fail(verb + " proposal " + p.id));
          }));
        });
      }
      ul.appendChild(li);
    });
  }

  // ---- history (the journal, newest first) ----

  function rrLine(sign, r) { return sign + " " + r.name + " " + r.ttl + " " + r.type + " " + r.records.join(" "); }

  function showHistory(page) {
    var ol = $("history");
    page.changes.forEach(function (c) {
      var li = el("li", null, { "class": "change" });
      li.appendChild(el("p", "serial " + c.serial_from + " \u2192 " + c.serial_to + " at " + when(c.time) + " by " +
        (c.by || "?") + (c.whole ? ": the zone replaced whole" : "")));
      var lines = c.removed.map(function (r) { return rrLine("-", r); }).concat(c.added.map(function (r) { return rrLine("+", r); }));
      if (lines.length) li.appendChild(el("pre", lines.join("\n")));
      ol.appendChild(li);
    });
    if (!ol.firstChild) ol.appendChild(el("li", "no changes yet"));
    historyNext = page.next;
    $("history-more").hidden = !historyNext;
  }

  $("history-more").addEventListener("click", function () {
    api("GET", zpath(current, "/changes?limit=20&cursor=" + encodeURIComponent(historyNext))).then(showHistory)
      .catch(fail("history"));
  });

  $("zone-back").addEventListener("click", function () { openZones(search); });
  $("zone-check").addEventListener("click", function () {
    $("check-kind").value = "domain";
    $("check-name").value = current.replace(/\.$/, "");
    $("check-type").value = "";
    show("check-view");
    runCheck();
  });

  // ---- check: the SVG ternd draws, shown as an image (an <img> runs no script) ----

  function runCheck() {
    var b = { kind: $("check-kind").value, name: $("check-name").value.trim() };
    var type = $("check-type").value.trim();
    if (type && b.kind !== "domain") b.type = type;
    var res = $("check-resolvers").value.split(/[\s,]+/).filter(function (s) { return s; });
    if (res.length && b.kind !== "domain") b.resolvers = res;
    clear($("check-picture"));
    $("check-findings").textContent = "";
    say("checking " + b.name + " ...", false);
    return api("POST", "/api/v1/check?format=svg", b, true).then(function (svg) {
      var img = el("img", null, { id: "check-report", alt: "resolution path of " + b.name });
      img.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(svg)));
      $("check-picture").appendChild(img);
      var doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      var lines = [];
      doc.querySelectorAll("g.finding").forEach(function (g) { lines.push(g.textContent.trim()); });
      $("check-findings").textContent = lines.join("\n");
      say("check done: " + doc.querySelectorAll("g.server").length + " servers and resolvers", false);
    }).catch(fail("check"));
  }

  $("check-form").addEventListener("submit", function (ev) { ev.preventDefault(); runCheck(); });

  // ---- start ----

  function signInFailed(e) { if (e.status !== 401 && !e.stale) say("sign in failed: " + e.message, true); }

  var loaded = fetch("/console/config.json", { credentials: "omit", cache: "no-store" })
    .then(function (r) { return r.ok ? r.json() : { login: null }; })
    .catch(function () { return { login: null }; })
    .then(function (cfg) {
      login = cfg && cfg.login ? cfg.login : null;
      if (login) {
        $("idp-signin").textContent = "Sign in with " + login.name;
        $("idp").hidden = false;
      }
    });

  if (location.pathname === "/console/callback") {
    show("signin-view");
    loaded.then(finishLogin).catch(function (e) {
      if (e.login) signOut("sign in refused: " + e.message);
      else signInFailed(e);
    });
  } else {
    var saved = sessionStorage.getItem(KEY);
    if (saved) signIn(saved).catch(signInFailed);
    else show("signin-view");
  }
})();
