"""The reviews of two windows, read in one pass: stars counted per window, the low reviews per
app version, the comments scored when --sentiment asks, and how much of each window the store
could give."""

from __future__ import annotations

from collections import Counter

import nagiosplugin

from cxcheck.bases.samples import RejectsRows
from cxcheck.runtime import perf_value

LOW = (1, 2)                    # the stars of a low review


class Ratings(RejectsRows, nagiosplugin.Resource):
    name = "CX RATINGS"
    measures = "rating"

    def __init__(self, source, window, now: float, confidence: float, comments=None):
        from cxcheck.sources.rows import Rejects
        from cxcheck.stats import Mean

        self.source, self.window, self.now, self.confidence = source, window, now, confidence
        self.since = now - window
        self.comments = comments
        self.rejects = Rejects()
        self.current, self.previous = Mean([0] * 5), Mean([0] * 5)
        self.versions: dict[str, list[int]] = {}        # version -> [reviews, low reviews, stars]
        self.read = 0
        self.interval = None
        self.overall = None

    @property
    def sample_size(self) -> int:
        return self.current.responses

    def low_share(self, window=None):
        from cxcheck.stats import Proportion

        window = window or self.current
        return Proportion(hits=sum(window.counts[:2]), responses=window.responses)

    @property
    def whole(self) -> bool:
        """Did the source give every review of the window?"""
        covered = self.source.covered_since
        return covered is None or covered <= self.since

    @property
    def previous_whole(self) -> bool:
        covered = self.source.covered_since
        return covered is None or covered <= self.since - self.window

    def probe(self):
        since, oldest = self.since, self.since - self.window
        current, previous = self.current.counts, self.previous.counts
        for review in self.source.read_reviews(oldest, self.now, self.rejects):
            self.read += 1
            if since < review.when <= self.now:
                current[review.stars - 1] += 1
                if review.version:
                    tally = self.versions.setdefault(review.version, [0, 0, 0])
                    tally[0] += 1
                    tally[1] += review.stars in LOW
                    tally[2] += review.stars
            elif oldest < review.when <= since:
                previous[review.stars - 1] += 1
            if self.comments is not None and review.text:
                self.comments.add(review.when, review.text)
        self.overall = self.source.overall()
        self.interval = self.current.interval(self.confidence)
        self.low_interval = self.low_share().interval(self.confidence)
        yield nagiosplugin.Metric("rating", perf_value(self.current.value), "", min=1, max=5, context="rating")
        yield nagiosplugin.Metric("low_share", perf_value(self.low_share().value), "%", min=0, max=100,
                                  context="low_share")
        yield nagiosplugin.Metric("reviews", self.current.responses, "c", min=0, context="reviews")
        yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")
        shown = self.previous.value if self.previous_whole else None
        yield nagiosplugin.Metric("rating_previous", perf_value(shown), "", min=1, max=5, context="rating_previous")
        if self.comments is not None:
            yield self.comments.metric(self.confidence)

    def most_complained_version(self):
        """(version, its low reviews, its reviews, its average) with the most low reviews; None without."""
        low = Counter({version: tally[1] for version, tally in self.versions.items() if tally[1]})
        if not low:
            return None
        version = max(low, key=lambda v: (low[v], v))
        reviews, lows, stars = self.versions[version]
        return version, lows, reviews, stars / reviews
