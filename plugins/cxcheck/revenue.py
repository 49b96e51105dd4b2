"""Recurring revenue as Stripe's billing analytics defines it, computed from subscriptions.

Definitions (https://docs.stripe.com/billing/subscriptions/analytics/glossary,
https://support.stripe.com/questions/billing-analytics,
https://support.stripe.com/questions/calculating-subscriber-churn-rate-in-billing,
https://support.stripe.com/questions/calculating-subscriber-lifetime-value-in-billing):

- MRR is the monthly-normalised value of the active and past-due subscriptions; trials, free
  plans and metered (usage-based) prices are left out, and so are taxes. A coupon that lasts
  forever lowers it; a coupon of finite duration (once, repeating) does not.
- A subscription stops counting when it is cancelled or marked unpaid. Stripe's analytics take a
  cancellation at the period's end (cancel_at_period_end) off MRR at the time of the request
  (`churn_at="request"`, the object's canceled_at); `churn_at="end"` keeps it until it ends.
- A customer is a paying subscriber while at least one of their subscriptions counts; the
  subscriber churn rate is the subscribers lost in the window over those paying at its start
  plus those who began inside it. CLV (Stripe's LTV) is ARPU over the monthly subscriber churn
  rate, 1.67 % assumed when no one churned.

Normalising a price to a month: yearly / 12, weekly x 52 / 12, daily x 365 / 12, each divided
by the interval count and multiplied by the quantity. Amounts are in the currency's main unit
(https://docs.stripe.com/currencies: zero-decimal and three-decimal currencies).
"""

from __future__ import annotations

from collections import Counter

from cxcheck.runtime import Record

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
PER_MONTH = {"day": 365 / 12, "week": 52 / 12, "month": 1.0, "year": 1 / 12}
NO_CHURN_ASSUMED = 0.0167        # Stripe's LTV when no subscriber churned
MONTH_DAYS = 30.0                # Stripe's churn rate is over the past 30 days
COUNTING = ("active", "past_due")


def main_unit(minor: float, currency: str) -> float:
    """An amount in the currency's smallest unit (Stripe's API) in its main unit."""
    code = currency.lower()
    return float(minor) if code in ZERO_DECIMAL else minor / (1000.0 if code in THREE_DECIMAL else 100.0)


def per_month(amount: float, interval: str, count: int = 1) -> float:
    """An amount billed every `count` `interval`s, normalised to a month."""
    return amount * PER_MONTH[interval] / max(count, 1)


class Item(Record):
    """One price on a subscription: its amount per period in the main unit (None: not a fixed
    amount, such as a tiered price), interval, interval count, quantity; metered prices are
    billed on usage and never count."""

    _fields = ("amount", "interval", "count", "quantity", "metered")

    def __init__(self, amount, interval: str, count: int = 1, quantity: int = 1, metered: bool = False):
        self.amount, self.interval, self.count = amount, interval, count
        self.quantity, self.metered = quantity, metered

    @property
    def monthly(self) -> float:
        if self.metered or self.amount is None:
            return 0.0
        return per_month(self.amount * self.quantity, self.interval, self.count)


class Discount(Record):
    """A coupon on a subscription: `percent` off, or `amount` off each invoice (main unit), and
    whether it lasts forever (only then does it lower MRR)."""

    _fields = ("percent", "amount", "forever")

    def __init__(self, percent: float | None = None, amount: float | None = None, forever: bool = False):
        self.percent, self.amount, self.forever = percent, amount, forever


class Subscription(Record):
    """What MRR needs of a subscription. Times are unix seconds; None when not set."""

    _fields = ("id", "customer", "currency", "status", "start", "trial_end", "canceled_at", "ended_at", "items",
               "discounts")

    def __init__(self, id, customer, currency: str, status: str, start: float, items: list[Item],
                 trial_end=None, canceled_at=None, ended_at=None, discounts=()):
        self.id, self.customer, self.currency, self.status, self.start = id, customer, currency.lower(), status, start
        self.items, self.trial_end, self.canceled_at, self.ended_at = items, trial_end, canceled_at, ended_at
        self.discounts = list(discounts)

    @property
    def monthly(self) -> float:
        """The subscription's MRR when it counts: its prices per month, less forever coupons.
        An amount off is per invoice: normalised with the interval of the first fixed price."""
        value = sum(item.monthly for item in self.items)
        fixed = [item for item in self.items if item.monthly]
        for discount in self.discounts:
            if not discount.forever:
                continue
            if discount.percent:
                value *= 1 - discount.percent / 100.0
            elif discount.amount and fixed:
                value -= per_month(discount.amount, fixed[0].interval, fixed[0].count)
        return max(value, 0.0)

    @property
    def metered_only(self) -> bool:
        return bool(self.items) and all(item.metered for item in self.items)

    @property
    def began(self) -> float:
        """When it began to count: its start, or the end of its trial."""
        return max(self.start, self.trial_end or self.start)

    def stopped(self, churn_at: str = "request") -> float | None:
        """When it stopped counting (None: it still counts, or its status says nothing of when)."""
        if self.status == "canceled":
            ends = [self.ended_at, self.canceled_at] if churn_at == "end" else [self.canceled_at, self.ended_at]
            return next((t for t in ends if t is not None), None)
        if churn_at == "request" and self.canceled_at is not None:
            return self.canceled_at         # scheduled to cancel: off MRR from the request on
        return None

    def counts_at(self, when: float, churn_at: str = "request") -> bool:
        """Part of MRR at `when`: began by then, not stopped by then, a paying status, a value."""
        if self.status not in COUNTING and self.status != "canceled":
            return False
        stopped = self.stopped(churn_at)
        if self.status == "canceled" and stopped is None:
            return False
        return self.began <= when and (stopped is None or when < stopped) and self.monthly > 0


class Book(Record):
    """The subscriptions of one currency, and the figures of a window (since, until]."""

    _fields = ("currency", "mrr", "mrr_start", "customers", "customers_start", "new_mrr", "churned_mrr",
               "new_and_gone")

    def __init__(self, currency: str):
        self.currency = currency
        self.mrr = self.mrr_start = self.new_mrr = self.churned_mrr = self.new_and_gone = 0.0
        self.customers: set = set()
        self.customers_start: set = set()

    @property
    def arpu(self) -> float | None:
        return self.mrr / len(self.customers) if self.customers else None

    @property
    def revenue_churn(self) -> float | None:
        """MRR lost in the window from subscriptions that counted at its start, in % of that MRR."""
        return 100.0 * self.churned_mrr / self.mrr_start if self.mrr_start else None

    @property
    def change(self) -> float | None:
        """MRR at the end against the start, in %: negative is a drop."""
        return 100.0 * (self.mrr - self.mrr_start) / self.mrr_start if self.mrr_start else None


class Revenue(Record):
    """MRR, customers and churn of a window, per currency, and the subscriber churn of all."""

    _fields = ("books", "lost", "base", "since", "until", "left_out")

    def __init__(self, subscriptions, since: float, until: float, churn_at: str = "request"):
        self.since, self.until = since, until
        self.books: dict[str, Book] = {}
        self.left_out: Counter = Counter()       # reason -> subscriptions not in any figure
        paying_start, paying_end, seen = set(), set(), set()
        for sub in subscriptions:
            reason = self._left_out(sub, churn_at)
            if reason:
                self.left_out[reason] += 1
                continue
            book = self.book(sub.currency)
            value, began, stopped = sub.monthly, sub.began, sub.stopped(churn_at)
            at_start, at_end = sub.counts_at(since, churn_at), sub.counts_at(until, churn_at)
            inside = since < began <= until and (stopped is None or began < stopped)
            if at_start:
                book.mrr_start += value
                book.customers_start.add(sub.customer)
                paying_start.add(sub.customer)
            if at_end:
                book.mrr += value
                book.customers.add(sub.customer)
                paying_end.add(sub.customer)
            if inside:
                book.new_mrr += value
                if not at_end:
                    book.new_and_gone += value
            if at_start and not at_end:
                book.churned_mrr += value
            if at_start or inside:
                seen.add(sub.customer)
        # Subscribers: paying at the start or who began inside; lost: none of theirs counts at the end.
        self.base = len(seen)
        self.lost = len(seen - paying_end)

    def book(self, currency: str) -> Book:
        if currency not in self.books:
            self.books[currency] = Book(currency)
        return self.books[currency]

    @staticmethod
    def _left_out(sub: Subscription, churn_at: str) -> str:
        if sub.status == "trialing":
            return "in trial"
        if sub.status in ("incomplete", "incomplete_expired"):
            return "never paid (incomplete)"
        if sub.status in ("unpaid", "paused"):
            return f"{sub.status} (no date says since when)"
        if sub.metered_only:
            return "metered prices only"
        if sub.monthly <= 0 and not any(item.amount is None for item in sub.items):
            return "free"
        if sub.monthly <= 0:
            return "no fixed amount (tiered price)"
        if sub.status == "canceled" and sub.stopped(churn_at) is None:
            return "cancelled, no date"
        return ""

    @property
    def churn(self) -> float | None:
        """The subscriber churn rate over the window, a fraction; None without subscribers."""
        return self.lost / self.base if self.base else None

    def monthly_churn(self) -> float | None:
        """The churn rate over 30 days: the window's, compounded to a month when it is longer or
        shorter (a 15-day 5 % gives 1 - 0.95^2 = 9.75 %)."""
        churn = self.churn
        if churn is None:
            return None
        days = (self.until - self.since) / 86400.0
        if abs(days - MONTH_DAYS) < 1e-9 or churn >= 1:
            return churn
        return 1 - (1 - churn) ** (MONTH_DAYS / days)

    def clv(self, currency: str) -> tuple[float | None, bool]:
        """ARPU over the monthly churn, and whether Stripe's 1.67 % was assumed (no churn)."""
        book = self.books.get(currency)
        churn = self.monthly_churn()
        if book is None or book.arpu is None or churn is None:
            return None, False
        if churn == 0:
            return book.arpu / NO_CHURN_ASSUMED, True
        return book.arpu / churn, False

    def by_currency(self) -> dict[str, float]:
        return {code: book.mrr for code, book in sorted(self.books.items())}

