"""A funnel from Prometheus counters: instant queries (sources/promql.py) for
who entered and who converted, or entered and a ratio, and optional steps in between, each with
${window} replaced by the window's length and evaluated at the window's end (the earlier window:
the same queries at an earlier time). A query must give one finite number: an empty result is an
error (append `or vector(0)` when no series can mean none), except a ratio when nobody entered."""

from __future__ import annotations

from cxcheck.runtime import Duration, name_value
from cxcheck.runtime.times import iso_time
from cxcheck.sources.base import ConfigError
from cxcheck.sources.funnels import Funnel, Step, checked, count
from cxcheck.sources.promql import NoData, PrometheusSource

WINDOW = "${window}"


class PrometheusFunnel(PrometheusSource):
    help = "a Prometheus server (with --entered-query, and --converted-query or --ratio-query)"

    @classmethod
    def add_arguments(cls, options):
        options.add("--entered-query", metavar="PROMQL", help="--prometheus: who entered the funnel in ${window}")
        options.add("--converted-query", metavar="PROMQL", help="--prometheus: who completed it in ${window}")
        options.add("--ratio-query", metavar="PROMQL",
                    help="--prometheus: the conversion as a ratio 0..1 (instead of --converted-query)")
        options.add("--step-query", type=name_value, action="append", default=[], metavar="NAME=PROMQL",
                    help="--prometheus: a step between entering and converting, in funnel order, repeatable")

    def __init__(self, value, run):
        super().__init__(value, run)
        args = self.args
        if not args.entered_query or bool(args.converted_query) == bool(args.ratio_query):
            raise ConfigError("--prometheus needs --entered-query, and --converted-query or --ratio-query (one)")
        queries = [args.entered_query, args.converted_query or args.ratio_query, *(q for _, q in args.step_query)]
        for query in queries:
            if WINDOW not in query:
                raise ConfigError(f"every query needs {WINDOW} (the window, e.g. increase(x[{WINDOW}])): {query!r}")

    def read_funnel(self, since: float, until: float) -> Funnel:
        args, window = self.args, Duration(str(until - since)).prometheus
        self.time = f"{until:.3f}"            # the earlier window: the same queries at an earlier time
        self.reading(f"Prometheus at {iso_time(until)}")

        def number(query: str, what: str) -> int:
            return count(self.query(query.replace(WINDOW, window)), f"Prometheus {what}")

        steps = [Step("entered", number(args.entered_query, "--entered-query"))]
        steps += [Step(name, number(query, f"--step-query {name}")) for name, query in args.step_query]
        if args.converted_query:
            steps.append(Step("converted", number(args.converted_query, "--converted-query")))
        else:
            try:
                ratio = self.query(args.ratio_query.replace(WINDOW, window))
            except NoData:
                if steps[0].count:
                    raise
                ratio = 0.0             # 0/0: nobody entered, nobody converted
            if not -1e-9 <= ratio <= 1 + 1e-9:
                raise ConfigError(f"--ratio-query gives {ratio:g}, not a fraction between 0 and 1")
            steps.append(Step("converted", round(min(max(ratio, 0.0), 1.0) * steps[0].count)))
        return Funnel(checked(steps, "Prometheus"), f"Prometheus: instant queries at {iso_time(until)} over [{window}]")

