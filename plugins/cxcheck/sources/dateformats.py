"""What to give --date-format for an export's unreadable date: the strptime formats, among the
common ones, that read the first unreadable value (day first before month first; both named when
the value reads both ways, as 01/02/2026 does)."""

from __future__ import annotations

from datetime import datetime

# Formats worth suggesting, tried on an unreadable date's first value: day first, then month first.
FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
           "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
           "%m/%d/%Y %I:%M %p", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d %b %Y %H:%M", "%d %b %Y",
           "%b %d, %Y %H:%M", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%a, %d %b %Y %H:%M:%S %z",
           "%Y-%m-%d %H:%M:%S %z", "%Y%m%d%H%M%S", "%Y%m%d")


def date_format_advice(sample) -> str:
    """What to give --date-format for a date written like `sample`: the formats that read it."""
    text = str(sample).strip() if sample is not None else ""
    fitting = []
    for fmt in FORMATS:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            continue
        fitting.append(fmt)
    if not fitting:
        return "give its format with --date-format (strptime, such as %d/%m/%Y %H:%M)"
    either = f" (or {fitting[1]!r}: the value reads both ways)" if len(fitting) > 1 else ""
    return f"give its format with --date-format {fitting[0]!r}{either}"
