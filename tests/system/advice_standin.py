"""A fake OpenAI-compatible endpoint for tern check's advice (no local model runtime is packaged):
POST /<mode>/v1/chat/completions answers by <mode>, and every request (path, headers, JSON body) is
appended as one JSON line to the log given, for the test to read what tern sent.

  ok       200, a canned chat completion (its content holds a terminal escape and a tab to clean)
  slow     waits 5 s, then as ok
  html     200 text/html, a web page
  notjson  200 application/json, not JSON
  huge     200 application/json, 2 MiB that never closes its string
  error    500 {"error": {"message": ...}}

usage: advice_standin.py ADDR PORT LOG"""
import http.server
import json
import sys
import time

CANNED = ("The secondary \x1b[31mns2.corp.lab.\x1b[0m is one serial behind:\tcheck that it is sent NOTIFY "
          "and that its transfers from the primary succeed.\n\nThen ask again.")


def main(addr, port, log):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(n)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            with open(log, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()),
                                    "raw": raw.decode("utf-8", "replace"), "body": body}) + "\n")
            mode = self.path.split("/")[1]
            if self.path != "/%s/v1/chat/completions" % mode:
                self.send(404, "application/json", b'{"error": {"message": "no such route"}}')
            elif mode in ("ok", "slow"):
                if mode == "slow":
                    time.sleep(5)
                answer = {"id": "chatcmpl-lab", "object": "chat.completion", "created": int(time.time()),
                          "model": (body or {}).get("model", ""),
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": CANNED}}],
                          "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                self.send(200, "application/json", json.dumps(answer).encode())
            elif mode == "html":
                self.send(200, "text/html", b"<html><body><h1>Sign in to continue</h1></body></html>")
            elif mode == "notjson":
                self.send(200, "application/json", b"choices: [the answer]")
            elif mode == "huge":
                self.send(200, "application/json", b'{"choices": [{"message": {"content": "' + b"x" * (2 << 20))
            else:
                self.send(500, "application/json", b'{"error": {"message": "the model is overloaded"}}')

    http.server.ThreadingHTTPServer((addr, port), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
