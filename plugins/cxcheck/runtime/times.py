"""Times as exports, APIs and the command line write them: ISO 8601 (naive = UTC), unix seconds or
given strptime formats; a spreadsheet's serial date and a date in the future are told apart from
an unreadable one. `now_time` is the --now option type of every windowed check."""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime

# A bare number below this is no unix time of a survey answer (it would be 2 January 1970) but
# a spreadsheet's serial date: days since 30 December 1899 (up to the year 2173).
SERIAL_BELOW = 100_000
UNREADABLE = "unreadable date"
SERIAL = "spreadsheet serial date (format the column as dates)"
FUTURE = "date in the future"
CLOCK_SKEW = 300                # seconds another clock may run ahead of ours before a date is in the future


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


def now_time(text: str) -> float:
    """--now: the window's end, ISO 8601 or unix seconds."""
    value = TimeParser()(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time or unix seconds")
    return value
