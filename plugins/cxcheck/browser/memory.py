"""What the browser costs in memory, and the cap on it.

A page can allocate as much as the machine has (a script filling arrays): the poller's memory,
not only the check's, is at stake. A watcher thread reads the resident size of each of the
browser's processes every POLL seconds and kills one that has gone over the cap (a renderer:
the page that grew it is the one loading); the page load then fails saying so. The browser's
processes are also the kernel's first choice if memory runs out anyway (oom_score_adj, set in
launch).
"""

from __future__ import annotations

import os
import signal
import threading

from cxcheck.runtime import Record

POLL = 0.1                  # seconds between two looks at the browser's processes
MEMBERS_EVERY = 5           # looks between two listings of its processes (a /proc scan)
PAGE = os.sysconf("SC_PAGE_SIZE")
DEFAULT_CAP = 1024 * 1024 * 1024


def resident(pid: int) -> int:
    """Resident set size in bytes (cheap: /proc/PID/statm), 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss(pid: int) -> int:
    """Proportional set size in bytes: shared pages split among the processes sharing them, so
    the sum over a browser's processes is what the browser costs (RSS counts them each time)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Over(Record):
    """A process the cap ended: its pid and the resident size it had reached."""

    _fields = ("pid", "size")

    def __init__(self, pid: int, size: int):
        self.pid, self.size = pid, size


class MemoryCap:
    """The watcher: `members()` lists the browser's processes; `over` is set once one was ended."""

    def __init__(self, members, cap: int = DEFAULT_CAP):
        self.members, self.cap = members, cap
        self.over: Over | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="cxcheck-memory-cap", daemon=True)

    def start(self) -> MemoryCap:
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def _watch(self):
        pids, looks = [], 0
        while not self._stop.wait(POLL):
            if looks % MEMBERS_EVERY == 0:
                try:
                    pids = self.members()
                except Exception:       # a scan of /proc that failed: the next one will do
                    pids = []
            looks += 1
            for pid in pids:
                size = resident(pid)
                if size > self.cap:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        continue
                    if self.over is None:
                        self.over = Over(pid, size)
