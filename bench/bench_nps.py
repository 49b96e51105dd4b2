"""check_cx_nps on a large export: wall time and peak RSS of whole plugin runs.

    python bench/bench_nps.py [--rows 1000000] [--runs 5]

Generates a CSV of --rows answers over 90 days (seeded), runs the plugin as its own process
--runs times, and prints the median and range of wall time and peak RSS (the kernel's ru_maxrss
of each child, from os.wait4). Target: < 2 s and < 60 MB for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def make_export(path: Path, rows: int, seed: int = 1):
    rng = random.Random(seed)
    weights = [3, 1, 1, 2, 2, 4, 6, 10, 16, 24, 22]
    start = NOW - timedelta(days=90)
    span = 90 * 86400
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("id,submitted_at,score,comment\r\n")
        for number in range(rows):
            at = start + timedelta(seconds=rng.randrange(span))
            score = rng.choices(range(11), weights)[0]
            out.write(f"{number},{at:%Y-%m-%dT%H:%M:%SZ},{score},\r\n")


def command() -> list[str]:
    return [sys.executable, "-m", "cxcheck.checks.nps"]


def run_once(csv_path: Path) -> tuple[float, float, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "plugins"))
    started = time.perf_counter()
    proc = subprocess.Popen(command() + ["--csv", str(csv_path), "--now", NOW.isoformat(), "--window", "30d",
                                         "-w", "30:", "-c", "0:"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss / 1024, output.splitlines()[0] if output else f"exit {status}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "nps.csv"
        started = time.perf_counter()
        make_export(csv_path, args.rows)
        print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - started:.1f} s")
        results = [run_once(csv_path) for _ in range(args.runs)]
    walls = [w for w, _, _ in results]
    rss = [r for _, r, _ in results]
    print(results[-1][2][:160])
    print(f"{'runs':>6} {'wall median':>12} {'wall min-max':>16} {'peak RSS median':>16} {'RSS min-max':>16}")
    print(f"{len(results):>6} {statistics.median(walls):>10.2f} s {min(walls):>7.2f}-{max(walls):.2f} s "
          f"{statistics.median(rss):>13.1f} MB {min(rss):>8.1f}-{max(rss):.1f} MB")
    print("target: wall < 2 s, peak RSS < 60 MB")


if __name__ == "__main__":
    main()
