"""Subscriptions exported from Stripe, for check_cx_revenue: subscription objects as the API gives
them, one a line (JSON Lines: `stripe subscriptions list --status all` of the Stripe CLI), read
as sources/stripe_billing.py reads the API's; or a CSV of one subscription a row with the
subscription export's columns as the defaults ("id", "Customer ID", "Status", "Start Date (UTC)"
(else "Created (UTC)"), "Trial End (UTC)", "Canceled At (UTC)", "Ended At (UTC)", "Plan Amount"
(main unit), "Plan Interval", "Plan Interval Count", "Quantity", "Currency"), each renamed by its
option. A CSV row has one price and no coupon: a discount is not seen.

Exports name no account: with subscriptions in several currencies, --currency says which one
MRR is in.
"""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ConfigError, Source
from cxcheck.sources.churn import number
from cxcheck.sources.columns import add_column_options, pick_columns
from cxcheck.sources.exports import _shown, csv_export, jsonl_items, wide_rows
from cxcheck.sources.rows import dated

COLUMNS = (  # option, what, default names, required
    ("id_column", "subscription id", ("id", "subscription_id"), False),
    ("customer_column", "customer", ("Customer ID", "customer"), True),
    ("status_column", "status", ("Status",), True),
    ("start_column", "start", ("Start Date (UTC)", "Start (UTC)", "start_date", "Created (UTC)", "created"), True),
    ("amount_column", "amount", ("Plan Amount", "amount"), True),
    ("interval_column", "interval", ("Plan Interval", "interval"), True),
    ("trial_end_column", "trial end", ("Trial End (UTC)", "trial_end"), False),
    ("canceled_column", "cancellation", ("Canceled At (UTC)", "canceled_at"), False),
    ("ended_column", "end", ("Ended At (UTC)", "ended_at"), False),
    ("interval_count_column", "interval count", ("Plan Interval Count", "interval_count"), False),
    ("quantity_column", "quantity", ("Quantity",), False),
    ("currency_column", "currency", ("Currency", "Plan Currency"), False),
)


def add_export_arguments(options) -> None:
    options.add("--currency", metavar="CODE",
                help="the account's currency, for MRR, ARPU and CLV (default: the subscriptions' only currency; "
                     "for the API, else the Stripe account's default currency); others are listed apart")
    add_column_options(options, COLUMNS, "--subscriptions-csv")
    options.add("--date-format", action="append", default=[], metavar="STRPTIME",
                help="--subscriptions-csv: a date format such as %%d/%%m/%%Y %%H:%%M, repeatable (default: "
                     "ISO 8601 or unix seconds)")


class SubscriptionExport(Source):
    add_arguments = staticmethod(add_export_arguments)

    def account_currency(self) -> str:
        raise ConfigError(f"{self.value} holds subscriptions in several currencies: say which is the account's "
                          "with --currency")


class SubscriptionsJsonLines(SubscriptionExport):
    name = "Stripe subscriptions (JSON Lines)"
    option, metavar = "--subscriptions-jsonl", "FILE"
    help = "Stripe subscription objects as the API gives them, one a line"

    def read_subscriptions(self, rejects) -> list:
        from cxcheck.sources.stripe_subscriptions import subscriptions

        self.reading_input()
        found = subscriptions(jsonl_items(self.value, rejects), rejects)
        self.rows = len(found)
        return found


class SubscriptionsCsv(SubscriptionExport):
    name = "Stripe subscriptions export"
    option, metavar = "--subscriptions-csv", "FILE"
    help = "Stripe subscriptions, CSV, one a row (- for standard input)"

    def read_subscriptions(self, rejects) -> list:
        from cxcheck.revenue import Item, Subscription

        args, path = self.args, self.value
        parse_time = TimeParser(args.date_format)
        found, self.rows = [], 0
        self.reading_input()
        with csv_export(path) as (header, reader):
            at = pick_columns(header, args, COLUMNS, path)
            start_column = f"column {_shown([header[at[3]]])}"
            for row in wide_rows(reader, max(i for i in at if i is not None), rejects):
                (sub_id, customer, status, start, amount, interval, trial_end, canceled, ended, count, quantity,
                 currency) = (None if i is None else row[i].strip() for i in at)
                where = reader.line_num
                start = dated(start, parse_time, rejects, where, "start", column=start_column)
                if start is None:
                    continue
                when = [dated(raw, parse_time, rejects, where, what) if raw else None
                        for raw, what in ((trial_end, "trial end"), (canceled, "cancellation"), (ended, "end"))]
                if any(raw and moment is None for raw, moment in zip((trial_end, canceled, ended), when)):
                    continue
                price, interval = number(amount), (interval or "").lower()
                currency = (currency or args.currency or "").lower()
                if price is None or interval not in ("day", "week", "month", "year") or not currency:
                    rejects.add("no amount, interval (day, week, month, year) or currency", where)
                    continue
                item = Item(price, interval, int(number(count) or 1), int(number(quantity) or 1))
                found.append(Subscription(sub_id or f"row {where}", customer, currency, (status or "").lower(), start,
                                          [item], trial_end=when[0], canceled_at=when[1], ended_at=when[2]))
                self.rows += 1
        return found
