"""What a plugin run costs the test suite: in a fork of the fork server (tests/forkserver.py)
against a fresh interpreter (`python -m`), the runs of tests/test_plugin_runs.py, alternating.

    python bench/bench_test_runs.py [--rounds 9] [--only nps,login]

Wall time as the test sees it (from the call to the run's result), CPU of the run's own process
(the fork server reports its child's rusage; a process's is this process's RUSAGE_CHILDREN
delta). Medians (min-max), the ratio fork/process per run; the load average is printed with
them: compare ratios, not absolute times, on a busy machine. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "plugins")]

import conftest  # noqa: E402  (the test suite's runner, as the tests use it)
from test_plugin_runs import plugin_runs, running_servers  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one(plugin: str, args: list, env: dict, process: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of one run."""
    before, started = children_cpu(), time.monotonic()
    if process:
        conftest.run_plugin(plugin, *args, env=env, process=True)
        return time.monotonic() - started, children_cpu() - before
    *_, cpu = conftest.fork_server().run(conftest.MODULES[plugin], args, conftest.plugin_env(env), stdin=None,
                                         timeout=60)
    return time.monotonic() - started, cpu


def spread(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:6.0f} ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", default="", help="runs whose name contains one of these words (comma-separated)")
    options = parser.parse_args()
    from cxcheck.demo.shop import DemoShop

    words = [w for w in options.only.split(",") if w]
    with DemoShop() as shop, tempfile.TemporaryDirectory() as scratch, \
            running_servers(shop.url, Path(scratch)) as urls:
        state = Path(scratch) / "state"
        state.mkdir()
        runs = {name: run for name, run in plugin_runs(*urls, state).items()
                if not words or any(w in name for w in words)}
        conftest.fork_server()                              # started once, as in a test session
        rows = []
        for name, (plugin, args, env, _) in runs.items():
            samples = {True: [], False: []}
            for _ in range(options.rounds):
                for process in (True, False):
                    for leftover in state.iterdir():
                        leftover.unlink()
                    samples[process].append(one(plugin, args, env, process))
            wall = {mode: [s[0] for s in taken] for mode, taken in samples.items()}
            cpu = {mode: [s[1] for s in taken] for mode, taken in samples.items()}
            ratio = statistics.median(wall[False]) / statistics.median(wall[True])
            rows.append((name, spread(wall[True]), spread(wall[False]), f"{ratio:.2f}",
                         spread(cpu[True]), spread(cpu[False])))
            print(" | ".join(rows[-1]), flush=True)
    conftest.pytest_sessionfinish(None)
    print(f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {options.rounds} rounds, "
          f"ms median (min-max)\n")
    print("| run | wall, process | wall, fork | fork/process | CPU, process | CPU, fork |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
