"""Processes a run started: ended on every way out, the hard ones included.

A check that starts a process (a browser) registers how to end it here, and starts it inside
`starting()`. The plugin entry calls end_all() on the exits that skip `finally` (the hard timeout
and stop signals, both os._exit) from another thread while the main one goes on: once end_all()
has begun, `starting()` refuses, so nothing the main thread starts afterwards escapes it. The
check's own `finally` ends what it started on the other exits, and the plugin entry ends what is
still registered once the result is out (end_owned); ending twice is harmless.

What is read of other processes is cheap on a loaded machine: a process's children from
/proc/PID/task/*/children rather than a scan of every process (a scan of a thousand /proc
entries has taken over a second under load), and their environment only for the few that
need it: reading it waits while the process changes or frees its memory.
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
END_BUDGET = 0.1            # seconds end_all() gives the registered ends at least
PF_EXITING = 0x4            # a process's flags (/proc/PID/stat): it is being torn down


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
    """End every registered process (and direct children started by other means), by `until`.
    A start under way is waited for (then ended) as long as `until` allows; one that takes longer
    ends with the run anyway (its child is killed when the run exits: PR_SET_PDEATHSIG)."""
    global _closed
    until = time.monotonic() + END_BUDGET if until is None else until
    started = _starting.acquire(timeout=max(until - time.monotonic(), 0.001))
    _closed = True
    if started:
        _starting.release()
    end_owned(until)
    for pid in children_of(os.getpid()):
        kill(pid, signal.SIGTERM)


def end_owned(until: float) -> None:
    """End what is still registered, by `until`: on the hard exits, and after every run's result
    for an end that ran out of time, or that the deadline's alarm cut off before it began (a
    few bytecodes wide: between a check's last line and its end's first)."""
    with _lock:
        ends = list(_owned.values())
        _owned.clear()
    for end in ends:
        try:
            end(until)
        except BaseException:       # on the way out: what could not be ended is swept by the next run
            pass


def children_of(pid: int) -> list[int]:
    """A process's children, from its threads' /proc children lists (a scan of every process on
    a kernel without them)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                found.extend(int(child) for child in handle.read().split())
        except FileNotFoundError:
            return [p for p, (parent, _, _) in table().items() if parent == pid]
        except (OSError, ValueError):
            continue
    return found


def stat_of(pid: int) -> tuple[int, int, bytes] | None:
    """(parent, process group, state) of a process, None once it is gone. A process being torn
    down after its end shows as state X (its flags say it is exiting)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        state = b"X" if int(fields[6]) & PF_EXITING and fields[0] != b"Z" else fields[0]
        return int(fields[1]), int(fields[2]), state
    except (OSError, IndexError, ValueError):
        return None


def table(until: float | None = None) -> dict[int, tuple[int, int, bytes]]:
    """pid -> stat_of(pid) for every process (the ones read by `until`, when given)."""
    found = {}
    for entry in _pids():
        if until is not None and time.monotonic() >= until:
            break
        info = stat_of(int(entry))
        if info is not None:
            found[int(entry)] = info
    return found


def group_members(pgid: int) -> list[int]:
    return [pid for pid, (_, group, _) in table().items() if group == pgid]


def exists(target: int) -> bool:
    """Whether a process (negative: any process of a group) is there, a zombie not yet collected
    included; another user's too."""
    try:
        os.kill(target, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_group(pgid: int) -> None:
    """SIGKILL a whole process group (a browser and every process it started)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill(pid: int, signum: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, signum)
    except OSError:
        pass


def carries(pid: int, name: bytes, value: bytes) -> bool:
    """Whether the process's environment sets `name` to `value` (this user's processes only)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = b"\0" + handle.read()
    except OSError:
        return False
    return b"\0" + name + b"=" + value + b"\0" in environ + b"\0"


def marked(name: bytes, values, until: float | None = None) -> list[tuple[int, bytes]]:
    """(pid, value) of the live processes whose environment sets `name` to one of `values`
    (bytes): what a run's child passes down to every process it starts, whatever their group,
    session or parent. Only this user's processes can be read (a scan: for rare use)."""
    found = []
    me = os.geteuid()
    for pid, (_, _, state) in table(until).items():
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
