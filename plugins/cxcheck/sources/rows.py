"""Rows read from any source: the unreadable ones counted by reason, never dropped silently
(`Rejects`), and the check every reader makes of a row's date (`dated`)."""

from __future__ import annotations

import time

from cxcheck.runtime.times import CLOCK_SKEW, FUTURE, UNREADABLE

MAX_EXAMPLES = 5


class Rejects:
    """Counts of skipped rows by reason, with the first few row numbers of each."""

    def __init__(self):
        self.reasons: dict[str, list] = {}
        self.count = 0

    def add(self, reason: str, where) -> None:
        self.count += 1
        examples = self.reasons.setdefault(reason, [0, []])
        examples[0] += 1
        if len(examples[1]) < MAX_EXAMPLES:
            examples[1].append(where)

    def lines(self, unit: str = "line") -> list[str]:
        """One line per reason; `unit` names numbered places (line 3, 5), places that name
        themselves (page 2 item 7) go as they are."""
        out = []
        for reason, (n, where) in sorted(self.reasons.items(), key=lambda item: -item[1][0]):
            shown = ", ".join(map(str, where)) + (", ..." if n > len(where) else "")
            numbered = all(isinstance(place, int) for place in where)
            out.append(f"{n} rejected: {reason} ({unit + ' ' if numbered else ''}{shown})")
        return out


def dated(raw, parse_time, rejects: Rejects, where, what: str = "") -> float | None:
    """The unix time of a date, or None once the reason it cannot be used is counted: unreadable,
    a spreadsheet's serial date, in the future. `what` names one date of several in the reason
    ("creation": "unreadable creation date", "creation date in the future")."""
    when = parse_time(raw)
    if when is None:
        reason = getattr(parse_time, "problem", UNREADABLE)
    elif when > (getattr(parse_time, "latest", None) or time.time() + CLOCK_SKEW):  # any callable may parse
        reason = FUTURE
    else:
        return when
    rejects.add(reason.replace("date", f"{what} date", 1) if what else reason, where)
    return None
