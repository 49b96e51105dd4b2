"""check_cx_checkout: how long does a customer's checkout take, step by step?

Runs a journey described in a scenario file (see templates/scenarios/) as a customer's browser
would: one session, cookies kept, forms submitted, redirects followed. The main metric is the
journey's total time in seconds (`time`, the median with --runs N, plus `time_max`); every step's
time is in perfdata as `step_<name>` with that step's thresholds (from the scenario, or from
--step-warning/--step-critical). A step over its range raises the state and is named in the
status line; a step that fails (an expectation, a form, a transport error) is CRITICAL, named
with its reason, and the steps after it are `U` in perfdata.
"""

from __future__ import annotations

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases import journey_checks
from cxcheck.runtime import ConfigError, MaybeContext, fmt_seconds

MAX_RUNS = 20
TIME_MAX = "time_max"

EXAMPLES = """
  # the demo shop's HTML checkout; the password from the environment, never on the command line
  SHOP_PASSWORD=... check_cx_checkout --scenario templates/scenarios/shop-checkout-html.yaml \\
      --var base_url=https://shop.example.com --var-env password=SHOP_PASSWORD -w 4 -c 8

  # median of 3 runs; the payment step warns over 2 s and is critical over 5 s
  check_cx_checkout --scenario /etc/cxcheck/checkout.yaml --var-file password=/etc/cxcheck/shop.pw \\
      --runs 3 --step-warning payment=2 --step-critical payment=5 -t 60

  # a checkout through a JSON API (token extracted at login), one request per line at -v
  check_cx_checkout --scenario templates/scenarios/shop-checkout-api.yaml \\
      --var base_url=https://shop.example.com --var-env password=SHOP_PASSWORD -v

  # the checkout in headless Chromium (browser: true), a PNG of the page where a step failed
  check_cx_checkout --scenario templates/scenarios/shop-checkout-browser.yaml \\
      --var base_url=https://shop.example.com --var-env password=SHOP_PASSWORD -t 40 \\
      --screenshot-dir /var/lib/cxcheck/screenshots
"""


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_checkout", description=__doc__.strip(),
                            examples=EXAMPLES, timeout=30.0,
                            metric_help="the journey's total time in seconds (the median with --runs)",
                            thresholds=runtime.CEILING)
    journey = parser.add_argument_group("journey")
    journey.add_argument("--scenario", metavar="FILE", required=True, help="the journey (YAML scenario file)")
    journey.add_argument("--runs", type=runtime.positive_int, default=1, metavar="N",
                         help=f"run the journey N times (at most {MAX_RUNS}) within the deadline and report "
                              "the median and maximum of the total and the median of each step (default 1)")
    journey.add_argument("--step-warning", type=runtime.name_value, action="append", default=[],
                         metavar="STEP=RANGE", help="warning range for one step's time in seconds, overrides "
                                                    "the scenario's, repeatable")
    journey.add_argument("--step-critical", type=runtime.name_value, action="append", default=[],
                         metavar="STEP=RANGE", help="critical range for one step's time in seconds, overrides "
                                                    "the scenario's, repeatable")
    journey_checks.add_variable_options(journey)
    journey_checks.add_screenshot_options(journey)
    parser.add_http_options()
    return parser


class Checkout(nagiosplugin.Resource):
    """Runs the journey --runs times (a fresh session each), stopping at the first failed run."""

    def __init__(self, run: runtime.Run, journey, runs: int):
        self.run = run
        self.journey = journey
        self.runs = runs
        self.results = []

    @property
    def name(self):
        return "CX CHECKOUT"

    def probe(self):
        from cxcheck.journey.results import trace_lines

        for number in range(1, self.runs + 1):
            self.journey.on_step = self._on_step(number)
            result = self.journey.run()
            self.results.append(result)
            prefix = f"run {number}: " if self.runs > 1 else ""
            self.run.trace(prefix + line for line in trace_lines(result))
            journey_checks.evidence_longoutput(self.run, result, prefix)
            if not result.ok:
                break
        last = self.results[-1]
        yield journey_checks.outcome_metric(journey_checks.Outcome.of(last))
        if not last.ok:
            # The run that failed is the one to show: its steps up to the failure, U after it.
            total = total_max = None
            durations = {s.name: s.elapsed for s in last.steps}
        elif len(self.results) == 1:        # the usual single run: no statistics module to import
            total = total_max = last.total
            durations = {s.name: s.elapsed for s in last.steps}
        else:
            import statistics

            totals = [r.total for r in self.results]
            total, total_max = statistics.median(totals), max(totals)
            durations = {s.name: statistics.median(r.step(s.name).elapsed for r in self.results)
                         for s in last.steps}
        yield nagiosplugin.Metric(journey_checks.TIME, journey_checks.seconds(total), "s", min=0,
                                  context=journey_checks.TIME)
        if self.runs > 1:
            yield nagiosplugin.Metric(TIME_MAX, journey_checks.seconds(total_max), "s", min=0, context=TIME_MAX)
        yield from journey_checks.step_metrics(durations)

    def _on_step(self, number):
        prefix = f"run {number} of {self.runs}, " if self.runs > 1 else ""

        def on_step(name):
            self.run.activity = f"{prefix}step {name}"

        return on_step


class CheckoutSummary(nagiosplugin.Summary):
    def __init__(self, resource: Checkout, journey_name: str, steps: int):
        self.resource = resource
        self.journey_name = journey_name
        self.steps = steps

    def _time(self, results) -> str:
        text = f"{self.journey_name} {journey_checks.timed(results)}"
        runs = len(self.resource.results)
        if runs > 1:
            text += f" median of {runs} runs, max {fmt_seconds(results[TIME_MAX].metric.value)}"
        return text

    def ok(self, results):
        return f"{self._time(results)}, {self.steps} steps"

    def problem(self, results):
        outcome = results[journey_checks.OUTCOME]
        if outcome.state != nagiosplugin.Ok:
            text = f"{self.journey_name} failed at {outcome.hint}"
            if self.resource.runs > 1:
                text += f" (run {len(self.resource.results)} of {self.resource.runs})"
            return text
        return self._time(results) + (journey_checks.slowest(results, others=True) or f", {self.steps} steps")

    def verbose(self, results):
        return []


@runtime.plugin("CX CHECKOUT", build_parser)
def main(run: runtime.Run):
    from cxcheck.journey.scenario import load

    args = run.args
    if args.runs > MAX_RUNS:
        raise ConfigError(f"--runs {args.runs}: at most {MAX_RUNS}")
    scenario = load(args.scenario)
    ranges = journey_checks.step_ranges(args, scenario.steps)
    plain, secret = journey_checks.variables_from_args(args)
    journey = journey_checks.make_journey(run, scenario, plain, secret)
    checkout = Checkout(run, journey, args.runs)
    return nagiosplugin.Check(
        checkout,
        journey_checks.OutcomeContext(run.timeout_state),
        MaybeContext(journey_checks.TIME, args.warning, args.critical, fmt_metric="journey took {valueunit}"),
        MaybeContext(TIME_MAX, fmt_metric="slowest run took {valueunit}"),
        *journey_checks.step_contexts(ranges),
        CheckoutSummary(checkout, scenario.name, len(scenario.steps)),
    )


if __name__ == "__main__":
    main()
