"""CPU per check: check_cx_login through `cxcheck worker`, as a process, and check_curl, side by side.

    python bench/bench_worker.py                 # 40 rounds; prints the table, writes bench/RESULTS-worker.md
    python bench/bench_worker.py --rounds 60 --no-write

Every round runs each row once, in a shuffled order, against the same static login site on
127.0.0.1 (bench/sites.py); round 0 warms up and is not counted. Medians with min–max.

- As a process (check_cx_login, check_curl): user+sys of that process from os.wait4 (bench/lib.py).
- Through the worker: the worker registered with a stand-in for the core on a private socket
  (tests/worker_core.py speaks the core's side of the protocol); a job is sent, its result read.
  The job's CPU is the child's user+sys (the worker's os.wait4 of it, from its -v line) plus
  what the worker process itself spent meanwhile (its scheduler runtime, /proc/PID/schedstat,
  nanoseconds): the fork, the pipes, the protocol, the log line. A check of the accounting: the
  kernel's own totals for the worker and its reaped children (/proc/PID/stat, clock ticks) over
  the whole run, divided by the jobs.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import lib  # noqa: E402
import sites  # noqa: E402
from lib import Launcher, median, spread, table  # noqa: E402
from worker_core import FakeCore, start_worker  # noqa: E402

CHECK_CURL = "/usr/lib/nagios/plugins/check_curl"
JOB_LINE = re.compile(r"job (\d+) check_cx_\w+: \S+ in \d+ ms, CPU ([\d.]+) ms")
TICK = os.sysconf("SC_CLK_TCK")
FORK = "check_cx_login through cxcheck worker (a fork per job)"
FLOOR = "check_cx_login -V through cxcheck worker (a fork's floor)"
REUSE = "check_cx_login through cxcheck worker --jobs-per-child N"


def plugin_names() -> list[str]:
    sys.path.insert(0, str(lib.PLUGINS))
    from cxcheck.worker.registry import discover

    return list(discover())


def wrappers(directory: Path, python: str) -> Path:
    """check_cx_login as $USER1$ names it: a script that runs this checkout's package."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "check_cx_login"
    path.write_text(f"#!/bin/sh\nPYTHONPATH='{lib.PLUGINS}' exec '{python}' -m cxcheck.checks.login \"$@\"\n")
    path.chmod(0o755)
    return directory


class WorkerRow:
    """Jobs through the worker, one at a time, each with its CPU (child + the worker itself)."""

    def __init__(self, tmp: Path, plugin_dir: Path, env: dict, *args: str):
        tmp.mkdir()
        self.core = FakeCore(tmp / "nagios.qh")
        self.stderr_path = tmp / "worker.stderr"
        self.stderr = open(self.stderr_path, "wb")
        self.proc = start_worker(self.core.path, plugin_dir, "-v", *args, env=env, stderr=self.stderr)
        try:
            self.core.accept(2 * len(plugin_names()))     # each plugin by name and by path
        except BaseException:
            self.stop()
            raise
        self.conn = self.core.connections[str(plugin_dir / "check_cx_login")]
        self.next_id = 0
        self.start_totals = self.totals()

    def schedstat(self) -> float:
        with open(f"/proc/{self.proc.pid}/schedstat") as handle:
            return int(handle.read().split()[0]) / 1e9

    def totals(self) -> float:
        """CPU of the worker, of its reaped children and of its live ones (runners that have not
        exited yet), seconds (clock ticks)."""
        def stat(pid: int) -> list[int]:
            with open(f"/proc/{pid}/stat") as handle:
                return [int(x) for x in handle.read().rsplit(")", 1)[1].split()[11:15]]

        total = sum(stat(self.proc.pid))
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as handle:
            for pid in handle.read().split():
                try:
                    total += sum(stat(int(pid))[:2])
                except FileNotFoundError:
                    pass
        return total / TICK

    def child_cpu(self, job_id: int, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for found, cpu in JOB_LINE.findall(self.stderr_path.read_text(errors="replace")):
                if int(found) == job_id:
                    return float(cpu) / 1000
            time.sleep(0.002)
        raise RuntimeError(f"no log line for job {job_id}")

    def run(self, argv: list[str]) -> lib.Sample:
        self.next_id += 1
        before = self.schedstat()
        started = time.perf_counter()
        self.conn.send_job(self.next_id, " ".join(shlex.quote(a) for a in argv))
        result = self.conn.result(self.next_id, 60)
        wall = time.perf_counter() - started
        child = self.child_cpu(self.next_id)            # the line comes after the result: the parent's work is done
        parent = self.schedstat() - before
        status = int(result["wait_status"])
        sample = lib.Sample(wall, child + parent, 0.0, 0, status >> 8, result["outstd"].decode(), "")
        sample.parent, sample.child = parent, child
        return sample

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)        # its own session (its children end by their deadlines)
            self.proc.wait(timeout=30)
        self.stderr.close()
        self.core.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--jobs-per-child", type=int, default=100, help="N of the reusing worker (default 100)")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS-worker.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/root"),
           "BENCH_PASSWORD": sites.PASSWORD, "PYTHONPATH": str(lib.PLUGINS)}
    launcher = Launcher()
    # The launcher's /bin/sh names its pipes by number, one digit only (dash): keep 3-9 free for
    # them while the site, the core's socket and the worker's connections are opened.
    reserved = [os.open(os.devnull, os.O_RDONLY) for _ in range(10)]
    with tempfile.TemporaryDirectory(prefix="cxbench-worker-") as tmpdir, sites.StaticSite() as site:
        tmp = Path(tmpdir)
        plugins = wrappers(tmp / "plugins", sys.executable)
        login = [str(plugins / "check_cx_login"), "-u", f"{site.url}/login", "--username", sites.USERNAME,
                 "--password-env", "BENCH_PASSWORD"]
        forking = WorkerRow(tmp / "fork", plugins, env)
        try:
            reusing = WorkerRow(tmp / "reuse", plugins, env, "--jobs-per-child", str(args.jobs_per_child))
        except BaseException:
            forking.stop()
            raise
        workers = {FORK: forking, REUSE: reusing}
        for fd in reserved:
            os.close(fd)
        rows = {
            FORK: (forking.run, login),
            FLOOR: (forking.run, login[:1] + ["-V"]),
            REUSE: (reusing.run, login),
            "check_cx_login as a process": (lambda cmd: launcher.run(cmd, env), login),
            "check_curl": (lambda cmd: launcher.run(cmd, env),
                           [CHECK_CURL, "-H", "127.0.0.1", "-p", str(site.port), "-u", "/login"]),
        }
        if not os.access(CHECK_CURL, os.X_OK):
            del rows["check_curl"]
        samples = {name: [] for name in rows}
        order = list(rows)
        try:
            for number in range(args.rounds + 1):
                random.shuffle(order)
                for name in order:
                    run, cmd = rows[name]
                    sample = run(cmd)
                    if sample.code != 0:
                        raise SystemExit(f"{name}: exit {sample.code}: {sample.stdout.strip()[:300]}")
                    if number:
                        samples[name].append(sample)
                if number == 0:
                    marks = {w: (w.totals(), w.next_id) for w in workers.values()}
            kernel = {name: (w.totals() - marks[w][0]) / (w.next_id - marks[w][1]) for name, w in workers.items()}
        finally:
            for worker in workers.values():
                worker.stop()
    return report(args, samples, kernel, rows)


def report(args, samples: dict, kernel: dict, rows: dict) -> int:
    cpu = {name: median([s.cpu for s in runs]) for name, runs in samples.items()}
    reference = cpu.get("check_curl")
    headers = ["command", "CPU ms (median, min–max)", "wall ms"] + (["CPU ÷ check_curl"] if reference else [])
    lines = []
    for name, runs in samples.items():
        row = [name, spread([s.cpu for s in runs], 1000), spread([s.wall for s in runs], 1000)]
        lines.append(row + ([f"{cpu[name] / reference:.2f}×"] if reference else []))
    forked, floor, reused = samples[FORK], samples[FLOOR], samples[REUSE]

    def split(runs):
        return (f"the child {median([s.child for s in runs]) * 1000:.1f} ms, the worker process "
                f"{median([s.parent for s in runs]) * 1000:.1f} ms")

    def check(name, runs):
        return (f"{name}: {kernel[name] * 1000:.1f} ms a job by the kernel's totals, "
                f"{statistics.mean([s.cpu for s in runs]) * 1000:.1f} ms the mean of the per-job figures")

    out = [f"# cxcheck worker: CPU per check ({args.rounds} rounds, shuffled; round 0 not counted)", "",
           f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python bench/bench_worker.py "
           f"{' '.join(sys.argv[1:])}`".rstrip() + f" on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}.", "",
           *table(headers, lines), "",
           f"Per job (medians): a fresh fork: {split(forked)}; `-V` (fork, parse, exit): {split(floor)}; "
           f"--jobs-per-child {args.jobs_per_child}: {split(reused)}.", "",
           "Cross-check with the kernel's totals for each worker, its reaped children and its live ones over "
           f"the counted jobs (clock ticks): {check(FORK, forked + floor)}; {check(REUSE, reused)}.", ""]
    if reference:
        for name in (FORK, REUSE):
            ratio = cpu[name] / reference
            out.append(f"Target (no more CPU than check_curl), {name}: {ratio:.2f}× — "
                       f"{'met' if ratio <= 1 else 'NOT met'}.")
    out += ["", "Commands (the worker's jobs carry the same command line):", "```",
            *(" ".join(shlex.quote(a) for a in cmd) for _, cmd in rows.values()), "```"]
    text = "\n".join(out) + "\n"
    lib.publish(text, args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
