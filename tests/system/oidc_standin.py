"""A stand-in OpenID Connect provider for the console's sign-in tests (test_console.py).

Debian packages no OpenID Connect provider, so this one is written here, in Python: just enough of
the authorization code flow with PKCE (RFC 6749 4.1, RFC 7636 S256, OpenID Connect Core 3.1) to be a
strict counterpart. GET /authorize checks the client, its registered redirect URI, response_type
code and an S256 challenge, then shows a sign-in form; POST /login signs a user in (name and
password) and sends the browser back with a one-time code and the state (or, with hold set, shows
that address as a link instead, so a test can alter it), or with access_denied when the user
cancels; POST /token trades a code for an RS256 ID
token and access token after checking the code (once only, 60 s), client_id, redirect_uri and the
PKCE verifier, answering the console's origin with CORS; GET /jwks is the public key. Every request
is recorded (method, path, query, form) for the tests to read."""
import base64
import hashlib
import html
import http.server
import json
import secrets
import socketserver
import threading
import time
import urllib.parse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64int(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class StandInIdP:
    """The provider on http://127.0.0.1:port (start it inside the lab's namespace). users: {name:
    (password, sub)}: the sub is the tenant ternd maps the token to."""

    def __init__(self, port, client_id, redirect_uri, origin, users, kid="idp1"):
        self.port, self.client_id, self.redirect_uri, self.origin = port, client_id, redirect_uri, origin
        self.issuer = "http://127.0.0.1:%d" % port
        self.users = users
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.lock = threading.Lock()
        self.pending = {}  # request id: the authorize parameters
        self.codes = {}  # code: {sub, nonce, challenge, client_id, redirect_uri, time, used}
        self.issued = []  # tokens handed out (for "never in a URL or a log")
        self.requests = []  # (method, path, query, form)
        self.refusals = []  # (endpoint, error, description)
        self.hold = False
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def send(self, status, body, ctype="text/html; charset=utf-8", headers=()):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def form(self):
                n = int(self.headers.get("Content-Length") or 0)
                return dict(urllib.parse.parse_qsl(self.rfile.read(n).decode(), keep_blank_values=True))

            def record(self, form=None):
                u = urllib.parse.urlsplit(self.path)
                with idp.lock:
                    idp.requests.append((self.command, u.path, dict(urllib.parse.parse_qsl(u.query)), form))
                return u

            def do_GET(self):
                u = self.record()
                if u.path == "/jwks":
                    self.send(200, json.dumps(idp.jwks()), "application/json")
                elif u.path == "/authorize":
                    status, page = idp.authorize(dict(urllib.parse.parse_qsl(u.query)))
                    self.send(status, page)
                else:
                    self.send(404, "no such page")

            def do_OPTIONS(self):
                self.record()
                self.send(204, b"", headers=idp.cors(self.headers.get("Origin")))

            def do_POST(self):
                f = self.form()
                u = self.record(f)
                if u.path == "/login":
                    status, page, location = idp.login(f)
                    if location:
                        self.send(302, b"", headers=[("Location", location)])
                    else:
                        self.send(status, page)
                elif u.path == "/token":
                    status, doc = idp.token(f)
                    self.send(status, json.dumps(doc), "application/json",
                              idp.cors(self.headers.get("Origin")))
                else:
                    self.send(404, "no such page")

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    # ---- what it serves ----

    def jwks(self):
        pub = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig", "n": b64int(pub.n),
                          "e": b64int(pub.e)}]}

    def cors(self, origin):
        if origin != self.origin:
            return []
        return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Methods", "POST"),
                ("Access-Control-Allow-Headers", "Content-Type"), ("Vary", "Origin")]

    def error_page(self, why):
        return 400, "<!DOCTYPE html><title>Sign-in error</title><p id=\"error\">%s</p>" % html.escape(why)

    def authorize(self, q):
        """The request checked; a sign-in form, or an error page (never a redirect to an address not
        registered)."""
        if q.get("client_id") != self.client_id:
            return self.error_page("unknown client_id")
        if q.get("redirect_uri") != self.redirect_uri:
            return self.error_page("redirect_uri is not registered for this client")
        for k, want in (("response_type", "code"), ("code_challenge_method", "S256")):
            if q.get(k) != want:
                return self.error_page("%s must be %s" % (k, want))
        if "openid" not in q.get("scope", "").split():
            return self.error_page("scope lacks openid")
        for k in ("state", "nonce", "code_challenge"):
            if len(q.get(k, "")) < 22:
                return self.error_page("%s is missing or short" % k)
        rid = secrets.token_urlsafe(16)
        with self.lock:
            self.pending[rid] = q
        return 200, self.form_page(rid, "")

    def form_page(self, rid, error):
        return ("<!DOCTYPE html><html><head><title>Stand-in IdP: sign in</title></head><body>"
                "<h1>Stand-in identity provider</h1>%s<form method=\"post\" action=\"/login\">"
                "<input type=\"hidden\" name=\"request\" value=\"%s\">"
                "<label for=\"username\">User</label> <input id=\"username\" name=\"username\">"
                "<label for=\"password\">Password</label> <input id=\"password\" name=\"password\" type=\"password\">"
                "<button id=\"login\" type=\"submit\">Sign in</button>"
                "<button id=\"cancel\" type=\"submit\" name=\"cancel\" value=\"1\">Cancel</button>"
                "</form></body></html>"
                % ("<p id=\"error\">%s</p>" % html.escape(error) if error else "", html.escape(rid)))

    def login(self, f):
        with self.lock:
            q = self.pending.get(f.get("request", ""))
        if not q:
            return (*self.error_page("no such sign-in request"), None)
        if f.get("cancel"):  # the user said no: back with an error (RFC 6749 4.1.2.1)
            with self.lock:
                del self.pending[f["request"]]
            return 302, "", q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"error": "access_denied", "error_description": "the user cancelled", "state": q["state"]})
        user = self.users.get(f.get("username", ""))
        if not user or not secrets.compare_digest(user[0], f.get("password", "")):
            return 200, self.form_page(f["request"], "wrong user or password"), None
        code = secrets.token_urlsafe(32)
        with self.lock:
            del self.pending[f["request"]]
            self.codes[code] = {"sub": user[1], "nonce": q["nonce"], "challenge": q["code_challenge"],
                                "client_id": q["client_id"], "redirect_uri": q["redirect_uri"],
                                "time": time.time(), "used": False}
            hold = self.hold
        back = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
        if hold:
            return 200, ("<!DOCTYPE html><title>Held</title><p><a id=\"back\" href=\"%s\">back to the console</a>"
                         % html.escape(back)), None
        return 302, "", back

    def refuse(self, error, why):
        with self.lock:
            self.refusals.append(("token", error, why))
        return 400, {"error": error, "error_description": why}

    def token(self, f):
        if f.get("grant_type") != "authorization_code":
            return self.refuse("unsupported_grant_type", "grant_type must be authorization_code")
        if f.get("client_id") != self.client_id:
            return self.refuse("invalid_client", "unknown client_id")
        with self.lock:
            c = self.codes.get(f.get("code", ""))
            fresh = c is not None and not c["used"] and time.time() - c["time"] < 60
            if c is not None:
                c["used"] = True  # one try per code, right or wrong
        if not fresh:
            return self.refuse("invalid_grant", "unknown, used or expired code")
        if f.get("redirect_uri") != c["redirect_uri"] or c["client_id"] != f.get("client_id"):
            return self.refuse("invalid_grant", "redirect_uri or client_id differ from the authorization request")
        verifier = f.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or b64url(hashlib.sha256(verifier.encode()).digest()) != c["challenge"]:
            return self.refuse("invalid_grant", "code_verifier does not match the code_challenge")
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": c["sub"], "aud": self.client_id, "nonce": c["nonce"], "iat": now,
                  "nbf": now - 5, "exp": now + 600}
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        access = jwt.encode({k: v for k, v in claims.items() if k != "nonce"}, self.key, algorithm="RS256",
                            headers={"kid": self.kid})
        with self.lock:
            self.issued += [id_token, access]
        return 200, {"access_token": access, "id_token": id_token, "token_type": "Bearer", "expires_in": 600}

    def seen(self, method, path):
        with self.lock:
            return [r for r in self.requests if r[0] == method and r[1] == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
