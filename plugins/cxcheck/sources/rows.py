"""Rows read from any source: the unreadable ones counted by reason, never dropped silently, with
a value and advice that teach (`Rejects`), and the check every reader makes of a row's date
(`dated`)."""

from __future__ import annotations

import time

from cxcheck.runtime import excerpt
from cxcheck.runtime.times import CLOCK_SKEW, FUTURE, UNREADABLE

MAX_EXAMPLES = 5


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
