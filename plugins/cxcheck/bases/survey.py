"""What every survey check shares (NPS, CSAT, ...): read the answers of a window from a source,
tally them with the check's statistic, and judge in the order the numbers are trusted: rows
readable (--max-rejected), enough answers (--min-responses), then the floor (with
--significant: the whole confidence interval) and the drop from the previous window.

A survey plugin declares a `Statistic` (name, perfdata label, scale of the answers, how they
tally and which parts go to perfdata) and its parser; `survey_check()` does the rest.
"""

from __future__ import annotations

import time

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases.samples import RejectsRows, add_max_rejected, add_window_arguments
from cxcheck.runtime import fmt_number, perf_value


class Statistic:
    """What a survey check measures. Subclasses set the attributes and the two methods."""

    name = ""           # in the status line: "NPS 32.6 (...)"
    label = ""          # perfdata label of the value; also {label}_low, _high, _previous
    uom = ""            # of the value and its interval
    bounds = (0, 100)   # min and max of the value
    scale = None        # the answers: a sources.scores.Scale

    def tally(self, counts: list[int]):
        """The window's tally from the number of answers per score (index = score)."""
        raise NotImplementedError

    def parts(self, tally) -> list[tuple[str, float | int | None, str]]:
        """(label, value, uom) of the perfdata that follows the value and its interval."""
        raise NotImplementedError

    def breakdown(self, tally) -> str:
        """The long output's first words: the tally's parts in plain counts."""
        raise NotImplementedError

    @property
    def unit_words(self) -> str:
        """The unit after a number in words: "%" or nothing."""
        return "%" if self.uom == "%" else ""

    def format(self, value: float | None) -> str:
        return "-" if value is None else fmt_number(value) + self.unit_words


def add_survey_arguments(parser: runtime.Parser, statistic: Statistic) -> None:
    """The sources of survey answers, and the window and statistics options."""
    from cxcheck.bases.comments import add_sentiment_arguments
    from cxcheck.sources.registry import add_source_arguments

    reading = add_source_arguments(parser, "responses", "the responses", statistic.scale.kind)
    add_max_rejected(reading.group, statistic.name)
    add_window_arguments(parser, ("--min-responses", 30, "responses in the window"), "--max-drop",
                         f"warn when the {statistic.name} dropped more than this from the previous window")
    add_sentiment_arguments(parser)


class Responses(RejectsRows, nagiosplugin.Resource):
    """One pass over the source: the window's tally, the previous window's, the rejects."""

    def __init__(self, statistic: Statistic, read, window: float, now: float, with_previous: bool,
                 confidence_level: float, reports_unanswered: bool = False, source=None, comments=None):
        from cxcheck.sources.rows import Rejects

        self.statistic = statistic
        self.read_answers = read
        self.window, self.now = window, now
        self.with_previous = with_previous
        self.confidence = confidence_level
        self.reports_unanswered = reports_unanswered     # the source counts surveys offered, not answered
        self.source = source
        self.reports_skipped = getattr(source, "reports_skipped", False)   # optional questions left unanswered
        self.hint = None                # the source's word on where answers are when it found none
        self.comments = comments                         # --sentiment: bases.comments.Comments
        self.rejects = Rejects()
        self.current = self.previous = statistic.tally([0] * (statistic.scale.high + 1))
        self.unanswered = 0
        self.read = 0
        self.interval = None

    @property
    def name(self):
        return f"CX {self.statistic.name}"

    @property
    def measures(self) -> str:
        return self.statistic.name

    @property
    def sample_size(self) -> int:
        return self.current.responses

    @property
    def response_rate(self) -> float | None:
        """Answers among surveys offered in the window, in percent; None when none was offered."""
        offered = self.current.responses + self.unanswered
        return 100.0 * self.current.responses / offered if offered else None

    def probe(self):
        statistic = self.statistic
        start, now = self.now - self.window, self.now
        oldest = start - self.window if self.with_previous else start
        # Counts per score, not a call per answer: a million rows go through this loop. One slot
        # more than the scale: a survey offered but not answered (UNANSWERED, -1) lands in the last.
        current, previous = [0] * (statistic.scale.high + 2), [0] * (statistic.scale.high + 2)
        read = 0
        for when, score in self.read_answers(oldest, now, self.rejects):
            read += 1
            if start < when <= now:
                current[score] += 1
            elif oldest < when <= start:
                previous[score] += 1
        self.read = read
        self.hint = getattr(self.source, "hint", None)
        self.unanswered = current[-1]
        self.current, self.previous = statistic.tally(current[:-1]), statistic.tally(previous[:-1])
        tally, label, (low_bound, high_bound) = self.current, statistic.label, statistic.bounds
        self.interval = tally.interval(self.confidence)
        low, high = self.interval or (None, None)
        for name, value in ((label, tally.value), (f"{label}_low", low), (f"{label}_high", high)):
            yield nagiosplugin.Metric(name, perf_value(value), statistic.uom, min=low_bound, max=high_bound,
                                      context=name)
        for name, value, uom in statistic.parts(tally):
            limits = (0, 100) if uom == "%" else (0, None)
            yield nagiosplugin.Metric(name, perf_value(value), uom, min=limits[0], max=limits[1], context=name)
        yield nagiosplugin.Metric("responses", tally.responses, "c", min=0, context="responses")
        yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")
        if self.reports_skipped:
            yield nagiosplugin.Metric("skipped", self.rejects.skipped, "c", min=0, context="skipped")
        if self.reports_unanswered:
            yield nagiosplugin.Metric("response_rate", perf_value(self.response_rate), "%", min=0, max=100,
                                      context="response_rate")
        if self.with_previous:
            yield nagiosplugin.Metric(f"{label}_previous", perf_value(self.previous.value), statistic.uom,
                                      min=low_bound, max=high_bound, context=f"{label}_previous")
        if self.comments is not None:
            yield self.comments.metric(self.confidence)


def survey_check(run: runtime.Run, statistic: Statistic) -> nagiosplugin.Check:
    """The whole check for a survey plugin's run: source, resource, contexts, summary."""
    from cxcheck.bases.survey_verdicts import survey_verdicts
    from cxcheck.sources.registry import open_source

    args = run.args
    source = open_source(run, "responses", statistic.scale.kind)
    now = args.now if args.now is not None else time.time()
    comments = survey_comments(args, source, now)
    responses = Responses(statistic, lambda oldest, until, rejects: source.read_responses(
        statistic.scale, oldest, until, rejects), args.window, now, bool(args.max_drop) or comments is not None,
        args.confidence, source.reports_unanswered, source, comments)
    return nagiosplugin.Check(responses, *survey_verdicts(responses, args, run.state(args.low_sample_state)))


def survey_comments(args, source, now: float):
    """--sentiment: the comments the source hands over while it reads (exports only, so far)."""
    from cxcheck.bases.comments import Comments, check_sentiment_arguments

    check_sentiment_arguments(args)
    if not args.sentiment:
        return None
    if not source.has_comments:
        raise runtime.ConfigError(f"--sentiment reads the comments of an export (--csv, --jsonl); {source.name} "
                                  "gives none to cxcheck yet")
    comments = Comments(args.language, now - args.window, now, args.window)
    source.comments = comments.add
    return comments
