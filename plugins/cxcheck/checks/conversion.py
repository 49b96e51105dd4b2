"""check_cx_conversion: do customers who start the funnel still finish it?

The share of customers who entered a funnel and completed it over --window, from Mixpanel (a saved
funnel), Prometheus (counters: entered and converted, or a ratio) or any JSON endpoint (JMESPath).
Judged against floors in % (-w 2: -c 1:) and against the same window --compare-to earlier (default
a week): --max-drop PERCENT is relative (3% -> 2.4% is a 20% drop). A quiet hour should not page:
under --min-volume customers nothing is judged (--low-volume-state, default OK, said), and with
--significant a drop counts only when the two-proportion z-test says the two windows differ (and a
floor only when the whole Wilson interval is below it). The step that loses the largest share of
its customers is named.

Mixpanel: the Query API allows 60 queries an hour and 5 at once per project, shared by everything
that queries the project; a run costs one query per window (two; one with --no-compare). Check
every 5 minutes or less often. Mixpanel counts by date in the project's time zone
(--project-timezone): --window is whole days, the last complete ones before --now.
"""

from __future__ import annotations

from cxcheck import runtime
from cxcheck.bases.rates import Rate, add_rate_arguments, rate_check
from cxcheck.runtime import fmt_percent, perf_label

EXAMPLES = """
  # Mixpanel saved funnel 7509 (EU data residency) over the last whole day, against the same day a
  # week before: warn under 2 %, critical under 1 %, or when conversion dropped more than 25 %
  check_cx_conversion --mixpanel 12345 --funnel-id 7509 --region eu --service-account cx-monitor.1a2b3c \\
      --token-file /etc/cxcheck/mixpanel.secret --project-timezone Europe/Paris --window 1d \\
      -w 2: -c 1: --max-drop 25 --significant

  # Prometheus counters of the shop: baskets started and orders placed over the last hour
  check_cx_conversion --prometheus http://prometheus:9090 \\
      --entered-query 'sum(increase(cxshop_requests_total{path="/basket/add/"}[${window}]))' \\
      --step-query 'payment=sum(increase(cxshop_requests_total{path="/checkout/payment/",method="GET"}[${window}]))' \\
      --converted-query 'sum(increase(cxshop_orders_total{outcome="success"}[${window}]))' \\
      --window 1h --min-volume 50 --max-drop 30 --significant

  # any JSON endpoint taking the window as parameters
  check_cx_conversion --json-url 'https://shop.example.com/stats/funnel?from=${since}&to=${until}' \\
      --entered-path 'sessions.checkout_started' --converted-path 'sessions.ordered' -w 1.5:
"""


class Conversion(Rate):
    name, kind, what = "conversion", "funnel", "the funnel counts"
    base, hits, worse = "entered", "converted", "drop"
    volume = "customers entering the funnel"
    default_window = "1d"

    def read(self, source, windows, rejects):
        return [source.read_funnel(window.since, window.until) for window in windows], 0

    def counts(self, funnel):
        return f"{funnel.converted} of {funnel.entered} entered"

    def parts(self, funnel):
        return [(f"step_{perf_label(step.name)}", share, "%") for step, share in funnel.step_conversions()]

    def highlights(self, funnel):
        worst = funnel.worst_step() if len(funnel.steps) > 2 else None
        return f", worst step {worst[0].name} {fmt_percent(worst[1])}" if worst else ""

    def details(self, funnel):
        lines = [funnel.note] if funnel.note else []
        shares = dict((id(step), share) for step, share in funnel.step_conversions())
        for number, step in enumerate(funnel.steps, 1):
            share = shares.get(id(step))
            kept = "" if number == 1 else f" ({fmt_percent(share)} of the step before)"
            lines.append(f"step {number} {step.name}: {step.count}{kept}")
        return lines


CONVERSION = Conversion()


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_conversion", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the conversion in %% (floors, e.g. -w 2: -c 1:)",
                            thresholds=runtime.FLOOR)
    add_rate_arguments(parser, CONVERSION)
    parser.add_http_options()
    return parser


@runtime.plugin("CX CONVERSION", build_parser)
def main(run: runtime.Run):
    return rate_check(run, CONVERSION)


if __name__ == "__main__":
    main()
