"""Writes payments_sample.csv and subscriptions_sample.csv for `cxcheck demo` (run by hand;
seeded, reproducible): what Stripe's Dashboard exports, with its column names.

Payments: 31 October 2026, 420 card payments of which 27 declined (a bank's outage: do_not_honor
and issuer_not_available join the usual insufficient_funds), 12 refunded since, 2 disputes
received that day; the same day a week before, 400 payments, 10 declined. Subscriptions: a year
of sign-ups to the Basic (19 EUR a month), Pro (49 a month, or 490 a year) and Team (129 a
month) plans, some in trial, some cancelled (more in October), a few in USD.
"""

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
HERE = Path(__file__).parent
PAYMENT_COLUMNS = ["id", "Description", "Created date (UTC)", "Amount", "Amount Refunded", "Currency", "Status",
                   "Decline Reason", "Dispute Date (UTC)"]
DECLINES = {"insufficient_funds": 9, "do_not_honor": 8, "issuer_not_available": 6, "expired_card": 2,
            "incorrect_cvc": 2}
PLANS = [("Basic", 19, "month"), ("Pro", 49, "month"), ("Pro", 490, "year"), ("Team", 129, "month")]
SUBSCRIPTION_COLUMNS = ["id", "Customer ID", "Plan", "Status", "Created (UTC)", "Start Date (UTC)",
                        "Trial End (UTC)", "Canceled At (UTC)", "Ended At (UTC)", "Plan Amount", "Plan Interval",
                        "Plan Interval Count", "Quantity", "Currency"]


def stamp(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def payments(rng):
    rows, number = [], 0
    for day, count, declines in ((END - timedelta(days=1), 420, DECLINES),
                                 (END - timedelta(days=8), 400, {"insufficient_funds": 7, "expired_card": 3})):
        failed = [reason for reason, n in declines.items() for _ in range(n)]
        outcomes = ["Failed"] * len(failed) + ["Paid"] * (count - len(failed))
        rng.shuffle(outcomes)
        for outcome in outcomes:
            number += 1
            amount = rng.choice([19, 24.9, 49, 79.5, 129, 240])
            when = day + timedelta(seconds=rng.randrange(86400))
            reason = failed.pop() if outcome == "Failed" else ""
            rows.append([f"ch_3Q{number:08d}", "Order", stamp(when), f"{amount:.2f}", "0.00", "eur", outcome, reason, ""])
    paid = [row for row in rows[:420] if row[6] == "Paid"]
    for row in paid[:12]:
        row[4], row[6] = row[3], "Refunded"
    for row in paid[20:22]:
        row[8] = stamp(END - timedelta(hours=rng.randrange(1, 20)))
    rows.sort(key=lambda row: row[2], reverse=True)          # newest first, as the Dashboard exports
    return rows


def subscriptions(rng):
    rows, day, number = [], END - timedelta(days=365), 0
    while day < END:
        for _ in range(rng.choice([0, 1, 1, 2])):
            number += 1
            name, amount, interval = rng.choices(PLANS, [6, 3, 1, 1])[0]
            currency = "usd" if rng.random() < 0.08 else "eur"
            start = day + timedelta(seconds=rng.randrange(86400))
            trial_end = start + timedelta(days=14) if rng.random() < 0.3 else None
            status, canceled = "active", None
            monthly_churn = 0.05 if day >= END - timedelta(days=30) else 0.025
            lifetime_end = start + timedelta(days=rng.expovariate(monthly_churn / 30))
            if trial_end and trial_end > END:
                status = "trialing"
            elif lifetime_end < END:
                status, canceled = "canceled", lifetime_end
            elif rng.random() < 0.03:
                status = "past_due"
            rows.append([f"sub_1Q{number:06d}", f"cus_{number:06d}", name, status, stamp(start), stamp(start),
                         stamp(trial_end), stamp(canceled), stamp(canceled), f"{amount:.2f}", interval, "1",
                         str(rng.choice([1, 1, 1, 2, 5])) if name == "Team" else "1", currency])
        day += timedelta(days=1)
    return rows


def main():
    rng = random.Random(20261031)
    for name, columns, rows in (("payments_sample.csv", PAYMENT_COLUMNS, payments(rng)),
                                ("subscriptions_sample.csv", SUBSCRIPTION_COLUMNS, subscriptions(rng))):
        with open(HERE / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)


if __name__ == "__main__":
    main()
