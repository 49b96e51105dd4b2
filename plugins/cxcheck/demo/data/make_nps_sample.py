"""Writes nps_sample.csv: a survey export for `cxcheck demo` (run by hand; seeded, reproducible).

Four months of answers up to 2026-11-01, a few dozen a day, with a dip in early September and
the mess real exports have: a BOM, semicolons, quoted comments, the odd empty or junk score.
"""

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
COMMENTS = ["", "", "", "Fast delivery", "Checkout was slow", "Great support, thanks!",
            "Could not log in; reset my password twice", 'The "express" option is worth it']


def score(rng: random.Random, day: datetime) -> str:
    dip = datetime(2026, 9, 1, tzinfo=timezone.utc) <= day < datetime(2026, 9, 15, tzinfo=timezone.utc)
    weights = [2, 1, 1, 2, 2, 4, 6, 10, 16, 24, 22] if not dip else [6, 4, 4, 6, 6, 8, 9, 12, 14, 16, 15]
    if rng.random() < 0.004:
        return rng.choice(["", "n/a", "11"])
    return str(rng.choices(range(11), weights)[0])


def main(path=Path(__file__).with_name("nps_sample.csv")):
    rng = random.Random(20261101)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        out.writerow(["Response ID", "Submitted At", "Likelihood to recommend (0-10)", "Comment"])
        day, number = END - timedelta(days=120), 1
        while day < END:
            for _ in range(rng.randint(14, 34)):
                at = day + timedelta(seconds=rng.randrange(86400))
                out.writerow([f"R{number:06d}", at.strftime("%Y-%m-%dT%H:%M:%SZ"), score(rng, day),
                              rng.choice(COMMENTS)])
                number += 1
            day += timedelta(days=1)


if __name__ == "__main__":
    main()
