"""The verdicts of a survey check: Contexts judge, the Summary words what they judged.

Order of trust: rows readable (RejectedContext, checks/trust.py), enough answers
(ResponsesContext), then the floor (FloorContext) and the drop from the previous window
(DropContext).
"""

from __future__ import annotations

import nagiosplugin

from cxcheck.checks.ranges import FloorContext, breached_not_significantly, floor_text
from cxcheck.checks.survey import points
from cxcheck.checks.trust import CountContext, RejectedContext, Trust
from cxcheck.runtime import MaybeContext


class Verdicts(Trust):
    """Trust in a survey window: enough responses (--min-responses)."""

    def __init__(self, resource, args):
        super().__init__(resource, args, args.min_responses)


class ResponsesContext(CountContext):
    def __init__(self, verdicts: Verdicts, state):
        super().__init__("responses")
        self.verdicts, self.state = verdicts, state

    def evaluate(self, metric, resource):
        if self.verdicts.low_sample and not self.verdicts.unreadable:
            count = f"only {metric.value} responses" if metric.value else "no responses"
            hint = f"; {resource.hint}" if resource.hint and not metric.value else ""
            return self.result_cls(self.state, f"{count} in {resource.window} "
                                   f"(at least {self.verdicts.args.min_responses} needed to judge){hint}", metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)


class DropContext(MaybeContext):
    """The drop from the previous window; with --significant, only when its whole interval exceeds it."""

    def __init__(self, name: str, verdicts: Verdicts, max_drop: float):
        super().__init__(name)
        self.verdicts, self.max_drop = verdicts, max_drop

    def evaluate(self, metric, resource):
        current = resource.current.value
        enough = resource.previous.responses >= self.verdicts.args.min_responses
        if self.verdicts.judged and not enough:
            resource.notes.append(f"previous {resource.window}: {resource.previous.responses} responses, too few "
                                  f"to compare (at least {self.verdicts.args.min_responses})")
        if metric.value is None or current is None or not self.verdicts.judged or not enough:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        drop = metric.value - current
        if drop <= self.max_drop:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        text = (f"dropped {points(drop)} points from {resource.statistic.format(metric.value)} in the previous "
                f"{resource.window} (> {self.max_drop:g})")
        if self.verdicts.args.significant:
            # Both windows are samples: the drop counts only when its whole interval is above --max-drop.
            from cxcheck.stats import drop_lower_bound

            least = drop_lower_bound(resource.previous, resource.current, resource.confidence)
            level = f"{resource.confidence * 100:g}%"
            if least <= self.max_drop:
                resource.notes.append(f"{text}, not significantly: at {level} the drop may be as small as "
                                      f"{points(least)}")
                return self.result_cls(nagiosplugin.Ok, None, metric)
            text = f"{text}, significantly: at least {points(least)} at {level}"
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
        return (f"{statistic.name} {statistic.format(tally.value)} ({level} CI {points(low)}.."
                f"{statistic.format(high)}, n={tally.responses}) over {r.window}")

    def ok(self, results):
        low_sample = next((result for result in results if result.metric.name == "responses" and result.hint), None)
        if low_sample is not None:          # --low-sample-state ok: still say why nothing was judged
            return self.problem_text(low_sample)
        text = self._score()
        breached = self._breached_not_significantly()
        if breached is not None:
            text += f", below floor {floor_text(breached)} but not significantly"
        elif self.args.warning or self.args.critical:
            text += f", floor {floor_text(nagiosplugin.Range(self.args.warning or self.args.critical))}"
        previous = self.resource.previous.value
        if self.args.max_drop and previous is not None:
            text += f", previous {self.resource.statistic.format(previous)}"
        return text

    def _breached_not_significantly(self):
        return breached_not_significantly(self.args, self.resource.current.value)

    def problem(self, results):
        return self.problem_text(results.first_significant)

    def problem_text(self, worst):
        if worst.metric.name == self.label:
            context = worst.metric.contextobj
            floor = context.critical if worst.state == nagiosplugin.Critical else context.warning
            below = "significantly below" if self.args.significant else "below"
            return f"{self._score()} {below} floor {floor_text(floor)}"
        if worst.metric.name == f"{self.label}_previous":
            return f"{self._score()}, {worst.hint}"
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
            lines.append(f"response rate {points(r.response_rate)}%: {r.current.responses} "
                         f"answered of {offered} surveys offered in {r.window}" if offered else
                         f"no survey offered in {r.window}")
        problems = [f"{str(result.state).upper()}: {result.hint}" for result in results
                    if result.state != nagiosplugin.Ok and result.hint]
        return problems + r.notes + lines + r.rejects.lines()


__all__ = ["CountContext", "DropContext", "FloorContext", "RejectedContext", "ResponsesContext", "SurveySummary",
           "Verdicts"]
