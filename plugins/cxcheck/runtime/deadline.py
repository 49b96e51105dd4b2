"""One deadline over the whole run, and the backstop that enforces it and answers stop signals."""

from __future__ import annotations

import _signal  # signal.signal's wrapper costs an exception per call (its enum lookup)
import os
import select
import signal
import threading
import time
from contextlib import contextmanager

from cxcheck.runtime.values import DeadlineExceeded

# The soft alarm at the deadline lets the check unwind and report the steps that finished;
# the hard end, this much later, exits whatever the code is doing.
HARD_MARGIN = 0.25
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# A SIGALRM this long before the deadline is not the deadline's: someone else's, a stop signal.
ALARM_SLACK = 0.05


_atomic = {"depth": 0, "due": False}     # the main thread's: signal handlers run only there


@contextmanager
def atomic():
    """A stretch the deadline's alarm does not cut: it is raised once the stretch is over. For
    what must not be left half done, such as starting a process (the alarm in a fork handler of
    the parent would be lost, or leave a child whose pid the run never learnt) or ending one.
    Nothing in another thread: the alarm is never raised there."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _atomic["depth"] += 1
    try:
        yield
    finally:
        _atomic["depth"] -= 1
        if _atomic["depth"] == 0 and _atomic["due"]:
            _atomic["due"] = False
            raise DeadlineExceeded()


def start_thread(thread: threading.Thread):
    """Thread.start() waits on a Condition: the alarm's exception raised in that wait, between
    its lock's release and its try, leaves the lock released, and the with-block around it then
    fails ("RuntimeError: release unlocked lock") instead of the run's timeout line."""
    with atomic():
        thread.start()


def process_age() -> float:
    """Seconds since this process started (was forked), from /proc: where an engine's clock for
    the check starts, before the interpreter and the imports. 0 where it cannot be known."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            started = int(handle.read().rsplit(b")", 1)[1].split()[19])   # field 22, starttime
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    return age if 0 <= age < 60 else 0.0


class Deadline:
    """One deadline over the whole run, computed once from -t."""

    def __init__(self, seconds: float, start: float | None = None):
        self.seconds = seconds
        self.start = time.monotonic() if start is None else start
        self.end = self.start + seconds

    @property
    def remaining(self) -> float:
        return self.end - time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def check(self):
        if self.remaining <= 0:
            raise DeadlineExceeded()

    def timeout(self, own: float | None = None) -> float:
        """The timeout for one operation: its own, cut to what is left of the run."""
        left = self.remaining
        if left <= 0:
            raise DeadlineExceeded()
        return left if own is None else min(own, left)

    def sleep(self, seconds: float):
        """Sleep, but never past the deadline (then DeadlineExceeded)."""
        if seconds >= self.remaining:
            time.sleep(max(self.remaining, 0))
            raise DeadlineExceeded()
        time.sleep(max(seconds, 0))


class Backstop:
    """SIGALRM at the deadline raises DeadlineExceeded in the main thread, even inside a read
    that a per-socket-operation timeout never ends (a server dripping a byte a second).

    A watcher thread does what a signal handler in the main thread cannot: Python runs those only
    between bytecodes, and C code that retries its own interrupted calls (glibc's resolver waiting
    for a DNS server that never answers) holds the main thread for as long as it likes. The
    watcher calls `on_hard_timeout` HARD_MARGIN after the deadline if the run has not ended, and
    `on_signal(signum)` as soon as a stop signal arrives (the C-level handler writes the signal
    to a pipe the watcher reads): SIGTERM, SIGINT, SIGHUP, and a SIGALRM that is not the
    deadline's. Both are expected to write the result and exit."""

    def __init__(self, deadline: Deadline, on_hard_timeout, on_signal=None):
        self.deadline = deadline
        self.on_hard_timeout = on_hard_timeout
        self.on_signal = on_signal
        self._hard_at: float | None = None
        self._pipe: tuple[int, int] | None = None
        self._saved: dict = {}
        self._released = False
        self._thread: threading.Thread | None = None

    def arm(self):
        self._hard_at = self.deadline.end + HARD_MARGIN
        if threading.current_thread() is threading.main_thread():
            self._pipe = os.pipe()
            os.set_blocking(self._pipe[1], False)
            self._saved["wakeup"] = signal.set_wakeup_fd(self._pipe[1], warn_on_full_buffer=False)
            if self.on_signal is not None:
                for signum in STOP_SIGNALS:
                    self._saved[signum] = _signal.signal(signum, _noted)
            self._saved[signal.SIGALRM] = _signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, max(self.deadline.remaining, 0.001))
        self._thread = threading.Thread(target=self._watch, name="cxcheck-backstop", daemon=True)
        start_thread(self._thread)

    def disarm(self):
        """The deadline no longer matters (the result is being written); stop signals still do."""
        self._hard_at = None
        if self._pipe is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _signal.signal(signal.SIGALRM, _noted)       # from now on a stop signal like the others
            try:
                os.write(self._pipe[1], b"\0")          # wake the watcher: no hard deadline now
            except OSError:
                pass

    def release(self):
        """The run is over: the watcher stops, signals are handled as before arm()."""
        self.disarm()
        self._released = True
        if self._pipe is not None:
            try:
                os.write(self._pipe[1], b"\0")
            except OSError:
                pass
        if self._thread is not None and self._thread.ident is not None:    # arm() cut short: never started
            self._thread.join(1.0)
        if self._pipe is not None:
            signal.set_wakeup_fd(self._saved.pop("wakeup", -1))
            for signum, handler in self._saved.items():
                _signal.signal(signum, handler)
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    def _alarm(self, signum, frame):
        if self._foreign_alarm():
            return
        if _atomic["depth"]:
            _atomic["due"] = True
            return
        raise DeadlineExceeded()

    def _foreign_alarm(self) -> bool:
        """A SIGALRM well before the deadline is not the deadline's alarm."""
        return self.deadline.remaining > ALARM_SLACK

    def _watch(self):
        while not self._released:
            hard_at = self._hard_at
            wait = None if hard_at is None else max(hard_at - time.monotonic(), 0)
            if self._pipe is None:
                if wait is None:
                    return
                ready = select.select([], [], [], wait)[0]
            else:
                ready = select.select([self._pipe[0]], [], [], wait)[0]
            if self._released:
                return
            if ready:
                for signum in os.read(self._pipe[0], 64):
                    stop = signum in STOP_SIGNALS or (signum == signal.SIGALRM and self._foreign_alarm())
                    if stop and self.on_signal is not None:
                        self.on_signal(signal.Signals(signum))
                        return
            elif self._hard_at is not None and time.monotonic() >= self._hard_at:
                self.on_hard_timeout()
                return


def _noted(signum, frame):
    """The Python-level handler of a stop signal: nothing; the watcher thread acts on it."""
