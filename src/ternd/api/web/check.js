// The check page's script (served by ternd from /check/app.js; the CSP allows only same-origin
// scripts): POSTs the form to /api/v1/check with the token in the Authorization header (never a
// cookie, so no other site can make the browser send it), then shows the SVG ternd drew as an
// image (an <img> runs no script the picture might hold) and the findings as text.
"use strict";
(function () {
  var form = document.getElementById("check");
  var status = document.getElementById("status");
  var picture = document.getElementById("picture");
  var findings = document.getElementById("findings");

  function say(text, error) {
    status.textContent = text;
    status.className = error ? "error" : "";
  }

  function body() {
    var b = { kind: document.getElementById("kind").value, name: document.getElementById("name").value.trim() };
    var type = document.getElementById("type").value.trim();
    if (type && b.kind !== "domain") b.type = type;
    var res = document.getElementById("resolvers").value.split(/[\s,]+/).filter(function (s) { return s; });
    if (res.length && b.kind !== "domain") b.resolvers = res;
    return b;
  }

  function post(path, b, token) {
    return fetch(path, {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify(b)
    });
  }

  function error(r) {
    return r.text().then(function (t) {
      try { return JSON.parse(t).error.message; } catch (e) { return "HTTP " + r.status; }
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = document.getElementById("token").value.trim();
    var b = body();
    picture.textContent = "";
    findings.textContent = "";
    say("checking " + b.name + " ...", false);
    // one check (each counts against api.check-rate): the SVG holds the findings too
    post("/api/v1/check?format=svg", b, token).then(function (r) {
      if (!r.ok) return error(r).then(function (m) { throw new Error(m); });
      return r.text();
    }).then(function (svg) {
      var img = document.createElement("img");
      img.id = "report";
      img.alt = "resolution path of " + b.name;
      img.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(svg)));
      picture.appendChild(img);
      var doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      var lines = [];
      doc.querySelectorAll("g.finding").forEach(function (g) { lines.push(g.textContent.trim()); });
      findings.textContent = lines.join("\n");
      say("done: " + doc.querySelectorAll("g.server").length + " servers and resolvers", false);
    }).catch(function (e) {
      say("check failed: " + e.message, true);
    });
  });
})();
