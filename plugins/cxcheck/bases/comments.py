"""What customers write, for every check that reads their answers (--sentiment on check_cx_nps,
check_cx_csat, check_cx_ratings): the share of negative comments in the window with its Wilson
interval, the same share in the previous window, and the themes of the negative ones.

One comment's score is often wrong; over a window of comments the share is what a human reader
would say within a few points (bench/bench_sentiment.py). So it judges trends, never a single
comment: --warning-negative/--critical-negative are ceilings on the share, and with --significant
only a breach by the whole interval counts. The scorer (cxcheck.sentiment, and VADER for English)
is imported only by runs that ask for --sentiment.
"""

from __future__ import annotations

import nagiosplugin

from cxcheck import runtime
from cxcheck.runtime import fmt_number as points
from cxcheck.runtime import perf_value

LABEL = "negative_share"
SENTIMENT_HELP = ("score the comments customers wrote, offline (VADER for English, a packaged lexicon for French), "
                  "and report the share of negative ones with its interval, its change from the previous window "
                  "and their themes. It judges trends over many comments, not a single comment")


def add_sentiment_arguments(parser: runtime.Parser) -> None:
    group = parser.add_argument_group("what customers write (--sentiment)")
    group.add_argument("--sentiment", action="store_true", help=SENTIMENT_HELP)
    group.add_argument("--language", choices=["en", "fr", "auto"], default="auto",
                       help="of the comments: en, fr, or auto (each comment's own, by its words; default)")
    parser.add_range_pair("--warning-negative", "--critical-negative", runtime.CEILING, group=group, helps=(
        "ceiling on the share of negative comments in percent, such as 30",
        "ceiling on the share of negative comments in percent, such as 50"))
    group.add_argument("--themes", type=runtime.positive_int, default=5, metavar="N",
                       help="how many themes of the negative comments the long output lists (default 5)")


def check_sentiment_arguments(args) -> None:
    if not args.sentiment and (args.warning_negative or args.critical_negative):
        raise runtime.ConfigError("--warning-negative and --critical-negative judge --sentiment: add it")


class Comments:
    """The comments of two windows, scored as they come: (since, until] now, and the one before."""

    def __init__(self, language: str, since: float, until: float, window: float):
        from cxcheck.sentiment import NEGATIVE_AT, scorer
        from cxcheck.sentiment.themes import Themes

        self.score, self.negative_at = scorer(language), NEGATIVE_AT
        self.since, self.until, self.window = since, until, window
        self.counts = {"current": [0, 0], "previous": [0, 0]}      # [negative, scored]
        self.themes = Themes()

    def add(self, when: float, text) -> None:
        if not isinstance(text, str) or not text.strip():
            return
        if self.since < when <= self.until:
            slot = "current"
        elif self.since - self.window < when <= self.since:
            slot = "previous"
        else:
            return
        negative = self.score(text) <= self.negative_at
        counts = self.counts[slot]
        counts[0] += negative
        counts[1] += 1
        if negative and slot == "current":
            self.themes.add(text)

    def share(self, slot: str = "current"):
        from cxcheck.stats import Proportion

        negative, scored = self.counts[slot]
        return Proportion(hits=negative, responses=scored)

    def metric(self, confidence: float):
        self.interval = self.share().interval(confidence)
        return nagiosplugin.Metric(LABEL, perf_value(self.share().value), "%", min=0, max=100, context=LABEL)


def negative_share_context(verdicts, args):
    """Ceilings on the negative share; with --significant, only a breach by the whole interval."""
    from cxcheck.bases.samples import StatisticContext, in_unit

    return StatisticContext(LABEL, verdicts, args.warning_negative, args.critical_negative, args.significant,
                            in_unit("%"), interval_of=lambda resource: resource.comments.interval)


def share_words(comments: Comments) -> str:
    """For the status line: 'negative comments 34% (+12 points)'."""
    current, previous = comments.share(), comments.share("previous")
    if current.value is None:
        return "no comments"
    text = f"negative comments {points(current.value)}%"
    if previous.value is not None:
        change = current.value - previous.value
        text += f" ({'+' if change >= 0 else ''}{points(change)} points)"
    return text


def lines(comments: Comments, most: int, confidence: float, window) -> list[str]:
    """The long output: the share with its interval, the previous window's, the themes."""
    from cxcheck.sentiment.themes import describe

    current, previous = comments.share(), comments.share("previous")
    if not current.responses:
        return [f"sentiment: no comments in {window}"]
    low, high = comments.interval
    out = [f"sentiment: {current.hits} of {current.responses} comments negative, {points(current.value)}% "
           f"({confidence * 100:g}% CI {points(low)}..{points(high)}%) over {window}"]
    if previous.responses:
        out.append(f"sentiment: previous {window}: {previous.hits} of {previous.responses} negative, "
                   f"{points(previous.value)}%")
    themes = comments.themes.top(most)
    if themes:
        out.append(f"themes of the negative comments: {describe(themes)}")
    return out
