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
import statistics
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

    def __init__(self, tmp: Path, plugin_dir: Path, env: dict):
        self.core = FakeCore(tmp / "nagios.qh")
        self.stderr_path = tmp / "worker.stderr"
        self.stderr = open(self.stderr_path, "wb")
        self.proc = start_worker(self.core.path, plugin_dir, "-v", env=env, stderr=self.stderr)
        self.core.accept(2 * len(plugin_names()))         # each plugin by name and by path
        self.conn = self.core.connections[str(plugin_dir / "check_cx_login")]
        self.next_id = 0
        self.start_totals = self.totals()

    def schedstat(self) -> float:
        with open(f"/proc/{self.proc.pid}/schedstat") as handle:
            return int(handle.read().split()[0]) / 1e9

    def totals(self) -> float:
        """utime + stime + cutime + cstime of the worker, seconds (clock ticks)."""
        with open(f"/proc/{self.proc.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / TICK

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
        self.proc.wait(timeout=30)
        self.stderr.close()
        self.core.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
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
        worker = WorkerRow(tmp, plugins, env)
        for fd in reserved:
            os.close(fd)
        rows = {
            "check_cx_login through cxcheck worker": (worker.run, login),
            "check_cx_login -V through cxcheck worker (the fork's floor)": (worker.run, login[:1] + ["-V"]),
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
                    worker.start_totals = worker.totals()
                    jobs_before = worker.next_id
            kernel_total = worker.totals() - worker.start_totals
            kernel_jobs = worker.next_id - jobs_before
        finally:
            worker.stop()
    return report(args, samples, kernel_total / kernel_jobs, rows)


def report(args, samples: dict, kernel_per_job: float, rows: dict) -> int:
    cpu = {name: median([s.cpu for s in runs]) for name, runs in samples.items()}
    reference = cpu.get("check_curl")
    headers = ["command", "CPU ms (median, min–max)", "wall ms"] + (["CPU ÷ check_curl"] if reference else [])
    lines = []
    for name, runs in samples.items():
        row = [name, spread([s.cpu for s in runs], 1000), spread([s.wall for s in runs], 1000)]
        lines.append(row + ([f"{cpu[name] / reference:.2f}×"] if reference else []))
    through = samples["check_cx_login through cxcheck worker"]
    floor = samples["check_cx_login -V through cxcheck worker (the fork's floor)"]
    out = [f"# cxcheck worker: CPU per check ({args.rounds} rounds, shuffled; round 0 not counted)", "",
           f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python bench/bench_worker.py "
           f"{' '.join(sys.argv[1:])}`".rstrip() + f" on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}.", "",
           *table(headers, lines), "",
           f"Through the worker, per job: the child {median([s.child for s in through]) * 1000:.1f} ms, the worker "
           f"process {median([s.parent for s in through]) * 1000:.1f} ms (medians); `-V` (fork, start of main, exit): "
           f"child {median([s.child for s in floor]) * 1000:.1f} ms, worker {median([s.parent for s in floor]) * 1000:.1f} ms.",
           f"Cross-check, the kernel's totals for the worker and its reaped children over all counted jobs "
           f"(both worker rows, clock ticks): {kernel_per_job * 1000:.1f} ms a job; the mean of the per-job figures: "
           f"{statistics.mean([s.cpu for s in through + floor]) * 1000:.1f} ms.", ""]
    if reference:
        ratio = cpu["check_cx_login through cxcheck worker"] / reference
        out.append(f"Target: through the worker, check_cx_login costs no more CPU than check_curl: "
                   f"{ratio:.2f}× — {'met' if ratio <= 1 else 'NOT met'}.")
    out += ["", "Commands (the worker's jobs carry the same command line):", "```",
            *(" ".join(shlex.quote(a) for a in cmd) for _, cmd in rows.values()), "```"]
    text = "\n".join(out) + "\n"
    print(text)
    if not args.no_write:
        args.output.write_text(text, encoding="utf-8")
        print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
