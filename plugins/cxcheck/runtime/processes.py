"""Processes a run started: ended on every way out, the hard ones included.

A check that starts a process (a browser) registers how to end it here. The plugin entry calls
end_all() on the exits that skip `finally` (the hard timeout and stop signals, both os._exit),
and the check's own `finally` ends it on the others; ending twice is harmless.
"""

from __future__ import annotations

import os
import signal
import threading

_lock = threading.Lock()
_owned: dict[object, object] = {}


def own(key, end) -> None:
    """`end()` ends what `key` names; it must not raise and must not block for long."""
    with _lock:
        _owned[key] = end


def disown(key) -> None:
    with _lock:
        _owned.pop(key, None)


def end_all() -> None:
    """End every registered process (and direct children started by other means)."""
    with _lock:
        ends = list(_owned.values())
        _owned.clear()
    for end in ends:
        try:
            end()
        except Exception:       # on the way out: what could not be ended is swept by the next run
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


def _stats():
    """(pid, parent, process group) of every process, read from /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
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
