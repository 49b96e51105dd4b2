"""Processes a run started: ended on every way out, the hard ones included.

A check that starts a process (a browser) registers how to end it here, and starts it inside
`starting()`. The plugin entry calls end_all() on the exits that skip `finally` (the hard timeout
and stop signals, both os._exit) from another thread while the main one goes on: once end_all()
has begun, `starting()` refuses, so nothing the main thread starts afterwards escapes it; a start
already under way is finished first and then ended. The check's own `finally` ends what it
started on the other exits; ending twice is harmless.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager

from cxcheck.runtime.deadline import atomic
from cxcheck.runtime.values import DeadlineExceeded

_lock = threading.Lock()
_starting = threading.Lock()
_owned: dict[object, object] = {}
_closed = False
END_BUDGET = 0.15           # seconds end_all() gives the registered ends by default


def own(key, end) -> None:
    """`end(until)` ends what `key` names by the monotonic time `until` at the latest (what it
    cannot finish by then it leaves to be swept later); it must not raise."""
    with _lock:
        _owned[key] = end


def disown(key) -> None:
    with _lock:
        _owned.pop(key, None)


@contextmanager
def starting():
    """Around the start of a process: refused (DeadlineExceeded) once the run is being ended; the
    deadline's alarm waits until the start is done (deadline.atomic)."""
    with _starting, atomic():
        if _closed:
            raise DeadlineExceeded()
        yield


def end_all(until: float | None = None) -> None:
    """End every registered process (and direct children started by other means), by `until`."""
    global _closed
    until = time.monotonic() + END_BUDGET if until is None else until
    with _starting:                 # a start under way finishes (and is registered) first
        _closed = True
    with _lock:
        ends = list(_owned.values())
        _owned.clear()
    for end in ends:
        try:
            end(until)
        except BaseException:       # on the way out: what could not be ended is swept by the next run
            pass
    _end_children()


def children_of(pid: int) -> list[int]:
    return [p for p, parent, _ in _stats() if parent == pid]


def group_members(pgid: int) -> list[int]:
    return [p for p, _, group in _stats() if group == pgid]


def end_group(pgid: int) -> None:
    """SIGKILL a whole process group (a browser and every process it started)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


PF_EXITING = 0x4            # a process's flags (/proc/PID/stat): it is being torn down


def table() -> dict[int, tuple[int, int, bytes]]:
    """pid -> (parent, process group, state) of every process, from /proc/PID/stat, which (unlike
    environ or cmdline) never waits on a process busy changing or freeing its memory. A process
    being torn down after its end shows as state X."""
    found = {}
    for entry in _pids():
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            state = b"X" if int(fields[6]) & PF_EXITING and fields[0] != b"Z" else fields[0]
            found[int(entry)] = (int(fields[1]), int(fields[2]), state)
        except (OSError, IndexError, ValueError):
            continue
    return found


def descendants(pids, processes: dict) -> set[int]:
    """`pids` and every process below them in `processes` (a table())."""
    found, grew = set(pids), True
    while grew:
        below = {pid for pid, (parent, _, _) in processes.items() if parent in found} - found
        found |= below
        grew = bool(below)
    return found


def carries(pid: int, name: bytes, value: bytes) -> bool:
    """Whether the process's environment sets `name` to `value` (this user's processes only)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = b"\0" + handle.read()
    except OSError:
        return False
    return b"\0" + name + b"=" + value + b"\0" in environ + b"\0"


def marked(name: bytes, values) -> list[tuple[int, bytes]]:
    """(pid, value) of the live processes whose environment sets `name` to one of `values`
    (bytes): what a run's child passes down to every process it starts, whatever their group or
    session. Only this user's processes can be read."""
    found = []
    me = os.geteuid()
    for pid, (_, _, state) in table().items():
        if ended(state):            # its environment would wait for its memory to be freed
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != me:
                continue
        except OSError:
            continue
        value = next((value for value in values if carries(pid, name, value)), None)
        if value is not None:
            found.append((pid, value))
    return found


def ended(state: bytes) -> bool:
    return state in (b"Z", b"X")


def _pids() -> list[str]:
    try:
        return [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []


def _stats():
    """(pid, parent, process group) of every process, read from /proc."""
    for entry in _pids():
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            yield int(entry), int(fields[1]), int(fields[2])
        except (OSError, IndexError, ValueError):
            continue


def _end_children():
    for pid in children_of(os.getpid()):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
