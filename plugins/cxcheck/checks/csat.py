"""check_cx_csat: is the share of satisfied customers above its floor?

Reads satisfaction ratings where they live (an export, a JSON endpoint, Zendesk, HubSpot,
Delighted, Typeform, SurveyMonkey), computes the CSAT, the share of satisfied answers (4-5 on a
1-5 scale unless --scale and --satisfied say otherwise; good/bad ratings: the good ones), over a
window with its Wilson interval, and judges it against floors (-w 80: -c 70:). A survey is a
sample: with --significant the state leaves OK only when the whole interval lies below the floor,
and under --min-responses nothing is judged at all. Zendesk also counts the ratings offered and
not answered: the response rate.
"""

from __future__ import annotations

import argparse
import re

from cxcheck import runtime
from cxcheck.bases.survey import Statistic, add_survey_arguments, survey_check
from cxcheck.sources.scores import Scale

EXAMPLES = """
  # an export of 1-5 ratings, the last 30 days: warn under 80 %, critical under 70 %
  check_cx_csat --csv /var/lib/cx/csat.csv --window 30d -w 80: -c 70:

  # a 1-7 scale where 6 and 7 count as satisfied; page only on a significant breach
  check_cx_csat --csv ratings.csv --scale 1-7 --satisfied 6-7 -w 85: --significant

  # Zendesk's good/bad ratings (API token of an agent), with the response rate in perfdata
  check_cx_csat --zendesk acme --zendesk-email ops@acme.example --token-env ZENDESK_TOKEN -w 80: -c 70:

  # HubSpot's CSAT survey, Delighted, Typeform and SurveyMonkey CSAT questions
  check_cx_csat --hubspot --token-env HUBSPOT_TOKEN -w 80:
  check_cx_csat --delighted --token-file /etc/cxcheck/delighted.key --window 7d --max-drop 10
  check_cx_csat --typeform AbCdEf --field-ref csat --token-env TF_TOKEN -w 80:
"""

SCALE = re.compile(r"^\s*(\d{1,3})\s*(?:-|\.\.|:)\s*(\d{1,3})\s*$")
GOOD_BAD = Scale(0, 1, kind="CSAT", satisfied=(1, 1), words={"good": 1, "bad": 0})


def scale_option(text: str) -> Scale:
    """--scale: LOW-HIGH whole numbers (1-5, 1-7, 0-10), or good-bad."""
    if text.strip().lower() in ("good-bad", "good/bad", "bad-good"):
        return GOOD_BAD
    match = SCALE.match(text)
    if not match or not int(match.group(1)) < int(match.group(2)) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a scale such as 1-5, 1-7, 0-10 or good-bad")
    return Scale(int(match.group(1)), int(match.group(2)), kind="CSAT")


def satisfied_option(text: str) -> tuple[int, int | None]:
    """--satisfied: LOW-HIGH, LOW: (to the top) or one answer."""
    low, sep, high = re.sub(r"\s+", "", text).replace("..", "-").replace(":", "-").partition("-")
    try:
        return int(low), (int(high) if high else None) if sep else int(low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a range of answers such as 4-5, 6: or 5") from None


def csat_scale(args) -> Scale:
    """The answers and which of them are satisfied; by default the top two (4-5 on 1-5)."""
    scale = args.scale
    if scale.words:
        if args.satisfied is not None:
            raise runtime.ConfigError("--satisfied is for numeric scales: on good-bad, good is satisfied")
        return scale
    low, high = args.satisfied if args.satisfied is not None else (scale.high - 1, scale.high)
    high = scale.high if high is None else high
    if not scale.low <= low <= high <= scale.high:
        raise runtime.ConfigError(f"--satisfied {low}-{high} is not within the scale {scale}")
    if low == scale.low:
        raise runtime.ConfigError(f"--satisfied {low}-{high} counts the lowest answer of {scale} as satisfied")
    return Scale(scale.low, scale.high, kind="CSAT", satisfied=(low, high))


class CustomerSatisfaction(Statistic):
    name, label, uom, bounds = "CSAT", "csat", "%", (0, 100)

    def __init__(self, scale: Scale):
        self.scale = scale

    def tally(self, counts):
        from cxcheck.stats import Proportion

        low, high = self.scale.satisfied
        return Proportion(hits=sum(counts[low:high + 1]), responses=sum(counts))

    def parts(self, tally):
        return [("satisfied", tally.hits, "c"), ("dissatisfied", tally.misses, "c")]

    def breakdown(self, tally):
        low, high = self.scale.satisfied
        which = "good" if self.scale.words else f"{low}" if low == high else f"{low}-{high}"
        return f"satisfied {tally.hits} ({which} on {self.scale}), dissatisfied {tally.misses}"


DECLARED = CustomerSatisfaction(Scale(1, 5, kind="CSAT", satisfied=(4, 5)))


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_csat", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the CSAT in percent (floors, e.g. -w 80: -c 70:)",
                            thresholds=runtime.FLOOR)
    add_survey_arguments(parser, DECLARED)
    answers = parser.add_argument_group("what satisfied means")
    answers.add_argument("--scale", type=scale_option, default=scale_option("1-5"), metavar="LOW-HIGH",
                         help="the answers of the question: 1-5 (default), 1-7, 0-10, ..., or good-bad "
                              "(Zendesk's ratings are good/bad and fit any scale)")
    answers.add_argument("--satisfied", type=satisfied_option, metavar="RANGE",
                         help="the answers that count as satisfied, such as 4-5 or 6: (default: the top two)")
    parser.add_http_options()
    return parser


@runtime.plugin("CX CSAT", build_parser)
def main(run: runtime.Run):
    return survey_check(run, CustomerSatisfaction(csat_scale(run.args)))


if __name__ == "__main__":
    main()
