"""Funnels as every funnel source gives them: the ordered steps of one window, each with how many
customers reached it. The first step is who entered, the last who converted; a source that
knows only those two gives two steps. Counts are checked here once for every source."""

from __future__ import annotations

import math

from cxcheck.runtime import Record, SourceError, excerpt


class Step(Record):
    _fields = ("name", "count")

    def __init__(self, name: str, count: int):
        self.name, self.count = name, count


class Funnel(Record):
    """The steps of one window, and a line saying how the source read them (dates, queries)."""

    _fields = ("steps", "note")

    def __init__(self, steps: list[Step], note: str = ""):
        self.steps, self.note = steps, note

    @property
    def entered(self) -> int:
        return self.steps[0].count if self.steps else 0

    @property
    def converted(self) -> int:
        return self.steps[-1].count if self.steps else 0

    @property
    def proportion(self):
        from cxcheck.stats import Proportion

        return Proportion(self.converted, self.entered)

    def step_conversions(self) -> list[tuple[Step, float | None]]:
        """Each step after the first with its share of the step before, in %: None when nobody
        reached the step before."""
        return [(step, 100.0 * step.count / before.count if before.count else None)
                for before, step in zip(self.steps, self.steps[1:])]

    def worst_step(self) -> tuple[Step, float] | None:
        """The step that keeps the smallest share of the customers before it (the first such)."""
        judged = [(step, share) for step, share in self.step_conversions() if share is not None]
        return min(judged, key=lambda pair: pair[1]) if judged else None


def count(value, where: str) -> int:
    """A step's count: a finite number, not negative; fractions (Prometheus' increase()
    extrapolates) are rounded to whole customers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SourceError(f"{where} is {_shown(value)}, not a count")
    if not math.isfinite(value) or value < 0:
        raise SourceError(f"{where} is {_shown(value)}, not a count (a finite number, 0 or more)")
    return int(round(value))


def checked(steps: list[Step], what: str) -> list[Step]:
    """Steps whose last count does not exceed the first by more than rounding: more converted than
    entered means the two counts are not of one funnel."""
    if len(steps) >= 2 and steps[-1].count > steps[0].count * 1.01 + 0.5:
        raise SourceError(f"{what}: more converted ({steps[-1].count}) than entered ({steps[0].count}); "
                          "do both count the same customers over the same window?")
    if len(steps) >= 2 and steps[-1].count > steps[0].count:
        steps[-1] = Step(steps[-1].name, steps[0].count)
    return steps


def _shown(value) -> str:
    return excerpt(repr(value), 37)
