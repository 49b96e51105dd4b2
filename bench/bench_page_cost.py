"""What a browser check costs next to an HTTP one: check_cx_page against check_cx_login.

    python bench/bench_page_cost.py [--runs 7]

Both against the demo shop (in this process, on 127.0.0.1), alternating, each run a fresh
plugin process measured by bench/lib.py's Launcher: wall time, CPU (user + sys of the plugin and
of every process it waited for: chromedriver, and Chromium's processes, which the plugin reaps as
child subreaper), peak RSS (the largest of the plugin's and those processes': for check_cx_page
Chromium's biggest process), and for check_cx_page the browser's peak PSS
from its `browser_memory` perfdata. Medians (min-max); asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys

from lib import PLUGINS, Launcher, median, spread, table

sys.path.insert(0, str(PLUGINS))
from cxcheck.demo.shop import DemoShop

ACCOUNT, PASSWORD = "shopper@example.com", "correct-horse-battery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    launcher = Launcher()
    env = dict(os.environ, PYTHONPATH=str(PLUGINS), SHOP_PASSWORD=PASSWORD)
    samples = {"check_cx_login": [], "check_cx_page": []}
    with DemoShop() as shop:
        commands = {
            "check_cx_login": [sys.executable, "-m", "cxcheck.checks.login", "-u", f"{shop.url}/accounts/login/",
                               "--username", ACCOUNT, "--password-env", "SHOP_PASSWORD"],
            "check_cx_page": [sys.executable, "-m", "cxcheck.checks.page", "-u", f"{shop.url}/catalogue/"],
        }
        for _ in range(args.runs):
            for name, command in commands.items():
                sample = launcher.run(command, env=env, timeout=120)
                if sample.code != 0:
                    print(f"{name} exited {sample.code}: {sample.status_line}", file=sys.stderr)
                samples[name].append(sample)
    rows = []
    for name, runs in samples.items():
        memory = [s.perfdata().get("browser_memory") for s in runs]
        memory = [m for m in memory if m]
        rows.append([name, spread([s.wall for s in runs], 1000, 0), spread([s.cpu for s in runs], 1000, 0),
                     spread([s.maxrss_kb for s in runs], 1 / 1024, 0),
                     spread(memory, 1 / 2 ** 20, 0) if memory else "-"])
    print(f"{args.runs} runs each, alternating; {launcher.how}")
    print("\n".join(table(["plugin", "wall ms", "CPU ms", "largest process peak RSS MB", "browser peak PSS MB"], rows)))
    walls = [median([s.wall for s in samples[n]]) for n in samples]
    cpus = [median([s.cpu for s in samples[n]]) for n in samples]
    print(f"check_cx_page / check_cx_login: wall {walls[1] / walls[0]:.1f}x, CPU {cpus[1] / cpus[0]:.1f}x")


if __name__ == "__main__":
    main()
