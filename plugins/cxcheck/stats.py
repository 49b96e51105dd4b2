"""Net Promoter Score from a stream of 0-10 answers, with its confidence interval.

Promoters answer 9-10, passives 7-8, detractors 0-6; NPS = %promoters - %detractors, in
-100..100. With p and d the promoter and detractor shares of n answers, the variance of the
score is (p + d - (p - d)^2) / n; the interval is the normal approximation, clamped to the scale.
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


def z_score(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def drop_lower_bound(previous: Tally, current: Tally, confidence: float = 0.95) -> float | None:
    """The low end of the confidence interval of the drop from the previous window's NPS to the
    current one: the drop minus z times the standard error of the difference of two independent
    scores. The same two-sided interval as the floor's, so --significant means one thing."""
    if not previous.responses or not current.responses:
        return None
    spread = z_score(confidence) * math.hypot(previous.stderr, current.stderr)
    return previous.nps - current.nps - spread
