"""One HTTP request, the plumbing part: read it, route it, apply the fault knobs, answer, measure
(Server-Timing, the request log, the metrics counters). Sessions, forms and the CSRF check live
here too; what each URL does is in the route modules."""

from __future__ import annotations

import hmac
import json
import socket
import time
import traceback
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, urlsplit

from cxcheck.demo.shop import pages
from cxcheck.demo.shop.access_log import NO_ANSWER, CountingWriter, combined_line
from cxcheck.demo.shop.state import Session

MAX_BODY = 1 << 20


class RequestHandler(BaseHTTPRequestHandler):
    """Route methods are named r_<name> after the routes table; find_route() comes from routes."""

    protocol_version = "HTTP/1.1"        # keep-alive: clients under test reuse connections
    server_version = "CXDemoShop/1.0"
    timeout = 60                         # an idle keep-alive connection is closed after this

    # -- connection and request life cycle -----------------------------------------------------
    def setup(self):
        super().setup()
        self.shop = self.server.shop
        # Headers and body leave in two writes; with Nagle on, the client's delayed ACK would add
        # ~40 ms to every keep-alive response and spoil every timing a test compares.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.wfile = CountingWriter(self.wfile)
        self.shop.track(self.connection)

    def finish(self):
        self.shop.untrack(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle_one_request(self):
        # Reset here, not in parse_request: an idle keep-alive connection that times out reads no
        # request, and must not log the previous one again.
        self.t0, self.status_sent, self.body_start = None, 0, None
        try:
            super().handle_one_request()
        finally:
            if self.t0 is not None and self.shop.access_log is not None:
                self.log_access()

    def parse_request(self):
        # The request line has just been read: Server-Timing and $request_time count from here.
        self.t0, self.started, self.headers = time.perf_counter(), time.time(), None
        return super().parse_request()

    def send_response(self, code, message=None):
        self.status_sent = code               # also for the errors http.server answers itself
        super().send_response(code, message)

    def end_headers(self):
        super().end_headers()
        self.body_start = self.wfile.written

    def log_access(self):
        """After the last byte, as nginx logs (a request never answered is logged as 499)."""
        sent = self.wfile.written - self.body_start if self.body_start is not None else 0
        headers = self.headers or {}
        self.shop.access_log.write(combined_line(
            self.client_address[0], time.time(), self.requestline, self.status_sent or NO_ANSWER, sent,
            headers.get("Referer"), headers.get("User-Agent"), time.perf_counter() - self.t0))

    def log_message(self, fmt, *args):
        if self.shop.verbose:
            super().log_message(fmt, *args)

    def dispatch(self):
        parts = urlsplit(self.path)
        self.url_path, self.query_string = parts.path or "/", parts.query
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self._session, self._form, self.form_fields, self.new_cookie = None, None, None, None
        self.route, name, args = self.find_route()
        try:
            if self.read_body() and (self.url_path.startswith("/admin/") or not self.injected_fault()):
                getattr(self, "r_" + name)(*args)
        except (ConnectionError, TimeoutError):
            self.close_connection = True          # the client went away; nothing to tell anyone
        except Exception:
            self.close_connection = True
            traceback.print_exc()                 # a bug in the shop: say so, answer 500 if still possible
            if not self.status_sent:
                self.respond(500, pages.problem("Server error", "The demo shop failed; see its stderr."))
        finally:
            if not self.status_sent:              # hung until stop, or the client left first
                self.close_connection = True
                self.record(0, time.perf_counter() - self.t0)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = dispatch

    def read_body(self) -> bool:
        """Read the whole body now, so the next request on a kept-alive connection starts clean."""
        self.body = b""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self.respond(411, "send a Content-Length\n", "text/plain")
            return False
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self.respond(413 if length > 0 else 400, "bad or too large Content-Length\n", "text/plain")
            return False
        self.body = self.rfile.read(length)
        return True

    def record(self, status, elapsed):
        sid = self._session.sid if self._session else self.cookie_sid()
        self.shop.record(self.command, self.url_path, self.query_string, self.route, status, elapsed,
                         self.started, sid[:8] if sid else None, self.form_fields)

    # -- answering ------------------------------------------------------------------------------
    def start(self, status, ctype, length, headers=None):
        """Status and headers; the request is measured and logged before the client can see it,
        so a test asking /admin/requests right after its response finds it there."""
        elapsed = time.perf_counter() - self.t0
        self.send_response(status)
        self.send_header("Server-Timing", f"app;dur={elapsed * 1000:.3f}")
        if ctype:
            self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        if self.new_cookie:
            self.send_header("Set-Cookie", f"sessionid={self.new_cookie}; HttpOnly; Path=/; SameSite=Lax")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.record(status, elapsed)
        self.end_headers()

    def respond(self, status, body="", ctype="text/html; charset=utf-8", headers=None):
        data = body.encode() if isinstance(body, str) else body
        bodiless = status in (204, 304)           # these must not carry a body nor, for 204, a length
        self.start(status, ctype if data and not bodiless else None, None if bodiless else len(data), headers)
        if data and not bodiless and self.command != "HEAD":
            self.wfile.write(data)

    def html(self, page, status=200):
        self.respond(status, page)

    def json(self, status, obj, headers=None):
        self.respond(status, json.dumps(obj), "application/json", headers)

    def redirect(self, location, status=302):
        self.respond(status, "", None, {"Location": location})

    def query_number(self, name, default, low, high):
        try:
            value = float(self.query.get(name, default))
        except ValueError:
            return default
        return min(max(value, low), high) if value == value else default     # NaN is not a number of seconds

    # -- sessions, forms, guards ----------------------------------------------------------------
    def cookie_sid(self):
        try:
            morsel = SimpleCookie(self.headers.get("Cookie", "")).get("sessionid")
        except CookieError:
            return None
        return morsel.value if morsel else None

    def session(self, create=True) -> Session | None:
        if self._session is None:
            sid = self.cookie_sid()
            self._session = self.shop.session(sid, create)
            if self._session is not None and self._session.sid != sid:
                self.new_cookie = self._session.sid
        return self._session

    def form(self) -> dict:
        if self._form is None:
            multipart = self.headers.get("Content-Type", "").startswith("multipart/")
            text = "" if multipart else self.body.decode("utf-8", "replace")
            self._form = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
            self.form_fields = sorted(self._form)   # names only: values may be passwords
        return self._form

    def checked_form(self) -> dict | None:
        """The posted form if its CSRF token is this session's, else None after answering 403."""
        form, s = self.form(), self.session(create=False)
        if s is None or not hmac.compare_digest(form.get("csrfmiddlewaretoken", "").encode(), s.csrf.encode()):
            self.html(pages.problem("Forbidden (403)", "CSRF verification failed. Request aborted."), 403)
            return None
        return form

    def need_user(self) -> Session | None:
        s = self.session()
        if s.user:
            return s
        self.redirect("/accounts/login/?next=" + quote(self.url_path, safe="/"))
        return None

    def json_body(self) -> dict | None:
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self.json(400, {"error": "the body must be a JSON object"})
            return None
        return data
