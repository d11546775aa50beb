// The Domain Connect consent page's script (served by ternd from /dconn/app.js; the CSP allows only
// same-origin scripts). The token typed in is kept in this page only and sent as a bearer header
// (never a cookie, so no other site can make the browser consent): POST .../apply {"consent":
// false} shows the records that will be added and removed; Connect posts {"consent": true} with
// the zone's serial those were read at, then follows the redirect the server checked.
"use strict";
(function () {
  var main = document.getElementById("dc");
  var status = document.getElementById("status");
  var review = document.getElementById("review");
  var token = "";
  var serial = null;

  function say(text, error) {
    status.textContent = text;
    status.className = error ? "error" : "";
  }

  function post(body) {
    return fetch(main.dataset.apply, {
      method: "POST",
      headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      redirect: "error"
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, j: j }; });
    });
  }

  function problem(j) {
    var e = (j && j.error) || {};
    return "Refused: " + (e.field ? e.field + ": " : "") + (e.message || "unknown error") + ". Nothing was changed.";
  }

  function fill(id, list) {
    var body = document.querySelector("#" + id + " tbody");
    body.textContent = "";
    list.forEach(function (rr) {
      var tr = document.createElement("tr");
      [rr.name, rr.type, String(rr.ttl), rr.data].forEach(function (v) {
        var td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    if (!list.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 4;
      td.textContent = "none";
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  document.getElementById("signin").addEventListener("submit", function (ev) {
    ev.preventDefault();
    token = document.getElementById("token").value.trim();
    say("Reading your zone…");
    post({ consent: false }).then(function (r) {
      if (!r.ok) return say(problem(r.j), true);
      serial = r.j.serial;
      fill("add", r.j.add);
      fill("remove", r.j.remove);
      review.hidden = false;
      say(r.j.changes ? "Review the change, then connect." : "Your zone already holds these records: nothing will change.");
    }, function () { say("The server could not be reached.", true); });
  });

  document.getElementById("consent").addEventListener("click", function () {
    say("Applying…");
    post({ consent: true, serial: serial }).then(function (r) {
      if (!r.ok) return say(problem(r.j), true);
      say("Done: the records are served (serial " + r.j.serial + ").");
      if (r.j.redirect) window.location.assign(r.j.redirect);
    }, function () { say("The server could not be reached.", true); });
  });

  document.getElementById("cancel").addEventListener("click", function () {
    if (main.dataset.cancel) window.location.assign(main.dataset.cancel);
    else say("Cancelled: nothing was changed.");
  });
})();
