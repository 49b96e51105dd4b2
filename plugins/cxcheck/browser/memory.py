"""What the browser costs in memory, and the cap on it.

A page can allocate as much as the machine has (a script filling arrays): the poller's memory,
not only the check's, is at stake. A watcher thread reads the resident size of each of the
browser's renderers (the processes that run pages: --type=renderer) every POLL seconds and kills
one that has gone over the cap; the page load then fails saying so. The browser's processes are
also the kernel's first choice if memory runs out anyway (oom_score_adj, set in launch).
"""

from __future__ import annotations

import os
import re
import signal
import threading

from cxcheck.runtime import Record, start_thread

POLL = 0.1                  # seconds between two looks at the browser's processes
MEMBERS_EVERY = 5           # looks between two listings of its processes (a /proc scan)
PAGE = os.sysconf("SC_PAGE_SIZE")
DEFAULT_CAP = 1024 * 1024 * 1024


def is_renderer(pid: int) -> bool:
    """A zygote's child rewrites its command line as one string: the flag may end in a space."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return re.search(rb"(^|[\0 ])--type=renderer([\0 ]|$)", handle.read()) is not None
    except OSError:
        return False


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
    """The watcher: `members()` lists the browser's processes; `over` is set once a renderer was ended."""

    def __init__(self, members, cap: int = DEFAULT_CAP):
        self.members, self.cap = members, cap
        self.over: Over | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="cxcheck-memory-cap", daemon=True)

    def start(self) -> MemoryCap:
        start_thread(self._thread)
        return self

    def stop(self):
        self._stop.set()

    def _watch(self):
        pids, looks, kinds = [], 0, {}
        while not self._stop.wait(POLL):
            if looks % MEMBERS_EVERY == 0:
                try:
                    members = self.members()
                except Exception:       # a scan of /proc that failed: the next one will do
                    members = []
                # A renderer shows as one once it has set its command line (a zygote's child at first).
                kinds = {pid: kinds.get(pid) or is_renderer(pid) for pid in members}
                pids = [pid for pid, renderer in kinds.items() if renderer]
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
