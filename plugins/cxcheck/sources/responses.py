"""Survey responses as every survey source yields them: (unix time, score on the check's scale),
with the rows that could not be read counted, and why, instead of silently dropped."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

from cxcheck.runtime import Record, SourceError, excerpt  # SourceError: the sources import it from here

MAX_EXAMPLES = 5
NUMBER = re.compile(r"^\s*[+-]?\d+(?:[.,]0*)?\s*$")
# A bare number below this is no unix time of a survey answer (it would be 2 January 1970) but
# a spreadsheet's serial date: days since 30 December 1899 (up to the year 2173).
SERIAL_BELOW = 100_000
UNREADABLE = "unreadable date"
SERIAL = "spreadsheet serial date (format the column as dates)"
FUTURE = "date in the future"
CLOCK_SKEW = 300                # seconds another clock may run ahead of ours before a date is in the future


class Rejects:
    """Counts of rejected rows by reason, with the first few row numbers of each; apart, the rows
    skipped for a reason that says nothing of the data's quality (an optional question left
    unanswered): never rejects, never in the rejected share."""

    def __init__(self):
        self.reasons: dict[str, list] = {}
        self.samples: dict[str, tuple] = {}         # reason -> (its first value, advice or None)
        self.count = 0
        self.skipped = 0
        self.skipped_at: list = []

    def skip(self, where) -> None:
        self.skipped += 1
        if len(self.skipped_at) < MAX_EXAMPLES:
            self.skipped_at.append(where)

    def add(self, reason: str, where, sample=None, advice=None) -> None:
        """One rejected row. `sample`, the value that could not be read (the first of a reason is
        kept, shown masked), and `advice`, what to do about it (a text or a function of the
        sample), make the reason teach."""
        self.count += 1
        examples = self.reasons.get(reason)
        if examples is None:
            examples = self.reasons[reason] = [0, []]
            if sample is not None or advice is not None:
                self.samples[reason] = (sample, advice)
        examples[0] += 1
        if len(examples[1]) < MAX_EXAMPLES:
            examples[1].append(where)

    def explained(self, reason: str) -> tuple[str, str]:
        """(', such as <sample>', ': <advice>') of a reason, each empty when it has none."""
        sample, advice = self.samples.get(reason, (None, None))
        if callable(advice):
            advice = advice(sample)
        shown = f", such as {excerpt(repr(str(sample)), 60)}" if sample is not None else ""
        return shown, f": {advice}" if advice else ""

    def worst(self) -> str:
        """The most frequent reason in a few words, with its sample and advice ('' when none)."""
        if not self.reasons:
            return ""
        reason, (n, _) = max(self.reasons.items(), key=lambda item: item[1][0])
        shown, advice = self.explained(reason)
        return f"{n} {reason}{shown}{advice}"

    def lines(self, unit: str = "line") -> list[str]:
        """One line per reason; `unit` names numbered places (line 3, 5), places that name
        themselves (page 2 item 7) go as they are."""
        out = []
        for reason, (n, where) in sorted(self.reasons.items(), key=lambda item: -item[1][0]):
            places = ", ".join(map(str, where)) + (", ..." if n > len(where) else "")
            numbered = all(isinstance(place, int) for place in where)
            sample, advice = self.explained(reason)
            out.append(f"{n} rejected: {reason}{sample} ({unit + ' ' if numbered else ''}{places}){advice}")
        return out


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


def dated(raw, parse_time, rejects: Rejects, where, what: str = "", column: str | None = None) -> float | None:
    """The unix time of a date, or None once the reason it cannot be used is counted: unreadable,
    a spreadsheet's serial date, in the future. `what` names one date of several in the reason
    ("creation": "unreadable creation date", "creation date in the future"); `column`, where it
    stands in an export the administrator formats ("column 'Submitted'", "field 'when'"): an
    unreadable one then names it, shows one value and points to --date-format."""
    when = parse_time(raw)
    if when is None:
        reason = getattr(parse_time, "problem", UNREADABLE)
    elif when > (getattr(parse_time, "latest", None) or time.time() + CLOCK_SKEW):  # any callable may parse
        reason = FUTURE
    else:
        return when
    reject_date(rejects, reason.replace("date", f"{what} date", 1) if what else reason, where, raw, column)
    return None


def reject_date(rejects: Rejects, reason: str, where, raw, column: str | None = None) -> None:
    """A date that cannot be used, counted; an unreadable one in a named column of an export also
    names the column, keeps the value and says what to give --date-format."""
    if column and reason.startswith("unreadable"):
        from cxcheck.sources.dateformats import date_format_advice  # only once a date is unreadable

        rejects.add(f"{reason} in {column}", where, raw, date_format_advice)
    else:
        rejects.add(reason, where)


def scored_item(item, score_key: str, date_key: str, parse_time, rejects: Rejects, where,
                scale: Scale = NPS_SCALE, column: str | None = None):
    """scored() of one JSON item, which has to be an object."""
    if not isinstance(item, dict):
        rejects.add("not a JSON object", where)
        return None
    return scored(item.get(score_key), item.get(date_key), parse_time, rejects, where, scale, column)


class TimeParser:
    """Dates as exports write them: ISO 8601 with or without zone (naive = UTC), unix seconds,
    or the given strptime formats, tried in order; the format that worked last goes first.

    None when a date cannot be used, with the reason in `problem` (a spreadsheet's serial date
    is not read as January 1970); `latest` is the time the reading started, give or take another
    clock's skew: a response dated after it is in the future."""

    def __init__(self, formats=()):
        self.formats = list(formats)
        self.latest = time.time() + CLOCK_SKEW
        self.problem = UNREADABLE

    def __call__(self, raw) -> float | None:
        self.problem = UNREADABLE
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return self._seconds(_finite(raw))
        if not isinstance(raw, str):
            return None
        text = raw.strip()
        if not text:
            return None
        for index, fmt in enumerate(self.formats):
            try:
                stamp = datetime.strptime(text, fmt)
            except ValueError:
                continue
            if index:
                self.formats.insert(0, self.formats.pop(index))
            return _epoch(stamp)
        if text[0].isdigit() and text.replace(".", "", 1).isdigit():
            # isdigit() also holds for digits float() refuses (superscripts, other scripts).
            try:
                return self._seconds(_finite(float(text)))
            except ValueError:
                return None
        try:
            return _epoch(datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text))
        except (ValueError, OverflowError):
            return None


    def _seconds(self, value: float | None) -> float | None:
        if value is not None and value < SERIAL_BELOW:
            self.problem = SERIAL if value > 0 else UNREADABLE
            return None
        return value


def _epoch(stamp: datetime) -> float | None:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return stamp.timestamp()
    except (OverflowError, ValueError):     # out of the platform's range: unreadable, not a crash
        return None


def _finite(number) -> float | None:
    """Unix seconds as a float; None for NaN, infinities and integers too large for a float."""
    try:
        value = float(number)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
