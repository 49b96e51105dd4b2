"""Judging a sample (survey answers, tickets, requests, a funnel's customers), in the order its
numbers are trusted: the rows read must be readable (--max-rejected), enough to say something (a
minimum sample), and only then are its ranges judged; with --significant, a range only when the
statistic's whole confidence interval lies where it alerts.

Shared by the survey and rate bases, check_cx_support and check_cx_apdex. The resource says
`rejected_share`, `read`, `sample_size` and what it `measures` (the words "the NPS would lie")."""

from __future__ import annotations

import nagiosplugin

from cxcheck.runtime import MaybeContext, violation


class RejectsRows:
    """A resource that reads rows (`read`) and counts the unreadable ones (`rejects`)."""

    @property
    def rejected_share(self) -> float:
        total = self.read + self.rejects.count
        return 100.0 * self.rejects.count / total if total else 0.0


class Trust:
    """What the contexts need to know of each other: are the numbers to be trusted? `minimum`:
    the sample judged (None: any); rows are judged readable when the plugin has --max-rejected."""

    def __init__(self, resource, args, minimum: int | None):
        self.resource, self.args, self.minimum = resource, args, minimum
        self.max_rejected = getattr(args, "max_rejected", None)

    @property
    def unreadable(self) -> bool:
        return self.max_rejected is not None and self.resource.rejected_share > self.max_rejected

    @property
    def low_sample(self) -> bool:
        return self.minimum is not None and self.resource.sample_size < self.minimum

    @property
    def judged(self) -> bool:
        return not self.unreadable and not self.low_sample


class CountContext(nagiosplugin.Context):
    """A count in perfdata (c, from 0)."""

    def performance(self, metric, resource):
        return nagiosplugin.Performance(metric.name, metric.value, "c", min=0)


class RejectedContext(CountContext):
    """More unreadable rows (`unit`: lines of a log) than --max-rejected: UNKNOWN, the numbers would
    lie. With `most`, the reason most rows had and the resource's `hints` of what may explain it."""

    def __init__(self, verdicts: Trust, unit: str = "rows", most: bool = False):
        super().__init__("rejected")
        self.verdicts, self.unit, self.most = verdicts, unit, most

    def evaluate(self, metric, resource):
        if not self.verdicts.unreadable:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        text = (f"{metric.value} of {resource.read + metric.value} {self.unit} rejected "
                f"({resource.rejected_share:.1f}% > {self.verdicts.max_rejected:g}%)")
        if self.most:
            reasons = resource.rejects.reasons
            text += f", most: {max(reasons, key=lambda reason: reasons[reason][0])}"
            text += "".join(f"; {hint}" for hint in resource.hints)
        text += f": the {resource.measures} would lie"
        worst = "" if self.most else resource.rejects.worst()   # the commonest reason, its value, what to do
        return self.result_cls(nagiosplugin.Unknown, text + (f"; {worst}" if worst else ""), metric)


class LowSampleContext(CountContext):
    """Too small a sample to judge (--min-responses, --min-tickets, --min-volume): the state the
    options give, in the plugin's words `say(metric, verdicts)`; unreadable rows are said first."""

    def __init__(self, name: str, verdicts, state, say):
        super().__init__(name)
        self.verdicts, self.state, self.say = verdicts, state, say

    def evaluate(self, metric, resource):
        if self.verdicts.low_sample and not self.verdicts.unreadable:
            return self.result_cls(self.state, self.say(metric, self.verdicts), metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)


def range_text(bound: nagiosplugin.Range, unit: str = "") -> str:
    """A range as given, in words: '2:' is the floor 2, '10' (0..10) the ceiling 10."""
    if not bound.invert and bound.end == float("inf"):
        return f"floor {bound.start:g}{unit}"
    if not bound.invert and bound.start == 0:
        return f"ceiling {bound.end:g}{unit}"
    return f"range {bound}"


def interval_violates(bound: nagiosplugin.Range, low: float, high: float) -> bool:
    """Does the whole interval [low, high] lie where the range alerts?"""
    if bound.invert:
        return bound.start <= low and high <= bound.end
    return high < bound.start or low > bound.end


class StatisticContext(MaybeContext):
    """The ranges on a sample's statistic (an NPS, a share, a percentile, an Apdex), judged once
    the numbers are trusted (`verdicts.judged`: readable rows, enough of them) and worded as
    runtime.violation() words them, each bound by `say`. With `significant` only a breach by the
    whole interval (the resource's `interval`, (low, high)) counts; a point estimate outside a
    range whose interval still reaches inside is OK, with the hint "... but not significantly"."""

    def __init__(self, name: str, verdicts, warning, critical, significant: bool = False, say=None,
                 interval_of=None):
        super().__init__(name, warning, critical)
        self.verdicts, self.significant = verdicts, significant
        self.say = say
        self.interval_of = interval_of or (lambda resource: resource.interval)    # of a resource's other metrics

    def evaluate(self, metric, resource):
        if metric.value is None or not self.verdicts.judged:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        unconfirmed = None
        for state, bound in self.given():
            broken = violation(bound, metric.value, self.say)
            if not self.significant:
                if not bound.match(metric.value):
                    return self.result_cls(state, broken, metric)
            elif interval_violates(bound, *self.interval_of(resource)):
                return self.result_cls(state, f"significantly {broken}", metric)
            elif unconfirmed is None and not bound.match(metric.value):
                unconfirmed = f"{broken} but not significantly"
        return self.result_cls(nagiosplugin.Ok, unconfirmed, metric)


def in_unit(unit: str):
    """A bound in words with its unit: 30 -> "30%"."""
    return lambda number: f"{number:g}{unit}"
