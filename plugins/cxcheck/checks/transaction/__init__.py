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
Windows are durations such as 90m, 1.5d, 1h30m or bare seconds: a query gets them as Prometheus
writes them (1.5d as 1d12h), a JSON URL as written.
"""

from __future__ import annotations

from cxcheck import runtime
from cxcheck.bases import journey_checks
from cxcheck.bases.samples import add_minimum
from cxcheck.runtime import ConfigError
from cxcheck.slo import DEFAULT_BURN_WINDOWS, BurnPair, parse_burn_windows

__all__ = ["BurnPair", "build_parser", "main", "parse_burn_windows"]

# This module is the options and the dispatch; each mode is imported only when chosen:
# synthetic (attempts), realusers (measures from a source), judged in verdicts with the SLO
# maths of cxcheck.slo.

MAX_ATTEMPTS = 50

EXAMPLES = """
  # synthetic: 3 attempts of the API checkout, a fresh session each, 5 s apart, within 60 s
  check_cx_transaction --scenario templates/scenarios/shop-checkout-api.yaml \\
      --var base_url=https://shop.example.com --var-env password=SHOP_PASSWORD --interval 5 -t 60

  # real users, Prometheus: the share of orders that succeeded over the last 15 minutes
  check_cx_transaction --prometheus http://prometheus:9090 \\
      --success-query 'sum(increase(cxshop_orders_total{outcome="success"}[15m]))' \\
      --total-query 'sum(increase(cxshop_orders_total[15m]))' --min-volume 20 -w 99: -c 95:

  # real users, error-budget burn rate against a 99.9 % objective (SRE workbook windows)
  check_cx_transaction --prometheus https://prometheus:9090 --token-env PROM_TOKEN --slo 99.9 \\
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
                                        "real users -c 50:)",
                            thresholds=runtime.FLOOR)
    syn = parser.add_argument_group("synthetic transactions")
    syn.add_argument("--scenario", metavar="FILE", help="the journey to attempt (YAML scenario file)")
    syn.add_argument("--attempts", type=_attempts, metavar="N",
                     help=f"attempts, each in a fresh session (default 3, at most {MAX_ATTEMPTS})")
    syn.add_argument("--interval", type=runtime.non_negative_float, metavar="SECONDS",
                     help="pause between attempts (default 0); attempts and pauses must fit in -t")
    parser.add_range_pair("--time-warning", "--time-critical", runtime.CEILING, group=syn, helps=(
        "warning range for the median time of the attempts that succeeded, seconds",
        "critical range for the median time of the attempts that succeeded, seconds"))
    journey_checks.add_variable_options(syn)
    journey_checks.add_screenshot_options(syn)

    from cxcheck.sources.registry import add_source_arguments

    add_source_arguments(parser, "transactions", "the real users' transactions")
    real = parser.add_argument_group("real users: volume, window and burn rate")
    add_minimum(real, "--min-volume", None, "transactions", "ok", "1: no transaction at all",
                "; it needs the total", runtime.non_negative_float)
    real.add_argument("--window", type=runtime.Duration, metavar="DURATION",
                      help="the window replacing ${window} for the success metric (default: the first "
                           "burn pair's long window)")
    real.add_argument("--slo", type=_slo, metavar="PERCENT", help="the success objective, e.g. 99.9, for burn rates")
    real.add_argument("--burn-windows", type=parse_burn_windows, metavar="SPEC",
                      help="LONG/SHORT:RATE[:ticket] pairs, comma-separated (default with --slo: "
                           f"'{DEFAULT_BURN_WINDOWS}')")
    parser.add_http_options()
    return parser


def _attempts(text: str) -> int:
    value = runtime.positive_int(text)
    if value > MAX_ATTEMPTS:
        raise ConfigError(f"--attempts {value}: at most {MAX_ATTEMPTS}")
    return value


def _slo(text: str) -> float:
    import argparse

    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage") from None
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text!r}: an objective between 0 and 100 %, e.g. 99.9")
    return value


@runtime.plugin("CX TRANSACTION", build_parser)
def main(run: runtime.Run):
    args = run.args
    modes = [name for name, value in (("--scenario", args.scenario), ("--prometheus", args.prometheus),
                                      ("--json-url", args.json_url)) if value]
    if len(modes) != 1:
        raise ConfigError("give one of --scenario FILE (synthetic), --prometheus URL or --json-url URL "
                          f"(real users){'' if not modes else '; got ' + ', '.join(modes)}")
    synthetic_only = ["attempts", "interval", "time_warning", "time_critical", "var", "var_env", "var_file",
                      "screenshot_dir"]
    real_only = ["ratio_query", "success_query", "total_query", "time", "success_path", "total_path",
                 "min_volume", "window", "slo", "burn_windows", "token_env", "token_file"]
    prometheus_only = ["ratio_query", "success_query", "total_query", "time"]
    json_only = ["success_path", "total_path"]
    wrong = {"--scenario": real_only, "--prometheus": synthetic_only + json_only,
             "--json-url": synthetic_only + prometheus_only}[modes[0]]
    for name in wrong:
        if getattr(args, name):
            raise ConfigError(f"--{name.replace('_', '-')} does not go with {modes[0]}")
    if args.scenario:
        from cxcheck.checks.transaction.synthetic import synthetic_check

        return synthetic_check(run, args)
    from cxcheck.checks.transaction.realusers import real_check

    return real_check(run, args)

