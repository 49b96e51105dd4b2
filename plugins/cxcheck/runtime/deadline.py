"""One deadline over the whole run, and the SIGALRM backstop that enforces it."""

from __future__ import annotations

import signal
import time

from cxcheck.runtime.values import DeadlineExceeded

# The soft alarm at the deadline lets the check unwind and report the steps that finished;
# the hard one, this much later, exits whatever the code is doing.
HARD_MARGIN = 0.25


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
    that a per-socket-operation timeout never ends (a server dripping a byte a second); if the
    code does not unwind within HARD_MARGIN, `on_hard_timeout` writes the result and exits."""

    def __init__(self, deadline: Deadline, on_hard_timeout):
        self.deadline = deadline
        self.on_hard_timeout = on_hard_timeout
        self._fired = False

    def arm(self):
        if not hasattr(signal, "setitimer"):
            return
        signal.signal(signal.SIGALRM, self._alarm)
        signal.setitimer(signal.ITIMER_REAL, max(self.deadline.remaining, 0.001))

    def disarm(self):
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def _alarm(self, signum, frame):
        if self._fired:
            self.on_hard_timeout()
            return
        self._fired = True
        signal.setitimer(signal.ITIMER_REAL, HARD_MARGIN)
        raise DeadlineExceeded()
