"""check_cx_apdex: what did real users wait for? The Apdex of their requests.

From the web server's access log (the requests since the last run, or a window by timestamp) or a
Prometheus latency histogram. With a target T (-T): satisfied within T, tolerating within 4T,
frustrated beyond or on a server error (5xx); Apdex = (satisfied + tolerating / 2) / requests, in
0..1, judged with -w/-c floors (e.g. -w 0.85: -c 0.7:). Fewer requests than --min-volume is
--low-volume-state (default OK, said); more unreadable lines than --max-rejected is UNKNOWN.
"""

from __future__ import annotations

import time

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases.samples import (
    LowSampleContext,
    RejectedContext,
    RejectsRows,
    StatisticContext,
    Trust,
    add_max_rejected,
    add_minimum,
    add_now,
)
from cxcheck.runtime import Duration, MaybeContext, fmt_count, fmt_seconds, perf_value, plural

EXAMPLES = """
  # nginx (combined + $request_time), the requests since the last run; T = 0.5 s
  check_cx_apdex --log /var/log/nginx/access.log -T 0.5 -w 0.85: -c 0.7:

  # the checkout only, leaving out what customers did not wait for; Apache with %D
  check_cx_apdex --log /var/log/apache2/access.log --log-format apache -T 1 \\
      --path-regex '^/checkout' --method GET,POST --exclude-status 499,404 -w 0.9: -c 0.75:

  # the server's own format; the last 15 minutes by timestamp (a log shipped elsewhere)
  check_cx_apdex --log /srv/logs/shop.log -T 0.3 --window 15m \\
      --log-format '$remote_addr [$time_iso8601] "$request" $status $upstream_response_time'

  # a Prometheus histogram over 5 minutes (T and 4T bucket bounds, or --interpolate)
  check_cx_apdex --prometheus http://prometheus:9090 -T 0.25 -w 0.9: \\
      --histogram 'http_request_duration_seconds{job="shop",handler="/checkout"}'
"""
METRICS = ("satisfied", "tolerating", "frustrated", "requests", "rejected")


def target(text: str) -> Duration:
    return Duration(text)


def build_parser() -> runtime.Parser:
    from cxcheck.sources.registry import add_source_arguments

    parser = runtime.Parser("check_cx_apdex", description=__doc__.strip(), examples=EXAMPLES, timeout=10.0,
                            metric_help="the Apdex, 0..1 (floors, e.g. -w 0.85: -c 0.7:)",
                            thresholds=runtime.FLOOR)
    judge = parser.add_argument_group("Apdex")
    judge.add_argument("-T", "--target", type=target, metavar="SECONDS",
                       help="the target time T: satisfied within T, tolerating within 4T (0.5, 500ms)")
    judge.add_argument("--window", type=Duration, metavar="DURATION",
                       help="the requests of this window (by timestamp in a log) instead of since the last run; "
                            "a histogram's range (default 5m)")
    add_now(judge)
    add_minimum(judge, "--min-volume", 1, "requests", "ok", "1: none at all")
    add_max_rejected(judge, "Apdex", "lines")
    add_source_arguments(parser, "response_times", "the requests")
    parser.add_http_options()
    return parser


class Apdex(RejectsRows, nagiosplugin.Resource):
    """One reading of the source: the counts, the percentiles, what was rejected."""

    measures = "Apdex"

    def __init__(self, read, target: float, rejects, from_log: bool):
        self.read_times, self.target, self.rejects, self.from_log = read, target, rejects, from_log
        self.times = None

    @property
    def name(self):
        return "CX APDEX"

    @property
    def read(self) -> int:
        """Lines that read (a histogram reads none)."""
        return self.times.lines - self.rejects.count if self.times else 0

    @property
    def sample_size(self) -> float:
        return self.times.counts.requests

    @property
    def hints(self) -> list[str]:
        """What may explain rejected lines (another log format)."""
        return self.times.hints

    def probe(self):
        self.times = times = self.read_times()
        counts = times.counts
        yield nagiosplugin.Metric("apdex", perf_value(counts.score), "", min=0, max=1, context="apdex")
        for name in METRICS[:3]:
            yield nagiosplugin.Metric(name, perf_value(getattr(counts, name)), "c", min=0, context=name)
        yield nagiosplugin.Metric("requests", perf_value(counts.requests), "c", min=0, context="requests")
        if self.from_log:               # a log: lines that did not read, and percentiles
            yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")
            for name, share in (("p90", 0.90), ("p99", 0.99)):
                yield nagiosplugin.Metric(name, perf_value(times.percentile(share), 3), "s", min=0, context=name)


def few_requests(metric, verdicts) -> str:
    times, minimum = verdicts.resource.times, verdicts.args.min_volume
    text = f"low volume: {plural(metric.value, 'request') if metric.value else 'no requests'} {times.span}"
    if minimum > 1:
        text += f", under --min-volume {minimum}"
    if times.counts.score is not None:
        text += f"; Apdex {times.counts.score:.2f} not judged"
    return text


class ApdexSummary(nagiosplugin.Summary):
    def __init__(self, resource: Apdex):
        self.resource = resource

    def score(self) -> str:
        r = self.resource
        counts = r.times.counts
        if counts.score is None:
            return f"no requests {r.times.span}"
        return f"Apdex {counts.score:.2f} [{r.target:g}] {counts.rating}"

    def detail(self) -> str:
        r = self.resource
        c = r.times.counts
        text = (f"{plural(c.requests, 'request')} {r.times.span}: satisfied {fmt_count(c.satisfied)}, "
                f"tolerating {fmt_count(c.tolerating)}, frustrated {fmt_count(c.frustrated)}")
        if r.from_log:
            text += f"; p90 {fmt_seconds(r.times.percentile(0.9))}, p99 {fmt_seconds(r.times.percentile(0.99))}"
        return text

    def ok(self, results):
        said = next((result for result in results if result.metric.name == "requests" and result.hint), None)
        if said is not None:            # --low-volume-state ok: still say why nothing was judged
            return said.hint
        return f"{self.score()}, {self.detail()}"

    def problem(self, results):
        worst = results.first_significant
        if worst.metric.name == "apdex":
            return f"{self.score()} {worst.hint}, {self.detail()}"
        return worst.hint

    def verbose(self, results):
        r = self.resource
        times = r.times
        if times is None:
            return []
        lines = [f"{str(result.state).upper()}: {result.hint}" for result in results     # the apdex's is above
                 if result.state != nagiosplugin.Ok and result.hint and result.metric.name != "apdex"]
        lines += times.notes
        if times.errors:
            lines.append(f"{times.errors} server errors (5xx) among the frustrated")
        if r.from_log:
            lines.append(f"{times.lines} lines read, {r.rejects.count} rejected, {times.skipped} left out "
                         "by the filters or the window")
        return lines + r.rejects.lines()


@runtime.plugin("CX APDEX", build_parser)
def main(run: runtime.Run):
    from cxcheck.sources.registry import open_source
    from cxcheck.sources.rows import Rejects

    args = run.args
    if args.target is None:
        raise runtime.ConfigError("give the target time: -T SECONDS (satisfied within T, tolerating within 4T)")
    source = open_source(run, "response_times")
    if args.now is not None and args.window is None and source.reads_lines:
        raise runtime.ConfigError("--now is the end of a --window: give --window too (without it, a log is read "
                                  "since the last run)")
    rejects = Rejects()
    now = args.now if args.now is not None else (time.time() if args.window else None)
    resource = Apdex(lambda: source.read_response_times(float(args.target), args.window, now, rejects),
                     float(args.target), rejects, from_log=source.reads_lines)
    verdicts = Trust(resource, args, args.min_volume)
    contexts = [StatisticContext("apdex", verdicts, args.warning, args.critical),
                RejectedContext(verdicts, unit="lines", most=True),
                LowSampleContext("requests", verdicts, run.state(args.low_volume_state), few_requests),
                *(MaybeContext(name) for name in ("satisfied", "tolerating", "frustrated", "p90", "p99"))]
    return nagiosplugin.Check(resource, *contexts, ApdexSummary(resource))


if __name__ == "__main__":
    main()
