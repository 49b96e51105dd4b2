"""Survey statistics with their confidence intervals: the Net Promoter Score and proportions.

NPS: promoters answer 9-10, passives 7-8, detractors 0-6; NPS = %promoters - %detractors, in
-100..100. With p and d the promoter and detractor shares of n answers, the variance of the
score is (p + d - (p - d)^2) / n; the interval is the normal approximation, clamped to the scale.

A proportion (CSAT: the share of satisfied answers) takes the Wilson score interval, which stays
inside 0..100 % and keeps its coverage at small n and at shares near 0 or 100 %, where the normal
approximation does not (Wilson, 1927; Brown, Cai & DasGupta, 2001).

Every tally has `value`, `responses`, `stderr` (in the value's unit) and `interval(confidence)`,
so that a survey check and the drop test work on any of them.

Waits (support tickets) take the nearest-rank percentile: the smallest observed value with at
least p % of the values at or below it, a wait a customer actually had (no interpolation).

Two windows' shares (conversion this week and last) are compared with the two-proportion z-test:
z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p the pooled share (x1 + x2) / (n1 + n2), the
standard test of "were both windows drawn at one rate?" (e.g. Agresti, Categorical Data
Analysis, 3rd ed., section 3.1; NIST/SEMATECH e-Handbook 7.3.3).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from cxcheck.runtime import Record


class Tally(Record):
    """Promoters, passives and detractors of one window."""

    _fields = ("promoters", "passives", "detractors")

    def __init__(self, promoters: int = 0, passives: int = 0, detractors: int = 0):
        self.promoters, self.passives, self.detractors = promoters, passives, detractors

    @classmethod
    def of_counts(cls, counts) -> Tally:
        """From the number of answers per score 0..10."""
        return cls(promoters=sum(counts[9:11]), passives=sum(counts[7:9]), detractors=sum(counts[0:7]))

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    def share(self, count: int) -> float | None:
        return 100.0 * count / self.responses if self.responses else None

    @property
    def nps(self) -> float | None:
        if not self.responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.responses

    value = nps

    @property
    def stderr(self) -> float | None:
        """The standard error of the NPS, in points."""
        n = self.responses
        if not n:
            return None
        p, d = self.promoters / n, self.detractors / n
        return 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)

    def interval(self, confidence: float = 0.95) -> tuple[float, float] | None:
        if not self.responses:
            return None
        spread = z_score(confidence) * self.stderr
        return max(self.nps - spread, -100.0), min(self.nps + spread, 100.0)


class Proportion(Record):
    """Answers that count (satisfied) among all answers of one window, as a percentage."""

    _fields = ("hits", "responses")

    def __init__(self, hits: int = 0, responses: int = 0):
        self.hits, self.responses = hits, responses

    @property
    def misses(self) -> int:
        return self.responses - self.hits

    @property
    def value(self) -> float | None:
        return 100.0 * self.hits / self.responses if self.responses else None

    @property
    def stderr(self) -> float | None:
        """The standard error of the share, in percentage points."""
        if not self.responses:
            return None
        p = self.hits / self.responses
        return 100.0 * math.sqrt(p * (1 - p) / self.responses)

    def interval(self, confidence: float = 0.95) -> tuple[float, float] | None:
        """The Wilson score interval, in percent."""
        if not self.responses:
            return None
        return wilson_interval(self.hits, self.responses, confidence)


class Mean(Record):
    """The average of whole-number answers (1-5 stars) of one window, from how many gave each;
    its interval is the normal approximation of the mean (the standard error of the sample's
    spread over sqrt(n)), clamped to the scale."""

    _fields = ("counts", "low")

    def __init__(self, counts=(), low: int = 1):
        self.counts, self.low = list(counts), low

    @property
    def responses(self) -> int:
        return sum(self.counts)

    @property
    def value(self) -> float | None:
        n = self.responses
        return sum((self.low + i) * c for i, c in enumerate(self.counts)) / n if n else None

    @property
    def stderr(self) -> float | None:
        n, mean = self.responses, self.value
        if n < 2:
            return None if not n else 0.0
        spread = sum(c * (self.low + i - mean) ** 2 for i, c in enumerate(self.counts)) / (n - 1)
        return math.sqrt(spread / n)

    def interval(self, confidence: float = 0.95) -> tuple[float, float] | None:
        if not self.responses:
            return None
        spread = z_score(confidence) * self.stderr
        high = self.low + len(self.counts) - 1
        return max(self.value - spread, float(self.low)), min(self.value + spread, float(high))


def wilson_interval(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """(low, high) in percent of the Wilson score interval for hits out of n."""
    z = z_score(confidence)
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 and n the bound is exactly the edge; rounding would leave it a hair inside.
    low = 0.0 if hits == 0 else max(centre - half, 0.0)
    high = 1.0 if hits == n else min(centre + half, 1.0)
    return 100.0 * low, 100.0 * high


def z_score(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def drop_lower_bound(previous, current, confidence: float = 0.95) -> float | None:
    """The low end of the confidence interval of the drop from the previous window's value to the
    current one: the drop minus z times the standard error of the difference of two independent
    samples. The same two-sided level as the floor's, so --significant means one thing."""
    if not previous.responses or not current.responses:
        return None
    spread = z_score(confidence) * math.hypot(previous.stderr, current.stderr)
    return previous.value - current.value - spread


def percentile(ordered, p: float) -> float | None:
    """The nearest-rank p-th percentile (0 < p <= 100) of values sorted ascending; None if empty."""
    if not ordered:
        return None
    rank = max(math.ceil(p / 100.0 * len(ordered) - 1e-9), 1)
    return ordered[rank - 1]


def two_proportion_z(first: Proportion, second: Proportion) -> float | None:
    """The pooled two-proportion z statistic of first's share minus second's: positive when the
    second share is the lower. None when a window is empty or the pooled share is 0 or 100 %
    (no variance, nothing to test)."""
    n1, n2 = first.responses, second.responses
    if not n1 or not n2:
        return None
    pooled = (first.hits + second.hits) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return None
    return (first.hits / n1 - second.hits / n2) / spread


def one_sided_p(z: float) -> float:
    """The chance of a z at least this large when both windows share one rate (the lower tail
    of -z: 1 - cdf(z) would round to 0 for large z)."""
    return NormalDist().cdf(-z)
