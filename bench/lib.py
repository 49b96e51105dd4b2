"""Measuring one child process: wall time, CPU (user+sys) and peak RSS from the kernel.

Each command runs as its own process and is reaped with os.wait4(pid), whose rusage is the
kernel's accounting of exactly that process (microsecond CPU, not a 10 ms clock).

Peak RSS needs care. Linux carries the RSS high-water mark of the address space a process
exec()s from into the new program's ru_maxrss: a child spawned straight from this (large) Python
process would report at least this process's RSS, so check_curl's 11 MB would read as 40 MB. So
each command is started by a small /bin/sh: it forks a subshell in the background (a copy of the
small shell, not of us), prints its pid and exits. This process is the child subreaper (prctl
PR_SET_CHILD_SUBREAPER), so the orphan is re-parented to us. It waits on a pipe until we have
reaped the shell, then execs the command: the clock starts when we release it, and wait4 on its
pid gives the command's own CPU and ru_maxrss. The subshell's few instructions before the exec
count in its CPU, as in every row alike; the `launch floor` row (/bin/true) shows how little.
Without prctl (not Linux) commands are spawned directly and RSS is marked as inherited.
"""

from __future__ import annotations

import ctypes
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
PR_SET_CHILD_SUBREAPER = 36
# A background subshell that waits for a line on descriptor GO, then becomes the command; the
# shell prints its pid on descriptor PID and exits. No descriptor of ours reaches the command.
LAUNCH = '( read _ <&{go} && exec "$@" {go}<&- ) {pid}>&- & echo $! >&{pid}'


@dataclass
class Sample:
    wall: float          # seconds, from spawning to reaping
    user: float          # seconds of CPU in user mode, this process only
    sys: float           # seconds of CPU in the kernel
    maxrss_kb: int       # peak resident set, kB
    code: int            # exit status (negative: killed by that signal)
    stdout: str
    stderr: str

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def status_line(self) -> str:
        return self.stdout.splitlines()[0] if self.stdout else ""

    def perfdata(self) -> dict[str, float]:
        """label -> value in seconds (s and ms normalised), from the status line's perfdata."""
        _, _, perf = self.status_line.partition("|")
        values = {}
        for item in perf.split():
            label, _, rest = item.partition("=")
            value = rest.split(";", 1)[0]
            number = value.rstrip("smuKMGTB%c")
            unit = value[len(number):]
            try:
                number = float(number)
            except ValueError:
                continue
            values[label.strip("'")] = number / 1000 if unit == "ms" else number / 1e6 if unit == "us" else number
        return values


class Launcher:
    """Runs commands one at a time and measures each as described in the module docstring."""

    def __init__(self, direct: bool = False):
        self.exact_rss = False
        if not direct and sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                self.exact_rss = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
            except (OSError, AttributeError):
                self.exact_rss = False
        self.how = ("each command started from a /bin/sh subshell re-parented to the bench (child subreaper), "
                    "timed from its release and reaped with os.wait4: CPU and peak RSS are that process's own "
                    "(bench/lib.py)" if self.exact_rss else
                    "subprocess.Popen + os.wait4; peak RSS includes the bench's own (inherited over exec)")

    def run(self, cmd: list[str], env: dict | None = None, timeout: float = 120.0) -> Sample:
        return self._via_shell(cmd, env, timeout) if self.exact_rss else self._direct(cmd, env, timeout)

    def _direct(self, cmd, env, timeout) -> Sample:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        out, err = _read_both(proc, timeout, proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        return Sample(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, proc.returncode, out, err)

    def _via_shell(self, cmd, env, timeout) -> Sample:
        pid_read, pid_write = os.pipe()
        go_read, go_write = os.pipe()
        shell = subprocess.Popen(["/bin/sh", "-c", LAUNCH.format(go=go_read, pid=pid_write), "sh", *cmd],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 pass_fds=(pid_write, go_read), env=env)
        os.close(pid_write)
        os.close(go_read)
        with os.fdopen(pid_read, "rb") as pid_pipe:
            text = pid_pipe.read().strip()
        os.waitpid(shell.pid, 0)            # the shell is gone: its subshell is ours now
        shell.returncode = 0
        if not text:
            os.close(go_write)
            raise RuntimeError(f"could not start {cmd[0]}")
        pid = int(text)
        started = time.perf_counter()
        os.write(go_write, b"\n")
        os.close(go_write)
        # The command keeps the shell's stdout/stderr pipes: EOF on them means it has exited
        # (or closed them); then reap it.
        out, err = _read_both(shell, timeout, pid)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        return Sample(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, code, out, err)


def _read_both(proc: subprocess.Popen, timeout: float, pid: int) -> tuple[str, str]:
    """Both pipes to EOF, killing `pid` if it outlives the timeout."""
    import selectors

    selector = selectors.DefaultSelector()
    chunks = {proc.stdout: [], proc.stderr: []}
    for stream in chunks:
        selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    open_streams = len(chunks)
    while open_streams:
        left = deadline - time.monotonic()
        if left <= 0:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            continue
        for key, _ in selector.select(left):
            data = os.read(key.fileobj.fileno(), 65536)
            if data:
                chunks[key.fileobj].append(data)
            else:
                selector.unregister(key.fileobj)
                open_streams -= 1
    selector.close()
    for stream in chunks:
        stream.close()
    return (b"".join(chunks[proc.stdout]).decode("utf-8", "replace"),
            b"".join(chunks[proc.stderr]).decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------------
# Figures


def median(values):
    return statistics.median(values) if values else float("nan")


def spread(values, scale: float = 1.0, digits: int = 1) -> str:
    """'median (min-max)'."""
    if not values:
        return "-"
    return (f"{median(values) * scale:.{digits}f} ({min(values) * scale:.{digits}f}-"
            f"{max(values) * scale:.{digits}f})")


def rows_against(samples: dict[str, list[float]], names: dict[str, str], reference: str) -> list[list[str]]:
    """Table rows of CPU per check: each row's name, its spread in ms and, when the reference row
    ran, its ratio to that row taken round by round (one load for both)."""
    base = samples.get(reference)
    rows = []
    for key, values in samples.items():
        row = [names[key], spread(values, 1000)]
        if base:
            ratios = [v / b for v, b in zip(values, base)]
            row.append(f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        rows.append(row)
    return rows


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table, columns padded so it also reads well on a terminal."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]


def publish(text: str, output: Path, write: bool = True):
    """A report: printed, and written to `output` unless told not to."""
    print(text)
    if write:
        output.write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
