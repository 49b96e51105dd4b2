"""Writes churn_sample.csv: a subscription-events export for `cxcheck demo` (run by hand; seeded,
reproducible).

A year of subscriptions up to 2026-11-01: about 25 sign-ups a week, 3 % of the active customers
cancelling a month, then 6 % in October (a price change: "Price" becomes the top reason), plus
plan changes that are neither, and the odd row with an unreadable date.
"""

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
OCTOBER = datetime(2026, 10, 2, tzinfo=timezone.utc)
REASONS = ["Price", "Missing feature", "Moved to a competitor", "No longer needed", ""]
PLANS = {"Basic": 19, "Pro": 49, "Team": 129}


def main(path=Path(__file__).with_name("churn_sample.csv")):
    rng = random.Random(20261101)
    rows, active, number = [], {}, 1
    day = END - timedelta(days=365)
    while day < END:
        for _ in range(rng.choice([2, 3, 4, 5])):
            plan = rng.choices(list(PLANS), [6, 3, 1])[0]
            customer = f"cus_{number:05d}"
            number += 1
            active[customer] = plan
            rows.append((day + timedelta(seconds=rng.randrange(86400)), customer, "subscribed", PLANS[plan], ""))
        monthly = 0.06 if day >= OCTOBER else 0.03
        for customer in list(active):
            if rng.random() < monthly / 30:
                reason = "Price" if day >= OCTOBER and rng.random() < 0.6 else rng.choice(REASONS)
                rows.append((day + timedelta(seconds=rng.randrange(86400)), customer, "cancelled",
                             PLANS[active.pop(customer)], reason))
            elif rng.random() < 0.0005:
                rows.append((day + timedelta(seconds=rng.randrange(86400)), customer, "plan_changed",
                             PLANS[active[customer]], ""))
        day += timedelta(days=1)
    rows.sort()
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["occurred_at", "customer_id", "event", "mrr", "cancel_reason"])
        for index, (when, customer, event, mrr, reason) in enumerate(rows):
            stamp = "not recorded" if index % 997 == 500 else when.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.writerow([stamp, customer, event, mrr, reason])


if __name__ == "__main__":
    main()
