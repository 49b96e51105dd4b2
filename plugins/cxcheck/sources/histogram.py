"""A Prometheus latency histogram as a source of response times, queried as sources/promql.py does.

A classic histogram (https://prometheus.io/docs/concepts/metric_types/#histogram) counts requests
in cumulative buckets `METRIC_bucket{le="B"}`: answered in at
most B seconds. Over a window, `sum(increase(METRIC_bucket{le="T"}[W]))` are the satisfied ones,
the bucket at 4T minus them the tolerating, `le="+Inf"` all of them. Bounds are matched by value:
clients spell them 1, 1.0 or 1.00.

When T or 4T is not a bucket bound the count at it is not in the histogram. The check refuses
(UNKNOWN, naming the bound), unless --interpolate: then it is estimated by linear interpolation
inside its bucket, the assumption Prometheus' own histogram_quantile() makes, found by asking
histogram_quantile() for the share whose quantile is T (a few queries: the quantile is linear in
the share inside a bucket, and regula falsi lands on it). Beyond the highest finite bound nothing
can be estimated. A histogram does not say which requests failed: 5xx count by their time here.
"""

from __future__ import annotations

import re

from cxcheck.sources.base import ConfigError, SourceError
from cxcheck.sources.promql import NoData, PrometheusSource

SELECTOR = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*", re.S)
DEFAULT_WINDOW = "5m"
MAX_QUERIES = 40                    # per interpolated bound
PRECISION = 1e-9                    # of the share, when the quantile cannot land exactly on T


def bound_regex(seconds: float) -> str:
    """A PromQL regex (RE2, fully anchored) matching every decimal spelling of a bucket bound:
    0.5 as 0.5, .5, 0.50; 2 as 2, 2.0; 1e-3 as 0.001."""
    text = f"{seconds:.12f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    whole = whole.lstrip("0")
    if fraction:
        return f"0*{whole}\\\\.{fraction}0*"
    return f"0*{whole or '0'}(\\\\.0*)?"


class PrometheusHistogram(PrometheusSource):
    reads_lines = False                  # rejected lines and percentiles to report
    help = "a Prometheus server holding a latency histogram (with --histogram)"
    needs, needs_why = ("--histogram METRIC",), "a latency histogram, in seconds"

    @classmethod
    def add_arguments(cls, options):
        options.add("--histogram", metavar="METRIC{LABELS}",
                    help="--prometheus: the histogram, with label matchers if needed, e.g. "
                         "'http_request_duration_seconds{job=\"shop\",route=\"/checkout\"}'")
        options.add("--interpolate", action="store_true",
                    help="--prometheus: when T or 4T is not a bucket bound, interpolate inside the bucket "
                         "(as histogram_quantile does) instead of refusing")

    def __init__(self, value, run):
        super().__init__(value, run)
        found = SELECTOR.fullmatch(self.args.histogram)
        if found is None:
            raise ConfigError(f"--histogram {self.args.histogram!r} is not METRIC or METRIC{{label=\"value\",...}}")
        self.metric = re.sub(r"_(bucket|count|sum)$", "", found.group(1))
        self.matchers = (found.group(2) or "").strip().rstrip(",")
        self.interpolate = self.args.interpolate
        self.estimated: list[str] = []

    def read_response_times(self, target: float, window: float | None, now: float | None, rejects):
        from cxcheck.latency import ResponseTimes
        from cxcheck.runtime import Duration

        self.range = (window if window is not None else Duration(DEFAULT_WINDOW)).prometheus
        self.time = None if now is None else f"{now:.3f}"
        self.reading(f"{self.metric} from Prometheus")
        try:
            total = self._bucket("+Inf")
            satisfied = self._at(target, total)
            within = self._at(4 * target, total)
        finally:
            self.close()
        times = ResponseTimes(target)
        times.span = f"over {window if window is not None else DEFAULT_WINDOW}"
        times.counts.satisfied = satisfied
        times.counts.tolerating = max(within - satisfied, 0.0)
        times.counts.frustrated = max(total - within, 0.0)
        times.notes.extend(self.warnings)
        times.notes.extend(self.estimated)
        return times

    def _selector(self, extra: str = "") -> str:
        matchers = ",".join(part for part in (self.matchers, extra) if part)
        return f"{self.metric}_bucket{{{matchers}}}"

    def _bucket(self, le: str) -> float:
        matcher = 'le="+Inf"' if le == "+Inf" else f'le=~"{le}"'
        query = f"sum(increase({self._selector(matcher)}[{self.range}]))"
        try:
            return self.query(query)
        except NoData:
            if le == "+Inf":
                raise SourceError(f"Prometheus has no {self._selector()} series over {self.range} (is the metric a "
                                  "histogram, are the label matchers right?)") from None
            raise

    def _at(self, seconds: float, total: float) -> float:
        """Requests answered within `seconds`: its bucket, or (--interpolate) an estimate."""
        try:
            return self._bucket(bound_regex(seconds))
        except NoData:
            pass
        if not self.interpolate:
            raise SourceError(f"{seconds:g} s is not a bucket bound of {self.metric} (no le=\"{seconds:g}\" bucket): "
                              "choose -T so that T and 4T are bounds, or give --interpolate") from None
        if total <= 0:
            return 0.0
        share = self._share_at(seconds, total)
        self.estimated.append(f"{seconds:g} s is not a bucket bound: {share * total:.1f} requests within it "
                              "interpolated inside its bucket")
        return share * total

    def _quantile(self, share: float) -> float:
        inner = f"sum by (le) (increase({self._selector()}[{self.range}]))"
        return self.query(f"histogram_quantile({share!r}, {inner})")

    def _share_at(self, seconds: float, total: float) -> float:
        """The share q with histogram_quantile(q) = seconds: regula falsi (Illinois) on [0, 1]."""
        # The quantile of share 0 is the lowest bucket's start, 0 for response times (and asking
        # Prometheus gives NaN when that bucket is empty).
        low, high = 0.0, 1.0
        f_low, f_high = -seconds, self._quantile(high) - seconds
        if f_high < 0:
            highest = f_high + seconds
            # Every request within the highest finite bound reached: all of them are within T.
            if self._bucket(bound_regex(highest)) >= total:
                return 1.0
            raise SourceError(f"{seconds:g} s is beyond the highest finite bucket bound of {self.metric} "
                              f"({highest:g} s): no estimate is possible; choose a smaller -T")
        side = 0
        for _ in range(MAX_QUERIES):
            share = high - f_high * (high - low) / (f_high - f_low)
            if not low < share < high:
                share = (low + high) / 2
            value = self._quantile(share) - seconds
            if abs(value) <= 1e-12 * max(seconds, 1.0) or high - low <= PRECISION:
                return share
            if value < 0:
                low, f_low = share, value
                if side == -1:
                    f_high /= 2
                side = -1
            else:
                high, f_high = share, value
                if side == 1:
                    f_low /= 2
                side = 1
        return (low + high) / 2
