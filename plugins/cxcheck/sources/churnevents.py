"""Customer or subscription events exported to CSV or JSON Lines: one row per event, with the
customer, the event and its date (and optionally the value lost and the reason given). A customer
is active from a start event (subscribed, ...) until a cancel event (cancelled, ...); the churn of
a window is who cancelled in it among the customers active at its start. Rows may come in any
order: per customer the pass keeps only the latest event before each window's start and the first
cancellation within each window. Other events are counted and left alone."""

from __future__ import annotations

from collections import Counter

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import Source
from cxcheck.sources.churn import Churn, number
from cxcheck.sources.exports import DATE_NAMES, add_date_format, csv_cells, jsonl_objects
from cxcheck.sources.rows import Rejects, dated

CUSTOMER_NAMES = ("customer", "customer_id", "subscription", "subscription_id", "account", "user", "email")
EVENT_NAMES = ("event", "type", "action", "status")
VALUE_NAMES = ("mrr", "value", "amount", "revenue")
REASON_NAMES = ("reason", "cancel_reason", "churn_reason", "cancellation_reason")
STARTS = "started,subscribed,created,activated,reactivated,renewed"
EVENT_DATES = (*DATE_NAMES, "occurred_at", "event_date", "event_time")
CANCELS = "cancelled,canceled,churned,ended,expired,deleted"


def add_event_arguments(options) -> None:
    options.add("--customer-column", "--customer-field", dest="customer_column", metavar="NAME",
                help="events: the customer or subscription column (default: the first named like customer, "
                     "subscription, account, user, email)")
    options.add("--event-column", "--event-field", dest="event_column", metavar="NAME",
                help="events: the event column (default: event, type, action or status)")
    options.add("--date-column", "--date-field", dest="date_column", metavar="NAME",
                help="events: the date column (default: the first named like date, created_at, timestamp)")
    options.add("--value-column", "--value-field", dest="value_column", metavar="NAME",
                help="events: the value a cancellation loses (default: a column named mrr, value, amount or "
                     "revenue, if any)")
    options.add("--reason-column", "--reason-field", dest="reason_column", metavar="NAME",
                help="events: the reason given for a cancellation (default: reason, cancel_reason, ..., if any)")
    options.add("--start-events", default=STARTS, metavar="LIST", help=f"events that make a customer active "
                f"(comma-separated, any case; default {STARTS})")
    options.add("--cancel-events", default=CANCELS, metavar="LIST", help=f"events that end it (default {CANCELS})")
    add_date_format(options)
    options.add("--currency", metavar="CODE", help="the currency of the values, to say it")


class EventTally:
    """One pass over the events, whatever their order, into a Churn per window."""

    def __init__(self, windows, args):
        self.windows, self.args = windows, args
        self.bounds = [(window.since, window.until) for window in windows]
        self.size = len(windows)
        self.parse_time = TimeParser(args.date_format)
        self.starts = {name.strip().lower() for name in args.start_events.split(",") if name.strip()}
        self.cancels = {name.strip().lower() for name in args.cancel_events.split(",") if name.strip()}
        self.customers: dict = {}       # customer -> ([latest (time, active) at each start], [first cancel in each])
        self.other: Counter = Counter()
        self.rows = 0                   # rows used: events of the two kinds, readable
        self.date_column = None         # where the date stands, for messages ("column 'date'")

    def add(self, customer, event, raw_date, value, reason, where, rejects: Rejects) -> None:
        """One row; the value and reason are kept raw, read only for the cancellations that count."""
        kind = event.strip().lower() if isinstance(event, str) else ""
        if not customer:
            rejects.add("empty customer", where)
            return
        active = kind in self.starts
        if not active and kind not in self.cancels:
            self.other[kind or "(empty)"] += 1      # read, not used: neither rejected nor counted
            return
        when = dated(raw_date, self.parse_time, rejects, where, column=self.date_column)
        if when is None:
            return
        self.rows += 1
        latest, cancels = self.customers.setdefault(customer, ([None] * self.size, [None] * self.size))
        for index, (since, until) in enumerate(self.bounds):
            if when <= since:
                before = latest[index]
                # Same instant: the cancellation wins (a customer cannot end active on a tie).
                if before is None or when > before[0] or (when == before[0] and not active):
                    latest[index] = (when, active)
            elif not active and when <= until:
                first = cancels[index]
                if first is None or when < first[0]:
                    cancels[index] = (when, value, reason)

    def tallies(self, path: str) -> list[Churn]:
        currency = self.args.currency or ""
        others = ", ".join(f"{name} {n}" for name, n in self.other.most_common(3))
        note = f"{path}: {len(self.customers)} customers" + (f"; other events left alone: {others}" if others else "")
        result = [Churn("customers active at the start", note, currency) for _ in self.windows]
        for latest, cancels in self.customers.values():
            for index, churn in enumerate(result):
                if latest[index] is not None and latest[index][1]:
                    churn.base += 1
                    if cancels[index] is not None:
                        churn.lose(number(cancels[index][1]), currency, cancels[index][2])
        return result


class EventsExport(Source):
    """An export of events; subclasses yield (where, [customer, event, date, value, reason]), the
    customer as text (None when absent), the others raw."""

    add_arguments = staticmethod(add_event_arguments)

    def read_churn(self, windows, rejects: Rejects) -> list[Churn]:
        tally = EventTally(windows, self.args)
        self.reading_input()
        self.tally = tally
        for where, fields in self.events(rejects):
            tally.add(*fields, where, rejects)
        self.rows = tally.rows
        return tally.tallies(self.value)


class CsvEvents(EventsExport):
    name = "CSV events"
    option, metavar = "--events-csv", "FILE"
    help = "customer or subscription events, CSV (- for standard input)"

    def events(self, rejects: Rejects):
        args, described = self.args, []
        for line, fields in csv_cells(self.value, rejects, [
                (args.customer_column, CUSTOMER_NAMES, "customer", "--customer-column", True),
                (args.event_column, EVENT_NAMES, "event", "--event-column", True),
                (args.date_column, EVENT_DATES, "date", "--date-column", True),
                (args.value_column, VALUE_NAMES, "value", "--value-column"),
                (args.reason_column, REASON_NAMES, "reason", "--reason-column")], described):
            self.tally.date_column = described[2]         # known once the header is read
            fields[0] = fields[0].strip()
            yield line, fields


class JsonLinesEvents(EventsExport):
    name = "JSON Lines events"
    option, metavar = "--events-jsonl", "FILE"
    help = "customer or subscription events, JSON Lines (one object per line)"

    def events(self, rejects: Rejects):
        args = self.args
        keys = [args.customer_column or "customer", args.event_column or "event", args.date_column or "date",
                args.value_column or "value", args.reason_column or "reason"]
        self.tally.date_column = f"field {keys[2]!r}"
        for where, item in jsonl_objects(self.value, rejects):
            fields = [item.get(key) for key in keys]
            fields[0] = None if fields[0] is None else str(fields[0])
            yield where, fields
