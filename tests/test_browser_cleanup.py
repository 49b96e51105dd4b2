"""The browser within the deadline, and nothing of it left behind: check_cx_page on a page that
never finishes loading and on one whose script never ends, stopped by its own -t, by SIGTERM and
by SIGKILL (then the next run's sweep ends what was left).

Each run gets a temp dir of its own (TMPDIR), so the processes and profile it left can be told
from other tests' browsers: chromedriver runs in a process group of its own and Chromium with
every helper stays in it; the group is found while the run is alive and counted after it ended.
Only that group is ever looked at, never another test's browser.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import MODULES, Reference, need_browser, plugin_env, run_plugin, wait_for
from killed_processes import described, sweep_as_the_next_run, unkilled

pytestmark = pytest.mark.slow(seconds=39)   # its measured time: the longest files start first (conftest)
MARGIN = 2.5            # seconds past -t (its Reference): the hard timeout (0.25 s after it), ending the browser,
                        # exiting, on a busy machine
PROFILE = "cxcheck-browser-"


@pytest.fixture(scope="module", autouse=True)
def browser_installed():
    need_browser()


@pytest.fixture
def tmp(browser_tmp):
    return browser_tmp


@pytest.fixture
def start(tmp):
    """Start check_cx_page runs in the background; any still running at the end is stopped as
    the engine would stop it (SIGTERM, then SIGKILL)."""
    runs = []

    def started(*args):
        runs.append(Running(tmp, *args))
        return runs[-1]

    yield started
    for run in runs:
        run.reference.stop()
        if run.proc.poll() is None:
            run.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.finish(timeout=10)          # which kills it if SIGTERM was not enough


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent, process group) of a process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[1]), int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


def every_process():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None:
                yield int(entry), *stat


def group(pgid: int) -> list[tuple[int, str]]:
    """(pid, state) of the processes in a group, zombies included (they keep their group)."""
    return [(pid, state) for pid, state, _, gid in every_process() if gid == pgid]


def naming(path) -> list[int]:
    """Processes whose command line names `path` (Chromium's --user-data-dir in our temp dir)."""
    found = []
    for pid, *_ in every_process():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if str(path).encode() in handle.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def profiles(tmp) -> list[str]:
    return sorted(name for name in os.listdir(tmp) if name.startswith(PROFILE))


class EndedEarly(AssertionError):
    """A run that ended before its browser asked for the page."""

    def __init__(self, output: tuple[str, str]):
        super().__init__(f"the run ended early: {output}")
        self.output = output


def loading(start, tmp, shop, path: str, *args, attempts: int = 3):
    """A run whose browser asked for `path`, and its browser's group. A machine busy enough to
    hold the browser's start past -t gives no such run: that run must have ended on the
    deadline's line, leaving nothing, and another is tried (at most `attempts`)."""
    for attempt in range(attempts):
        run = start(*args)
        try:
            return run, run.browser_group(shop, path)
        except EndedEarly as early:
            out, err = early.output
            assert re.match(r"CX PAGE CRITICAL - timed out after \S+ s while starting the browser", out), early
            assert err == "" and attempt < attempts - 1, early
            assert_nothing_left(tmp, None)
    raise AssertionError("not reached")


class Running:
    """A plugin run in the background, as the engine starts it, with its temp dir."""

    def __init__(self, tmp, *args):
        self.tmp = tmp
        # what the run would take if it ended exactly at its -t, on this machine now (conftest.Reference)
        self.reference = Reference(MODULES["check_cx_page"], float(args[args.index("-t") + 1]))
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", MODULES["check_cx_page"], *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True, env=plugin_env({"TMPDIR": str(tmp)}))
        self.pgid = None

    def browser_group(self, shop, path: str, timeout: float = 20) -> int:
        """The process group of this run's chromedriver, once the browser asked the shop for
        `path` (the page is loading)."""
        def found():
            if self.proc.poll() is not None:
                raise EndedEarly(self.proc.communicate(timeout=5))
            if not any(r["path"] == path for r in shop.stats["requests"]):
                return None
            return next((gid for pid, _, parent, gid in every_process() if parent == self.proc.pid and gid == pid),
                        None)

        self.pgid = wait_for(found, timeout=timeout, what=f"the run's browser to ask for {path}")
        return self.pgid

    def finish(self, timeout: float = 30):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err, time.monotonic() - self.started


def assert_nothing_left(tmp, pgid: int | None, near_its_deadline: bool = False):
    """No process of the run's browser (zombies count), none naming its temp dir, nothing in
    the temp dir (no profile, no Chromium temp dir). A run that ended near its deadline
    (`near_its_deadline`) finishes removing its home after its result, within its promise, on
    a busy machine perhaps not: then it is the next run's sweep's, as designed (the end after
    the result is judged in test_browser_hostile)."""
    # Killed before the run's exit; on a loaded machine the kernel's teardown of a niced
    # renderer waits for CPU, so their end is waited for (bounded), and past that every process
    # still there must have been killed (a SIGKILL pending, or exiting): ended by the kernel.
    def left() -> list[int]:
        return sorted({pid for pid, state in (group(pgid) if pgid is not None else []) if state not in "ZX"}
                      | set(naming(tmp)))

    lingering = bool(left())
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not left(), timeout=15, what=f"browser group {pgid} to end")
    alive = unkilled(left())
    assert alive == [], f"not killed:\n{described(alive)}"
    sweep_as_the_next_run(tmp, lingering or near_its_deadline)
    assert os.listdir(tmp) == []


def near(elapsed: float, deadline: float) -> bool:
    """Ended within half a second of -t: the time kept for saying the verdict, no more."""
    return elapsed > deadline - 0.5


def widget(shop, ms: int) -> str:
    return f"{shop.url}/catalogue/slow-widget/?ms={ms}"


def test_load_that_never_finishes_is_a_timeout_naming_what_it_waited_for(fresh_shop, tmp, start):
    shop = fresh_shop
    run, pgid = loading(start, tmp, shop, "/catalogue/slow-widget/", "-u", widget(shop, 60000), "-t", "8")
    assert len(group(pgid)) >= 3                        # chromedriver, Chromium and its helpers
    code, out, err, elapsed = run.finish()
    assert (code, err) == (2, ""), out
    assert elapsed < run.reference.elapsed() + MARGIN
    # The load cut off within the reserve kept for it names what it waited for; on a machine too
    # busy to write that within the reserve, the deadline's own line comes instead (as below).
    if out.startswith("CX PAGE CRITICAL - timed out after 8 s while loading /catalogue/slow-widget/"):
        assert_nothing_left(tmp, pgid, near(elapsed, 8))
        return
    assert out.splitlines()[0].split(" | ")[0] == (f"CX PAGE CRITICAL - load did not finish in 8 s, still waiting "
                                                  f"for {shop.url}/3p/widget.js?ms=60000")
    assert re.search(r" load=U(;|\s|$)", out.splitlines()[0]) and " ttfb=0" in out.splitlines()[0]
    assert f"still waiting for: {shop.url}/3p/widget.js?ms=60000" in out.splitlines()
    assert_nothing_left(tmp, pgid, near(elapsed, 8))


def test_timeout_state_applies_to_the_unfinished_load(fresh_shop, tmp):
    shop = fresh_shop
    result = run_plugin("check_cx_page", "-u", widget(shop, 60000), "-t", "4", "--timeout-state", "warning",
                        env={"TMPDIR": str(tmp)}, timeout=30, reference=4)
    # Which line depends on how busy the machine is: the one of the load cut off within the
    # reserve kept for it, or the deadline's own; the state is --timeout-state's either way.
    assert result.code == 1 and result.text.startswith(("CX PAGE WARNING - load did not finish in 4 s, ",
                                                        "CX PAGE WARNING - timed out after 4 s while "))
    assert result.overrun < MARGIN
    assert_nothing_left(tmp, None)


def test_script_in_an_endless_loop_ends_at_the_deadline(fresh_shop, tmp, start):
    shop = fresh_shop
    run, pgid = loading(start, tmp, shop, "/busy-loop/", "-u", f"{shop.url}/busy-loop/", "-t", "12")
    code, out, err, elapsed = run.finish()
    assert (code, err) == (2, ""), out
    assert out.splitlines()[0].split(" | ")[0] in (
        "CX PAGE CRITICAL - load did not finish in 12 s, no request pending (a script still running?)",
        "CX PAGE CRITICAL - timed out after 12 s while loading /busy-loop/")
    assert elapsed < run.reference.elapsed() + MARGIN
    assert_nothing_left(tmp, pgid, near(elapsed, 12))


def test_sigterm_mid_load_is_unknown_naming_the_signal(fresh_shop, tmp, start):
    shop = fresh_shop
    run = start("-u", widget(shop, 60000), "-t", "30")
    pgid = run.browser_group(shop, "/catalogue/slow-widget/")
    stopped = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    code, out, err, _ = run.finish(timeout=10)
    assert time.monotonic() - stopped < MARGIN + 1.5
    assert (code, err) == (3, ""), out
    assert out.splitlines()[0] == "CX PAGE UNKNOWN - stopped by SIGTERM while loading /catalogue/slow-widget/"
    assert_nothing_left(tmp, pgid)


def test_sigkill_leaves_orphans_that_the_next_run_sweeps(fresh_shop, tmp, start):
    shop = fresh_shop
    run = start("-u", widget(shop, 60000), "-t", "30")
    pgid = run.browser_group(shop, "/catalogue/slow-widget/")
    (left_profile,) = profiles(tmp)
    run.proc.send_signal(signal.SIGKILL)
    code, _, _, _ = run.finish(timeout=10)
    assert code == -signal.SIGKILL
    # Nothing could clean up: the profile is still there, and so is (some of) the browser.
    assert profiles(tmp) == [left_profile]
    orphans = [pid for pid, state in group(pgid) if state != "Z"]
    assert orphans, "nothing outlived the SIGKILLed run: the sweep below would prove nothing"
    following = run_plugin("check_cx_page", "-u", f"{shop.url}/catalogue/", "-t", "20", env={"TMPDIR": str(tmp)},
                           timeout=40)
    assert following.code == 0, following.stdout
    wait_for(lambda: not [pid for pid, state in group(pgid) if state != "Z"], timeout=5, what="the sweep")
    assert profiles(tmp) == []
    assert naming(tmp) == []


def niceness(pid: int) -> list[int]:
    """The nice value of each thread of a process (Chromium sets its threads' own)."""
    values = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as handle:
                values.append(int(handle.read().rsplit(b")", 1)[1].split()[16]))
    return values


def test_the_browser_never_runs_above_the_poller(fresh_shop, tmp, start):
    """Run as root (here, and in many containers), Chromium raises threads to nice -8: above
    the engine and above the run, which must get the CPU to end it at the deadline. Its start
    leaves it no right to (CAP_SYS_NICE out of the bounding set)."""
    shop = fresh_shop
    run, pgid = loading(start, tmp, shop, "/catalogue/slow-widget/", "-u", widget(shop, 60000), "-t", "30")
    time.sleep(1)                                       # the page's renderer and GPU threads at work
    members = [pid for pid, state in group(pgid) if state != "Z"]
    assert len(members) >= 3
    raised = {pid: nice for pid in members for nice in niceness(pid) if nice < 0}
    assert raised == {}, raised
    run.proc.terminate()
    code, out, err, _ = run.finish(timeout=10)
    assert code == 3, out
