"""Ending a run's browser on every way out, so that nothing of it outlives the run.

Every process of the run's browser carries the run's home in its environment ($CXCHECK_BROWSER,
set for chromedriver, inherited by all it starts). So besides chromedriver's process group, the
crash handlers Chromium starts in sessions of their own, and a chromedriver whose start the
deadline cut off before its pid was known, are found and killed too, until none is left. The
home is removed at once (a killed process never runs again), then the ends are waited for and
reaped (the run is a child subreaper) with what time is left; whatever is still there then the
run finishes once its result is out, within its promise, else the next run's sweep does, which
also ends the browsers of runs that died (SIGKILL, OOM) and removes their homes: a home's name
says which run it was.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

from cxcheck.runtime import processes

PROFILE_PREFIX = "cxcheck-browser-"
PROFILE = re.compile(re.escape(PROFILE_PREFIX) + r"(\d+)-")
MARK = b"CXCHECK_BROWSER"
END_WAIT = 2.0          # seconds an end without a deadline of its own waits for the browser to be gone
KILL_POLL = 0.005       # seconds between looks for what is left of a killed browser
KILL_ROUNDS = 4         # looks at once for what a killed browser forked meanwhile, past the time given


def kill_browser(group: int | None, home: str, until: float, wait: bool = True) -> bool:
    """SIGKILL a run's browser, then (`wait`) wait for its end, reaping, until `until`; whether
    it ended. The browser: chromedriver's process `group` (Chromium and all its helpers), and
    this run's children that carry its `home` in their environment (Chromium's crash handlers,
    in sessions of their own, which come to the run, a child subreaper, once their parent is
    killed; a chromedriver whose start the deadline cut off before its pid was known) with
    their groups. Only the run's own children are read, never every process."""
    me, own_group = os.getpid(), os.getpgrp()
    mark, groups, checked, rounds = home.encode(), set() if group is None else {group}, set(), 0
    while True:
        for pgid in groups:
            processes.end_group(pgid)
        grew = False
        for pid in processes.children_of(me):
            info = processes.stat_of(pid)
            if pid in checked or info is None or processes.ended(info[2]) or info[1] in groups:
                continue
            checked.add(pid)
            if processes.carries(pid, MARK, mark):
                if info[1] == own_group:
                    processes.kill(pid)
                else:
                    groups.add(info[1])
                    processes.end_group(info[1])
                grew = True
        reap()
        if not any(processes.exists(-pgid) for pgid in groups):
            return True
        # Found more (started since the last look): look again at once; else wait for the end.
        rounds += 1
        if (not wait or until - time.monotonic() < 2 * KILL_POLL) and not (grew and rounds < KILL_ROUNDS):
            return False
        if not grew:
            time.sleep(KILL_POLL)


def kill_marked(homes, until: float) -> bool:
    """SIGKILL the processes carrying one of `homes` (and their groups), again until none is
    alive or `until` comes; whether none is. For a dead run's browser: its processes are no
    longer below any run, only their environment tells."""
    own_group = os.getpgrp()
    while True:
        found = processes.marked(MARK, [home.encode() for home in homes], until)
        for pid, _ in found:
            try:
                group = os.getpgid(pid)
            except OSError:
                continue
            if group != own_group:
                processes.end_group(group)
            processes.kill(pid)
        if not found:
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(KILL_POLL)


def remove(path: str, until: float) -> bool:
    """Remove a directory tree, deepest first, by `until`; whether it is gone (what is left then
    is the next run's sweep's: a killed browser has nothing of the run's in it)."""
    for folder, dirs, files in os.walk(path, topdown=False):
        for name in files:
            if time.monotonic() >= until:
                return False
            _unlink(os.path.join(folder, name))
        for name in dirs:
            _unlink(os.path.join(folder, name), directory=True)
    _unlink(path, directory=True)
    return not os.path.lexists(path)


def _unlink(path: str, directory: bool = False):
    try:
        if directory and not os.path.islink(path):
            os.rmdir(path)
        else:
            os.unlink(path)
    except OSError:
        pass


def reap():
    """Collect the exit status of the browser's processes that ended as this (subreaper) run's
    children; none is waited for."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(tmp: str | None = None):
    """End the browsers of runs that died without cleaning up (SIGKILL, OOM), remove their
    homes. A home whose run is still alive is left alone."""
    tmp = tmp or tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(tmp) if n.startswith(PROFILE_PREFIX)]
    except OSError:
        return
    stale = []
    for name in names:
        match = PROFILE.match(name)
        if match and not processes.exists(int(match.group(1))):
            stale.append(os.path.join(tmp, name))
    if stale and kill_marked(stale, time.monotonic() + END_WAIT):
        for path in stale:
            remove(path, time.monotonic() + END_WAIT)
