"""One duration grammar for every option that takes a duration: windows, ranges, ages.

`90m`, `1.5d`, `1h30m`, `45s`, `500ms`, `2w`, and a bare number of seconds. A Duration is a float
of seconds that remembers how it was written (30d stays 30d in the output) and can say itself
as Prometheus does (whole numbers of one or more units: 1.5d -> 1d12h).
"""

from __future__ import annotations

import argparse
import math
import re

import nagiosplugin

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d|w)")
BARE = re.compile(r"\d+(?:\.\d*)?|\.\d+")
# Largest unit first, as Prometheus writes them.
PROMETHEUS_UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1), ("ms", 0.001))
LONGEST = 10 * 365 * 86400           # ten years: a longer window or age is a typo


def parse_duration(text: str) -> float | None:
    """Seconds, or None when the text is not a duration."""
    text = text.strip().lower()
    if BARE.fullmatch(text):
        return float(text)
    at, seconds = 0, 0.0
    for match in PART.finditer(text):
        if match.start() != at:
            return None
        seconds += float(match.group(1)) * UNITS[match.group(2)]
        at = match.end()
    return seconds if at == len(text) and at else None


class Duration(float):
    """Seconds, positive, at most ten years, remembering the text they were written as."""

    text: str

    def __new__(cls, text: str):
        seconds = parse_duration(str(text))
        if seconds is None or not math.isfinite(seconds) or seconds <= 0 or seconds > LONGEST:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a duration such as 90s, 15m, 4h, 1.5d or 2w (a bare number is seconds)")
        duration = super().__new__(cls, seconds)
        duration.text = str(text).strip()
        return duration

    def __str__(self):
        return self.text

    @property
    def prometheus(self) -> str:
        """As a PromQL range: 1.5d -> 1d12h, 90m -> 1h30m (whole milliseconds at the finest)."""
        left = round(float(self) * 1000)
        parts = []
        for unit, size in PROMETHEUS_UNITS:
            step = round(size * 1000)
            if left >= step:
                parts.append(f"{left // step}{unit}")
                left %= step
        return "".join(parts) or "0s"


def seconds_text(seconds: float) -> str:
    """Seconds as a range bound: whole numbers without a point, else up to milliseconds."""
    value = round(seconds, 3)
    return str(int(value)) if value == int(value) else repr(value)


class DurationRange(str):
    """A Nagios range whose bounds may be durations (-w 4h, -c 8h, 30m:2h, @1h:2h, ~:1d): the
    seconds form nagiosplugin reads, remembering the text it was written as and whether it had
    units (a count's range must not)."""

    text: str
    units: bool

    def __new__(cls, text: str):
        raw = str(text).strip()
        invert = raw.startswith("@")
        start, colon, end = raw[invert:].rpartition(":") if ":" in raw else ("", "", raw[invert:])
        parts = []
        for part in (start, end) if colon else (end,):
            if part in ("", "~"):
                parts.append(part)
                continue
            seconds = parse_duration(part)
            if seconds is None or not math.isfinite(seconds):
                raise argparse.ArgumentTypeError(f"{text!r} is not a range of durations (e.g. 4h, 30m:2h, @1h:2h) "
                                                 "or of numbers (Nagios range syntax)")
            parts.append(seconds_text(seconds))
        value = ("@" if invert else "") + ":".join(parts)
        try:
            nagiosplugin.Range(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a range (start above its end?)") from None
        made = super().__new__(cls, value)
        made.text, made.units = raw, any(c.isalpha() for c in raw)
        return made


def say_duration(seconds: float | None) -> str:
    """A duration as people read it, in the grammar options take: 45s, 12m30s, 2h5m, 3d4h."""
    if seconds is None:
        return "-"
    left = round(seconds)
    if left < 60:
        return f"{left}s" if left or not seconds else f"{seconds:.2g}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts[:2])
