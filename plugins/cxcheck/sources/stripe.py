"""Stripe: payments (charges and disputes) through its REST API.

Authentication (https://docs.stripe.com/api/authentication, https://docs.stripe.com/keys): the
secret key (sk_live_, sk_test_) or a restricted key (rk_live_, rk_test_) as the HTTP Basic user
name, no password; test and live mode have separate keys and separate data, and every object
says which in `livemode`. A publishable key (pk_) reads nothing. A live secret key can move
money: a restricted key with read access to Charges and Disputes (and Subscriptions for
check_cx_revenue) is enough, and a line says so. The requests pin `Stripe-Version`
(https://docs.stripe.com/api/versioning) so that the objects keep the shape read here.

Lists (https://docs.stripe.com/api/pagination): `limit` 1..100, `starting_after` the last id of
the page, `has_more`; newest first; `created[gt|gte|lt|lte]` filters
(https://docs.stripe.com/api/charges/list, https://docs.stripe.com/api/disputes/list). The window
(since, until] is `created[gt]`; `created[lte]` is sent only when the window ended before the run
(a past --now), so that a server taking one bound (localstripe) serves the usual case. Order is
not relied on: each object is placed by its `created`.

Charges (https://docs.stripe.com/api/charges/object): `status` succeeded | pending | failed,
`amount` in the currency's smallest unit (https://docs.stripe.com/currencies), `currency`,
`amount_refunded`, `failure_code`, `outcome.type` and `outcome.reason` (the decline code,
https://docs.stripe.com/declines/codes, or Radar's rule, https://docs.stripe.com/declines). Each
charge is one attempt: a payment intent that never reached a charge was never attempted.
Disputes (https://docs.stripe.com/api/disputes/object): counted by their `created`, the dispute
activity of https://docs.stripe.com/disputes/measuring (what card networks watch).

Errors (https://docs.stripe.com/api/errors): `{"error": {"type", "code", "decline_code",
"message", "param"}}`, 401 for a bad key, 403 for a restricted key without the permission, 429
over the rate limit (https://docs.stripe.com/rate-limits: 100 read operations a second in live
mode, 25 in test mode), handled by apiclient inside the deadline. Only GET requests are made:
reads are idempotent (https://docs.stripe.com/api/idempotent_requests), a retry repeats nothing.
"""

from __future__ import annotations

import time

from cxcheck.sources.base import ApiSource, ConfigError, SourceError
from cxcheck.sources.fields import Fields
from cxcheck.sources.payments import PaymentWindows

PAGE = 100
API_VERSION = "2024-06-20"
KEY_KINDS = {"sk_live_": ("live", "secret key"), "rk_live_": ("live", "restricted key"),
             "sk_test_": ("test", "secret key"), "rk_test_": ("test", "restricted key")}
OUTCOMES = ("succeeded", "failed", "pending")


class Stripe(ApiSource):
    name = "Stripe"
    option, metavar = "--stripe", None
    help = "Stripe's API (secret or restricted key: --token-env/--token-file)"
    default_api = "https://api.stripe.com"
    rate_limit = "Stripe allows 100 read operations a second in live mode, 25 in test mode"
    permissions = "Charges and Disputes"
    headers = {"Stripe-Version": API_VERSION}
    max_requests = 10000            # a million charges at 100 a page; the deadline bounds it first

    @classmethod
    def add_arguments(cls, options):
        options.add("--no-disputes", action="store_true",
                    help="--stripe: do not read disputes (a key without access to them; dispute_rate is U)")

    def __init__(self, value, run):
        super().__init__(value, run)
        prefix = next((p for p in KEY_KINDS if self.token.startswith(p)), None)
        if self.token.startswith("pk_"):
            raise ConfigError(f"{self.token_origin} holds a publishable key (pk_), which reads nothing: give a "
                              "restricted key (rk_) with read access, or the secret key (sk_)")
        self.mode, self.kind = KEY_KINDS.get(prefix, (None, "key"))
        self.notes: list[str] = []
        if prefix == "sk_live_":
            self.notes.append(f"warning: {self.token_origin} is the live secret key, which can move money; a "
                              f"restricted key (rk_live_) with read access to {self.permissions} would do")
        self.other_mode = 0         # objects of the mode the key is not of

    @property
    def credential(self) -> str:
        return f"the {self.kind} ({self.token_origin})"

    def auth(self) -> dict:
        return self.basic_auth(self.token, "")

    def answer(self, path: str, params: dict, what: str):
        client = self.client
        response = client.get(client.url(path), params=params, what=what)
        if response.status >= 400:
            raise SourceError(self.refusal(response, path))
        return client.json_of(response)

    def refusal(self, response, path: str) -> str:
        """Stripe's error object in one line, naming the credential when it is refused."""
        from cxcheck.sources.apiclient import shorten, snippet

        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError, Exception):  # not JSON: a proxy's page
            error = {}
        if not isinstance(error, dict) or not error:
            detail = snippet(response)
        else:
            kind = ", ".join(str(error[k]) for k in ("type", "code") if error.get(k))
            detail = shorten(f"{kind}: {error.get('message') or ''}".strip(": "), 160)
        status = response.status
        if status == 401:
            return f"Stripe rejected {self.credential} (401): {detail}"
        if status == 403:
            return (f"Stripe refused {self.credential} for {path} (403): {detail}; a restricted key needs read "
                    f"access to {self.permissions}")
        return f"Stripe answered HTTP {status} for {path}: {detail}"

    def listing(self, path: str, params: dict, what: str, fields: Fields):
        """Every object of a list, page after page (the page in hand only: constant memory)."""
        client = self.client
        params = {**params, "limit": PAGE}
        page = 1
        while True:
            where = f"{path} page {page}"
            body = self.answer(path, params, f"{what} page {page}")
            data = client.field(body, "data", list, where)
            more = client.field(body, "has_more", bool, where)
            for item in data:
                fields.saw(item)
                if isinstance(item, dict) and self.mode and isinstance(item.get("livemode"), bool) \
                        and item["livemode"] != (self.mode == "live"):
                    self.other_mode += 1
                yield item
            fields.check(f"page {page} of the {what}")
            if not more:
                return
            last = data[-1].get("id") if data and isinstance(data[-1], dict) else None
            if not isinstance(last, str) or not last:
                raise SourceError(f"Stripe answered {where} with has_more but no 'id' on its last object: "
                                  "not the documented shape")
            client.follow(last)
            params["starting_after"] = last
            page += 1

    @staticmethod
    def created(since: float, until: float) -> dict:
        params = {"created[gt]": int(since)}
        if until < time.time() - 60:
            params["created[lte]"] = int(until)
        return params

    def mode_notes(self) -> list[str]:
        notes = list(self.notes)
        if self.mode == "test":
            notes.append(f"test mode: {self.token_origin} is a test-mode {self.kind}: the figures are test mode's, "
                         "not your customers'")
        if self.other_mode:
            mine, other = (("test", "live") if self.mode == "test" else ("live", "test"))
            notes.append(f"warning: {self.other_mode} objects of {other} mode read with a {mine}-mode key: is "
                         "--api-url the server you meant?")
        return notes

    def read_payments(self, windows, rejects):
        tallies = PaymentWindows(windows)
        since, until = tallies.oldest, tallies.newest
        fields = Fields("Stripe", ("id", "created", "status", "amount", "currency"), "charges")
        self.rows = 0
        for number, charge in enumerate(self.listing("/v1/charges", self.created(since, until), "charges", fields)):
            self.rows += tally_charge(tallies, charge, number + 1, rejects)
        if not self.args.no_disputes:
            tallies.reading_disputes()
            disputes = Fields("Stripe", ("id", "created"), "disputes")
            for dispute in self.listing("/v1/disputes", self.created(since, until), "disputes", disputes):
                when = unix_time(dispute.get("created")) if isinstance(dispute, dict) else None
                if when is not None:
                    tallies.dispute(when)
        notes = self.mode_notes()
        for tally in tallies.tallies:
            tally.notes = notes
        return tallies.tallies


def tally_charge(tallies: PaymentWindows, charge, number: int, rejects) -> bool:
    """One charge object, as the API gives it, into the windows; False when it is in none or
    cannot be read (counted in `rejects`)."""
    from cxcheck.revenue import main_unit
    from cxcheck.sources.rows import dated

    where = f"charge {charge.get('id') or number}" if isinstance(charge, dict) else f"item {number}"
    if not isinstance(charge, dict) or charge.get("status") not in OUTCOMES:
        rejects.add("not a charge of a known status", where)
        return False
    when = dated(charge.get("created"), unix_time, rejects, where, "creation")
    if when is None:
        return False
    amount, currency = charge.get("amount"), charge.get("currency")
    money = main_unit(amount, currency) if isinstance(amount, int) and isinstance(currency, str) else None
    outcome = charge.get("outcome") if isinstance(charge.get("outcome"), dict) else {}
    reason = outcome.get("reason") or charge.get("failure_code") or outcome.get("type")
    refunded = bool(charge.get("refunded")) or (charge.get("amount_refunded") or 0) > 0
    return tallies.add(when, charge["status"], money, currency or "", reason, refunded)


def unix_time(raw) -> float | None:
    """Stripe's times: unix seconds, an integer."""
    return float(raw) if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None


__all__ = ["Stripe", "SourceError"]
