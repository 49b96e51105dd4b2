"""Store and review-site reviews as every review source yields them: a `Review` (unix time, 1-5
stars, the app version when the store says it, the text the customer wrote), the unreadable ones
counted by reason. A store that keeps only recent reviews says from when its reviews are whole
(`covered_since`), so that a check does not read a short feed as a quiet month."""

from __future__ import annotations

from cxcheck.runtime import Record
from cxcheck.sources.base import Source
from cxcheck.sources.rows import Rejects
from cxcheck.sources.scores import Scale, scored

STARS = Scale(1, 5, kind="stars")


class Review(Record):
    _fields = ("when", "stars", "version", "text")

    def __init__(self, when: float, stars: int, version: str | None = None, text: str | None = None):
        self.when, self.stars, self.version, self.text = when, stars, version, text


def review(raw_stars, raw_date, parse_time, rejects: Rejects, where, version=None, *texts) -> Review | None:
    """A Review from raw fields, or None once the reason it cannot be used is counted. The texts
    (a title and a body) are joined; a version or text that is not a string is left out."""
    found = scored(raw_stars, raw_date, parse_time, rejects, where, STARS)
    if found is None:
        return None
    words = "\n".join(t.strip() for t in texts if isinstance(t, str) and t.strip()) or None
    shown = str(version).strip() if isinstance(version, (str, int)) and not isinstance(version, bool) else ""
    return Review(found[0], found[1], shown or None, words)


class ReviewSource(Source):
    """A source of reviews: `read_reviews(since, until, rejects)` yields Reviews of (since, until]
    at least. After reading, `covered_since` is the time from which the source gave every review
    (None: all it was asked for), `versions` says whether reviews carry the app version, and
    `overall()` may give the store's own (average, count) of all time."""

    versions = True
    covered_since: float | None = None
    coverage_note = ""              # why the source's reach ends where it does, said when it matters

    def overall(self) -> tuple[float, int] | None:
        return None

    def read_reviews(self, since: float, until: float, rejects: Rejects):
        raise NotImplementedError
