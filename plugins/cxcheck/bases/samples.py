"""Judging a sample (survey answers, tickets, requests, a funnel's customers), in the order its
numbers are trusted: the rows read must be readable (--max-rejected), enough to say something (a
minimum sample), and only then are its ranges judged; with --significant, a range only when the
statistic's whole confidence interval lies where it alerts.

Shared by the survey and rate bases, check_cx_support, check_cx_apdex, check_cx_ratings and
check_cx_transaction's real users. The resource says `rejected_share`, `read`, `sample_size` and
what it `measures` (the words "the NPS would lie"). The options these verdicts read are declared
here too, each once: --max-rejected, the minimum sample and its state, and the group of the plugins
that compare a window with an earlier one (--window, --now, --confidence, --significant, a
minimum, the change that alerts)."""

from __future__ import annotations

import nagiosplugin

from cxcheck import runtime
from cxcheck.runtime import Duration, MaybeContext, confidence, violation
from cxcheck.runtime.times import now_time


def add_max_rejected(group, measures: str, rows: str = "rows") -> None:
    """--max-rejected, which RejectedContext judges."""
    group.add_argument("--max-rejected", type=runtime.non_negative_float, default=5.0, metavar="PERCENT",
                       help=f"more {rows} than this share unreadable is UNKNOWN: the {measures} would lie (default 5)")


def add_minimum(group, option: str, default, counted: str, state: str = "unknown", default_words: str = "",
                more: str = "", number=runtime.positive_int) -> None:
    """A minimum sample (--min-responses, --min-tickets, --min-volume) and the state under it, which
    LowSampleContext gives: --low-volume-state beside --min-volume, --low-sample-state otherwise."""
    state_option = "--low-volume-state" if option == "--min-volume" else "--low-sample-state"
    group.add_argument(option, type=number, default=default, metavar="N",
                       help=f"fewer {counted} is {state_option}{more} (default {default_words or default})")
    said = ", said in the status line" if state == "ok" else ""
    group.add_argument(state_option, choices=list(runtime.STATE_CODES), default=state,
                       help=f"state under {option} (default {state}{said})")


def add_now(group) -> None:
    group.add_argument("--now", type=now_time, metavar="TIME",
                       help="the window's end (default: now), ISO 8601 or unix seconds, for reproducible runs")


def add_window_arguments(parser, minimum: tuple, change: str, change_help: str, *, metavar: str = "POINTS",
                         dest: str | None = None, proof: str = "the whole interval of the drop exceeds it",
                         window: str = "30d", examples: str = "24h, 30d or 4w", compared: str = "",
                         tests: str = ""):
    """The group "window and statistics" of a plugin that judges a sample's statistic over --window
    and its change from an earlier window (survey, rates, ratings): `minimum` is add_minimum's
    (option, default, counted, state, default_words); `change` the option of the change that alerts
    (--max-drop), `proof` what --significant asks of it. The group, for the plugin's own options."""
    judge = parser.add_argument_group("window and statistics")
    judge.add_argument("--window", type=Duration, default=Duration(window), metavar="DURATION",
                       help=f"how far back, such as {examples} (default {window}){compared}")
    add_now(judge)
    judge.add_argument("--confidence", type=confidence, default=0.95, metavar="LEVEL",
                       help=f"of the intervals{tests} (default 0.95)")
    judge.add_argument("--significant", action="store_true",
                       help=f"alert on a range only when the whole interval is beyond it, on {change} only when "
                            f"{proof}")
    add_minimum(judge, *minimum, more=", nothing judged; an earlier window with fewer is not compared")
    judge.add_argument(change, dest=dest or change[2:].replace("-", "_"), type=runtime.positive_float,
                       metavar=metavar, help=change_help)
    return judge


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
