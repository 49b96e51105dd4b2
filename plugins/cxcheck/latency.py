"""What customers waited for, in numbers: the Apdex score and percentiles of response times.

Apdex (the Apdex Alliance's Application Performance Index) with a target time T: a request is
satisfied when it was answered within T, tolerating within 4T, frustrated beyond; cxcheck also
counts a server error (5xx) as frustrated whatever its time, because the customer got no answer.

    Apdex_T = (satisfied + tolerating / 2) / (satisfied + tolerating + frustrated)   in 0..1

none without requests. The ratings of the specification: excellent from 0.94, good from 0.85,
fair from 0.70, poor from 0.50, unacceptable below. Reported as "0.91 [0.5]": the score, then T.

Counts may be fractions: a Prometheus histogram's increase() over a window is extrapolated.
Percentiles are nearest-rank: the smallest time at or under which at least that share of the
requests was answered.
"""

from __future__ import annotations

import math

from cxcheck.runtime import Record

RATINGS = ((0.94, "excellent"), (0.85, "good"), (0.70, "fair"), (0.50, "poor"), (0.0, "unacceptable"))
# Distinct response times kept exactly; beyond, times are kept to 3 significant digits (within
# 0.5 %), so memory stays bounded whatever the log's size.
EXACT_VALUES = 100_000


def apdex(satisfied: float, tolerating: float, frustrated: float) -> float | None:
    """The Apdex score of these counts; None without requests."""
    total = satisfied + tolerating + frustrated
    if total <= 0:
        return None
    return (satisfied + tolerating / 2) / total


def rating(score: float | None) -> str:
    if score is None:
        return "no requests"
    # The specification rates the score as reported, to two decimals: 0.935 is excellent.
    shown = round(score, 2)
    return next(name for bound, name in RATINGS if shown >= bound)


class ApdexCounts(Record):
    """Satisfied, tolerating and frustrated requests of one measurement."""

    _fields = ("satisfied", "tolerating", "frustrated")

    def __init__(self, satisfied: float = 0, tolerating: float = 0, frustrated: float = 0):
        self.satisfied, self.tolerating, self.frustrated = satisfied, tolerating, frustrated

    @property
    def requests(self) -> float:
        return self.satisfied + self.tolerating + self.frustrated

    @property
    def score(self) -> float | None:
        return apdex(self.satisfied, self.tolerating, self.frustrated)

    @property
    def rating(self) -> str:
        return rating(self.score)


class ResponseTimes:
    """Response times counted by value, with the Apdex of a target T: what a source of them yields.

    `add(seconds, count, failed)` one value at a time (a reader counts identical values first:
    a log has few distinct ones). Memory is bounded: see EXACT_VALUES."""

    def __init__(self, target: float):
        self.target = target
        self.counts = ApdexCounts()
        self.values: dict[float, int] = {}
        self.coarse = False
        self.errors = 0                     # server errors (5xx), among the frustrated
        # What the reading says about itself, for the output.
        self.span = ""                      # which requests: "since the last run 5m ago", "over 15m"
        self.lines = 0                      # lines read
        self.skipped = 0                    # requests left out by the filters or the window
        self.notes: list[str] = []          # first run, rotation, catching up
        self.hints: list[str] = []          # what may explain rejected lines

    def add(self, seconds: float, count: int = 1, failed: bool = False) -> None:
        counts = self.counts
        if failed:
            self.errors += count
        if failed or seconds > 4 * self.target:
            counts.frustrated += count
        elif seconds > self.target:
            counts.tolerating += count
        else:
            counts.satisfied += count
        values = self.values
        if self.coarse:
            seconds = significant(seconds)
        values[seconds] = values.get(seconds, 0) + count
        if len(values) > EXACT_VALUES and not self.coarse:
            self.coarse = True
            coarse: dict[float, int] = {}
            for value, n in values.items():
                key = significant(value)
                coarse[key] = coarse.get(key, 0) + n
            self.values = coarse

    def percentile(self, share: float) -> float | None:
        """The nearest-rank percentile (share in 0..1); None without requests."""
        return percentile(self.values, share)


def percentile(counts: dict[float, int], share: float) -> float | None:
    """Nearest rank over values counted by value: the smallest value with at least
    ceil(share * n) values at or under it."""
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, math.ceil(share * total - 1e-9))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)


def significant(value: float, digits: int = 3) -> float:
    if value <= 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(value)))
