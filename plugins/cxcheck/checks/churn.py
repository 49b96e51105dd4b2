"""check_cx_churn: are we losing customers faster than we should?

The share lost over --window: from a CRM, deals lost among the deals closed in the window (lost /
(won + lost)) in Pipedrive or HubSpot, with the value lost in the account's currency and the
reasons given; from an export of customer or subscription events (CSV or JSON Lines), the
customers who cancelled in the window among those active at its start. Judged against ceilings
in % (-w 20 -c 30) or any Nagios range, and against the same window --compare-to earlier
(default: the window just before): --max-rise PERCENT is relative (10% -> 15% is a 50% rise). Under --min-volume
nothing is judged; with --significant a ceiling counts only when the whole Wilson interval is
above it, a rise only when the two-proportion z-test says the windows differ.
"""

from __future__ import annotations

from cxcheck import runtime
from cxcheck.bases.rates import Rate, add_rate_arguments, rate_check

EXAMPLES = """
  # Pipedrive: lost share of the deals closed in the last 30 days, warn above 40 %, critical above 60 %
  check_cx_churn --pipedrive acme --token-file /etc/cxcheck/pipedrive.token --window 30d -w 40 -c 60

  # HubSpot, a custom pipeline's stages, warn when the lost share rose by half from the month before
  check_cx_churn --hubspot --token-env HUBSPOT_TOKEN --won-stage 1234567 --lost-stage 1234568 \\
      --window 30d --max-rise 50 --significant --min-volume 20

  # subscription events exported nightly: cancellations among the active customers, last 30 days
  check_cx_churn --events-csv /var/lib/cx/subscriptions.csv --window 30d -w 3 -c 5 --currency EUR
"""


def money(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


class ChurnRate(Rate):
    name, kind, what = "churn", "churn", "the customers"
    base, hits, worse = "base", "lost", "rise"
    volume = "deals closed (customers active at the start)"
    default_window = "30d"
    default_compare = None
    rows = True

    def read(self, source, windows, rejects):
        tallies = source.read_churn(windows, rejects)
        return tallies, source.rows

    def base_words(self, churn):
        return churn.noun

    def counts(self, churn):
        return f"{churn.lost} lost of {churn.base} {churn.noun}"

    def parts(self, churn):
        return [("lost_value", churn.lost_value or 0, "")] if churn.currency or churn.values else []

    def highlights(self, churn):
        text = ""
        if churn.lost_value:
            text += f", lost value {money(churn.lost_value)}{' ' + churn.currency if churn.currency else ''}"
        if churn.reasons:
            reason, times = churn.reasons.most_common(1)[0]
            text += f", top reason {reason} ({times})"
        return text

    def details(self, churn):
        lines = [churn.note] if churn.note else []
        if churn.values:
            other = ", ".join(f"{money(value)} {currency}" for currency, value in churn.other_currencies().items())
            lines.append(f"lost value: {money(churn.lost_value or 0)} {churn.currency}".rstrip()
                         + (f"; in other currencies, not converted: {other}" if other else ""))
        if churn.reasons:
            lines.append("lost reasons: " + ", ".join(f"{reason} {n}" for reason, n in churn.reasons.most_common(5)))
        return lines


CHURN = ChurnRate()


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_churn", description=__doc__.strip(), examples=EXAMPLES, timeout=60.0,
                            metric_help="the churn in %% (ceilings, e.g. -w 20 -c 30)",
                            thresholds=runtime.CEILING)
    add_rate_arguments(parser, CHURN)
    parser.add_http_options()
    return parser


@runtime.plugin("CX CHURN", build_parser)
def main(run: runtime.Run):
    return rate_check(run, CHURN)


if __name__ == "__main__":
    main()
