"""CPU per check as Icinga 2 sees it: check_cx_login through Icinga 2's own check execution (a
process per check, as for every plugin), check_curl beside it, in one run.

    python bench/bench_icinga2.py                         # 40 services, 8 rounds; writes bench/RESULTS-icinga2.md
    python bench/bench_icinga2.py --python /usr/bin/python3 --no-write

Measured as bench_worker.py measures a Nagios 4 core: each row is its own private Icinga 2
(Debian's icinga2-bin, `icinga2 daemon` on a private configuration: the ITL, a checker, a
perfdata writer whose files say each result's last check; tests/engines.py) with one host of N
services on the shipped cx_login CheckCommand (templates/icinga2, the password through the
environment) or a check_curl command fetching the same login page of the demo shop, active checks
off so that only the bench's forced checks run. The CPU is the whole tree's in a cgroup v2: the
daemon, its process spawn helper and every plugin process, per result the perfdata writer wrote,
each window bracketed by a quiet tree. Medians over rounds; ratios taken round by round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "plugins"))

import lib  # noqa: E402
from bench_worker import CHECK_CURL, interleaved, interpreter, start_shop  # noqa: E402
from core_load import TreeCpu, python_launcher  # noqa: E402
from engines import Icinga2  # noqa: E402
from lib import rows_against, table  # noqa: E402

COMMANDS = ROOT / "templates" / "icinga2" / "cxcheck-commands.conf"
HOST = "bench"
ROWS = {"process": "check_cx_login as a process (Icinga 2's own check execution)",
        "curl": "check_curl, one GET of the same page"}
OBJECTS = """object Host "%(host)s" {
	check_command = "dummy"
	enable_active_checks = false
}
object CheckCommand "bench_curl" {
	command = [ "%(curl)s", "-H", "127.0.0.1", "-p", "$bench_port$", "-u", "/accounts/login/" ]
}
"""
LOGIN = """object Service "login %(n)02d" {
	host_name = "%(host)s"
	check_command = "cx_login"
	enable_active_checks = false
	check_interval = 1d
	vars.cx_url = "%(url)s/accounts/login/"
	vars.cx_username = "%(username)s"
	vars.cx_password = "%(password)s"
	vars.cx_warning = 30
	vars.cx_critical = 60
}
"""
CURL = """object Service "curl %(n)02d" {
	host_name = "%(host)s"
	check_command = "bench_curl"
	enable_active_checks = false
	check_interval = 1d
	vars.bench_port = "%(port)s"
}
"""


class Row:
    def __init__(self, key: str, tmp: Path, binary: str, url: str, username: str, password: str, services: int,
                 python: str):
        self.key, self.name, self.services = key, ROWS[key], services
        work = tmp / key
        conf = work / "conf"
        conf.mkdir(parents=True)
        plugins = work / "plugins"
        python_launcher(plugins / "check_cx_login", "cxcheck.checks.login", python, lib.PLUGINS)
        values = {"host": HOST, "curl": CHECK_CURL, "url": url, "username": username, "password": password,
                  "port": url.rsplit(":", 1)[1]}
        body = OBJECTS % values + "".join((CURL if key == "curl" else LOGIN) % {**values, "n": n}
                                          for n in range(services))
        (conf / "bench.conf").write_text(body)
        shutil.copy(COMMANDS, conf / COMMANDS.name)
        self.keys = [(HOST, f"{'curl' if key == 'curl' else 'login'} {n:02d}") for n in range(services)]
        self.icinga = Icinga2(binary, work / "icinga2", [conf / COMMANDS.name, conf / "bench.conf"],
                              {"PluginDir": str(plugins), "NodeName": "bench", "ZoneName": "bench"})
        self.icinga.dir.mkdir()
        self.icinga.write_config()
        proc = self.icinga.validate()
        if proc.returncode != 0:
            raise SystemExit(f"icinga2 daemon -C: {proc.stdout[-2000:]}")
        self.cpu = TreeCpu(f"icinga2-{key}")
        if self.cpu.cgroup is None:
            raise SystemExit("no cgroup v2 could be made: this bench counts the whole tree in one")
        self.icinga.start()
        self.cpu.move_session(self.icinga.proc.pid)     # the daemon and its spawn helper, before any check

    def round(self, rate: int) -> float:
        start = self.cpu.quiet()
        time.sleep(max(0.0, int(time.time()) + 1 - time.time()))
        since = int(time.time())
        for n, (host, service) in enumerate(self.keys):
            when = since + 1 + n // rate if rate else since
            self.icinga.command(f"SCHEDULE_FORCED_SVC_CHECK;{host};{service};{when}")
        deadline = time.monotonic() + 600
        while True:
            results = self.icinga.results()
            if all(k in results and results[k]["last_check"] >= since for k in self.keys):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name}: no result for every service in 600 s")
            time.sleep(0.2)
        end = self.cpu.quiet()
        wrong = [(k, r["output"]) for k, r in results.items() if k in self.keys and r["state"] != 0]
        if wrong:
            raise SystemExit(f"{self.name}: not OK: {wrong[0]}")
        return (end - start) / self.services

    def stop(self):
        self.icinga.stop()
        self.cpu.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--rate", type=int, default=4, help="checks started a second (0: all at once)")
    parser.add_argument("--python", default=sys.executable,
                        help="the plugins' interpreter (/usr/bin/python3: as the Debian package runs them)")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS-icinga2.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    binary = shutil.which("icinga2") or "/usr/sbin/icinga2"
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    username, password = next(iter(DEMO_ACCOUNTS.items()))
    shop, url = start_shop()
    rows, load_before = {}, os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="cxbench-icinga2-") as tmpdir:
            for key in ROWS:
                rows[key] = Row(key, Path(tmpdir), binary, url, username, password, args.services, args.python)
            samples = interleaved(rows, args.rounds, args.rate)
    finally:
        for row in rows.values():
            row.stop()
        shop.kill()
        shop.wait()
    lines = rows_against(samples, ROWS, "curl")
    pattern = f"{args.rate} checks started a second" if args.rate else "every service at once"
    out = [f"# check_cx_login through Icinga 2: CPU per check ({args.services} services a row, {pattern}, "
           f"{args.rounds} rounds)", "",
           f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python bench/bench_icinga2.py "
           f"{' '.join(sys.argv[1:])}`".rstrip() + f" on {os.cpu_count()} CPUs, {interpreter(args.python)}, "
           f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after.", "",
           *table(["how the check runs", "CPU per check, ms (median, min-max)", "× check_curl (median of rounds)"],
                  lines), "",
           "CPU: the whole tree of each row's Icinga 2 (cgroup v2 cpu.stat): the daemon, its process spawn "
           "helper, every plugin process; per result its perfdata writer wrote, every window bracketed by a "
           "quiet tree.", ""]
    lib.publish("\n".join(out) + "\n", args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
