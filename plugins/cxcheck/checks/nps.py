"""check_cx_nps: is the Net Promoter Score above its floor?

Reads survey responses where they live (an export, a JSON endpoint, SurveyMonkey, Delighted,
Typeform), computes the NPS over a window with its confidence interval, and judges it against
floors (-w 30: -c 0:). A survey is a sample: with --significant the state leaves OK only when the
whole interval lies below the floor, and under --min-responses nothing is judged at all.
"""

from __future__ import annotations

from cxcheck import runtime
from cxcheck.bases.survey import Statistic, add_survey_arguments, survey_check
from cxcheck.sources.scores import NPS_SCALE

EXAMPLES = """
  # an export, the last 30 days: warn under 30, critical under 0
  check_cx_nps --csv /var/lib/cx/nps.csv --window 30d -w 30: -c 0:

  # only page when the drop below the floor is statistically significant at 95 %
  check_cx_nps --csv /var/lib/cx/nps.csv -w 30: -c 10: --significant --min-responses 50

  # Delighted, warn when the NPS dropped more than 10 points from the previous 7 days
  check_cx_nps --delighted --token-file /etc/cxcheck/delighted.key --window 7d --max-drop 10

  # SurveyMonkey and Typeform
  check_cx_nps --surveymonkey 123456789 --question-id 987654 --token-env SM_TOKEN -w 30:
  check_cx_nps --typeform AbCdEf --field-ref nps --token-env TF_TOKEN -w 30:
"""


class NetPromoterScore(Statistic):
    name, label, uom, bounds, scale = "NPS", "nps", "", (-100, 100), NPS_SCALE

    def tally(self, counts):
        from cxcheck.stats import Tally

        return Tally.of_counts(counts)

    def parts(self, tally):
        return [(label, tally.share(count), "%") for label, count in
                (("promoters", tally.promoters), ("passives", tally.passives), ("detractors", tally.detractors))]

    def breakdown(self, tally):
        return f"promoters {tally.promoters}, passives {tally.passives}, detractors {tally.detractors}"


NPS = NetPromoterScore()


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_nps", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the NPS (floors, e.g. -w 30: -c 0:)",
                            thresholds=runtime.FLOOR)
    add_survey_arguments(parser, NPS)
    parser.add_http_options()
    return parser


@runtime.plugin("CX NPS", build_parser)
def main(run: runtime.Run):
    return survey_check(run, NPS)


if __name__ == "__main__":
    main()
