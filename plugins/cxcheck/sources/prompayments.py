"""Payments from Prometheus counters (a shop that counts its own payment attempts, a Stripe
exporter): instant queries (sources/promql.py) for the attempts that succeeded and those that
failed in ${window}, optionally those refunded and the disputes received, each with ${window}
replaced by the window's length and evaluated at the window's end (the earlier window: the same
queries at an earlier time). A query must give one finite number: an empty result is an error
(append `or vector(0)` when no series can mean none). Counts are rounded to whole payments
(increase() extrapolates); decline reasons are not read."""

from __future__ import annotations

from cxcheck.runtime import Duration
from cxcheck.runtime.times import iso_time
from cxcheck.sources.base import ConfigError
from cxcheck.sources.funnels import count
from cxcheck.sources.payments import Payments
from cxcheck.sources.promql import PrometheusSource

WINDOW = "${window}"
QUERIES = (("succeeded_query", "payment attempts that succeeded"), ("failed_query", "payment attempts that failed"),
           ("refunded_query", "successful payments refunded since (optional)"),
           ("disputes_query", "disputes received (optional)"))


class PrometheusPayments(PrometheusSource):
    help = "a Prometheus server (with --succeeded-query and --failed-query: counters of payment attempts)"

    @classmethod
    def add_arguments(cls, options):
        for dest, what in QUERIES:
            options.add("--" + dest.replace("_", "-"), metavar="PROMQL", help=f"--prometheus: {what} in ${{window}}")

    def __init__(self, value, run):
        super().__init__(value, run)
        args = self.args
        if not args.succeeded_query or not args.failed_query:
            raise ConfigError("--prometheus needs --succeeded-query and --failed-query")
        for dest, _ in QUERIES:
            query = getattr(args, dest)
            if query and WINDOW not in query:
                raise ConfigError(f"every query needs {WINDOW} (the window, e.g. increase(x[{WINDOW}])): {query!r}")

    def read_payments(self, windows, rejects) -> list[Payments]:
        self.rows, found = 0, []
        for window in windows:
            span = Duration(str(window.until - window.since)).prometheus
            self.time = f"{window.until:.3f}"
            self.reading(f"Prometheus at {iso_time(window.until)}")
            counted = {dest: (None if not getattr(self.args, dest) else
                              count(self.query(getattr(self.args, dest).replace(WINDOW, span)),
                                    f"Prometheus --{dest.replace('_', '-')}"))
                       for dest, _ in QUERIES}
            payments = Payments([f"Prometheus: instant queries at {iso_time(window.until)} over [{span}]",
                                 *self.warnings])
            payments.succeeded, payments.failed = counted["succeeded_query"], counted["failed_query"]
            payments.refunded = min(counted["refunded_query"] or 0, payments.succeeded)
            payments.disputes = counted["disputes_query"]
            found.append(payments)
        return found
