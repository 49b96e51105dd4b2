"""check_cx_transaction: do customers' transactions succeed? Synthetic attempts, or real users' counts.

Synthetic (--scenario FILE): the journey is attempted --attempts times (default 3), each in a
fresh session, --interval seconds apart, all within the one deadline (-t). The main metric is the
share of attempts that completed, in %; the status line says which step failed, how often and why.
Defaults: -w 100: (any failed attempt warns) and -c 50: (fewer than half succeeding is critical).
Once the remaining attempts could not lift the result out of the critical range the check stops
early and says so.

Real users: the success ratio of the transactions customers made, from Prometheus
(--prometheus URL with --ratio-query, or --success-query and --total-query; instant queries) or
from any JSON endpoint (--json-url with --success-path and --total-path, JMESPath). Default: -c 50:
(a majority failing is critical), no warning range: set -w/-c to your objective, or judge the
error budget's burn rate (--slo, --burn-windows) as in Google's SRE workbook. With the total
known, fewer than --min-volume transactions (default 1: none at all) is --low-volume-state
(default OK, said in the status line): a quiet night does not page. A source that cannot give a
finite number (unreachable, an error answer, an empty result, NaN, Inf) is UNKNOWN with the reason,
except a ratio or success query without data while the total is under --min-volume (0/0 at night).

Burn rate: error ratio / (1 - SLO). With --slo 99.9 the budget is 0.1 %; an error ratio of 1.44 %
burns it 14.4 times too fast. --burn-windows 'LONG/SHORT:RATE[:ticket],...' (default
'1h/5m:14.4,6h/30m:6,1d/2h:3:ticket,3d/6h:1:ticket'): a pair whose long AND short window both burn
faster than RATE is CRITICAL (a page), or WARNING when marked :ticket. The queries (or the JSON URL)
carry ${window}, replaced by each window, e.g. sum(increase(orders_total{outcome="success"}[${window}])).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

import nagiosplugin

from cxcheck import runtime
from cxcheck.checks import journeys
from cxcheck.runtime import ConfigError, MaybeContext, fmt_seconds, perf_label

MAX_ATTEMPTS = 50
DEFAULT_WARNING = {"synthetic": "100:", "real": None}
DEFAULT_CRITICAL = {"synthetic": "50:", "real": "50:"}
DEFAULT_BURN_WINDOWS = "1h/5m:14.4,6h/30m:6,1d/2h:3:ticket,3d/6h:1:ticket"
WINDOW = "${window}"
DURATION = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

SUCCESS, ATTEMPTS, FAILURES, TOTAL, DEADLINE, BURN = "success", "attempts", "failures", "total", "deadline", "burn"

EXAMPLES = """
  # synthetic: 3 attempts of the API checkout, a fresh session each, 5 s apart, within 60 s
  check_cx_transaction --scenario templates/scenarios/shop-checkout-api.yaml \\
      --var base_url=https://shop.example.com --var-env password=SHOP_PASSWORD --interval 5 -t 60

  # real users, Prometheus: the share of orders that succeeded over the last 15 minutes
  check_cx_transaction --prometheus http://prometheus:9090 \\
      --success-query 'sum(increase(cxshop_orders_total{outcome="success"}[15m]))' \\
      --total-query 'sum(increase(cxshop_orders_total[15m]))' --min-volume 20 -w 99: -c 95:

  # real users, error-budget burn rate against a 99.9 % objective (SRE workbook windows)
  check_cx_transaction --prometheus https://prometheus:9090 --bearer-env PROM_TOKEN --slo 99.9 \\
      --success-query 'sum(increase(cxshop_orders_total{outcome="success"}[${window}]))' \\
      --total-query 'sum(increase(cxshop_orders_total[${window}]))' \\
      --burn-windows '1h/5m:14.4,6h/30m:6,1d/2h:3:ticket' --min-volume 10

  # real users, any JSON endpoint
  check_cx_transaction --json-url https://shop.example.com/stats/orders.json \\
      --success-path 'orders.succeeded' --total-path 'orders.total' -w 99: -c 90:
"""


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_transaction", description=__doc__.strip(),
                            examples=EXAMPLES, timeout=30.0,
                            metric_help="the success ratio in %% (defaults: synthetic -w 100: -c 50:, "
                                        "real users -c 50:)")
    syn = parser.add_argument_group("synthetic transactions")
    syn.add_argument("--scenario", metavar="FILE", help="the journey to attempt (YAML scenario file)")
    syn.add_argument("--attempts", type=runtime.positive_int, metavar="N",
                     help=f"attempts, each in a fresh session (default 3, at most {MAX_ATTEMPTS})")
    syn.add_argument("--interval", type=runtime.non_negative_float, metavar="SECONDS",
                     help="pause between attempts (default 0); attempts and pauses must fit in -t")
    syn.add_argument("--time-warning", type=runtime.nagios_range, metavar="RANGE",
                     help="warning range for the median time of the attempts that succeeded, seconds")
    syn.add_argument("--time-critical", type=runtime.nagios_range, metavar="RANGE",
                     help="critical range for the median time of the attempts that succeeded, seconds")
    journeys.add_variable_options(syn)

    prom = parser.add_argument_group("real users: Prometheus (instant queries)")
    prom.add_argument("--prometheus", metavar="URL", help="the Prometheus server, e.g. http://prometheus:9090")
    prom.add_argument("--ratio-query", metavar="PROMQL", help="a query giving the success ratio, 0 to 1")
    prom.add_argument("--success-query", metavar="PROMQL", help="a query giving the successful transactions")
    prom.add_argument("--total-query", metavar="PROMQL",
                      help="a query giving all transactions (with --success-query; with --ratio-query for "
                           "--min-volume)")
    prom.add_argument("--time", metavar="TIME", help="evaluation time, RFC 3339 or Unix seconds (default: now)")

    js = parser.add_argument_group("real users: any JSON endpoint")
    js.add_argument("--json-url", metavar="URL", help="a URL answering JSON with the counts")
    js.add_argument("--success-path", metavar="JMESPATH", help="where the successful transactions are")
    js.add_argument("--total-path", metavar="JMESPATH", help="where all transactions are")

    real = parser.add_argument_group("real users: volume, window and burn rate")
    real.add_argument("--min-volume", type=runtime.non_negative_float, metavar="N",
                      help="fewer transactions than this (needs the total) is --low-volume-state "
                           "(default 1: no transaction at all)")
    real.add_argument("--low-volume-state", choices=list(runtime.STATE_CODES), default="ok",
                      help="state under --min-volume (default ok, said in the status line)")
    real.add_argument("--window", metavar="DURATION",
                      help="the window replacing ${window} for the success metric (default: the first "
                           "burn pair's long window)")
    real.add_argument("--slo", type=_slo, metavar="PERCENT", help="the success objective, e.g. 99.9, for burn rates")
    real.add_argument("--burn-windows", metavar="SPEC",
                      help="LONG/SHORT:RATE[:ticket] pairs, comma-separated (default with --slo: "
                           f"'{DEFAULT_BURN_WINDOWS}')")
    parser.add_secret("bearer", "bearer token sent to --prometheus or --json-url", real)
    parser.add_http_options()
    return parser


def _slo(text: str) -> float:
    import argparse

    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage") from None
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text!r}: an objective between 0 and 100 %, e.g. 99.9")
    return value


def fmt_percent(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


def fmt_count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def percent_value(value: float | None):
    """Perfdata precision for a percentage: 75 not 75.0, 66.6667 not 66.66666666666667."""
    if value is None:
        return None
    value = round(value, 4)
    return int(value) if value.is_integer() else value


def count_value(value: float | None):
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 3)


# ---------------------------------------------------------------------------------------------
# Contexts shared by both modes


class SuccessContext(MaybeContext):
    """The success ratio against -w/-c; not judged when the resource says the volume is too low."""

    def evaluate(self, metric, resource):
        if getattr(resource, "low_volume", False):
            return self.result_cls(nagiosplugin.Ok, None, metric)
        return super().evaluate(metric, resource)


class PerfOnly(nagiosplugin.Context):
    """Perfdata with (optional) ranges shown, never judged on its own."""

    def __init__(self, name, warning=None, critical=None):
        super().__init__(name)
        self.warning = nagiosplugin.Range(warning) if warning else ""
        self.critical = nagiosplugin.Range(critical) if critical else ""

    def evaluate(self, metric, resource):
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        value = "U" if metric.value is None else metric.value
        return nagiosplugin.Performance(metric.name, value, "" if metric.value is None else metric.uom,
                                        self.warning, self.critical, metric.min, metric.max)


class StateContext(nagiosplugin.Context):
    """A metric whose value is (state or None, hint): for verdicts that are not a number."""

    def evaluate(self, metric, resource):
        state, hint = metric.value
        return self.result_cls(state or nagiosplugin.Ok, hint, metric)

    def performance(self, metric, resource):
        return None


# ---------------------------------------------------------------------------------------------
# Synthetic


@dataclass
class Attempt:
    number: int
    ok: bool
    total: float | None = None
    failed_step: str | None = None
    reason: str | None = None


class Synthetic(nagiosplugin.Resource):
    def __init__(self, run: runtime.Run, journey, attempts: int, interval: float, critical: str | None):
        self.run = run
        self.journey = journey
        self.planned = attempts
        self.interval = interval
        self.critical = nagiosplugin.Range(critical) if critical else None
        self.attempts: list[Attempt] = []
        self.timed_out: str | None = None     # why the deadline cut the attempts short
        self.stopped_early = False

    @property
    def name(self):
        return "CX TRANSACTION"

    def probe(self):
        from cxcheck.journey.runner import trace_lines

        deadline = self.run.deadline
        for number in range(1, self.planned + 1):
            if number > 1 and self.interval:
                if deadline.remaining <= self.interval:
                    self.timed_out = (f"no time left for attempt {number} of {self.planned} "
                                      f"(-t {deadline.seconds:g} with --interval {self.interval:g})")
                    break
                self.run.activity = f"pausing before attempt {number} of {self.planned}"
                deadline.sleep(self.interval)
            self.journey.on_step = self._on_step(number)
            result = self.journey.run()
            journeys.trace_longoutput(self.run, [f"attempt {number}: {line}" for line in trace_lines(result)])
            failed = result.failed
            if result.timed_out:
                self.timed_out = (f"timed out after {deadline.seconds:g} s at step {failed.name} "
                                  f"in attempt {number} of {self.planned}")
                break
            if result.ok:
                self.attempts.append(Attempt(number, True, total=result.total))
            else:
                self.attempts.append(Attempt(number, False, failed_step=failed.name if failed else None,
                                             reason=failed.reason if failed else "not completed"))
            if number < self.planned and self._critical_whatever_follows():
                self.stopped_early = True
                break
        done = len(self.attempts)
        good = sum(a.ok for a in self.attempts)
        ratio = 100.0 * good / done if done else None
        times = [a.total for a in self.attempts if a.ok]
        yield nagiosplugin.Metric(SUCCESS, percent_value(ratio), "%", min=0, max=100, context=SUCCESS)
        yield nagiosplugin.Metric(ATTEMPTS, done, "c", min=0, context=ATTEMPTS)
        yield nagiosplugin.Metric(FAILURES, done - good, "c", min=0, context=FAILURES)
        yield nagiosplugin.Metric(journeys.TIME, journeys.seconds(statistics.median(times)) if times else None,
                                  "s", min=0, context=journeys.TIME)
        state = self.run.timeout_state if self.timed_out else None
        yield nagiosplugin.Metric(DEADLINE, (state, self.timed_out), context=DEADLINE)

    def _critical_whatever_follows(self) -> bool:
        """Could no outcome of the remaining attempts lift the ratio out of the critical range?"""
        if self.critical is None:
            return False
        good, done = sum(a.ok for a in self.attempts), len(self.attempts)
        if self.critical.match(100.0 * good / done):
            return False
        remaining = self.planned - done
        return all(not self.critical.match(100.0 * (good + extra) / self.planned) for extra in range(remaining + 1))

    def _on_step(self, number):
        def on_step(name):
            self.run.activity = f"attempt {number} of {self.planned}, step {name}"

        return on_step

    def failure_groups(self) -> list[tuple[str | None, str | None, int]]:
        counts = Counter((a.failed_step, a.reason) for a in self.attempts if not a.ok)
        return [(step, reason, n) for (step, reason), n in counts.most_common()]


class SyntheticSummary(nagiosplugin.Summary):
    def __init__(self, resource: Synthetic, journey_name: str):
        self.resource = resource
        self.journey_name = journey_name

    def _ratio(self, results) -> str:
        r = self.resource
        done = len(r.attempts)
        good = sum(a.ok for a in r.attempts)
        success = results[SUCCESS]
        text = f"{self.journey_name} {fmt_percent(success.metric.value)} success"
        if success.state != nagiosplugin.Ok:
            text += f" ({journeys.time_violation(success)})"
        text += f", {good} of {done} attempts"
        groups = r.failure_groups()
        if groups:
            text += ", failed " + "; ".join(
                f"{n}x at step {step}: {reason}" if step else f"{n}x: {reason}" for step, reason, n in groups)
        return text

    def _time(self, results) -> str:
        time_result = results[journeys.TIME]
        if time_result.metric.value is None:
            return ""
        text = f", {fmt_seconds(time_result.metric.value)} median"
        if time_result.state != nagiosplugin.Ok:
            text += f" ({journeys.time_violation(time_result)})"
        return text

    def ok(self, results):
        return self._ratio(results) + self._time(results)

    def problem(self, results):
        r = self.resource
        parts = []
        if r.timed_out:
            parts.append(r.timed_out)
        if r.attempts:
            text = self._ratio(results) + self._time(results)
            if r.stopped_early:
                text += (f" (stopped after {len(r.attempts)} of {r.planned} attempts: critical whatever "
                         "the rest would do)")
            parts.append(text)
        return "; ".join(parts)

    def verbose(self, results):
        return []


def synthetic_check(run: runtime.Run, args):
    from cxcheck.journey.runner import Journey
    from cxcheck.journey.scenario import load

    attempts = args.attempts or 3
    interval = args.interval or 0.0
    if attempts > MAX_ATTEMPTS:
        raise ConfigError(f"--attempts {attempts}: at most {MAX_ATTEMPTS}")
    if (attempts - 1) * interval >= args.timeout:
        raise ConfigError(f"--attempts {attempts} with --interval {interval:g} take more than -t {args.timeout:g} s "
                          "of pauses alone")
    scenario = load(args.scenario)
    plain, secret = journeys.variables_from_args(args)
    journey = Journey(scenario, run.http_options(), run.deadline, overrides=plain, secret_overrides=secret)
    critical = _default(args.critical, "critical", "synthetic")
    warning = _default(args.warning, "warning", "synthetic")
    resource = Synthetic(run, journey, attempts, interval, critical)
    return nagiosplugin.Check(
        resource,
        SuccessContext(SUCCESS, warning, critical, fmt_metric="{valueunit} success"),
        PerfOnly(ATTEMPTS), PerfOnly(FAILURES),
        MaybeContext(journeys.TIME, args.time_warning, args.time_critical, fmt_metric="{valueunit} median"),
        StateContext(DEADLINE),
        SyntheticSummary(resource, scenario.name),
    )


def _default(given, which: str, mode: str):
    if given is not None:
        return given or None      # -w '' means no range
    return (DEFAULT_WARNING if which == "warning" else DEFAULT_CRITICAL)[mode]


# ---------------------------------------------------------------------------------------------
# Real users


@dataclass
class BurnPair:
    long: str
    short: str
    rate: float
    ticket: bool = False

    @property
    def state(self):
        return nagiosplugin.Warn if self.ticket else nagiosplugin.Critical


def duration_seconds(text: str) -> float:
    return sum(int(n) * UNIT_SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", text))


def parse_burn_windows(spec: str) -> list[BurnPair]:
    """'1h/5m:14.4,6h/30m:6,1d/2h:3:ticket' -> pairs; a ConfigError names the bad part."""
    pairs = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        where = f"--burn-windows {part!r}"
        fields = part.split(":")
        if len(fields) not in (2, 3) or "/" not in fields[0]:
            raise ConfigError(f"{where}: write LONG/SHORT:RATE or LONG/SHORT:RATE:ticket, e.g. 1h/5m:14.4")
        ticket = False
        if len(fields) == 3:
            if fields[2] != "ticket":
                raise ConfigError(f"{where}: the only marker is ':ticket' (WARNING instead of CRITICAL)")
            ticket = True
        long, _, short = fields[0].partition("/")
        for window in (long, short):
            if not DURATION.match(window):
                raise ConfigError(f"{where}: {window!r} is not a Prometheus duration (such as 5m, 1h, 1d)")
        if duration_seconds(long) <= duration_seconds(short):
            raise ConfigError(f"{where}: the long window {long} must be longer than the short one {short}")
        try:
            rate = float(fields[1])
        except ValueError:
            raise ConfigError(f"{where}: burn rate {fields[1]!r} is not a number") from None
        if not 0 < rate < float("inf"):
            raise ConfigError(f"{where}: burn rate must be a positive number")
        pairs.append(BurnPair(long, short, rate, ticket))
    if not pairs:
        raise ConfigError("--burn-windows: no window pair given")
    return pairs


@dataclass
class Measure:
    window: str | None
    ratio: float | None          # 0..1; None without any transaction
    total: float | None          # None when the source gives a ratio only
    success: float | None = None


class RealUsers(nagiosplugin.Resource):
    def __init__(self, run: runtime.Run, measure, window: str | None, pairs: list[BurnPair], slo: float | None,
                 min_volume: float | None, sources: list):
        self.run = run
        self.measure = measure
        self.window = window
        self.pairs = pairs
        self.slo = slo
        self.min_volume = min_volume
        self.sources = sources
        self.main: Measure | None = None
        self.low_volume = False
        self.burns: dict[str, float | None] = {}
        self.unjudged: list[str] = []
        self.fired: list[BurnPair] = []

    @property
    def name(self):
        return "CX TRANSACTION"

    def _enough(self, m: Measure) -> bool:
        if m.total is None:
            return True
        if m.ratio is None:
            return False
        return self.min_volume is None or m.total >= self.min_volume

    def probe(self):
        try:
            measures = {}
            self.run.activity = "querying the success ratio"
            self.main = measures[self.window] = self.measure(self.window)
            for pair in self.pairs:
                for window in (pair.long, pair.short):
                    if window not in measures:
                        self.run.activity = f"querying the {window} window"
                        measures[window] = self.measure(window)
        finally:
            for source in self.sources:
                journeys.trace_longoutput(self.run, getattr(source, "warnings", []))
                source.close()
        journeys.trace_longoutput(self.run, [describe_measure(m) for m in measures.values()])
        main = self.main
        self.low_volume = not self._enough(main)
        ratio = None if main.ratio is None else 100.0 * main.ratio
        yield nagiosplugin.Metric(SUCCESS, percent_value(ratio), "%", min=0, max=100, context=SUCCESS)
        if main.total is not None:
            yield nagiosplugin.Metric(TOTAL, count_value(main.total), "c", min=0, context=TOTAL)
        if self.pairs:
            budget = 1.0 - self.slo / 100.0
            for window, m in measures.items():
                if window is None or window not in self._windows():
                    continue
                # A window without any transaction burnt nothing.
                burn = 0.0 if m.ratio is None else max(0.0, 1.0 - m.ratio) / budget
                self.burns[window] = burn
                if not self._enough(m):
                    self.unjudged.append(window)
            for window in self._windows():
                yield nagiosplugin.Metric(burn_label(window), round(self.burns[window], 4), "", min=0,
                                          context=burn_label(window))
            self.fired = [p for p in self.pairs
                          if p.long not in self.unjudged and p.short not in self.unjudged
                          and self.burns[p.long] > p.rate and self.burns[p.short] > p.rate]
            worst = sorted(self.fired, key=lambda p: -int(p.state))
            verdict = (worst[0].state, describe_burn(worst[0], self.burns)) if worst else (None, None)
            yield nagiosplugin.Metric(BURN, verdict, context=BURN)

    def _windows(self) -> list[str]:
        seen = []
        for pair in self.pairs:
            for window in (pair.long, pair.short):
                if window not in seen:
                    seen.append(window)
        return seen


def describe_measure(m: Measure) -> str:
    """One -v line per window queried."""
    ratio = "-" if m.ratio is None else fmt_percent(100.0 * m.ratio)
    if m.success is not None:
        text = f"{fmt_count(m.success)} of {fmt_count(m.total)} transactions succeeded ({ratio})"
    elif m.total is not None:
        text = f"success ratio {ratio} of {fmt_count(m.total)} transactions"
    else:
        text = f"success ratio {ratio}"
    return (f"window {m.window}: " if m.window else "") + text


def burn_label(window: str) -> str:
    return "burn_" + perf_label(window)


def describe_burn(pair: BurnPair, burns: dict) -> str:
    kind = "ticket" if pair.ticket else "page"
    return (f"error budget burning {burns[pair.long]:.1f}x over {pair.long} and {burns[pair.short]:.1f}x "
            f"over {pair.short} (> {pair.rate:g}, {kind})")


class VolumeContext(nagiosplugin.Context):
    def __init__(self, low_volume_state):
        super().__init__(TOTAL)
        self.low_volume_state = low_volume_state

    def evaluate(self, metric, resource):
        if resource.low_volume:
            return self.result_cls(self.low_volume_state, "low volume", metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        return nagiosplugin.Performance(metric.name, metric.value, metric.uom, min=metric.min)


class RealUsersSummary(nagiosplugin.Summary):
    def __init__(self, resource: RealUsers, min_volume: float | None):
        self.resource = resource
        self.min_volume = min_volume

    def _main(self, results) -> str:
        r = self.resource
        m = r.main
        success = results[SUCCESS]
        within = f" in {m.window}" if m.window else ""
        if r.low_volume:
            count = fmt_count(m.total)
            text = f"low volume: {count} transaction{'' if m.total == 1 else 's'}{within}"
            if self.min_volume is not None:
                text += f", under --min-volume {self.min_volume:g}"
            if m.ratio is not None:
                text += f"; success {fmt_percent(success.metric.value)} not judged"
            return text
        text = f"success {fmt_percent(success.metric.value)}"
        if m.total is not None:
            text += f" of {fmt_count(m.total)} transactions"
        text += within
        if success.state != nagiosplugin.Ok:
            text += f" ({journeys.time_violation(success)})"
        return text

    def _burn(self, results) -> str:
        r = self.resource
        if not r.pairs:
            return ""
        if r.fired:
            worst = sorted(r.fired, key=lambda p: -int(p.state))
            return ", " + "; ".join(describe_burn(p, r.burns) for p in worst)
        judged = {w: b for w, b in r.burns.items() if w not in r.unjudged}
        if not judged:
            return ", burn rate not judged (low volume in every window)"
        window, burn = max(judged.items(), key=lambda item: item[1])
        return f", error budget burn at most {burn:.2f}x ({window})"

    def ok(self, results):
        return self._main(results) + self._burn(results)

    def problem(self, results):
        return self._main(results) + self._burn(results)

    def verbose(self, results):
        return []


def _uses_window(*texts) -> bool:
    return any(text and WINDOW in text for text in texts)


def real_check(run: runtime.Run, args):
    prometheus, json_url = args.prometheus, args.json_url
    http = run.http_options()
    headers = {}
    token = runtime.read_secret(env=args.bearer_env, path=args.bearer_file, what="bearer token")
    if token is not None:
        if not token.strip() or "\n" in token:
            raise ConfigError("the bearer token is empty or spans several lines")
        headers["Authorization"] = f"Bearer {token.strip()}"
    if prometheus:
        if args.ratio_query and args.success_query:
            raise ConfigError("give --ratio-query, or --success-query with --total-query, not both")
        if not args.ratio_query and not (args.success_query and args.total_query):
            raise ConfigError("--prometheus needs --ratio-query, or --success-query and --total-query")
        texts = [args.ratio_query, args.success_query, args.total_query]
    else:
        if not (args.success_path and args.total_path):
            raise ConfigError("--json-url needs --success-path and --total-path")
        texts = [json_url]
    given = [t for t in texts if t]
    if args.min_volume is not None and (prometheus and not args.total_query):
        raise ConfigError("--min-volume needs the total: add --total-query")
    pairs = []
    if args.burn_windows and args.slo is None:
        raise ConfigError("--burn-windows needs --slo (the objective the budget comes from)")
    if args.slo is not None:
        pairs = parse_burn_windows(args.burn_windows or DEFAULT_BURN_WINDOWS)
        missing = [t for t in given if WINDOW not in t]
        if missing:
            raise ConfigError(f"--slo: burn rates need {WINDOW} in every query (or the JSON URL), "
                              f"e.g. increase(x[{WINDOW}]); {missing[0]!r} has none")
    window = args.window
    if window is not None:
        if not DURATION.match(window):
            raise ConfigError(f"--window {window!r} is not a Prometheus duration (such as 5m, 1h, 1d)")
        if not _uses_window(*given):
            raise ConfigError(f"--window needs {WINDOW} in the queries (or the JSON URL)")
    elif _uses_window(*given):
        if not pairs:
            raise ConfigError(f"the queries use {WINDOW}: give --window (or --slo for burn rates)")
        window = pairs[0].long
    min_volume = args.min_volume if args.min_volume is not None else 1.0

    if prometheus:
        from cxcheck.sources.prometheus import Prometheus

        source = Prometheus(prometheus, http, run.deadline, time=args.time, headers=headers)
        measure = _prometheus_measure(source, args.ratio_query, args.success_query, args.total_query, min_volume)
    else:
        from cxcheck.sources.jsonmetrics import JsonMetrics

        source = JsonMetrics(json_url, args.success_path, args.total_path, http, run.deadline, headers=headers)
        measure = _counts_measure(lambda window: source.fetch(json_url.replace(WINDOW, window) if window else None))
    resource = RealUsers(run, measure, window, pairs, args.slo, min_volume, [source])
    contexts = [
        SuccessContext(SUCCESS, _default(args.warning, "warning", "real"), _default(args.critical, "critical", "real"),
                       fmt_metric="{valueunit} success"),
        VolumeContext(run.state(args.low_volume_state)),
        StateContext(BURN),
    ]
    seen = set()
    for pair in pairs:
        for w in (pair.long, pair.short):
            if w not in seen:
                seen.add(w)
                contexts.append(PerfOnly(burn_label(w), warning=f"{pair.rate:g}" if pair.ticket else None,
                                         critical=None if pair.ticket else f"{pair.rate:g}"))
    return nagiosplugin.Check(resource, *contexts, RealUsersSummary(resource, args.min_volume))


def _checked_counts(success: float, total: float, what: str) -> Measure:
    if success < 0 or total < 0:
        raise ConfigError(f"{what}: negative counts (success {success:g}, total {total:g})")
    # increase()/rate() extrapolate each series on its own: 5.0634 successes of 5.0632 is the
    # same count, a clear excess is two queries counting different things.
    if success > total * 1.01 + 0.5:
        raise ConfigError(f"{what}: more successes ({success:g}) than transactions ({total:g}); "
                          "do both count the same thing over the same window?")
    return Measure(window=None, ratio=min(success / total, 1.0) if total > 0 else None, total=total, success=success)


def _counts_measure(fetch):
    def measure(window):
        success, total = fetch(window)
        result = _checked_counts(success, total, f"JSON endpoint{f' ({window})' if window else ''}")
        result.window = window
        return result

    return measure


def _prometheus_measure(source, ratio_query, success_query, total_query, min_volume):
    from cxcheck.sources.prometheus import NoData

    def sub(query, window):
        return query.replace(WINDOW, window) if window and query else query

    def measure(window):
        total = source.query(sub(total_query, window)) if total_query else None
        if total is not None and total < 0:
            raise ConfigError(f"--total-query gives {total:g}: a count cannot be negative")
        quiet = total is not None and total < max(min_volume, 1e-12)
        if ratio_query:
            try:
                ratio = source.query(sub(ratio_query, window))
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
            success = source.query(sub(success_query, window))
        except NoData:
            if not quiet:
                raise
            success = 0.0
        result = _checked_counts(success, total, "--success-query and --total-query")
        result.window = window
        return result

    return measure


# ---------------------------------------------------------------------------------------------


@runtime.plugin("CX TRANSACTION", build_parser)
def main(run: runtime.Run):
    args = run.args
    modes = [name for name, value in (("--scenario", args.scenario), ("--prometheus", args.prometheus),
                                      ("--json-url", args.json_url)) if value]
    if len(modes) != 1:
        raise ConfigError("give one of --scenario FILE (synthetic), --prometheus URL or --json-url URL "
                          f"(real users){'' if not modes else '; got ' + ', '.join(modes)}")
    synthetic_only = ["attempts", "interval", "time_warning", "time_critical", "var", "var_env", "var_file"]
    real_only = ["ratio_query", "success_query", "total_query", "time", "success_path", "total_path",
                 "min_volume", "window", "slo", "burn_windows", "bearer_env", "bearer_file"]
    prometheus_only = ["ratio_query", "success_query", "total_query", "time"]
    json_only = ["success_path", "total_path"]
    wrong = {"--scenario": real_only, "--prometheus": synthetic_only + json_only,
             "--json-url": synthetic_only + prometheus_only}[modes[0]]
    for name in wrong:
        if getattr(args, name):
            raise ConfigError(f"--{name.replace('_', '-')} does not go with {modes[0]}")
    if args.scenario:
        return synthetic_check(run, args)
    return real_check(run, args)


if __name__ == "__main__":
    main()
