"""Transactions' success from Prometheus: instant queries giving the success ratio, or the
successes and the total, each with ${window} replaced by the window (1.5d written 1d12h)."""

from __future__ import annotations

from cxcheck.sources.base import ConfigError
from cxcheck.sources.promql import NoData, PrometheusSource
from cxcheck.sources.transactions import Measure, counted, in_window


class PrometheusTransactions(PrometheusSource):
    help = "the Prometheus server, e.g. http://prometheus:9090 (with --ratio-query, or --success-query " \
           "and --total-query)"

    @classmethod
    def add_arguments(cls, options):
        options.add("--ratio-query", metavar="PROMQL", help="--prometheus: a query giving the success ratio, 0 to 1")
        options.add("--success-query", metavar="PROMQL",
                    help="--prometheus: a query giving the successful transactions")
        options.add("--total-query", metavar="PROMQL",
                    help="--prometheus: a query giving all transactions (with --success-query; with "
                         "--ratio-query for --min-volume)")
        options.add("--time", metavar="TIME",
                    help="--prometheus: evaluation time, RFC 3339 or Unix seconds (default: now)")

    def __init__(self, value, run):
        super().__init__(value, run)
        args = self.args
        if args.ratio_query and args.success_query:
            raise ConfigError("give --ratio-query, or --success-query with --total-query, not both")
        if not args.ratio_query and not (args.success_query and args.total_query):
            raise ConfigError("--prometheus needs --ratio-query, or --success-query and --total-query")
        self.time = args.time
        self.ratio_query, self.success_query, self.total_query = args.ratio_query, args.success_query, args.total_query
        self.templates = [q for q in (self.ratio_query, self.success_query, self.total_query) if q]
        self.counts_total = bool(self.total_query)

    def read_transactions(self, window: str | None, quiet_below: float) -> Measure:
        """The window's measure. A ratio or success query without data while the total is under
        `quiet_below` is a quiet night (0/0), not an unknown."""
        total = self.query(in_window(self.total_query, window, promql=True)) if self.total_query else None
        if total is not None and total < 0:
            raise ConfigError(f"--total-query gives {total:g}: a count cannot be negative")
        quiet = total is not None and total < max(quiet_below, 1e-12)
        if self.ratio_query:
            try:
                ratio = self.query(in_window(self.ratio_query, window, promql=True))
            except NoData:
                if not quiet:
                    raise
                ratio = None      # 0/0 on a quiet night: not judged, not UNKNOWN
            if ratio is not None and not -1e-9 <= ratio <= 1 + 1e-9:
                raise ConfigError(f"--ratio-query gives {ratio:g}, not a fraction between 0 and 1 "
                                  "(multiplied by 100 already?)")
            if total == 0:
                ratio = None
            return Measure(window, None if ratio is None else min(max(ratio, 0.0), 1.0), total)
        try:
            success = self.query(in_window(self.success_query, window, promql=True))
        except NoData:
            if not quiet:
                raise
            success = 0.0
        return counted(window, success, total, "--success-query and --total-query")
