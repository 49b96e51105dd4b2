"""Ranges on a sampled statistic, for every check that judges one (NPS, conversion, churn):
floors and ceilings given as Nagios ranges, judged by the point estimate or, with --significant,
only when the statistic's whole confidence interval lies where the range alerts; and the option
types such checks share (--now, --confidence)."""

from __future__ import annotations

import argparse

import nagiosplugin

from cxcheck import runtime
from cxcheck.runtime import MaybeContext, violation


def now_time(text: str) -> float:
    from cxcheck.sources.responses import TimeParser

    value = TimeParser()(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time or unix seconds")
    return value


def confidence(text: str) -> float:
    value = runtime.positive_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a confidence between 0 and 1, such as 0.95")
    return value


def floor_text(bound: nagiosplugin.Range) -> str:
    """'30:' reads as the floor 30; other ranges as written."""
    if not bound.invert and bound.end == float("inf"):
        return f"{bound.start:g}"
    return str(bound)


def range_text(bound: nagiosplugin.Range, unit: str = "") -> str:
    """'2:' is the floor 2, '10' (0..10) the ceiling 10; other ranges as written."""
    if not bound.invert and bound.end == float("inf"):
        return f"floor {bound.start:g}{unit}"
    if not bound.invert and bound.start == 0:
        return f"ceiling {bound.end:g}{unit}"
    return f"range {bound}"


def breach_text(bound: nagiosplugin.Range, value: float, unit: str = "") -> str:
    """How a value leaves a range, in words: 'below floor 2%', 'above ceiling 10%'."""
    if bound.invert:
        return f"inside {str(bound).lstrip('@')}"
    if value < bound.start:
        return f"below {'floor' if bound.end == float('inf') else 'range'} {bound.start:g}{unit}"
    return f"above {'ceiling' if bound.start == 0 else 'range'} {bound.end:g}{unit}"


def interval_violates(bound: nagiosplugin.Range, low: float, high: float) -> bool:
    """Does the whole interval [low, high] lie where the range alerts?"""
    if bound.invert:
        return bound.start <= low and high <= bound.end
    return high < bound.start or low > bound.end


def breached_not_significantly(args, value: float | None):
    """With --significant, the range (critical first) the point estimate is outside of while its
    interval still reaches inside: worth saying, not alerting."""
    if not args.significant or value is None:
        return None
    for spec in (args.critical, args.warning):
        if spec is not None and not nagiosplugin.Range(spec).match(value):
            return nagiosplugin.Range(spec)
    return None


class FloorContext(MaybeContext):
    """Ranges on the statistic; with --significant only a breach by the whole interval counts.

    `verdicts.judged` says whether the numbers may be judged at all (enough volume, readable rows);
    the resource's `interval` is the statistic's (low, high)."""

    def __init__(self, name: str, verdicts, warning, critical, significant: bool, interval_of=None):
        super().__init__(name, warning, critical)
        self.verdicts, self.significant = verdicts, significant
        self.interval_of = interval_of or (lambda resource: resource.interval)    # of a resource's other metrics

    def evaluate(self, metric, resource):
        if metric.value is None or not self.verdicts.judged:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        for state, bound in self.given():
            if self.significant:
                low, high = self.interval_of(resource)
                if interval_violates(bound, low, high):
                    return self.result_cls(state, f"whole interval outside {bound}", metric)
            elif not bound.match(metric.value):
                return self.result_cls(state, violation(bound, metric.value), metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)
