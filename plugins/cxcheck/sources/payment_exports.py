"""Payments exported from Stripe, for check_cx_payments: the Dashboard's payments export (CSV,
its own column names as the defaults: "Created date (UTC)", "Status", "Amount", "Currency",
"Amount Refunded", "Decline Reason", "Dispute Date (UTC)"; amounts in the main unit), or charge
objects as the API gives them, one a line (JSON Lines: `stripe charges list` of the Stripe CLI,
webhook payloads' data.object), read as sources/stripe.py reads the API's (dispute objects among
them count as disputes by their `created`).

Statuses: the API's succeeded, failed, pending, and the Dashboard's words for them: Paid,
Refunded and Partially refunded (succeeded, refunded since), Failed and Blocked (failed),
Pending and Uncaptured (pending). Another status is a rejected row, counted by reason.
"""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import Source
from cxcheck.sources.churn import number
from cxcheck.sources.columns import add_column_options, pick_columns
from cxcheck.sources.exports import _normal, _shown, csv_export, jsonl_items, wide_rows
from cxcheck.sources.payments import PaymentWindows
from cxcheck.sources.rows import dated

STATUSES = {"succeeded": ("succeeded", False), "paid": ("succeeded", False), "refunded": ("succeeded", True),
            "partially_refunded": ("succeeded", True), "failed": ("failed", False), "blocked": ("failed", False),
            "pending": ("pending", False), "uncaptured": ("pending", False)}
COLUMNS = (  # option, what, default names, required
    ("date_column", "date", ("Created date (UTC)", "Created (UTC)", "created", "date"), True),
    ("status_column", "status", ("Status",), True),
    ("amount_column", "amount", ("Amount",), False),
    ("currency_column", "currency", ("Currency",), False),
    ("refunded_column", "refunded amount", ("Amount Refunded",), False),
    ("reason_column", "decline reason", ("Decline Reason", "failure_code"), False),
    ("dispute_column", "dispute date", ("Dispute Date (UTC)", "dispute_date"), False),
)


def add_export_arguments(options) -> None:
    add_column_options(options, COLUMNS, "--payments-csv")
    options.add("--date-format", action="append", default=[], metavar="STRPTIME",
                help="--payments-csv: a date format such as %%d/%%m/%%Y %%H:%%M, repeatable (default: ISO 8601, "
                     "the Dashboard's 2026-10-31 23:59:59, or unix seconds)")


class PaymentsCsv(Source):
    name = "Stripe payments export"
    option, metavar = "--payments-csv", "FILE"
    help = "the Stripe Dashboard's payments export, CSV (- for standard input)"
    add_arguments = staticmethod(add_export_arguments)

    def read_payments(self, windows, rejects):
        args, path = self.args, self.value
        tallies = PaymentWindows(windows, [f"{path}: Stripe's payments export"])
        parse_time = TimeParser(args.date_format)
        self.rows = 0
        self.reading_input()
        with csv_export(path) as (header, reader):
            at = pick_columns(header, args, COLUMNS, path)
            date_column = f"column {_shown([header[at[0]]])}"
            if at[6] is not None:
                tallies.reading_disputes()
            for row in wide_rows(reader, max(i for i in at if i is not None), rejects):
                date, status, amount, currency, refunded, reason, disputed = (
                    None if i is None else row[i] for i in at)
                where = reader.line_num
                outcome, was_refunded = STATUSES.get(_normal(status), (None, False))
                if outcome is None:
                    rejects.add("a status that is not a payment's outcome", where, sample=status,
                                advice="the export's Status column: Paid, Failed, Refunded, ... (--status-column)")
                    continue
                if disputed and disputed.strip():
                    when = dated(disputed, parse_time, rejects, where, "dispute")
                    if when is not None:
                        tallies.dispute(when)
                when = dated(date, parse_time, rejects, where, "creation", column=date_column)
                if when is None:
                    continue
                refunded = was_refunded or (number(refunded) or 0) > 0
                self.rows += tallies.add(when, outcome, number(amount), (currency or "").strip(), reason, refunded)
        return tallies.tallies


class ChargesJsonLines(Source):
    name = "Stripe charges (JSON Lines)"
    option, metavar = "--payments-jsonl", "FILE"
    help = "Stripe charge objects as the API gives them, one a line (disputes among them counted)"

    def read_payments(self, windows, rejects):
        from cxcheck.sources.stripe import tally_charge, unix_time

        tallies = PaymentWindows(windows, [f"{self.value}: Stripe charge objects"])
        self.rows, disputes = 0, False
        self.reading_input()
        for number_, item in jsonl_items(self.value, rejects):
            if isinstance(item, dict) and item.get("object") == "dispute":
                if not disputes:
                    tallies.reading_disputes()
                    disputes = True
                when = unix_time(item.get("created"))
                if when is not None:
                    tallies.dispute(when)
                continue
            self.rows += tally_charge(tallies, item, number_, rejects)
        return tallies.tallies
