"""check_cx_csat and check_cx_support reading many pages from local API emulators: the time a run
takes, pages per second, and peak RSS, at two sizes to show that memory does not grow with them.

    python bench/bench_support.py [--items 100000] [--small 10000] [--runs 3]

The emulators are tests/emulators.py (Zendesk, HubSpot) on 127.0.0.1, in this process; each
plugin run is its own process, measured by bench/lib.py (wall time, and the kernel's peak RSS of
exactly that process). Cases:
  zendesk-ratings   check_cx_csat --zendesk, satisfaction ratings at 100 a page
  zendesk-tickets   check_cx_support --zendesk, the incremental export at 1,000 tickets a page
  hubspot-tickets   check_cx_support --hubspot, CRM search at 200 a page, restarted past 10,000
Every run gets -t 60: the deadline it must stay within. Medians of --runs runs, min-max beside.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

from emulators import HubSpot, Zendesk, basic, iso  # noqa: E402
from lib import Launcher, median, spread, table  # noqa: E402

NOW = 1793491200                    # 2026-11-01T00:00:00Z
TOKEN = "bench-token"
EMAIL = "bench@example.com"
DEADLINE = 60.0


def ratings(count: int) -> list[dict]:
    span = 29 * 86400
    return [{"id": n, "score": "good" if n % 5 else "bad", "created_at": iso(NOW - span + n * span // count),
             "ticket_id": n, "comment": "Thanks, quick and helpful" if n % 7 == 0 else ""} for n in range(count)]


def zendesk_tickets(count: int) -> list[dict]:
    span = 6 * 86400
    out = []
    for n in range(count):
        created = NOW - span + n * span // count
        out.append({"id": n, "status": "open", "created_at": iso(created), "updated_at": iso(created + 60),
                    "subject": "Where is my order?", "tags": ["delivery"],
                    "metric_set": {"ticket_id": n, "created_at": iso(created), "solved_at": None,
                                   "reply_time_in_minutes": {"calendar": n % 600, "business": n % 300},
                                   "full_resolution_time_in_minutes": {"calendar": None, "business": None}}})
    return out


def hubspot_tickets(count: int) -> list[dict]:
    span = 6 * 86400
    return [{"id": str(n), "properties": {"createdate": iso(NOW - span + n * span // count), "closed_date": None,
                                          "time_to_first_agent_reply": str((n % 600) * 60000),
                                          "time_to_close": None, "hs_pipeline": "0"}} for n in range(count)]


CASES = {
    "zendesk-ratings": ("check_cx_csat", lambda n: Zendesk(basic(f"{EMAIL}/token", TOKEN), ratings=ratings(n)),
                        ["--zendesk", "acme", "--zendesk-email", EMAIL], "responses"),
    "zendesk-tickets": ("check_cx_support", lambda n: Zendesk(basic(f"{EMAIL}/token", TOKEN),
                                                              tickets=zendesk_tickets(n)),
                        ["--zendesk", "acme", "--zendesk-email", EMAIL], "tickets"),
    "hubspot-tickets": ("check_cx_support", lambda n: HubSpot(TOKEN, {"tickets": hubspot_tickets(n)}),
                        ["--hubspot"], "tickets"),
}
MODULES = {"check_cx_csat": "cxcheck.checks.csat", "check_cx_support": "cxcheck.checks.support"}


def measure(launcher: Launcher, case: str, items: int, runs: int) -> dict:
    plugin, make, args, counted = CASES[case]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "plugins"),
           "LANG": "C.UTF-8", "BENCH_TOKEN": TOKEN}
    with make(items) as api:
        samples = []
        for _ in range(runs):
            before = len(api.requests)
            sample = launcher.run([sys.executable, "-m", MODULES[plugin], *args, "--token-env", "BENCH_TOKEN",
                                   "--api-url", api.url, "--now", iso(NOW), "-t", str(DEADLINE)], env=env,
                                  timeout=DEADLINE + 30)
            pages = len(api.requests) - before
            values = sample.perfdata()
            if sample.code == 3 or values.get(counted) != items:
                raise SystemExit(f"{case} {items}: {sample.status_line or sample.stderr[-500:]}")
            samples.append((sample, pages))
    walls = [s.wall for s, _ in samples]
    return {"case": case, "items": items, "pages": samples[0][1], "walls": walls,
            "rates": [p / s.wall for s, p in samples], "rss": [s.maxrss_kb / 1024 for s, _ in samples],
            "status": samples[-1][0].status_line}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="the smaller size, for the memory comparison")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="comma-separated cases: " + ", ".join(CASES))
    args = parser.parse_args()
    launcher = Launcher()
    print(f"measuring: {launcher.how}")
    cases = args.only.split(",") if args.only else list(CASES)
    rows, results = [], []
    for case in cases:
        for items in (args.small, args.items):
            result = measure(launcher, case, items, args.runs)
            results.append(result)
            rows.append([case, f"{items:,}", str(result["pages"]), spread(result["walls"], digits=2),
                         spread(result["rates"], digits=0), spread(result["rss"])])
            print(f"  {case} {items:,}: {result['status'][:150]}", flush=True)
    print()
    print("\n".join(table(["case", "items", "pages", "wall s, median (min-max)", "pages/s", "peak RSS MB"], rows)))
    for case in cases:
        small, large = [r for r in results if r["case"] == case]
        growth = median(large["rss"]) - median(small["rss"])
        ratio = large["items"] / small["items"]
        print(f"{case}: {ratio:g}x the items, peak RSS {growth:+.1f} MB "
              f"({growth * 1024 * 1024 / (large['items'] - small['items']):.1f} bytes an item); "
              f"deadline {DEADLINE:g} s, slowest run {max(large['walls']):.2f} s")


if __name__ == "__main__":
    main()
