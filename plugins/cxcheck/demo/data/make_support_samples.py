"""Writes csat_sample.csv and tickets_sample.csv: a help desk's exports for `cxcheck demo` (run by
hand; seeded, reproducible).

csat_sample.csv: four months of 1-5 satisfaction ratings up to 2026-11-01, as a help desk exports
them (comma-separated, a ticket id, the odd empty or junk rating), mostly 4s and 5s.
tickets_sample.csv: six weeks of tickets up to 2026-11-01 with their creation, first reply and
solving times (business-day replies within a few hours, resolutions within a day or two), the
last hours' tickets still waiting and a few old ones never solved.
"""

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
HERE = Path(__file__).parent


def stamp(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


def ratings(rng: random.Random, path: Path):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["ticket_id", "created_at", "rating", "comment"])
        day, number = END - timedelta(days=120), 1
        while day < END:
            for _ in range(rng.randint(6, 16)):
                at = day + timedelta(seconds=rng.randrange(86400))
                rating = str(rng.choices(range(1, 6), [3, 3, 6, 30, 58])[0])
                if rng.random() < 0.005:
                    rating = rng.choice(["", "n/a"])
                out.writerow([f"T{number:05d}", stamp(at), rating, rng.choice(["", "", "Quick answer", "Thanks!"])])
                number += 1
            day += timedelta(days=1)


def tickets(rng: random.Random, path: Path):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["id", "subject", "created_at", "first_reply_at", "solved_at"])
        day, number = END - timedelta(days=42), 1
        while day < END:
            for _ in range(rng.randint(8, 20)):
                created = day + timedelta(seconds=rng.randrange(86400))
                reply = created + timedelta(minutes=rng.lognormvariate(4.2, 0.8))
                solved = reply + timedelta(hours=rng.lognormvariate(2.5, 1.0))
                if rng.random() < 0.02:
                    solved = None                           # an old ticket nobody closed
                reply = reply if reply < END else None      # still waiting at the end of the export
                solved = solved if solved and solved < END and reply else None
                out.writerow([number, rng.choice(["Refund", "Login", "Delivery", "Invoice"]), stamp(created),
                              stamp(reply), stamp(solved)])
                number += 1
            day += timedelta(days=1)


def main():
    ratings(random.Random(20261101), HERE / "csat_sample.csv")
    tickets(random.Random(20261102), HERE / "tickets_sample.csv")


if __name__ == "__main__":
    main()
