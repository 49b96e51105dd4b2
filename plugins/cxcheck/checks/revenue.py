"""check_cx_revenue: is recurring revenue holding up?

MRR at --now from the subscriptions, as Stripe's billing analytics define it: the active and
past-due subscriptions, each price normalised to a month (yearly / 12, weekly x 52 / 12, daily x
365 / 12, over the interval count, times the quantity), less coupons that last forever; trials,
free plans and metered prices left out. Over --window (default 30d): MRR at its start (leaving out
the subscriptions that began inside it), the new MRR, the MRR lost to cancellations (a cancelled
trial is not churn; a cancellation at the period's end leaves MRR at the request, as Stripe
counts it, or at the end with --churn-at end), the revenue churn (that loss over MRR at the
start, in %), ARPU (MRR over paying customers) and CLV (ARPU over the monthly subscriber churn;
Stripe's 1.67 % assumed when no one left). Money is in the account's currency, in its main unit;
subscriptions in other currencies are listed apart, never converted.

Judged: -w/-c on MRR (floors, -w 10000: -c 8000:), --warning-arpu/--critical-arpu,
--warning-revenue-churn/--critical-revenue-churn (ceilings in %), and --max-drop PERCENT, MRR at
the end against its start (the end of the window before).
"""

from __future__ import annotations

import time

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases.samples import RejectedContext, RejectsRows, Trust
from cxcheck.runtime import Duration, MaybeContext, perf_value, plural
from cxcheck.runtime.times import iso_time, now_time

EXAMPLES = """
  # MRR of the last 30 days: warn under 10,000, critical under 8,000, or when it fell 5 % in the window
  check_cx_revenue --stripe --token-env STRIPE_KEY -w 10000: -c 8000: --max-drop 5

  # revenue churn above 3 % a month is a warning, ARPU under 20 EUR critical
  check_cx_revenue --stripe --token-file /etc/cxcheck/stripe.key --currency eur \\
      --warning-revenue-churn 3 --critical-arpu 20:
"""
MONEY = ("mrr", "mrr_previous", "new_mrr", "churned_mrr", "arpu", "clv")


def fmt_money(value: float | None, currency: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" + (f" {currency.upper()}" if currency else "")


class Mrr(nagiosplugin.Resource, RejectsRows):
    """One read of the subscriptions; the figures of the window in the account's currency."""

    measures = "MRR"

    def __init__(self, source, window: Duration, now: float, churn_at: str):
        from cxcheck.sources.rows import Rejects

        self.source, self.window, self.now, self.churn_at = source, window, now, churn_at
        self.rejects = Rejects()
        self.read = 0
        self.revenue = self.book = None
        self.currency, self.clv, self.assumed = "", None, False

    @property
    def name(self):
        return "CX REVENUE"

    @property
    def sample_size(self) -> int:
        return len(self.book.customers)

    def probe(self):
        from cxcheck.revenue import Book, Revenue

        subscriptions = self.source.read_subscriptions(self.rejects)
        self.read = self.source.rows
        self.revenue = revenue = Revenue(subscriptions, self.now - self.window, self.now, self.churn_at)
        self.currency = (self.source.args.currency or "").lower() or (
            next(iter(revenue.books)) if len(revenue.books) == 1 else self.source.account_currency().lower())
        self.book = book = revenue.books.get(self.currency) or Book(self.currency)
        self.clv, self.assumed = revenue.clv(self.currency)
        churn = revenue.monthly_churn()
        for name, value in (("mrr", book.mrr), ("mrr_previous", book.mrr_start), ("new_mrr", book.new_mrr),
                            ("churned_mrr", book.churned_mrr), ("arpu", book.arpu), ("clv", self.clv)):
            yield nagiosplugin.Metric(name, perf_value(value), min=0, context=name)
        yield nagiosplugin.Metric("customers", len(book.customers), "c", min=0, context="customers")
        yield nagiosplugin.Metric("revenue_churn", perf_value(book.revenue_churn), "%", min=0, context="revenue_churn")
        yield nagiosplugin.Metric("customer_churn", perf_value(None if churn is None else 100 * churn), "%", min=0,
                                  max=100, context="customer_churn")
        yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")


class DropContext(MaybeContext):
    """MRR at the window's end against its start: a fall beyond --max-drop %."""

    def __init__(self, name: str, max_drop: float | None, state, verdicts: Trust):
        super().__init__(name)
        self.max_drop, self.state, self.verdicts = max_drop, state, verdicts

    def evaluate(self, metric, resource):
        change = resource.book.change
        if not self.max_drop or change is None or -change <= self.max_drop or self.verdicts.unreadable:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        return self.result_cls(self.state, f"MRR fell {-change:.1f}% in {resource.window} (> {self.max_drop:g}%)",
                               metric)


class RevenueSummary(nagiosplugin.Summary):
    def __init__(self, resource):
        self.resource = resource

    def _line(self) -> str:
        r = self.resource
        book, currency = r.book, r.currency
        customers = plural(len(book.customers), "customer")
        text = f"MRR {fmt_money(book.mrr, currency)}, {customers}, ARPU {fmt_money(book.arpu)}"
        if book.revenue_churn is not None:
            text += f", revenue churn {book.revenue_churn:.2f}% over {r.window}"
        if book.change is not None:
            text += f", {'+' if book.change >= 0 else ''}{book.change:.1f}% since {r.window} ago"
        return text

    def ok(self, results):
        return self._line()

    def problem(self, results):
        worst = results.first_significant
        if worst.metric.name == "rejected":
            return worst.hint
        named = [(result.hint if result.metric.name == "mrr_previous" else f"{result.metric.name} {result.hint}")
                 for result in results if result.state != nagiosplugin.Ok and result.hint]
        return f"{self._line()}: {'; '.join(named)}"

    def verbose(self, results):
        r, book, revenue = self.resource, self.resource.book, self.resource.revenue
        currency = r.currency
        problems = [f"{str(result.state).upper()}: {result.hint}" for result in results
                    if result.state != nagiosplugin.Ok and result.hint]
        lines = list(getattr(r.source, "mode_notes", list)())
        lines.append(f"window {iso_time(revenue.since)}..{iso_time(revenue.until)} (UTC), money in "
                     f"{currency.upper()}, its main unit")
        lines.append(f"MRR at the start {fmt_money(book.mrr_start)} + new {fmt_money(book.new_mrr)} - churned "
                     f"{fmt_money(book.churned_mrr)} = {fmt_money(book.mrr)} at the end"
                     + (f" (new and gone inside the window: {fmt_money(book.new_and_gone)})" if book.new_and_gone
                        else ""))
        churn = revenue.monthly_churn()
        lines.append(f"subscribers: {revenue.lost} lost of {revenue.base} (paying at the start or new in the "
                     f"window): {'-' if revenue.churn is None else f'{100 * revenue.churn:.2f}%'} over {r.window}"
                     + ("" if churn is None or churn == revenue.churn else f", {100 * churn:.2f}% a month"))
        if r.clv is not None:
            used = "1.67% assumed, as Stripe does when no one left" if r.assumed else f"{100 * churn:.2f}%"
            lines.append(f"CLV {fmt_money(r.clv, currency)} = ARPU {fmt_money(book.arpu)} / monthly churn {used}")
        others = {code: value for code, value in revenue.by_currency().items() if code != currency}
        if others:
            lines.append("MRR in other currencies, not converted: "
                         + ", ".join(f"{fmt_money(value, code)} "
                                     f"({plural(len(revenue.books[code].customers), 'customer')})"
                                     for code, value in others.items()))
        if revenue.left_out:
            lines.append("left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(revenue.left_out.items())))
        lines.append(f"{r.read} subscriptions read, {r.rejects.count} rejected")
        return problems + lines + r.rejects.lines()


def build_parser() -> runtime.Parser:
    from cxcheck.sources.registry import add_source_arguments

    parser = runtime.Parser("check_cx_revenue", description=__doc__.strip(), examples=EXAMPLES, timeout=60.0,
                            metric_help="MRR in the account's currency (floors, e.g. -w 10000: -c 8000:)",
                            thresholds=runtime.FLOOR)
    reading = add_source_arguments(parser, "subscriptions", "the subscriptions")
    reading.add("--max-rejected", type=runtime.non_negative_float, default=5.0, metavar="PERCENT",
                help="more subscriptions than this share unreadable is UNKNOWN: MRR would lie (default 5)")
    judge = parser.add_argument_group("window and ranges")
    judge.add_argument("--window", type=Duration, default=Duration("30d"), metavar="DURATION",
                       help="how far back churn and new MRR are counted, and MRR compared (default 30d)")
    judge.add_argument("--now", type=now_time, metavar="TIME",
                       help="the window's end (default: now), ISO 8601 or unix seconds; windows are in UTC")
    judge.add_argument("--churn-at", choices=["request", "end"], default="request",
                       help="a cancellation at the period's end leaves MRR at the request (default, as Stripe's "
                            "analytics) or at the end of the period")
    judge.add_argument("--max-drop", type=runtime.positive_float, metavar="PERCENT",
                       help="alert when MRR at the end is more than PERCENT lower than at the window's start")
    judge.add_argument("--change-state", choices=["warning", "critical"], default="warning",
                       help="state of a drop beyond --max-drop (default warning)")
    for name, what, direction in (("arpu", "ARPU, in the account's currency (floors: 20:)", runtime.FLOOR),
                                  ("revenue-churn", "the revenue churn over the window, in %% (ceilings: 3)",
                                   runtime.CEILING)):
        parser.add_range_pair(f"--warning-{name}", f"--critical-{name}", direction, group=judge,
                              helps=(f"warning range for {what}", f"critical range for {what}"))
    parser.add_http_options()
    return parser


@runtime.plugin("CX REVENUE", build_parser)
def main(run: runtime.Run):
    from cxcheck.sources.registry import open_source

    args = run.args
    source = open_source(run, "subscriptions")
    now = args.now if args.now is not None else time.time()
    resource = Mrr(source, args.window, now, args.churn_at)
    verdicts = Trust(resource, args, None)
    contexts = [
        MaybeContext("mrr", args.warning, args.critical),
        MaybeContext("arpu", args.warning_arpu, args.critical_arpu),
        MaybeContext("revenue_churn", args.warning_revenue_churn, args.critical_revenue_churn),
        DropContext("mrr_previous", args.max_drop, run.state(args.change_state), verdicts),
        *(MaybeContext(name) for name in ("new_mrr", "churned_mrr", "clv", "customers", "customer_churn")),
        RejectedContext(verdicts),
    ]
    return nagiosplugin.Check(resource, *contexts, RevenueSummary(resource))


if __name__ == "__main__":
    main()
