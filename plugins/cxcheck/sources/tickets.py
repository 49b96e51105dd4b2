"""Support tickets as every ticket source yields them, and the ticket exports on disk.

A ticket is (created, solved, seconds): unix times of its creation and of its solving (None while
unsolved), and the measured wait in seconds, the first reply or the resolution time (None while
not reached). Help desks give the wait themselves (Zendesk in minutes, HubSpot in milliseconds);
an export gives timestamps (created, first reply, solved) and the wait is their difference, in
calendar time only. Both stream: one row or page in memory at a time.
"""

from __future__ import annotations

import math

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ConfigError, Source
from cxcheck.sources.exports import add_date_format, csv_cells, jsonl_objects
from cxcheck.sources.rows import Rejects, dated

MEASURES = ("first-reply", "resolution")
CREATED_NAMES = ("created_at", "created", "date_created", "created_date", "createdate", "opened_at")
REPLY_NAMES = ("first_reply_at", "first_response_at", "first_reply", "first_response", "replied_at")
SOLVED_NAMES = ("solved_at", "resolved_at", "closed_at", "solved", "resolved", "closed_date", "closed")


def duration(raw, per_second: float = 1.0) -> float | None:
    """A wait as the API gives it (minutes: per_second 1/60, milliseconds: 1000) in seconds; None
    when absent (not reached yet). A value that is not a non-negative number raises ValueError."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    value = float(raw) / per_second
    if not math.isfinite(value) or value < 0:
        raise ValueError(raw)
    return value


def from_timestamps(created, replied, solved, measure: str, where, rejects: Rejects):
    """(created, solved, seconds) of an exported row of timestamps, or None once counted in rejects."""
    if created is None:
        rejects.add("no creation date", where)
        return None
    end = replied if measure == "first-reply" else solved
    if end is not None and end < created:
        rejects.add(f"{'first reply' if measure == 'first-reply' else 'solved'} before creation", where)
        return None
    return created, solved, None if end is None else end - created


def add_ticket_field_arguments(options) -> None:
    options.add("--created-column", "--created-field", dest="created_column", metavar="NAME",
                help="the creation time (default: the first named like created_at, created, createdate)")
    options.add("--first-reply-column", "--first-reply-field", dest="first_reply_column", metavar="NAME",
                help="the first reply time (default: first_reply_at, first_response_at, ...)")
    options.add("--solved-column", "--solved-field", dest="solved_column", metavar="NAME",
                help="the solving time, empty while unsolved (default: solved_at, resolved_at, closed_at, ...)")
    add_date_format(options)


class TicketExport(Source):
    """What the CSV and JSON Lines ticket exports share: their columns, the backlog by counting."""

    add_arguments = staticmethod(add_ticket_field_arguments)
    columns = (None, None, None)        # where the three dates stand, for messages: set by rows()

    def read_tickets(self, measure: str, hours: str, by: str, since: float, until: float, rejects: Rejects):
        if hours != "calendar":
            raise ConfigError(f"a {self.name} gives calendar times only (timestamps): no --hours business")
        self.reading_input()
        parse_time = TimeParser(self.args.date_format)
        for where, *cells in self.rows(rejects, need_reply=measure == "first-reply",
                                       need_solved=measure == "resolution" or by == "solved"):
            times = _times(parse_time, cells, where, rejects, self.columns)
            if times:
                ticket = from_timestamps(*times, measure, where, rejects)
                if ticket:
                    yield ticket

    def read_backlog(self, before: float, rejects: Rejects):
        self.reading_input()
        parse_time = TimeParser(self.args.date_format)
        count, oldest, examined = 0, None, 0
        for where, *cells in self.rows(rejects, need_reply=False, need_solved=True):
            times = _times(parse_time, cells, where, rejects, self.columns)
            if not times:
                continue
            if times[0] is None:
                rejects.add("no creation date", where)
                continue
            examined += 1
            if times[2] is None and times[0] < before:
                count += 1
                oldest = times[0] if oldest is None else min(oldest, times[0])
        return count, oldest, examined


def _times(parse_time, cells, where, rejects: Rejects, columns=(None, None, None)):
    """(created, first reply, solved) as unix times, empty cells None; None once a date that is
    there cannot be used (counted, by reason, naming its column)."""
    times = []
    for raw, what, column in zip(cells, ("creation", "first reply", "solved"), columns):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            times.append(None)
            continue
        when = dated(raw, parse_time, rejects, where, what, column)
        if when is None:
            return None
        times.append(when)
    return times


class TicketCsvExport(TicketExport):
    name = "CSV ticket export"
    option, metavar = "--csv", "FILE"
    help = "a CSV export of tickets (- for standard input)"

    def rows(self, rejects: Rejects, need_reply: bool, need_solved: bool = False):
        """(line, created, first reply, solved) raw cells; a missing optional column gives None."""
        args, self.columns = self.args, []
        for line, cells in csv_cells(self.value, rejects, [
                (args.created_column, CREATED_NAMES, "creation time", "--created-column", True),
                (args.first_reply_column, REPLY_NAMES, "first reply time", "--first-reply-column", need_reply),
                (args.solved_column, SOLVED_NAMES, "solving time", "--solved-column", need_solved)], self.columns):
            yield line, *cells


class TicketJsonLinesExport(TicketExport):
    name = "JSON Lines ticket export"
    option, metavar = "--jsonl", "FILE"
    help = "JSON Lines, one ticket object per line"

    def rows(self, rejects: Rejects, need_reply: bool, need_solved: bool = False):
        args = self.args
        keys = (args.created_column or "created_at", args.first_reply_column or "first_reply_at",
                args.solved_column or "solved_at")
        self.columns = tuple(f"field {key!r}" for key in keys)
        for number, item in jsonl_objects(self.value, rejects):
            yield (number, *(item.get(key) for key in keys))


