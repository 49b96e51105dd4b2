"""Survey answers as every survey source yields them: a score on the check's scale (NPS 0-10,
CSAT 1-5 or good/bad), or a survey offered and not answered; and how a raw answer reads as one."""

from __future__ import annotations

import math
import re

from cxcheck.runtime import Record, SourceError
from cxcheck.sources.rows import Rejects, dated

NUMBER = re.compile(r"^\s*[+-]?\d+(?:[.,]0*)?\s*$")


class Scale(Record):
    """The answers a survey question allows: whole numbers from low to high (NPS 0-10, CSAT 1-5).

    `kind` names the survey ("NPS", "CSAT") for sources that hold several kinds; `satisfied`, the
    (low, high) answers that count as satisfied, lets a source put a good/bad answer on the scale
    (`rating()`); `words` are answers written as words ({"good": 1, "bad": 0})."""

    _fields = ("low", "high", "kind", "satisfied", "words")

    def __init__(self, low: int, high: int, kind: str | None = None, satisfied: tuple | None = None,
                 words: dict | None = None):
        self.low, self.high, self.kind, self.satisfied = low, high, kind, satisfied
        self.words = words or {}
        self.fast = {str(n): n for n in range(low, high + 1)}      # the common case without a parse
        self.fast.update(self.words)

    def __str__(self):
        if self.words:
            return "/".join(sorted(self.words, key=lambda word: -self.words[word]))
        return f"{self.low}-{self.high}"

    def rating(self, good: bool) -> int:
        """The score standing for a good or a bad rating: the top satisfied answer, or the lowest
        answer that is not satisfied. Only on a scale that says what satisfied means."""
        if self.satisfied is None:
            raise SourceError(f"good/bad ratings have no place on a {self} {self.kind or 'scale'}: they make a CSAT")
        low, high = self.satisfied
        return high if good else (self.low if self.low < low else high + 1)


# A source yields (time, UNANSWERED) for a survey offered but not answered: the survey checks count
# those apart (the response rate), in the last slot of their counts.
UNANSWERED = -1
NPS_SCALE = Scale(0, 10, kind="NPS")


def parse_score(raw, scale: Scale = NPS_SCALE) -> int | None:
    """A whole number on the scale; None if empty, not a whole number, or out of range."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        # NaN and Infinity come from JSON too (Python's json reads them); neither is a score.
        if not math.isfinite(raw) or raw != int(raw):
            return None
        value = int(raw)
    elif isinstance(raw, str) and NUMBER.match(raw):
        value = int(raw.strip().replace(",", ".").split(".")[0])
    elif isinstance(raw, str) and scale.words:
        return scale.words.get(raw.strip().lower())
    else:
        return None
    return value if scale.low <= value <= scale.high else None


def score_problem(raw, scale: Scale = NPS_SCALE) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "empty score"
    if parse_score(raw, scale) is None and isinstance(raw, (str, int, float)) and NUMBER.match(str(raw)):
        return f"score out of range {scale}"
    return f"score not {scale}" if scale.words else "score not a whole number"


def scored(raw_score, raw_date, parse_time, rejects: Rejects, where, scale: Scale = NPS_SCALE,
           column: str | None = None):
    """(time, score) of one response, or None once the reason it cannot be used is counted."""
    score = parse_score(raw_score, scale)
    if score is None:
        rejects.add(score_problem(raw_score, scale), where)
        return None
    when = dated(raw_date, parse_time, rejects, where, column=column)
    return None if when is None else (when, score)


def scored_item(item, score_key: str, date_key: str, parse_time, rejects: Rejects, where,
                scale: Scale = NPS_SCALE, column: str | None = None):
    """scored() of one JSON item, which has to be an object."""
    if not isinstance(item, dict):
        rejects.add("not a JSON object", where)
        return None
    return scored(item.get(score_key), item.get(date_key), parse_time, rejects, where, scale, column)
