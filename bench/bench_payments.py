"""check_cx_payments paging a large window of Stripe charges: the time a run takes, pages per
second, and peak RSS, at two sizes to show that memory does not grow with the window.

    python bench/bench_payments.py [--charges 100000] [--small 10000] [--runs 3]

The Stripe API is tests/stripe_api.py's emulator (Stripe's documented list paging: 100 a page,
starting_after, newest first, created[gt|lte]) on 127.0.0.1, in this process; each plugin run is
its own process, measured by bench/lib.py (wall time, and the kernel's peak RSS of exactly that
process). The window is one day holding all the charges (every twentieth failed, with one of four
decline codes), the same day a week before holds a tenth as many; disputes are read too. Every run
gets -t 120, the deadline it must finish inside; a run that stopped at it fails the bench.
Medians of --runs runs, min-max beside.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

from lib import Launcher, median, spread, table  # noqa: E402
from stripe_api import KEY, StripeApi, charge, dispute  # noqa: E402

NOW = 1793491200                    # 2026-11-01T00:00:00Z
DAY = 86400
DEADLINE = 120.0
CODES = ("insufficient_funds", "do_not_honor", "expired_card", "generic_decline")


def charges(count: int) -> list[dict]:
    made = []
    for n in range(count):
        failed = n % 20 == 0
        made.append(charge(n, NOW - 1 - n * (DAY - 2) // count, "failed" if failed else "succeeded",
                           reason=CODES[n // 20 % 4] if failed else None, refunded=500 if n % 50 == 1 else 0))
    week = NOW - 7 * DAY
    for n in range(count // 10):
        made.append(charge(count + n, week - 1 - n * (DAY - 2) // (count // 10), "failed" if n % 25 == 0 else
                           "succeeded", reason="insufficient_funds"))
    return made


def measure(launcher: Launcher, count: int, runs: int) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "plugins"), "LANG": "C.UTF-8",
           "STRIPE_KEY": KEY}
    made = charges(count)
    disputes = [dispute(n, NOW - 10 - n * 60, made[n * 7]["id"]) for n in range(count // 1000)]
    with StripeApi(charges=made, disputes=disputes) as api:
        samples = []
        for _ in range(runs):
            before = len(api.requests)
            sample = launcher.run([sys.executable, "-m", "cxcheck.checks.payments", "--stripe", "--token-env",
                                   "STRIPE_KEY", "--api-url", api.url, "--now", "2026-11-01T00:00:00Z",
                                   "-t", str(DEADLINE)], env=env, timeout=DEADLINE + 30)
            pages = len(api.requests) - before
            if sample.code == 3 or sample.perfdata().get("payments") != count:
                raise SystemExit(f"{count}: {sample.status_line or sample.stderr[-500:]}")
            samples.append((sample, pages))
    walls = [s.wall for s, _ in samples]
    return {"charges": count, "pages": samples[0][1], "walls": walls, "rates": [p / s.wall for s, p in samples],
            "rss": [s.maxrss_kb / 1024 for s, _ in samples], "status": samples[-1][0].status_line}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="the smaller window, for the memory comparison")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    launcher = Launcher()
    print(f"measuring: {launcher.how}")
    results, rows = [], []
    for count in (args.small, args.charges):
        result = measure(launcher, count, args.runs)
        results.append(result)
        rows.append([f"{count:,}", str(result["pages"]), spread(result["walls"], digits=2),
                     spread(result["rates"], digits=0), spread(result["rss"])])
        print(f"  {count:,}: {result['status'][:160]}", flush=True)
    print()
    print("\n".join(table(["charges in the window", "requests", "wall s, median (min-max)", "pages/s",
                           "peak RSS MB"], rows)))
    small, large = results
    growth = median(large["rss"]) - median(small["rss"])
    print(f"{large['charges'] / small['charges']:g}x the charges: peak RSS {growth:+.1f} MB "
          f"({growth * 1024 * 1024 / (large['charges'] - small['charges']):.1f} bytes a charge); "
          f"deadline {DEADLINE:g} s, slowest run {max(large['walls']):.2f} s")


if __name__ == "__main__":
    main()
