"""The deadline as the engine's clock sees it (issue 21, class 4): -t counts from the process's
start, the interpreter's start and the imports included, not from the first line of the check.

Judged from outside against a reference started at the same moment (`sleep` for -t + 0.5 s), so
that a loaded machine's lateness is allowed for, and nothing more.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from conftest import MODULES, plugin_env

LATE = """
import sys, time
time.sleep({delay})                     # a start-up as slow as a very loaded poller's
sys.argv = ["/usr/lib/nagios/plugins/check_cx_login", *sys.argv[1:]]
from {module} import main
main()
"""
PROMISE, SLACK = 0.5, 0.1


def test_the_deadline_counts_from_the_process_start(raw_server):
    server = raw_server(lambda conn, stopping: stopping.wait(30))
    timeout, delay = 2.0, 1.0
    started, ends, output = time.monotonic(), {}, {}
    reference = subprocess.Popen(["sleep", f"{timeout + PROMISE}"])
    proc = subprocess.Popen([sys.executable, "-c", LATE.format(delay=delay, module=MODULES["check_cx_login"]),
                             "-u", server.url + "/login", "--username", "u", "--password-env", "PW", "-t",
                             f"{timeout:g}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=plugin_env({"PW": "x"}))

    def timed(name, wait):
        output[name] = wait()
        ends[name] = time.monotonic() - started

    waiters = [threading.Thread(target=timed, args=("plugin", proc.communicate)),
               threading.Thread(target=timed, args=("reference", reference.wait))]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join(30)
    out, err = output["plugin"]
    ended, late = ends["plugin"], max(ends["reference"] - (timeout + PROMISE), 0)
    assert (proc.returncode, err) == (2, ""), out
    assert out.startswith("CX LOGIN CRITICAL - ") and "timed out after 2 s" in out, out
    # Ended by -t + 0.5 s after the process began (1 s of it before any of our code ran), not
    # 1 s later; and not before -t either.
    assert timeout - 0.1 < ended <= timeout + PROMISE + late + SLACK, (ended, late)


def test_a_deadline_met_while_the_backstop_is_being_armed_ends_in_one_line(monkeypatch):
    """The alarm can fire between the timer's start and the backstop thread's (a -t of a few
    tenths, a busy machine): the run's line is all that is said, no 'cannot join thread'."""
    from cxcheck.runtime.deadline import Backstop, Deadline
    from cxcheck.runtime.values import DeadlineExceeded

    def alarm_first(self):
        raise DeadlineExceeded()

    backstop = Backstop(Deadline(5), lambda: None, lambda signum: None)
    monkeypatch.setattr(threading.Thread, "start", alarm_first)
    try:
        backstop.arm()
    except DeadlineExceeded:
        pass
    monkeypatch.undo()
    backstop.release()          # before the fix: RuntimeError: cannot join thread before it is started


def alarm_at(code, line_text: str):
    """A tracer that sends this process the deadline's SIGALRM at the first line of `code` (a
    function's code object) whose source holds `line_text`: the alarm at one exact bytecode."""
    import inspect
    import signal

    source, first = inspect.getsourcelines(code)
    target = first + next(i for i, line in enumerate(source) if line_text in line)

    def tracer(frame, event, arg):
        if frame.f_code is not code:
            return None

        def local(frame, event, arg):
            if event == "line" and frame.f_lineno == target:
                sys.settrace(None)
                frame.f_trace = None
                signal.raise_signal(signal.SIGALRM)
            return local
        return local
    return tracer


def test_the_alarm_inside_a_thread_start_is_the_deadline_not_a_lock_error():
    """Thread.start() waits on a Condition; the alarm's exception just after that wait released
    its lock (the next line) once turned a run's timeout into "internal error: RuntimeError:
    release unlocked lock" (a CI run). A thread the run starts is started whole, then the
    deadline is raised."""
    from cxcheck.runtime.deadline import Backstop, Deadline, start_thread
    from cxcheck.runtime.values import DeadlineExceeded

    deadline = Deadline(30)
    backstop = Backstop(deadline, lambda: None, lambda signum: None)
    backstop.arm()
    deadline.end = time.monotonic()         # the deadline is now: the alarm is its own
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, args=(30,), daemon=True)
    try:
        sys.settrace(alarm_at(threading.Condition.wait.__code__, "gotit = False"))
        try:
            start_thread(thread)
        except DeadlineExceeded:
            pass
        else:
            raise AssertionError("the alarm was lost")
        finally:
            sys.settrace(None)
        assert thread.is_alive()
    finally:
        stop.set()
        backstop.release()
