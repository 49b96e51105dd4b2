"""check_cx_payments: do customers' payments go through?

The share of payment attempts that failed over --window (failed / (failed + succeeded), in %;
pending attempts have no outcome yet and are counted apart), from Stripe's charges: each charge
is one attempt, a payment intent that never reached a charge was never attempted. Judged against
ceilings in % (-w 5 -c 10) and against the same window --compare-to earlier (default: a week, the
same hours of the same weekday): --max-rise PERCENT is relative (2% -> 3% is a 50% rise), with
--significant only when the two-proportion z-test says the two windows differ. Under
--min-volume attempts nothing is judged (--low-volume-state, default OK, said).

The long output names the top decline codes (Stripe's outcome.reason, else failure_code), the
amount that failed per currency, and two more rates of the window's successful payments: the
share refunded since (in part or in full) and the disputes received in the window over them
(Stripe's dispute activity, what card networks watch). A live secret key is said to be more than
a read needs; a test-mode key is said in the status line.
"""

from __future__ import annotations

from cxcheck import runtime
from cxcheck.bases.rates import Rate, add_rate_arguments, rate_check
from cxcheck.runtime import fmt_percent

EXAMPLES = """
  # the last day's card payments: warn above 5 % failed, critical above 10 %, or when the share
  # rose by half from the same day a week before (significantly), once 50 payments were attempted
  check_cx_payments --stripe --token-env STRIPE_KEY --window 1d -w 5 -c 10 --max-rise 50 --significant \\
      --min-volume 50

  # the last hour against the hour before, from a restricted key in a file
  check_cx_payments --stripe --token-file /etc/cxcheck/stripe.key --window 1h --compare-to 1h -w 10 -c 20
"""
TOP_REASONS = 5


def money(amounts) -> str:
    return ", ".join(f"{value:,.2f} {currency}" for currency, value in sorted(amounts.items()))


class FailureRate(Rate):
    name, kind, what = "failure_rate", "payments", "the payments"
    words = "failure rate"
    base, hits, worse = "payments", "failed", "rise"
    volume = "payment attempts"
    default_window = "1d"
    rows = True

    def read(self, source, windows, rejects):
        return source.read_payments(windows, rejects), source.rows

    def base_words(self, payments):
        return "payments attempted"

    def counts(self, payments):
        pending = f", {payments.pending} pending" if payments.pending else ""
        return f"{payments.failed} failed of {payments.attempted} payments{pending}"

    def parts(self, payments):
        return [("refund_rate", payments.refund_rate, "%"), ("dispute_rate", payments.dispute_rate, "%")]

    def highlights(self, payments):
        text = ""
        if payments.reasons:
            reason, times = payments.reasons.most_common(1)[0]
            text += f", top decline {reason} ({times})"
        if any(note.startswith("test mode") for note in payments.notes):
            text += ", test mode"
        return text

    def details(self, payments):
        lines = list(payments.notes)
        if payments.reasons:
            lines.append("declines: " + ", ".join(f"{reason} {n}" for reason, n in
                                                  payments.reasons.most_common(TOP_REASONS)))
            others = sum(payments.reasons.values()) - sum(n for _, n in payments.reasons.most_common(TOP_REASONS))
            if others:
                lines[-1] += f", {others} more"
        if payments.failed_amounts:
            lines.append(f"failed amount: {money(payments.failed_amounts)} (not converted)")
        lines.append(f"refunded since: {payments.refunded} of {payments.succeeded} successful payments "
                     f"({fmt_percent(payments.refund_rate)})")
        if payments.disputes is None:
            lines.append("disputes: not read (--no-disputes, no dispute column or --disputes-query)")
        else:
            lines.append(f"disputes received in the window: {payments.disputes}, "
                         f"{fmt_percent(payments.dispute_rate)} of the successful payments")
        return lines


FAILURE_RATE = FailureRate()


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_payments", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the failed share of payment attempts in %% (ceilings, e.g. -w 5 -c 10)",
                            thresholds=runtime.CEILING)
    add_rate_arguments(parser, FAILURE_RATE)
    parser.add_http_options()
    return parser


@runtime.plugin("CX PAYMENTS", build_parser)
def main(run: runtime.Run):
    return rate_check(run, FAILURE_RATE)


if __name__ == "__main__":
    main()
