"""The demo shop: a small web shop on the standard library, the target of cxcheck's tests and of
`cxcheck demo`.

It behaves like a django-oscar shop where the plugins care (sessions, CSRF tokens, two forms on
the login page, a multi-step checkout, a JSON API, Prometheus metrics), measures its own time per
request (Server-Timing header and /admin/requests) so tests can compare a plugin's figures with
the server's, and misbehaves on request through fault knobs and /fault/* endpoints.

    from cxcheck.demo.shop import DemoShop
    with DemoShop(faults={"fail_every": 2}) as shop:
        print(shop.url)

    python -m cxcheck.demo.shop --port 8080 --latency /accounts/=0.5 --failure-rate 0.1
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import random
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from cxcheck.demo import pages

DEMO_ACCOUNTS = {"shopper@example.com": "correct-horse-battery"}
PRODUCTS = {"W-1": ("Widget", 999), "W-2": ("Gadget", 2450), "W-3": ("Gizmo", 425)}   # cents
SHIPPING = {"standard": ("Standard delivery", 0), "express": ("Express delivery", 750)}
PBKDF2_ITERATIONS = 20_000        # real shops use far more; tests register accounts and must stay fast
TOKEN_TTL = 3600
FIRST_ORDER = 10001
MAX_BODY = 1 << 20
MAX_SESSIONS = 10_000             # a plugin run every minute opens a session each time
CHECKOUT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
MiB = 1024 * 1024
DEFAULT_FAULTS = {"latency": {}, "failure_rate": 0.0, "seed": None, "fail_every": 0, "status": {},
                  "echo_password": False, "down": False}

# path template -> {method: handler suffix}; "*" answers any method. {n} matches digits.
ROUTES = {
    "/": {"GET": "home"},
    "/accounts/login/": {"GET": "login_page", "POST": "login"},
    "/accounts/register/": {"POST": "register"},
    "/accounts/": {"GET": "account"},
    "/accounts/logout/": {"GET": "logout"},
    "/catalogue/": {"GET": "catalogue"},
    "/basket/": {"GET": "basket"},
    "/basket/add/": {"POST": "basket_add"},
    "/checkout/address/": {"GET": "address", "POST": "address_post"},
    "/checkout/shipping/": {"GET": "shipping", "POST": "shipping_post"},
    "/checkout/payment/": {"GET": "payment", "POST": "payment_post"},
    "/checkout/confirm/": {"GET": "confirm", "POST": "confirm_post"},
    "/checkout/thank-you/": {"GET": "thank_you"},
    "/api/login": {"POST": "api_login"},
    "/api/orders": {"POST": "api_order_create"},
    "/api/orders/{n}": {"GET": "api_order_get"},
    "/api/health": {"GET": "api_health"},
    "/metrics": {"GET": "metrics"},
    "/admin/faults": {"GET": "faults_get", "POST": "faults_post"},
    "/admin/requests": {"GET": "requests_get", "DELETE": "requests_clear"},
    "/admin/requests/clear": {"POST": "requests_clear"},
    "/fault/hang": {"*": "hang"},
    "/fault/drip": {"*": "drip"},
    "/fault/reset": {"*": "reset"},
    "/fault/big": {"*": "big"},
    "/fault/redirect-loop": {"*": "redirect_loop"},
    "/fault/status/{n}": {"*": "status"},
    "/fault/slow": {"*": "slow"},
}
_ROUTE_RE = [(re.compile(re.escape(t).replace(r"\{n\}", r"([0-9]{1,9})")), t) for t in ROUTES]


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    salt = salt or secrets.token_bytes(16)
    return salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)


def _check_knob(name, value):
    """A fault knob's value, normalised, or ValueError saying what is wrong with it: the admin
    endpoint answers 400 with that text, so a typo in a test fails loudly instead of doing nothing."""
    def number(v, what, low, high):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
            raise ValueError(f"{what} must be a number from {low} to {high}, not {v!r}")
        return v

    def paths(v, what):
        if not isinstance(v, dict) or not all(isinstance(k, str) and k.startswith("/") for k in v):
            raise ValueError(f"{name} must map paths starting with / to {what}")
        return v

    if name == "latency":
        return {k: float(number(v, f"latency[{k}]", 0, 600)) for k, v in paths(value, "seconds").items()}
    if name == "status":
        return {k: int(number(v, f"status[{k}]", 200, 599)) for k, v in paths(value, "status codes").items()}
    if name == "failure_rate":
        return float(number(value, name, 0, 1))
    if name == "fail_every":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"fail_every must be a whole number >= 0, not {value!r}")
        return value
    if name in ("echo_password", "down"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value
    if name == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, str))):
            raise ValueError(f"seed must be a number, a string or null, not {value!r}")
        return value
    raise ValueError(f"unknown fault knob {name!r} (knobs: {', '.join(DEFAULT_FAULTS)}, reset)")


@dataclass
class Session:
    sid: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user: str | None = None
    basket: dict = field(default_factory=dict)            # sku -> quantity
    address: dict = field(default_factory=dict)
    shipping: str | None = None
    card_last4: str | None = None                         # never the card number itself
    checkout_started: float | None = None
    last_order: int | None = None


class DemoShop:
    """The shop's state and its server. Every shared structure is guarded by one lock: the shop
    is small, contention is nil, and one lock cannot deadlock with itself."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, faults: dict | None = None,
                 verbose: bool = False, log_size: int = 1000):
        self.host, self.port, self.verbose = host, port, verbose
        self._lock = threading.Lock()
        self._faults = copy.deepcopy(DEFAULT_FAULTS)
        self._rng = random.Random(None)
        self._order_attempts = 0
        self._accounts: dict[str, tuple[bytes, bytes]] = {}
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._orders: dict[int, dict] = {}
        self._next_order = FIRST_ORDER
        self._log = deque(maxlen=log_size)
        self._orders_by_outcome = {"success": 0, "failed": 0}
        self._requests_total: dict[tuple, int] = {}
        self._request_seconds: dict[str, list] = {}          # route -> [sum, count]
        self._checkout_buckets = [0] * len(CHECKOUT_BUCKETS)
        self._checkout_sum, self._checkout_count = 0.0, 0
        self._connections: set = set()
        self._stopping = threading.Event()
        self._server = self._thread = None
        for email, password in DEMO_ACCOUNTS.items():
            self.add_account(email, password)
        if faults:
            self.set_faults(faults)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> DemoShop:
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.shop = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"demo-shop-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop at once: wake every handler waiting on a fault, stop accepting, cut open
        connections (keep-alive ones too, or a client's pooled connection would still be served)."""
        self._stopping.set()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=2)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        """Known once started; still answers after stop() (a test may want the refused URL)."""
        if not self.port:
            raise RuntimeError("the demo shop has no port yet: call start() first")
        return f"http://{self.host}:{self.port}"

    # -- faults -----------------------------------------------------------------------------
    @property
    def faults(self) -> dict:
        with self._lock:
            return copy.deepcopy(self._faults)

    def set_faults(self, changes: dict) -> dict:
        """Merge knobs in (each knob is replaced whole); {"reset": true} starts from the defaults."""
        if not isinstance(changes, dict):
            raise ValueError("faults must be a JSON object")
        changes = dict(changes)
        reset = changes.pop("reset", False)
        checked = {name: _check_knob(name, value) for name, value in changes.items()}
        with self._lock:
            self._faults = copy.deepcopy(DEFAULT_FAULTS) if reset else self._faults
            self._faults.update(checked)
            if reset or "seed" in checked:
                self._rng = random.Random(self._faults["seed"])
            if reset or "fail_every" in checked:
                self._order_attempts = 0      # "every Nth" counts from when the knob was set
            return copy.deepcopy(self._faults)

    def _declines(self) -> bool:
        """Whether the next order is declined; the caller holds the lock."""
        self._order_attempts += 1
        every = self._faults["fail_every"]
        if every:
            return self._order_attempts % every == 0
        rate = self._faults["failure_rate"]
        return rate > 0 and self._rng.random() < rate

    # -- accounts, sessions, tokens, orders -------------------------------------------------
    def add_account(self, email: str, password: str) -> bool:
        salt, digest = hash_password(password)      # slow on purpose: outside the lock
        with self._lock:
            if email.lower() in self._accounts:
                return False
            self._accounts[email.lower()] = (salt, digest)
            return True

    def check_password(self, email: str, password: str) -> bool:
        with self._lock:
            stored = self._accounts.get(email.lower())
        # An unknown account costs a hash too, so timing does not tell which emails exist.
        salt, digest = stored or (b"\0" * 16, b"")
        return hmac.compare_digest(hash_password(password, salt)[1], digest) and stored is not None

    def session(self, sid: str | None, create: bool) -> Session | None:
        with self._lock:
            found = self._sessions.get(sid) if sid else None
            if found is not None:
                self._sessions.move_to_end(sid)
                return found
            if not create:
                return None
            new = Session(secrets.token_urlsafe(24))
            self._sessions[new.sid] = new
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
            return new

    def issue_token(self, email: str) -> str:
        token, now = secrets.token_urlsafe(32), time.time()
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (email.lower(), now + TOKEN_TTL)
        return token

    def token_user(self, token: str) -> str | None:
        with self._lock:
            email, expires = self._tokens.get(token, (None, 0))
        return email if expires > time.time() else None

    def place_order(self, email: str, lines: dict, shipping_cents: int = 0,
                    source: str = "web", started: float | None = None) -> dict | None:
        """The order, or None when payment is declined (the failure_rate / fail_every knobs)."""
        total = sum(PRODUCTS[sku][1] * qty for sku, qty in lines.items()) + shipping_cents
        with self._lock:
            if self._declines():
                self._orders_by_outcome["failed"] += 1
                return None
            order = {"id": self._next_order, "user": email, "lines": dict(lines), "total": total,
                     "status": "accepted", "source": source, "created": time.time()}
            self._orders[order["id"]] = order
            self._next_order += 1
            self._orders_by_outcome["success"] += 1
            if started is not None:
                took = time.monotonic() - started
                self._checkout_sum += took
                self._checkout_count += 1
                for i, bound in enumerate(CHECKOUT_BUCKETS):
                    self._checkout_buckets[i] += took <= bound
            return dict(order)

    def orders_of(self, email: str) -> list[dict]:
        with self._lock:
            return [dict(o) for o in self._orders.values() if o["user"] == email]

    def order(self, number: int) -> dict | None:
        with self._lock:
            found = self._orders.get(number)
            return dict(found) if found else None

    # -- measurements -----------------------------------------------------------------------
    def _record(self, method, path, query, route, status, elapsed, started, session, fields):
        with self._lock:
            key = (method, route, str(status))
            self._requests_total[key] = self._requests_total.get(key, 0) + 1
            seconds = self._request_seconds.setdefault(route, [0.0, 0])
            seconds[0] += elapsed
            seconds[1] += 1
            if not path.startswith("/admin/"):       # the log is for what clients under test did
                self._log.append({"method": method, "path": path, "query": query, "status": status,
                                  "duration_s": round(elapsed, 6), "started": started,
                                  "session": session, "fields": fields})

    @property
    def stats(self) -> dict:
        """A snapshot: orders by outcome, the recent request log, the checkout histogram."""
        with self._lock:
            return {"orders": dict(self._orders_by_outcome),
                    "requests": [dict(r) for r in self._log],
                    "checkout": {"count": self._checkout_count, "sum": self._checkout_sum}}

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def metrics_text(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        def labels(**kv):
            return ",".join(f'{k}="{_label_escape(v)}"' for k, v in kv.items())
        with self._lock:
            out = ["# HELP cxshop_orders_total Orders submitted, by outcome (web and API).",
                   "# TYPE cxshop_orders_total counter"]
            out += [f'cxshop_orders_total{{outcome="{k}"}} {v}' for k, v in self._orders_by_outcome.items()]
            out += ["# HELP cxshop_checkout_duration_seconds From the first checkout page to the placed order.",
                    "# TYPE cxshop_checkout_duration_seconds histogram"]
            out += [f'cxshop_checkout_duration_seconds_bucket{{le="{b}"}} {n}'
                    for b, n in zip(CHECKOUT_BUCKETS, self._checkout_buckets)]
            out += [f'cxshop_checkout_duration_seconds_bucket{{le="+Inf"}} {self._checkout_count}',
                    f"cxshop_checkout_duration_seconds_sum {self._checkout_sum!r}",
                    f"cxshop_checkout_duration_seconds_count {self._checkout_count}",
                    "# HELP cxshop_requests_total HTTP requests answered, by method, route and status.",
                    "# TYPE cxshop_requests_total counter"]
            out += [f"cxshop_requests_total{{{labels(method=m, path=p, code=c)}}} {n}"
                    for (m, p, c), n in sorted(self._requests_total.items())]
            out += ["# HELP cxshop_request_duration_seconds Time to answer, by route (Server-Timing).",
                    "# TYPE cxshop_request_duration_seconds summary"]
            for route, (total, count) in sorted(self._request_seconds.items()):
                out += [f"cxshop_request_duration_seconds_sum{{{labels(path=route)}}} {total!r}",
                        f"cxshop_request_duration_seconds_count{{{labels(path=route)}}} {count}"]
        return "\n".join(out) + "\n"


def _label_escape(value: str) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128             # socketserver's 5 drops connections under a parallel test
    shop: DemoShop

    def handle_error(self, request, client_address):
        if self.shop.verbose:                 # a client that went away is not news in a demo
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One request: route it, inject the configured faults, answer, measure. Route methods are
    named r_<name> after the ROUTES table."""

    protocol_version = "HTTP/1.1"        # keep-alive: clients under test reuse connections
    server_version = "CXDemoShop/1.0"
    timeout = 60                         # an idle keep-alive connection is closed after this
    server: _Server

    # -- plumbing ---------------------------------------------------------------------------
    def setup(self):
        super().setup()
        # Headers and body leave in two writes; with Nagle on, the client's delayed ACK would add
        # ~40 ms to every keep-alive response and spoil every timing a test compares.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.shop._lock:
            self.server.shop._connections.add(self.connection)

    def finish(self):
        with self.server.shop._lock:
            self.server.shop._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def parse_request(self):
        # The request line has just been read: Server-Timing counts from here.
        self.t0, self.started = time.perf_counter(), time.time()
        return super().parse_request()

    def log_message(self, fmt, *args):
        if self.server.shop.verbose:
            super().log_message(fmt, *args)

    def dispatch(self):
        self.shop = self.server.shop
        parts = urlsplit(self.path)
        self.url_path, self.query_string = parts.path or "/", parts.query
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.status_sent, self._session, self._form, self.form_fields, self.new_cookie = 0, None, None, None, None
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

    def find_route(self):
        method = "GET" if self.command == "HEAD" else self.command
        for regex, template in _ROUTE_RE:
            match = regex.fullmatch(self.url_path)
            if match:
                name = ROUTES[template].get(method) or ROUTES[template].get("*")
                if name:
                    return template, name, [int(g) for g in match.groups()]
                return template, "not_allowed", [sorted(ROUTES[template])]
        if method == "GET" and self.url_path + "/" in ROUTES:
            return "other", "append_slash", []
        return "other", "not_found", []

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

    def injected_fault(self) -> bool:
        """Apply the fault knobs; True when the request has been answered by them."""
        faults = self.shop.faults
        prefixes = [p for p in faults["latency"] if self.url_path.startswith(p)]
        if prefixes:
            self.shop._stopping.wait(faults["latency"][max(prefixes, key=len)])
        if faults["down"]:
            self.respond(503, pages.problem("Down for maintenance", "The shop is down for maintenance."),
                         headers={"Retry-After": "30"})
            return True
        forced = faults["status"].get(self.url_path)
        if forced:
            self.respond(forced, pages.problem(f"Error {forced}", f"Status {forced} forced by the fault knobs."))
            return True
        return False

    def record(self, status, elapsed):
        sid = self._session.sid if self._session else self.cookie_sid()
        self.shop._record(self.command, self.url_path, self.query_string, self.route, status, elapsed,
                          self.started, sid[:8] if sid else None, self.form_fields)

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
        self.status_sent = status
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

    # -- sessions, forms, guards --------------------------------------------------------------
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

    def checkout(self, step) -> Session | None:
        """The session if this checkout step may be shown, else None after redirecting to the
        step the customer has to do first, as a real shop does."""
        s = self.need_user()
        if s is None:
            return None
        if not s.basket:
            self.redirect("/basket/")
            return None
        done = {"address": bool(s.address), "shipping": bool(s.shipping), "payment": bool(s.card_last4)}
        for before in ("address", "shipping", "payment")[:("address", "shipping", "payment", "confirm").index(step)]:
            if not done[before]:
                self.redirect(f"/checkout/{before}/")
                return None
        if s.checkout_started is None:
            s.checkout_started = time.monotonic()
        return s

    @staticmethod
    def safe_next(url: str) -> str:
        # Local paths only: an open redirect would let a phishing link borrow our login page.
        return url if url.startswith("/") and not url.startswith(("//", "/\\")) else ""

    @staticmethod
    def lines(s: Session):
        lines = [(sku, PRODUCTS[sku][0], qty, PRODUCTS[sku][1] * qty) for sku, qty in s.basket.items()]
        return lines, sum(line[3] for line in lines)

    # -- pages --------------------------------------------------------------------------------
    def r_home(self):
        self.html(pages.home(self.session().user))

    def r_login_page(self):
        s = self.session()
        self.html(pages.login(s.csrf, s.user, self.safe_next(self.query.get("next", ""))))

    def r_login(self):
        form = self.checked_form()
        if form is None:
            return
        s = self.session()
        email, password = form.get("login-username", "").strip(), form.get("login-password", "")
        target = self.safe_next(form.get("redirect_url", ""))
        if email and self.shop.check_password(email, password):
            s.user, s.csrf = email.lower(), secrets.token_urlsafe(32)   # Django rotates the token at login
            self.redirect(target or "/accounts/")
            return
        errors = ["Please enter a correct username and password. Note that both fields may be case-sensitive."]
        if self.shop.faults["echo_password"]:
            errors.append(f"You typed: {password}")      # the bad habit plugins must mask
        self.html(pages.login(s.csrf, s.user, target, email, errors))

    def r_register(self):
        form = self.checked_form()
        if form is None:
            return
        s = self.session()
        email = form.get("registration-email", "").strip().lower()
        password, again = form.get("registration-password1", ""), form.get("registration-password2", "")
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            error = "Enter a valid email address."
        elif not password:
            error = "Enter a password."
        elif password != again:
            error = "The two password fields didn't match."
        elif not self.shop.add_account(email, password):
            error = "A user with that email address already exists."
        else:
            s.user, s.csrf = email, secrets.token_urlsafe(32)
            self.redirect("/accounts/")
            return
        self.html(pages.login(s.csrf, s.user, reg_email=email, reg_errors=[error]))

    def r_account(self):
        s = self.need_user()
        if s:
            self.html(pages.account(s.user, self.shop.orders_of(s.user)))

    def r_logout(self):
        s = self.session(create=False)
        if s:
            s.user, s.card_last4, s.checkout_started = None, None, None
        self.redirect("/")

    def r_catalogue(self):
        s = self.session()
        self.html(pages.catalogue(s.csrf, s.user, PRODUCTS))

    def r_basket_add(self):
        form = self.checked_form()
        if form is None:
            return
        s, sku, quantity = self.session(), form.get("sku", ""), form.get("quantity", "1")
        if sku not in PRODUCTS or not re.fullmatch(r"[0-9]{1,2}", quantity) or quantity in ("0", "00"):
            self.html(pages.problem("Bad request", "Unknown product or quantity."), 400)
            return
        s.basket[sku] = min(99, s.basket.get(sku, 0) + int(quantity))
        self.redirect("/basket/")

    def r_basket(self):
        s = self.session()
        self.html(pages.basket(s.user, *self.lines(s)))

    def r_address(self):
        s = self.checkout("address")
        if s:
            self.html(pages.address(s.csrf, s.user, s.address))

    def r_address_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("address")
        if not s:
            return
        values = {name: form.get(name, "").strip() for name in pages.ADDRESS_FIELDS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            self.html(pages.address(s.csrf, s.user, values, [f"This field is required: {', '.join(missing)}."]))
            return
        s.address = values
        self.redirect("/checkout/shipping/")

    def r_shipping(self):
        s = self.checkout("shipping")
        if s:
            self.html(pages.shipping(s.csrf, s.user, SHIPPING, s.shipping or "standard"))

    def r_shipping_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("shipping")
        if not s:
            return
        if form.get("method", "standard") not in SHIPPING:
            self.html(pages.problem("Bad request", "Unknown shipping method."), 400)
            return
        s.shipping = form.get("method", "standard")
        self.redirect("/checkout/payment/")

    def r_payment(self):
        s = self.checkout("payment")
        if s:
            self.html(pages.payment(s.csrf, s.user))

    def r_payment_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("payment")
        if not s:
            return
        number = re.sub(r"[\s-]", "", form.get("card_number", ""))
        errors = []
        if not (number.isdigit() and 12 <= len(number) <= 19):
            errors.append("Enter a valid card number.")
        if not re.fullmatch(r"(0[1-9]|1[0-2]) ?/ ?(\d\d|\d{4})", form.get("expiry", "").strip()):
            errors.append("Enter the expiry date as MM/YY.")
        if not re.fullmatch(r"\d{3,4}", form.get("cvv", "").strip()):
            errors.append("Enter the 3 or 4 digit security code.")
        if errors:
            self.html(pages.payment(s.csrf, s.user, errors))
            return
        s.card_last4 = number[-4:]
        self.redirect("/checkout/confirm/")

    def confirm_page(self, s, errors=()):
        lines, total = self.lines(s)
        label, cost = SHIPPING[s.shipping]
        self.html(pages.confirm(s.csrf, s.user, lines, total + cost, s.address, label, s.card_last4, errors))

    def r_confirm(self):
        s = self.checkout("confirm")
        if s:
            self.confirm_page(s)

    def r_confirm_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("confirm")
        if not s:
            return
        order = self.shop.place_order(s.user, s.basket, SHIPPING[s.shipping][1], "web", s.checkout_started)
        if order is None:
            self.confirm_page(s, ["Payment declined: your card was not accepted. Please try again."])
            return
        s.basket.clear()
        s.card_last4 = s.checkout_started = None
        s.last_order = order["id"]
        self.redirect("/checkout/thank-you/")

    def r_thank_you(self):
        s = self.need_user()
        order = s and s.last_order and self.shop.order(s.last_order)
        if order:
            self.html(pages.thank_you(s.user, order))
        elif s:
            self.redirect("/")

    def r_not_found(self):
        if self.url_path.startswith("/api/"):
            self.json(404, {"error": "not found"})
        else:
            self.html(pages.problem("Page not found", "There is no page at this address."), 404)

    def r_not_allowed(self, allowed):
        self.respond(405, f"method {self.command} not allowed\n", "text/plain", {"Allow": ", ".join(allowed)})

    def r_append_slash(self):
        self.redirect(self.url_path + "/" + (f"?{self.query_string}" if self.query_string else ""), 301)

    # -- JSON API -----------------------------------------------------------------------------
    def json_body(self) -> dict | None:
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self.json(400, {"error": "the body must be a JSON object"})
            return None
        return data

    def api_user(self) -> str | None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        email = self.shop.token_user(token.strip()) if scheme.lower() == "bearer" else None
        if email is None:
            self.json(401, {"error": "missing or invalid token"}, {"WWW-Authenticate": 'Bearer realm="cxshop"'})
        return email

    @staticmethod
    def api_order(order):
        (sku, quantity), *_ = order["lines"].items()
        return {"id": order["id"], "status": order["status"], "sku": sku, "quantity": quantity,
                "lines": [{"sku": k, "quantity": q} for k, q in order["lines"].items()],
                "total": round(order["total"] / 100, 2), "created": order["created"]}

    def r_api_login(self):
        data = self.json_body()
        if data is None:
            return
        email, password = data.get("email"), data.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            self.json(400, {"error": "email and password are required"})
        elif not self.shop.check_password(email, password):
            self.json(401, {"error": "invalid credentials"})
        else:
            self.json(200, {"token": self.shop.issue_token(email), "expires_in": TOKEN_TTL})

    def r_api_order_create(self):
        email = self.api_user()
        data = email and self.json_body()
        if not data:
            return
        sku, quantity = data.get("sku"), data.get("quantity", 1)
        if not isinstance(sku, str) or sku not in PRODUCTS:
            self.json(400, {"error": f"unknown sku {sku!r}"})
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 99:
            self.json(400, {"error": "quantity must be a whole number from 1 to 99"})
        elif (order := self.shop.place_order(email, {sku: quantity}, source="api")) is None:
            self.json(402, {"status": "declined", "error": "payment declined"})
        else:
            self.json(201, self.api_order(order), {"Location": f"/api/orders/{order['id']}"})

    def r_api_order_get(self, number):
        email = self.api_user()
        if email is None:
            return
        order = self.shop.order(number)
        if order is None or order["user"] != email:     # someone else's order does not exist for you
            self.json(404, {"error": "no such order"})
        else:
            self.json(200, self.api_order(order))

    def r_api_health(self):
        self.json(200, {"status": "ok"})

    def r_metrics(self):
        self.respond(200, self.shop.metrics_text(), "text/plain; version=0.0.4; charset=utf-8")

    # -- admin --------------------------------------------------------------------------------
    def r_faults_get(self):
        self.json(200, self.shop.faults)

    def r_faults_post(self):
        data = self.json_body()
        if data is not None:
            try:
                self.json(200, self.shop.set_faults(data))
            except ValueError as error:
                self.json(400, {"error": str(error)})

    def r_requests_get(self):
        self.json(200, self.shop.stats["requests"])

    def r_requests_clear(self):
        self.shop.clear_requests()
        self.json(200, {"cleared": True})

    # -- fixed faults: each waits on the shop's stop event, so stop() never waits for them --------
    def r_hang(self):
        self.shop._stopping.wait(600)

    def r_drip(self):
        interval = self.query_number("interval", 1.0, 0.01, 60)
        self.start(200, "text/plain", 1000)
        for _ in range(1000 if self.command != "HEAD" else 0):
            if self.shop._stopping.wait(interval):
                self.close_connection = True
                return
            self.wfile.write(b"x")       # wfile is unbuffered: each byte leaves at once

    def r_reset(self):
        self.close_connection = True
        self.start(200, "text/plain", 100_000)
        self.wfile.write(b"x" * 1000)
        # Linger 0 turns close() into a TCP RST. makefile() holds a reference on the socket:
        # close the reader too, or close() would not reach the kernel.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()

    def r_big(self):
        size = int(self.query_number("mb", 100, 0, 10240) * MiB)
        self.start(200, "application/octet-stream", size)
        chunk = memoryview(b"x" * 65536)
        left = size if self.command != "HEAD" else 0
        while left > 0:                  # a client that leaves raises ConnectionError: we stop
            if self.shop._stopping.is_set():
                self.close_connection = True
                return
            self.wfile.write(chunk[:left])
            left -= min(left, len(chunk))

    def r_redirect_loop(self):
        self.redirect(f"/fault/redirect-loop?n={int(self.query_number('n', 0, 0, 1e9)) + 1}")

    def r_status(self, code):
        if 200 <= code <= 599:
            self.respond(code, f"status {code}\n", "text/plain")
        else:
            self.respond(400, "status must be 200..599\n", "text/plain")

    def r_slow(self):
        self.shop._stopping.wait(self.query_number("ms", 200, 0, 600_000) / 1000)
        self.respond(200, "ok\n", "text/plain")




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxcheck.demo.shop", description="Serve the demo shop.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port (default 8080)")
    parser.add_argument("--latency", action="append", default=[], metavar="PATH=SECONDS",
                        help="add latency to paths under PATH (repeatable)")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of orders declined, 0..1")
    parser.add_argument("--fail-every", type=int, default=0, metavar="N", help="decline exactly every Nth order")
    parser.add_argument("--seed", type=int, help="seed for --failure-rate")
    parser.add_argument("--echo-password", action="store_true", help="echo a rejected password into the page")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    faults = {"failure_rate": args.failure_rate, "fail_every": args.fail_every, "seed": args.seed,
              "echo_password": args.echo_password, "latency": {}}
    for item in args.latency:
        path, sep, seconds = item.partition("=")
        try:
            faults["latency"][path] = float(seconds)
        except ValueError:
            sep = ""
        if not sep or not path.startswith("/"):
            parser.error(f"--latency wants PATH=SECONDS, e.g. /accounts/=0.5, not {item!r}")
    try:
        shop = DemoShop(args.host, args.port, faults, verbose=args.verbose)
    except ValueError as error:
        parser.error(str(error))
    # SIGTERM ends the process as Ctrl-C does, so the with-block closes the socket either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with shop:
            print(f"serving on {shop.url}", flush=True)
            while not shop._stopping.wait(3600):
                pass
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
