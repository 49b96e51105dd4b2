"""A static site on 127.0.0.1 for the cost benchmark: a login page whose form POSTs to a redirect
to a page without a password form, and a few instant pages for a five-step journey.

Pages are constants (no sessions, no work per request) so that the server's share of a run is as
small as check_curl's target page: the benchmark measures the client, not the site.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERNAME = "bench@example.com"
PASSWORD = "bench-password"

LOGIN_PAGE = b"""<!doctype html>
<html><head><title>Log in</title></head><body>
<h1>Log in</h1>
<form id="login_form" method="post" action="/login">
  <input type="hidden" name="csrf" value="4f1c2a9e">
  <label>E-mail <input type="email" name="username"></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit" name="login_submit" value="1">Log in</button>
</form>
</body></html>
"""
HOME_PAGE = b"""<!doctype html>
<html><head><title>Your account</title></head><body>
<h1>Welcome back</h1><p>Signed in as bench@example.com.</p>
<a href="/catalogue">Catalogue</a> <a href="/basket">Basket</a>
</body></html>
"""
CATALOGUE_PAGE = b"""<!doctype html>
<html><head><title>Catalogue</title></head><body><h1>All products</h1>
<ul><li>W-1 Widget 9.99</li><li>W-2 Gadget 19.99</li><li>W-3 Gizmo 4.99</li></ul>
</body></html>
"""
BASKET_PAGE = b"""<!doctype html>
<html><head><title>Basket</title></head><body><h1>Basket</h1><p>Basket total: 9.99</p>
<p>Order #1042 reserved</p></body></html>
"""
PAGES = {
    "/login": ("text/html; charset=utf-8", LOGIN_PAGE),
    "/home": ("text/html; charset=utf-8", HOME_PAGE),
    "/catalogue": ("text/html; charset=utf-8", CATALOGUE_PAGE),
    "/basket": ("text/html; charset=utf-8", BASKET_PAGE),
    "/health": ("application/json", b'{"status": "ok"}'),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"        # keep-alive, as a real site
    server_version = "cxbench/1"

    def setup(self):
        super().setup()
        # Headers and body leave in two writes: without TCP_NODELAY the client's delayed ACK adds
        # ~40 ms to every kept-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def _send(self, status, ctype=None, body=b"", headers=()):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        page = PAGES.get(self.path.split("?", 1)[0])
        if page:
            self._send(200, *page)
        else:
            self._send(404, "text/plain", b"not found\n")

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if self.path == "/login":
            from urllib.parse import parse_qs

            form = {k: v[-1] for k, v in parse_qs(body).items()}
            if form.get("username") == USERNAME and form.get("password") == PASSWORD and form.get("csrf"):
                self._send(303, headers=[("Location", "/home"), ("Set-Cookie", "sid=b3nch; Path=/; HttpOnly")])
            else:
                self._send(200, *PAGES["/login"])
        else:
            self._send(404, "text/plain", b"not found\n")


class StaticSite:
    def __init__(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True, name="bench-static-site")

    def start(self) -> StaticSite:
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# Five steps, no JSON expressions (a JSON-less journey must not pay for JMESPath).
FIVE_STEPS = """\
name: bench-five-steps
base_url: ${base_url}
variables:
  email: bench@example.com
steps:
  - name: login_page
    get: /login
    expect: {status: 200, contains: "Log in"}
  - name: login
    submit_form:
      form: "#login_form"
      fields: {username: "${email}", password: "${password}"}
      button: login_submit
    expect: {status: 200, url_matches: "/home$", contains: "Welcome back"}
  - name: catalogue
    get: /catalogue
    expect: {status: 200, contains: "All products"}
  - name: basket
    get: /basket
    expect: {status: 200, contains: "Basket total"}
    extract:
      order: {regex: 'Order #(\\d+)'}
  - name: health
    get: /health
    expect: {status: 200}
"""


def one_step(url: str, name: str = "slow") -> str:
    return f"name: bench-one-step\nsteps:\n  - name: {name}\n    get: {url}\n    expect: {{status: 200}}\n"


def ten_steps(base_url: str, path: str = "/api/health") -> str:
    steps = "".join(f"  - name: s{i:02d}\n    get: {path}\n    expect: {{status: 200}}\n" for i in range(1, 11))
    return f"name: bench-ten-steps\nbase_url: {base_url}\nsteps:\n{steps}"
