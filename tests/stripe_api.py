"""A local Stripe API on 127.0.0.1, as Stripe documents it, for what localstripe lacks: decline
codes other than card_declined (outcome.reason), disputes, the created[gt|gte|lt|lte] filters,
newest-first lists, Stripe's error objects, restricted keys. Used by tests/payments/,
tests/revenue/ and bench/bench_payments.py.

Documentation followed (read 2026-12):
- https://docs.stripe.com/api/authentication: the key as the Basic user name, no password.
- https://docs.stripe.com/api/pagination: limit 1..100 (default 10), starting_after an object id,
  `{"object": "list", "url", "has_more", "data"}`, newest first.
- https://docs.stripe.com/api/charges/list, /api/charges/object: created[gt|gte|lt|lte];
  id, object "charge", amount (smallest unit), amount_refunded, currency, created, livemode,
  status succeeded|pending|failed, failure_code, outcome {type, reason, network_status},
  refunded, disputed.
- https://docs.stripe.com/api/disputes/list, /api/disputes/object: id, object "dispute", amount,
  charge, created, currency, reason, status, livemode.
- https://docs.stripe.com/api/subscriptions/list, /api/subscriptions/object: status (all,
  canceled, or by default all but canceled), id, customer, currency, status, start_date, created,
  trial_end, canceled_at, cancel_at_period_end, ended_at, discount, discounts, items (a list of
  subscription items with price {unit_amount, currency, recurring {interval, interval_count,
  usage_type}, billing_scheme}, quantity).
- https://docs.stripe.com/api/accounts/retrieve: GET /v1/account, default_currency.
- https://docs.stripe.com/api/errors: `{"error": {"type", "code", "message", "param"}}`, 400
  invalid_request_error, 401, 403, 404 resource_missing, 429 rate_limit.
- https://docs.stripe.com/declines/codes: decline codes such as insufficient_funds, do_not_honor,
  expired_card, generic_decline, fraudulent.
"""

from __future__ import annotations

from emulators import ApiEmulator, ApiError, basic

KEY = "rk_live_51Cx" + "Q" * 20 + "read"


def charge(number: int, created: int, status: str = "succeeded", amount: int = 2500, currency: str = "eur",
           reason: str | None = None, refunded: int = 0, livemode: bool = True) -> dict:
    failed = status == "failed"
    outcome = {"type": "issuer_declined" if failed else "authorized", "reason": reason if failed else None,
               "network_status": "declined_by_network" if failed else "approved_by_network",
               "risk_level": "normal", "seller_message": "The bank did not return any further details."}
    if failed and reason == "highest_risk_level":
        outcome.update(type="blocked", network_status="not_sent_to_network")
    return {"id": f"ch_{number:08d}", "object": "charge", "amount": amount, "amount_captured": 0 if failed else amount,
            "amount_refunded": refunded, "currency": currency, "created": created, "livemode": livemode,
            "status": status, "paid": status == "succeeded", "captured": status == "succeeded",
            "failure_code": ("card_declined" if reason != "highest_risk_level" else None) if failed else None,
            "failure_message": "Your card was declined." if failed else None, "outcome": outcome,
            "refunded": refunded >= amount, "disputed": False, "payment_intent": f"pi_{number:08d}",
            "customer": f"cus_{number % 7:04d}", "metadata": {}}


def dispute(number: int, created: int, charge_id: str, amount: int = 2500, currency: str = "eur") -> dict:
    return {"id": f"dp_{number:08d}", "object": "dispute", "amount": amount, "charge": charge_id,
            "created": created, "currency": currency, "reason": "fraudulent", "status": "needs_response",
            "livemode": True}


class StripeApi(ApiEmulator):
    """Charges, disputes, subscriptions and the account behind one key. Lists newest first."""

    def __init__(self, key: str = KEY, charges=(), disputes=(), subscriptions=(), currency: str = "eur"):
        super().__init__(basic(key, ""))
        self.lists = {"/v1/charges": sorted(charges, key=lambda o: (o["created"], o["id"]), reverse=True),
                      "/v1/disputes": sorted(disputes, key=lambda o: (o["created"], o["id"]), reverse=True),
                      "/v1/subscriptions": sorted(subscriptions, key=lambda o: (o["created"], o["id"]),
                                                  reverse=True)}
        self.currency = currency
        self.cache: dict = {}

    def route(self, method, path, query, body):
        if method == "GET" and path == "/v1/account":
            return {"id": "acct_1Cx", "object": "account", "default_currency": self.currency}
        if method != "GET" or path not in self.lists:
            raise StripeError(404, "invalid_request_error", "resource_missing", f"Unrecognized request URL (GET: {path})")
        return self.page(path, query)

    def page(self, path: str, query: dict) -> dict:
        try:
            limit = int(query.get("limit", 10))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise StripeError(400, "invalid_request_error", "parameter_invalid_integer",
                              "This value must be greater than or equal to 1 and less than or equal to 100.", "limit")
        objects, positions = self.filtered(path, query)
        start = 0
        after = query.get("starting_after")
        if after is not None and not self.repeat_cursor:     # the fault: the first page again, whatever the cursor
            if after not in positions:
                raise StripeError(400, "invalid_request_error", "resource_missing", f"No such object: '{after}'",
                                  "starting_after")
            start = positions[after] + 1
        return {"object": "list", "url": path, "has_more": len(objects) > start + limit,
                "data": objects[start:start + limit]}

    def filtered(self, path: str, query: dict):
        """The objects a query's filters keep, and each one's place: computed once per filter (a
        100,000-charge window is paged a thousand times)."""
        key = (path, *sorted((k, v) for k, v in query.items() if k.startswith("created") or k == "status"))
        with self.lock:
            if key not in self.cache:
                kept = [o for o in self.lists[path] if self.matches(o, query, path)]
                self.cache[key] = kept, {o["id"]: n for n, o in enumerate(kept)}
            return self.cache[key]

    @staticmethod
    def matches(obj: dict, query: dict, path: str) -> bool:
        created = obj["created"]
        for op, test in (("gt", int.__gt__), ("gte", int.__ge__), ("lt", int.__lt__), ("lte", int.__le__)):
            bound = query.get(f"created[{op}]")
            if bound is not None and not test(created, int(bound)):
                return False
        if path == "/v1/subscriptions":
            status = query.get("status")
            if status is None:
                return obj["status"] != "canceled"
            return status == "all" or obj["status"] == status
        return True


class StripeError(ApiError):
    """An error as Stripe answers it."""

    def __init__(self, status: int, kind: str, code: str, message: str, param: str | None = None):
        super().__init__(status, message)
        self.body = {"error": {"type": kind, "code": code, "message": message, "param": param,
                               "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"}}


def error(status: int, kind: str, message: str, code: str | None = None) -> tuple:
    """A canned answer (for `script`) of Stripe's error shape."""
    return status, {}, {"error": {"type": kind, "code": code, "message": message}}


NOW = "2026-11-01T00:00:00Z"         # the plugins' --now in the tests of both Stripe plugins


def check(api, *args, plugin="check_cx_payments", env=None):
    """A Stripe plugin run against `api` (this emulator) at NOW."""
    from conftest import run_plugin

    return run_plugin(plugin, "--stripe", "--token-env", "STRIPE_KEY", "--api-url", api.url, "--now", NOW, *args,
                      env={"STRIPE_KEY": KEY} if env is None else env)
