"""Writes ratings_sample.csv: an app's reviews export for check_cx_ratings (run by hand; seeded,
reproducible). Two months up to 2026-11-01, a review every 16 hours; version 3.2, released
mid-October, crashes at the basket and draws 1-star reviews."""

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
TEXTS = {5: ["Great app, fast delivery", "Love it", "Perfect, thanks", "Easy to use"],
         4: ["Works well", "Good, a bit slow at times", "Nice app"], 3: ["Average", "OK I guess"],
         2: ["Delivery was 5 days late", "Checkout keeps failing"],
         1: ["Crashes when I open my basket", "Still no refund after 3 weeks"]}


def main(path=Path(__file__).with_name("ratings_sample.csv")):
    rng = random.Random(26)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["date", "stars", "version", "comment"])
        for i in range(90):
            when = END - timedelta(hours=16 * i + 7)
            version = "3.2" if i < 40 else "3.1"
            weights = [1, 1, 1, 3, 6] if version == "3.1" else [3, 2, 1, 3, 5]
            stars = rng.choices([1, 2, 3, 4, 5], weights)[0]
            out.writerow([when.strftime("%Y-%m-%dT%H:%M:%SZ"), stars, version, rng.choice(TEXTS[stars])])


if __name__ == "__main__":
    main()
