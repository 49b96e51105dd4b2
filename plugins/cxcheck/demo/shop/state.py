"""What the shop knows: accounts, sessions, API tokens, orders, and what it counts about itself
(the recent request log and the counters behind /metrics).

One lock guards it all: the shop is small, contention is nil, and one lock cannot deadlock with
itself. The fault knobs keep their own lock; the two are never held together.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

DEMO_ACCOUNTS = {"shopper@example.com": "correct-horse-battery"}
PRODUCTS = {"W-1": ("Widget", 999), "W-2": ("Gadget", 2450), "W-3": ("Gizmo", 425)}   # cents
SHIPPING = {"standard": ("Standard delivery", 0), "express": ("Express delivery", 750)}
PBKDF2_ITERATIONS = 20_000        # real shops use far more; tests register accounts and must stay fast
TOKEN_TTL = 3600
FIRST_ORDER = 10001
MAX_SESSIONS = 10_000             # a plugin run every minute opens a session each time
CHECKOUT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    salt = salt or secrets.token_bytes(16)
    return salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)


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


class ShopState:
    """Accounts, sessions, tokens and orders; `declines` says whether the next order's payment
    fails (the fault knobs decide)."""

    def __init__(self, log_size: int = 1000, declines=lambda: False):
        self._lock = threading.Lock()
        self._declines = declines
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
        for email, password in DEMO_ACCOUNTS.items():
            self.add_account(email, password)

    # -- accounts, sessions, tokens -----------------------------------------------------------
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

    # -- orders -------------------------------------------------------------------------------
    def place_order(self, email: str, lines: dict, shipping_cents: int = 0,
                    source: str = "web", started: float | None = None) -> dict | None:
        """The order, or None when payment is declined (the failure_rate / fail_every knobs)."""
        total = sum(PRODUCTS[sku][1] * qty for sku, qty in lines.items()) + shipping_cents
        declined = self._declines()
        with self._lock:
            if declined:
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

    # -- measurements -------------------------------------------------------------------------
    def record(self, method, path, query, route, status, elapsed, started, session, fields):
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

    def counters(self) -> dict:
        """A consistent copy of every counter /metrics shows."""
        with self._lock:
            return {"orders": dict(self._orders_by_outcome),
                    "checkout_buckets": list(zip(CHECKOUT_BUCKETS, self._checkout_buckets)),
                    "checkout_sum": self._checkout_sum, "checkout_count": self._checkout_count,
                    "requests_total": dict(self._requests_total),
                    "request_seconds": {route: tuple(v) for route, v in self._request_seconds.items()}}
