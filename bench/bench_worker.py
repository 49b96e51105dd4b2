"""CPU per check as the core sees it: check_cx_login through `cxcheck worker`, as a process, and
check_curl, each run by a real Nagios 4 core, side by side in one run.

    python bench/bench_worker.py                    # 40 services, 12 rounds; writes bench/RESULTS-worker.md
    python bench/bench_worker.py --services 40 --rounds 20 --no-write

Each row is its own private Nagios 4 (Debian's nagios4-core on Debian's stock nagios.cfg, only
its paths changed: tests/core_load.py) with one host of N services on the shipped
check_cx_login command and template (or a check_curl command fetching the same page), active
checks off so that only the bench's forced checks run. A round forces every service of every
row once, the rows in a shuffled order, one row at a time, against the demo shop's login page:
--rate a second, back to back as the core's scheduler spreads a site's checks (default 4), or
all at once (--rate 0, the worst case: a burst of 40 checks runs in up to 32 children at once).

What a check costs is the CPU of the row's whole tree, counted by the kernel in a cgroup v2
(cpu.stat): the core, its worker processes, every plugin process, `cxcheck worker` and its
children; divided by the results the core processed (status.dat: every service shows a new
last_check; active checks are off, so each shows exactly the forced one). Each window is
bracketed by a quiet tree (no CPU for 0.1 s): every check in it started and ended inside it. The demo shop and this script run outside the cgroups. Round 0 warms up and is not
counted. Medians over rounds, with min-max; the ratio to check_curl is taken round by round.
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
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "plugins"))

import lib  # noqa: E402
import process_split  # noqa: E402
from core_load import HOST_CFG, LoadedNagios, login_site  # noqa: E402
from lib import median, rows_against, table  # noqa: E402
from worker_core import start_worker  # noqa: E402

CHECK_CURL = "/usr/lib/nagios/plugins/check_curl"
HOST = "bench"
ROWS = {
    "default": "check_cx_login through `cxcheck worker` (default)",
    "fork": "check_cx_login through `cxcheck worker --jobs-per-child 1` (a fork per check)",
    "process": "check_cx_login as a process (the core's own workers)",
    "curl": "check_curl, one GET of the same page",
}
WORKER_ARGS = {"default": os.environ.get("DEFAULT_ARGS", "").split(), "fork": ["--jobs-per-child", "1"]}

# Only the bench's forced checks run; thresholds and deadline far above what a loaded machine makes
# of the login, so that every result is OK.
QUIET = ("    active_checks_enabled   0\n    _CX_WARNING             30\n    _CX_CRITICAL            60\n"
         "    _CX_TIMEOUT             60\n")
CURL_COMMAND = """define command {
    command_name    bench_check_curl
    command_line    $USER1$/check_curl -H 127.0.0.1 -p $ARG1$ -u /accounts/login/
}
"""
CURL_SERVICE = """define service {
    host_name               %(host)s
    service_description     curl %(n)02d
    use                     generic-service
    check_command           bench_check_curl!%(port)s
    active_checks_enabled   0
}
"""


class Row:
    """One row's core (and worker), started; `round()` forces its services and measures."""

    def __init__(self, key: str, tmp: Path, binary: str, shop_url: str, username: str, password: str,
                 services: int, python: str):
        self.key, self.name, self.services = key, ROWS[key], services
        work = tmp / key
        if key == "curl":
            objects = work / "objects"
            objects.mkdir(parents=True)
            (objects / "site.cfg").write_text(HOST_CFG % {"host": HOST} + CURL_COMMAND + "".join(
                CURL_SERVICE % {"host": HOST, "n": n, "port": shop_url.rsplit(":", 1)[1]} for n in range(services)))
            files, resources, plugins = [objects / "site.cfg"], {"USER1": os.path.dirname(CHECK_CURL)}, None
        else:
            files, resources, plugins = login_site(work, HOST, services, shop_url, username, password,
                                                   python, lib.PLUGINS, QUIET)
        self.nagios = LoadedNagios(binary, work / "nagios", files, resources, name=key)
        self.nagios.verify()
        self.keys = [(HOST, f"{'curl' if key == 'curl' else 'login'} {n:02d}") for n in range(services)]
        self.worker = None
        self.nagios.start()
        if key in WORKER_ARGS:
            self.worker_log = open(work / "worker.stderr", "wb")
            self.worker = start_worker(self.nagios.query_socket, plugins, *WORKER_ARGS[key], python=python,
                                       stderr=self.worker_log, preexec_fn=self.nagios.cpu.join)
            self.nagios.cpu.adopt(self.worker.pid)
            deadline = time.monotonic() + 60
            while "registered with the core at" not in self.nagios.log():
                if self.worker.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{self.name}: the worker did not register: "
                                     + (work / "worker.stderr").read_text(errors="replace")[-2000:])
                time.sleep(0.1)

    def round(self, rate: int, by_process: bool = False) -> float:
        """Every service once, `rate` a second (0: all at once): CPU seconds of the tree per result."""
        start = self.nagios.cpu.quiet()
        before = process_split.snapshot(self.nagios.cpu.pids()) if by_process else None
        time.sleep(max(0.0, int(time.time()) + 1 - time.time()))    # last_check counts whole seconds
        since = int(time.time())
        if rate:
            for n, (host, service) in enumerate(self.keys):
                self.nagios.force_service(host, service, since + 1 + n // rate)
        else:
            self.nagios.force_host(HOST)
        results = self.nagios.wait_for_checks(self.keys, since, 600)
        end = self.nagios.cpu.quiet()
        if by_process:
            shares = process_split.split(before, process_split.snapshot(self.nagios.cpu.pids()), self.nagios.proc.pid,
                                         self.worker.pid if self.worker else None, self.services)
            print(f"  {self.key} by process, ms a result: "
                  + ", ".join(f"{what} {ms:.2f}" for what, ms in sorted(shares.items())), file=sys.stderr)
        wrong = [s for s in results.values() if s.state != 0]
        if wrong:
            raise SystemExit(f"{self.name}: not OK: {wrong[0].service}: {wrong[0].output[:300]}")
        return (end - start) / self.services

    def stop(self):
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
            self.worker_log.close()
        self.nagios.stop()


def interleaved(rows: dict, rounds: int, rate: int, by_process: bool = False) -> dict[str, list[float]]:
    """Round 0 warms up; then each round runs every row once, in a shuffled order: row -> CPU
    seconds per check, a round each."""
    samples = {key: [] for key in rows}
    order = list(rows)
    for number in range(rounds + 1):
        random.shuffle(order)
        for key in order:
            cpu = rows[key].round(rate, by_process)
            if number:
                samples[key].append(cpu)
        print(f"round {number} ({time.strftime('%H:%M:%S')}): " + ", ".join(
            f"{k} {samples[k][-1] * 1000:.1f} ms" if number else k for k in order), file=sys.stderr)
    return samples


def start_shop() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(lib.PLUGINS)}
    proc = subprocess.Popen([sys.executable, "-m", "cxcheck.demo.shop", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env, text=True)
    line = proc.stdout.readline()
    if not line.startswith("serving on "):
        proc.kill()
        raise SystemExit(f"the demo shop did not start: {line!r}")
    return proc, line.split()[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=40, help="services per row (default 40)")
    parser.add_argument("--rounds", type=int, default=12, help="counted rounds (default 12)")
    parser.add_argument("--rate", type=int, default=4,
                        help="checks started a second, back to back as the core's scheduler spreads them "
                             "(default 4); 0: every service at once, the worst case of a burst")
    parser.add_argument("--only", default=",".join(ROWS), help=f"rows, of {','.join(ROWS)}")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of the plugins and the worker (default this one; "
                             "/usr/bin/python3: as the Debian package runs them, with Debian's libraries)")
    parser.add_argument("--by-process", action="store_true",
                        help="also print each round's CPU by process: the core, its workers, the worker's relay and runners")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS-worker.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    binary = shutil.which("nagios4") or "/usr/sbin/nagios4"
    keys = [k for k in args.only.split(",") if k in ROWS]
    if "curl" in keys and not os.access(CHECK_CURL, os.X_OK):
        raise SystemExit(f"{CHECK_CURL} is missing: apt-get install monitoring-plugins-standard liburiparser1")
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    username, password = next(iter(DEMO_ACCOUNTS.items()))
    shop, url = start_shop()
    rows: dict[str, Row] = {}
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="cxbench-worker-") as tmpdir:
            for key in keys:
                rows[key] = Row(key, Path(tmpdir), binary, url, username, password, args.services, args.python)
            samples = interleaved(rows, args.rounds, args.rate, args.by_process)
            how = next(iter(rows.values())).nagios.cpu.how
    finally:
        for row in rows.values():
            row.stop()
        shop.kill()
        shop.wait()
    return report(args, samples, how, load_before, os.getloadavg())


def interpreter(python: str) -> str:
    code = "import sys, requests, urllib3; print(sys.version.split()[0], requests.__version__, urllib3.__version__)"
    found = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    return f"{python} (Python {found[0]}, requests {found[1]}, urllib3 {found[2]})" if len(found) == 3 else python


def report(args, samples: dict, how: str, load_before, load_after) -> int:
    curl = samples.get("curl")
    headers = ["how check_cx_login runs", "CPU per check, ms (median, min-max)"]
    headers += ["× check_curl (median of rounds)"] if curl else []
    lines = rows_against(samples, ROWS, "curl")
    pattern = f"{args.rate} checks started a second" if args.rate else "every service at once"
    out = [f"# cxcheck worker: CPU per check as a Nagios 4 core sees it ({args.services} services a row, "
           f"{pattern}, {args.rounds} rounds)", "",
           f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python bench/bench_worker.py "
           f"{' '.join(sys.argv[1:])}`".rstrip() + f" on {os.cpu_count()} CPUs, {interpreter(args.python)}, "
           f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.", "",
           *table(headers, lines), "",
           f"CPU: the whole tree of each row's core ({how}): the core, its workers, the plugin processes, "
           "`cxcheck worker` and its children; per result the core processed (status.dat), every "
           "window bracketed by a quiet tree. Each row is its own Nagios 4 on Debian's stock nagios.cfg "
           "(paths changed), the shipped check_cx_login command and template, against the demo shop's login "
           "page on 127.0.0.1; check_curl GETs the same page.", ""]
    if curl and "default" in samples:
        ratio = median([v / c for v, c in zip(samples["default"], curl)])
        out.append(f"Target (the default at most 0.5× check_curl): {ratio:.2f}× — {'met' if ratio <= 0.5 else 'NOT met'}.")
    text = "\n".join(out) + "\n"
    lib.publish(text, args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
