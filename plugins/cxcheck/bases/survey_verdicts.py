"""The verdicts of a survey check: Contexts judge, the Summary words what they judged.

Order of trust (bases/samples.py): rows readable (RejectedContext), enough answers
(LowSampleContext, --min-responses), then the floor (StatisticContext) and the drop from the previous
window (DropContext).
"""

from __future__ import annotations

import nagiosplugin

from cxcheck.bases.samples import (
    CountContext,
    LowSampleContext,
    RejectedContext,
    StatisticContext,
    Trust,
    in_unit,
    range_text,
)
from cxcheck.runtime import MaybeContext, Note, fmt_number, notes


def few_responses(metric, verdicts) -> str:
    resource = verdicts.resource
    count = f"only {metric.value} responses" if metric.value else "no responses"
    hint = f"; {resource.hint}" if resource.hint and not metric.value else ""     # the source's word on where
    return f"{count} in {resource.window} (at least {verdicts.minimum} needed to judge){hint}"


def survey_verdicts(resource, args, low_sample_state) -> list:
    """The contexts and the summary of a survey check over `resource` (a survey.Responses)."""
    statistic, verdicts = resource.statistic, Trust(resource, args, args.min_responses)
    label = statistic.label
    contexts = [
        StatisticContext(label, verdicts, args.warning, args.critical, args.significant,
                         in_unit(statistic.unit_words)),
        RejectedContext(verdicts),
        LowSampleContext("responses", verdicts, low_sample_state, few_responses),
        *(MaybeContext(name) for name in (f"{label}_low", f"{label}_high")),
        *(MaybeContext(name) for name, _, _ in statistic.parts(resource.current)),
    ]
    if resource.reports_unanswered:
        contexts.append(MaybeContext("response_rate"))
    if resource.reports_skipped:
        contexts.append(CountContext("skipped"))
    if args.max_drop:
        contexts.append(DropContext(f"{label}_previous", verdicts, args.max_drop))
    elif resource.comments is not None:     # the previous window read for its comments: its value in perfdata too
        contexts.append(MaybeContext(f"{label}_previous"))
    if resource.comments is not None:
        from cxcheck.bases.comments import negative_share_context

        contexts.append(negative_share_context(verdicts, args))
    return [*contexts, SurveySummary(resource, args)]


class DropContext(MaybeContext):
    """The drop from the previous window; with --significant, only when its whole interval exceeds it."""

    def __init__(self, name: str, verdicts: Trust, max_drop: float):
        super().__init__(name)
        self.verdicts, self.max_drop = verdicts, max_drop

    def evaluate(self, metric, resource):
        current, minimum = resource.current.value, self.verdicts.minimum
        if self.verdicts.judged and resource.previous.responses < minimum:
            return Note(nagiosplugin.Ok, f"previous {resource.window}: {resource.previous.responses} responses, too "
                                         f"few to compare (at least {minimum})", metric)
        if metric.value is None or current is None or not self.verdicts.judged:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        drop = metric.value - current
        if drop <= self.max_drop:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        text = (f"dropped {fmt_number(drop)} points from {resource.statistic.format(metric.value)} in the previous "
                f"{resource.window} (> {self.max_drop:g})")
        if self.verdicts.args.significant:
            # Both windows are samples: the drop counts only when its whole interval is above --max-drop.
            from cxcheck.stats import drop_lower_bound

            least = drop_lower_bound(resource.previous, resource.current, resource.confidence)
            level = f"{resource.confidence * 100:g}%"
            if least <= self.max_drop:
                return Note(nagiosplugin.Ok, f"{text}, not significantly: at {level} the drop may be as small as "
                                             f"{fmt_number(least)}", metric)
            text = f"{text}, significantly: at least {fmt_number(least)} at {level}"
        return self.result_cls(nagiosplugin.Warn, text, metric)


class SurveySummary(nagiosplugin.Summary):
    def __init__(self, resource, args):
        self.resource, self.args = resource, args
        self.label = resource.statistic.label

    def _score(self) -> str:
        r, statistic = self.resource, self.resource.statistic
        tally = r.current
        if tally.value is None:
            return f"no responses in {r.window}"
        low, high = r.interval
        level = f"{r.confidence * 100:g}%"
        return (f"{statistic.name} {statistic.format(tally.value)} ({level} CI {fmt_number(low)}.."
                f"{statistic.format(high)}, n={tally.responses}) over {r.window}")

    def ok(self, results):
        low_sample = next((result for result in results if result.metric.name == "responses" and result.hint), None)
        if low_sample is not None:          # --low-sample-state ok: still say why nothing was judged
            return self.problem_text(low_sample)
        text = self._score()
        floor = results[self.label]
        if floor.hint:                      # outside a range, not significantly
            text += f", {floor.hint}"
        elif self.args.warning or self.args.critical:
            text += f", {range_text(nagiosplugin.Range(self.args.warning or self.args.critical), self.unit)}"
        previous = self.resource.previous.value
        if self.args.max_drop and previous is not None:
            text += f", previous {self.resource.statistic.format(previous)}"
        return text + self._comments()

    def _comments(self) -> str:
        if self.resource.comments is None:
            return ""
        from cxcheck.bases.comments import share_words

        return f"; {share_words(self.resource.comments)}"

    @property
    def unit(self) -> str:
        return self.resource.statistic.unit_words

    def problem(self, results):
        return self.problem_text(results.first_significant)

    def problem_text(self, worst):
        if worst.metric.name == self.label:
            return f"{self._score()} ({worst.hint})"
        if worst.metric.name == f"{self.label}_previous":
            return f"{self._score()}, {worst.hint}" + self._comments()
        if worst.metric.name == "negative_share":
            return f"{self._score()}{self._comments()} ({worst.hint})"
        shown = worst.metric.name == "responses" and self.resource.current.responses
        return f"{worst.hint}" + (f"; {self._score()}" if shown else "")

    def verbose(self, results):
        r = self.resource
        lines = [f"{r.statistic.breakdown(r.current)}; {r.read} rows read, {r.rejects.count} rejected"]
        if r.reports_skipped:
            skipped = r.rejects
            lines[0] += f", {skipped.skipped} skipped the question"
            if skipped.skipped:
                more = ", ..." if skipped.skipped > len(skipped.skipped_at) else ""
                places = ", ".join(map(str, skipped.skipped_at)) + more
                lines.append(f"{skipped.skipped} skipped the question (optional, left unanswered: neither read nor "
                             f"rejected) ({places})")
        if r.reports_unanswered:
            offered = r.current.responses + r.unanswered
            lines.append(f"response rate {fmt_number(r.response_rate)}%: {r.current.responses} "
                         f"answered of {offered} surveys offered in {r.window}" if offered else
                         f"no survey offered in {r.window}")
        problems = [f"{str(result.state).upper()}: {result.hint}" for result in results
                    if result.state != nagiosplugin.Ok and result.hint]
        if r.comments is not None:
            from cxcheck.bases.comments import lines as comment_lines

            lines += comment_lines(r.comments, self.args.themes, r.confidence, r.window)
        return problems + notes(results) + lines + r.rejects.lines()
