"""Starting and ending the browser's processes, so that none outlives the run.

chromedriver starts in a new session (its own process group) and Chromium with every helper
process it forks stays in that group: one SIGKILL to the group ends them all. Every process of
the run's browser also carries the run's home in its environment ($CXCHECK_BROWSER, inherited
by all it starts): so the crash handlers Chromium starts in sessions of their own, and a
chromedriver whose start the deadline cut off before its pid was known, are found and ended
too, until none is left. Chromium's HOME, XDG directories and TMPDIR are in the run's home: it
writes nothing outside it, and downloads are refused besides. The run becomes a child subreaper,
so the helpers orphaned by that kill are reaped here, not left as zombies under a PID 1 that
never waits. If the run itself is SIGKILLed, the kernel kills chromedriver (PR_SET_PDEATHSIG)
and the next run sweeps the orphaned Chromium: its home names the run that owned it.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from cxcheck.runtime import ConfigError, DeadlineExceeded, SourceError, processes

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = ("chromedriver",)
INSTALL = "apt-get install chromium chromium-driver"
PROFILE_PREFIX = "cxcheck-browser-"
PROFILE = re.compile(re.escape(PROFILE_PREFIX) + r"(\d+)-")
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
# A Unix socket's path is at most 107 bytes; Chromium's is TMPDIR/org.chromium.Chromium.XXXXXX/
# SingletonSocket (46 more).
SCRATCH_MAX = 107 - 46
SHORT_TMP = "/tmp"
# A RAM file system for the run's home, when $TMPDIR does not say where: removing a profile of
# some 200 files from a busy disk can take longer than the hard timeout leaves (0.4 s measured).
RAM_DIR, RAM_FREE = "/dev/shm", 1 << 30
READY_POLL = 0.02       # seconds between looks at chromedriver's port while it starts
MARK = b"CXCHECK_BROWSER"
END_WAIT = 2.0          # seconds an end without a deadline of its own waits for the browser to be gone
KILL_POLL = 0.005       # seconds between looks for what is left of a killed browser
KILL_ROUNDS = 4         # looks at once for what a killed browser forked meanwhile, past the time given


def find(names, env: str, what: str) -> str:
    """The binary named by $env, else the first of `names` on PATH."""
    chosen = os.environ.get(env)
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            raise ConfigError(f"${env}={chosen}: not an executable file")
        return chosen
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise ConfigError(f"{what} not found (looked for {', '.join(names)} on PATH and ${env}): {INSTALL}")


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _in_child():
    """In chromedriver before exec: its own session; killed when the run that started it dies;
    the kernel's first choice, with all it starts, if the machine runs out of memory."""
    os.setsid()
    libc = _libc()
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Driver:
    """A chromedriver process in its own process group, with a profile directory for Chromium."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.home = ""
        self.scratch = ""       # Chromium's TMPDIR when the home's path is too long for it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def profile(self) -> str:
        return os.path.join(self.home, "profile")

    def start(self, chromedriver: str):
        for tmp in dict.fromkeys((tempfile.gettempdir(), SHORT_TMP, RAM_DIR)):
            sweep(tmp)
        libc = _libc()
        if libc is not None:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.home = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-", dir=home_base())
        processes.own(self, self.end)
        self.port = free_port()
        # Chromium's own temp dirs (org.chromium.Chromium.*, which a group kill leaves) go in the
        # run's home too: removed with it, never piling up in the system's temp dir. Unless that
        # path is too long for the Unix socket Chromium makes below it (then Chromium exits): then
        # a short one in /tmp, named as a home so that the sweep finds it too.
        env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, "config"),
                   XDG_CACHE_HOME=os.path.join(self.home, "cache"), CXCHECK_BROWSER=self.home)
        scratch = os.path.join(self.home, "t")
        if len(scratch) <= SCRATCH_MAX:
            os.mkdir(scratch, 0o700)
        else:
            scratch = self.scratch = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-", dir=SHORT_TMP)
        env["TMPDIR"] = scratch
        with open(os.path.join(self.home, "chromedriver.log"), "wb") as log, processes.starting():
            self.process = subprocess.Popen(
                [chromedriver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_in_child, close_fds=True, env=env)
        self._wait_ready()

    def _wait_ready(self):
        while True:
            if self.process.poll() is not None:
                raise SourceError(f"chromedriver exited with code {self.process.returncode}: {self.last_words()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                pass
            if self.deadline.remaining <= READY_POLL:
                raise DeadlineExceeded()
            time.sleep(READY_POLL)

    def last_words(self) -> str:
        """chromedriver's last log line: why it did not start."""
        try:
            with open(os.path.join(self.home, "chromedriver.log"), "rb") as log:
                lines = log.read()[-4096:].decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def members(self) -> list[int]:
        return processes.group_members(self.process.pid) if self.process is not None else []

    def end(self, until: float | None = None):
        """Kill every process of the browser, reap them, remove the home; by the monotonic time
        `until` (what is still dying then, or not removed, is left to the next run's sweep).
        Safe to call twice. Raises nothing but the deadline's alarm, and only once the work it
        interrupted is done: registered until then, so the hard timeout's end_all() finds it."""
        until = time.monotonic() + END_WAIT if until is None else until
        try:
            self._end(until)
        except DeadlineExceeded:
            self._end(until)
            raise
        finally:
            processes.disown(self)

    def _end(self, until: float):
        """Kill, remove the home at once (a killed process never runs again, it only has to be
        torn down), then wait for the ends and reap them, with what time is left."""
        if not self.home:
            return
        for wait in (False, True):
            self._kill(until, wait)
            reap()
            for path in (self.home, self.scratch):
                if path and os.path.lexists(path):
                    remove(path, until)

    def _kill(self, until: float, wait: bool = True) -> bool:
        """SIGKILL the browser, looking again until nothing new is found, then (`wait`) until none
        of it is alive or `until` comes (a killed process still has to be torn down, slowly on a
        busy machine); whether none is.
        The browser: chromedriver's process group, this run's children that carry the run's home
        in their environment (Chromium's crash handlers, in sessions of their own, once their
        parent is gone; a chromedriver whose start the deadline cut off before its pid was
        known), and every process below them. Only the process table is read, but for those few
        children, which are not being killed while their environment is read."""
        me, own_group = os.getpid(), os.getpgrp()
        group = self.process.pid if self.process is not None else None
        mark, checked, found, rounds = self.home.encode(), set(), set(), 0
        while True:
            if group is not None:
                processes.end_group(group)
            table = processes.table()
            before = len(found)
            found |= {pid for pid, (_, pgid, _) in table.items() if pgid == group}
            for pid, (parent, pgid, state) in table.items():
                if parent == me and pgid not in (group, own_group) and pid not in checked | found:
                    checked.add(pid)
                    if not processes.ended(state) and processes.carries(pid, MARK, mark):
                        found.add(pid)
            found = processes.descendants(found, table)
            living = [pid for pid in found if pid in table and not processes.ended(table[pid][2])]
            for pid in living:
                if table[pid][1] not in (group, own_group):
                    processes.end_group(table[pid][1])
                _kill(pid)
            if not living:
                return True
            # Found more (forked since the last look): look again at once; else wait for the end.
            grew, left = len(found) > before, until - time.monotonic()
            rounds += 1
            if (not wait or left < 2 * KILL_POLL) and not (grew and rounds < KILL_ROUNDS):
                return False
            if not grew:
                time.sleep(KILL_POLL)


def kill_marked(homes, until: float) -> bool:
    """SIGKILL the processes carrying one of `homes` (and their groups), again until none is
    alive or `until` comes; whether none is. For a dead run's browser: its processes are no
    longer below any run, only their environment tells."""
    own_group = os.getpgrp()
    while True:
        found = processes.marked(MARK, [home.encode() for home in homes])
        for pid, _ in found:
            try:
                group = os.getpgid(pid)
            except OSError:
                continue
            if group != own_group:
                processes.end_group(group)
            _kill(pid)
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


def home_base() -> str:
    """Where the run's home goes: $TMPDIR when set, else a RAM file system with room to spare
    (not Docker's 64 MB /dev/shm), else the system's temp dir."""
    if os.environ.get("TMPDIR"):
        return tempfile.gettempdir()
    try:
        with open("/proc/self/mounts") as mounts:
            ram = any(line.split()[1:3] == [RAM_DIR, "tmpfs"] for line in mounts)
        room = os.statvfs(RAM_DIR)
        if ram and room.f_bavail * room.f_frsize >= RAM_FREE and os.access(RAM_DIR, os.W_OK | os.X_OK):
            return RAM_DIR
    except (OSError, IndexError):
        pass
    return tempfile.gettempdir()


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
        if match and not _alive(int(match.group(1))):
            stale.append(os.path.join(tmp, name))
    if stale and kill_marked(stale, time.monotonic() + END_WAIT):
        for path in stale:
            remove(path, time.monotonic() + END_WAIT)


def _kill(pid: int):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
