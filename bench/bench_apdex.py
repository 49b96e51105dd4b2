"""check_cx_apdex at scale: a first run over a 1 GB access log, steady runs over 100,000 new lines,
side by side with an awk pass and goaccess over the same bytes.

    python bench/bench_apdex.py [--lines 5300000] [--steady-lines 100000] [--rounds 5] [--dir DIR]

Writes a seeded nginx log (combined + $request_time, ~190 bytes a line: 5,300,000 lines ~1.0 GB)
under --dir (default: a temporary directory, removed at the end), then:
- first run: the check with a fresh state file reads the whole log (-t 900 so the deadline does
  not cut it short); --rounds times, a fresh state each; and once over a tenth of the log, for
  peak RSS against size (constant memory: the same RSS for 10x the lines);
- the same log through mawk (an Apdex in 5 lines of awk: the floor of one pass over the bytes)
  and goaccess (Debian's log analyser: a full report, far more work; --rounds 1);
- steady runs: --steady-lines appended, then the check (continuing from its state), awk over
  those bytes only (tail -c), goaccess over them; --rounds times.
Each command runs as its own process, measured by bench/lib.py (wall, CPU, peak RSS from
os.wait4). Medians with min-max. The Apdex awk computes is printed beside the check's: they agree.
Needs: mawk (Debian's awk), goaccess (apt-get install goaccess; skipped when absent).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib import PLUGINS, Launcher, spread, table

T = 0.5
START = datetime(2026, 11, 20, tzinfo=UTC)
AWK = ('{n++; t=$NF; s=$9} s>=500 {f++; next} t<=%(t)s {sa++; next} t<=%(t4)s {to++; next} {f++} '
       'END {printf "apdex %%.4f requests %%d satisfied %%d tolerating %%d frustrated %%d\\n", '
       '(sa+to/2)/n, n, sa, to, f}')
GOACCESS_FORMAT = ['--log-format=%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T', "--date-format=%d/%b/%Y",
                   "--time-format=%H:%M:%S"]
PATHS = ["/", "/catalogue/", "/catalogue/shirt-{}/", "/basket/", "/basket/add/{}/", "/checkout/",
         "/checkout/payment/", "/checkout/preview/", "/api/orders/{}", "/static/css/app.{}.css",
         "/search/?q=item{}", "/accounts/login/"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]


def write_log(path: Path, lines: int, seed: int, first_second: int = 0, mode: str = "w") -> int:
    """`lines` requests, ~20 a second from START + first_second; returns the next second."""
    rng = random.Random(seed)
    statuses = [200] * 90 + [301, 302, 304, 304, 404, 404, 499, 500, 502, 503]
    second = first_second
    with open(path, mode, encoding="ascii") as out:
        batch = []
        for n in range(lines):
            if n % 20 == 0:
                second += 1
                stamp = (START + timedelta(seconds=second)).strftime("%d/%b/%Y:%H:%M:%S +0000")
            taken = min(rng.lognormvariate(-1.6, 1.0), 60.0)
            batch.append(f'198.51.{rng.randrange(256)}.{rng.randrange(256)} - - [{stamp}] '
                         f'"{"GET" if rng.random() < 0.9 else "POST"} {rng.choice(PATHS).format(rng.randrange(5000))} '
                         f'HTTP/1.1" {rng.choice(statuses)} {rng.randrange(200, 90000)} '
                         f'"https://shop.example.com/" "{rng.choice(AGENTS)}" {taken:.3f}\n')
            if len(batch) == 10000:
                out.write("".join(batch))
                batch = []
        out.write("".join(batch))
    return second


def check(log: Path, state: Path) -> list[str]:
    return [sys.executable, "-m", "cxcheck.checks.apdex", "--log", str(log), "-T", str(T), "--state-file",
            str(state), "-t", "900"]


def shell(command: str) -> list[str]:
    return ["/bin/sh", "-c", command]


def awk(file_part: str) -> list[str]:
    return shell(f"{file_part} | mawk '{AWK % {'t': T, 't4': 4 * T}}'")


def goaccess(file_part: str, work: Path) -> list[str]:
    formats = " ".join(f"'{f}'" for f in GOACCESS_FORMAT)
    return shell(f"{file_part} | goaccess - {formats} --no-global-config -o {work}/report.json")


def row(name: str, samples) -> list[str]:
    return [name, spread([s.wall for s in samples], 1000, 0), spread([s.cpu for s in samples], 1000, 0),
            spread([s.maxrss_kb for s in samples], 1 / 1024, 1), str(len(samples))]


def apdex_of(sample) -> str:
    text = sample.stdout.strip().splitlines()[0] if sample.stdout.strip() else f"exit {sample.code}"
    return text.split(" | ")[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_300_000)
    parser.add_argument("--steady-lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="cxcheck-apdex-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(PLUGINS))
    launcher = Launcher()
    big, small, state = work / "access.log", work / "small.log", work / "state.json"
    has_goaccess = shutil.which("goaccess") is not None
    try:
        started = time.perf_counter()
        last_second = write_log(big, args.lines, seed=1)
        write_log(small, args.lines // 10, seed=1)
        size = big.stat().st_size
        print(f"log: {args.lines:,} lines, {size / 1e9:.2f} GB (written in {time.perf_counter() - started:.0f} s); "
              f"small: {args.lines // 10:,} lines, {small.stat().st_size / 1e9:.2f} GB", flush=True)
        first, first_small, awk_big, goaccess_big = [], [], [], []
        for _ in range(args.rounds):
            for path in (state, work / "small.json"):
                path.unlink(missing_ok=True)
            first.append(launcher.run(check(big, state), env=env, timeout=1800))
            first_small.append(launcher.run(check(small, work / "small.json"), env=env, timeout=1800))
            awk_big.append(launcher.run(awk(f"cat {big}"), env=env, timeout=1800))
            print(f"  first run {first[-1].wall:.1f} s, {first[-1].maxrss_kb / 1024:.1f} MB; "
                  f"awk {awk_big[-1].wall:.1f} s", flush=True)
        if has_goaccess:
            goaccess_big.append(launcher.run(goaccess(f"cat {big}", work), env=env, timeout=3600))
        print("check:", apdex_of(first[-1]))
        print("awk:  ", awk_big[-1].stdout.strip())

        steady, awk_steady, goaccess_steady = [], [], []
        chunk = work / "chunk.log"
        for round_number in range(args.rounds):
            last_second = write_log(chunk, args.steady_lines, seed=100 + round_number, first_second=last_second)
            with open(big, "ab") as out, open(chunk, "rb") as part:
                shutil.copyfileobj(part, out)
            tail = f"tail -c {chunk.stat().st_size} {big}"
            steady.append(launcher.run(check(big, state), env=env))
            awk_steady.append(launcher.run(awk(tail), env=env))
            if has_goaccess:
                goaccess_steady.append(launcher.run(goaccess(tail, work), env=env))
        print("check:", apdex_of(steady[-1]))
        print("awk:  ", awk_steady[-1].stdout.strip())
        headers = ["command", "wall ms", "CPU ms", "peak RSS MB", "runs"]
        rows = [row(f"check_cx_apdex, first run ({args.lines:,} lines, {size / 1e9:.2f} GB)", first),
                row(f"check_cx_apdex, first run ({args.lines // 10:,} lines)", first_small),
                row("mawk Apdex, same file", awk_big)]
        if goaccess_big:
            rows.append(row("goaccess, same file (full report)", goaccess_big))
        rows += [row(f"check_cx_apdex, steady ({args.steady_lines:,} new lines)", steady),
                 row("mawk Apdex, the same new lines", awk_steady)]
        if goaccess_steady:
            rows.append(row("goaccess, the same new lines", goaccess_steady))
        print()
        print("\n".join(table(headers, rows)))
        print(f"\nratios of medians: first run ÷ mawk {_ratio(first, awk_big):.1f}x, steady ÷ mawk "
              f"{_ratio(steady, awk_steady):.1f}x" + (f", first run ÷ goaccess {_ratio(first, goaccess_big):.2f}x"
                                                      if goaccess_big else ""))
        load = os.getloadavg()
        print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end; "
              f"mawk {_version(['mawk', '-W', 'version'])}; goaccess {_version(['goaccess', '--version'])}")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


def _ratio(a, b) -> float:
    from statistics import median

    return median(s.wall for s in a) / median(s.wall for s in b)


def _version(command) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return "absent"
    return out.splitlines()[0].strip() if out else "?"


if __name__ == "__main__":
    main()
