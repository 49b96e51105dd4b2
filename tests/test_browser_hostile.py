"""Hostile pages against the browser checks (issue 21, classes 2 and 4), served on 127.0.0.1 by
tests/hostile_pages.py: dialogs during and after the load, in check_cx_page and in a browser
journey; downloads; and the deadline and the browser's end for an endless script, a page that
allocates 2 GB, 10,000 images and a WebSocket flood.

The deadline is judged from outside, as an engine sees it: from the start of the process to its
exit, and to the end of the last process of its browser (found by the run's home, which every one
of them carries in its environment). The machine is shared and may be loaded: each run of the
plugin is measured side by side with a reference, /bin/sleep for -t + 0.5 s started at the same
moment, and the plugin may be late on the promise by no more than the reference is on its own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import MODULES, need_browser, past_the_start, plugin_env, run_plugin, run_until
from hostile_pages import HostilePages
from killed_processes import described, sweep_as_the_next_run, unkilled

pytestmark = pytest.mark.slow(seconds=88)   # its measured time: the longest files start first (conftest)
PROMISE = 0.5           # seconds past -t by which the plugin has exited
SLACK = 0.1             # the two measurements' own noise, over the reference's lateness
ENDED_AFTER = 15.0      # seconds the kernel may take past the plugin's exit to end its killed browser
                        # (a renderer runs niced; on a loaded machine its teardown waits for CPU)
POLL = 0.005


@pytest.fixture(scope="module")
def pages():
    need_browser()
    with HostilePages() as served:
        yield served


def page(pages, path, *args, env=None, timeout=None):
    """A run with -t `timeout`; without one, -t 15, longer when the browser's start took all of it."""
    def run(seconds):
        return run_plugin("check_cx_page", "-u", pages.url + path, "-t", str(seconds), *args, env=env, timeout=90)
    return run(timeout) if timeout is not None else run_until(past_the_start, run, deadlines=(15, 30, 45))[0]


# -- class 2: dialogs -----------------------------------------------------------------------------

@pytest.mark.parametrize("path, said", [
    ("/alert/", ["alert 'hostile alert'"]),
    ("/confirm/", ["confirm 'hostile confirm?'"]),
    ("/prompt/", ["prompt 'hostile prompt'"]),
    ("/dialogs/", ["alert 'one'", "confirm 'two?'", "prompt 'three'"]),
    ("/dialog-later/", ["alert 'late alert'"]),
])
def test_dialogs_are_dismissed_counted_and_said(pages, path, said):
    result = page(pages, path)
    assert (result.code, result.stderr) == (0, ""), result.stdout
    count = len(said)
    assert re.fullmatch(rf"CX PAGE OK - {path} loaded in .*, {count} dialogs? dismissed", result.text), result.text
    assert result.perfdata["dialogs"][0] == f"{count}c"
    assert [line for line in result.long_output if line.startswith("dialog")] == \
        [f"dialog dismissed: {text}" for text in said]
    # The script after the dialogs ran: the page went on as a customer's would.
    assert result.value("load") is not None


def test_a_dialog_before_a_load_that_never_finishes_is_said_too(pages):
    """The load cut off within the 1.5 s kept for saying what it got: the dialog is in it."""
    # A machine so busy that the browser took most of -t to start, or did not answer within the
    # time kept for it, ends in the deadline's own line, or cuts the load off while the document
    # itself is still coming (before the image was asked for): a longer -t gets it to the image.
    result, seconds = run_until(lambda run: "/hang.gif" in run.text,
                                lambda seconds: page(pages, "/dialog-hang/", timeout=str(seconds)),
                                deadlines=(10, 15, 25))
    assert result.code == 2, result.stdout
    assert result.text == (f"CX PAGE CRITICAL - load did not finish in {seconds} s, "
                           f"still waiting for {pages.url}/hang.gif")
    assert result.perfdata["dialogs"][0] == "1c"
    assert [line for line in result.long_output if line.startswith("dialog")] == \
        ["dialog dismissed: alert 'before the hang'"]


def test_dialogs_are_critical_when_asked(pages):
    result = page(pages, "/dialogs/", "--fail-on-dialogs")
    assert result.code == 2, result.stdout
    assert result.text == "CX PAGE CRITICAL - /dialogs/: 3 dialogs (alert 'one', confirm 'two?' and more) opened"


def test_a_dialog_that_escapes_the_dismissers_is_dismissed_and_counted(pages, monkeypatch):
    """In-process, the page's dismissers left out: chromedriver reports each dialog as an error
    of the command it interrupted; the session dismisses it, counts it and goes on."""
    from cxcheck.browser import dialogs
    from cxcheck.browser.session import Browser
    from cxcheck.runtime import Deadline

    monkeypatch.setattr(dialogs.Dialogs, "script", lambda self: "")
    with Browser(Deadline(30)) as browser:
        load = browser.open(pages.url + "/dialogs/")
        assert load.error is None and not load.timed_out
        assert browser.dialogs.count == 3, browser.dialogs.seen
        assert all(dialog.kind == "dialog" for dialog in browser.dialogs.seen)
        assert browser.driver.execute_script("return document.body.innerText") == "after the dialogs"


def test_a_journey_names_each_steps_dialogs(pages, tmp_path):
    scenario = tmp_path / "dialogs.yaml"
    scenario.write_text(f"""name: dialogs
browser: true
base_url: {pages.url}
steps:
  - name: open
    goto: /dialog-click/
  - name: press
    click: "#go"
    wait_for: {{text: pressed}}
  - name: again
    goto: /dialogs/
    expect: {{text: after the dialogs}}
""")
    result = run_plugin("check_cx_checkout", "--scenario", str(scenario), "-t", "20", timeout=60)
    assert (result.code, result.stderr) == (0, ""), result.stdout
    assert result.long_output == ["dialog dismissed at step press: alert 'clicked'",
                                  "dialog dismissed at step again: alert 'one'",
                                  "dialog dismissed at step again: confirm 'two?'",
                                  "dialog dismissed at step again: prompt 'three'"]


# -- class 4: downloads ---------------------------------------------------------------------------

def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def test_a_url_that_is_a_download_is_refused_and_said(pages, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = page(pages, "/big.bin", env={"HOME": str(home)})
    assert result.code == 2, result.stdout
    assert result.text == ("CX PAGE CRITICAL - /big.bin: cannot load the page: it is a download "
                           "(Content-Disposition: attachment), refused")
    assert files_under(home) == []


def test_a_download_a_page_starts_lands_nowhere(pages, tmp_path, browser_tmp):
    home, scratch = tmp_path / "home", browser_tmp
    home.mkdir()
    result = page(pages, "/download/", env={"HOME": str(home), "TMPDIR": str(scratch)})
    assert result.code == 0, result.stdout
    assert "/big.bin" in pages.requests
    assert files_under(home) == [] and os.listdir(scratch) == []


# -- class 4: the deadline and the browser's end --------------------------------------------------

def proc_table() -> dict[tuple[int, int], tuple[int, str]]:
    """(pid, start time) -> (parent, state): a pid the machine reuses is another process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
                table[int(entry), int(fields[19])] = (int(fields[1]), fields[0].decode())
            except (OSError, IndexError, ValueError):
                pass
    return table


class Watched:
    """A plugin run and its reference started together, their exits timed by a thread each
    waiting on it; the plugin's process tree followed until nothing below it is alive."""

    def __init__(self, args: list[str], timeout: float, env: dict | None = None, reference: bool = True):
        self.tree: set[tuple[int, int]] = set()
        self.unkilled: list[int] = []      # processes of its browser alive at its exit that no SIGKILL reached
        self.exits: dict[str, float] = {}
        self.started = time.monotonic()
        self.reference = subprocess.Popen(["sleep", f"{timeout + PROMISE if reference else 0:.3f}"])
        self.proc = subprocess.Popen([sys.executable, "-m", MODULES["check_cx_page"], *args, "-t", f"{timeout:g}"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True, env=plugin_env(env))
        self.output = ("", "")
        waiters = [threading.Thread(target=self._wait, args=("reference", self.reference.wait), daemon=True),
                   threading.Thread(target=self._wait, args=("plugin", self._communicate), daemon=True)]
        for waiter in waiters:
            waiter.start()
        self.browser_ended = self._follow(timeout + 60)
        waiters[1].join(10)
        self.exited = self.exits["plugin"]
        if self.exited > timeout + PROMISE:     # late: by more than the reference, on this machine now?
            waiters[0].join(60)
        else:                                   # on time: the reference has nothing to say
            self.reference.kill()
            waiters[0].join(10)
        self.reference_exited = self.exits.get("reference", timeout + PROMISE)

    def _communicate(self):
        self.output = self.proc.communicate()

    def _wait(self, name: str, wait):
        wait()
        self.exits[name] = time.monotonic() - self.started

    def _follow(self, limit: float) -> float:
        """When the last process of the plugin's tree ended (the plugin itself included)."""
        deadline, at_exit = self.started + limit, True
        while time.monotonic() < deadline:
            table = proc_table()
            gone = self.proc.poll() is not None        # once it is, nothing new is its
            parents = {pid for pid, _ in self.tree} | {self.proc.pid}
            while not gone:                             # the tree as seen now
                below = {key for key, (parent, _) in table.items() if parent in parents} - self.tree
                if not below:
                    break
                self.tree |= below
                parents |= {pid for pid, _ in below}
            living = [key for key in self.tree if key in table and table[key][1] not in ("Z", "X")]
            if gone and at_exit:
                at_exit, self.unkilled = False, unkilled(pid for pid, _ in living)
            if gone and not living:
                return time.monotonic() - self.started
            time.sleep(POLL)
        self.proc.kill()
        raise AssertionError(f"the run or its browser did not end within {limit} s")


def latest_exit(run: Watched, timeout: float) -> float:
    """When the run must have exited: -t and the promise, and as late again as its reference was."""
    return timeout + PROMISE + max(run.reference_exited - (timeout + PROMISE), 0) + SLACK


def late_on_a_busy_machine(run: Watched, timeout: float) -> bool:
    """Late, beside a reference that was late too, or on a machine with more than two runnable
    processes a core: the run's end takes more turns of the CPU than the reference's one wake-up
    (the deadline's, the browser's kill, the exit), each as late (CI: 0.3 s past the promise at a
    load of 16 on two cores, the reference 0.09 s late). Idle, a late run fails at once."""
    busy = run.reference_exited - (timeout + PROMISE) > SLACK or os.getloadavg()[0] > 2 * (os.cpu_count() or 1)
    return run.exited > latest_exit(run, timeout) and busy


def assert_deadline_held(run: Watched, timeout: float, browser: bool = True):
    out, err = run.output
    assert err == "", err
    assert run.exited <= latest_exit(run, timeout), \
        f"exited at {run.exited:.2f} s for -t {timeout:g} (reference at {run.reference_exited:.2f} s): {out}"
    # Every process of the browser was killed before the exit; the kernel may take a moment
    # more to end them on a busy machine (a renderer runs at a low priority), never long.
    assert run.unkilled == [], described(run.unkilled)
    assert run.browser_ended - run.exited <= ENDED_AFTER, (run.exited, run.browser_ended)
    assert len(run.tree) >= 3 or not browser, "no browser was started: the deadline proved nothing"


# What the run may say: the load cut off within the time kept for it, or the deadline's own line
# (whatever the flood or the loop held up: the load, or reading what it got). The busy loop may
# start before the renderer has told the document's end (a loaded machine): the document is then
# what the load still waits for, and nothing else.
TIMED_OUT = "CX PAGE CRITICAL - timed out after {t} s while "
HOSTILE = {
    "/busy/": ("CX PAGE CRITICAL - load did not finish in {t} s, no request pending (a script still running?)",
               TIMED_OUT, "CX PAGE CRITICAL - load did not finish in {t} s, still waiting for {url}/busy/ |"),
    "/images/": ("CX PAGE CRITICAL - load did not finish in {t} s, still waiting for ", TIMED_OUT),
    "/websocket/": ("CX PAGE CRITICAL - load did not finish in {t} s", TIMED_OUT, "CX PAGE OK - /websocket/ loaded in "),
}


@pytest.mark.parametrize("path", list(HOSTILE))
def test_the_deadline_holds_on_a_hostile_page(pages, path):
    timeout = 10.0          # as in the issue: the browser starts and reaches the page well within it
    for attempt in range(3):
        asked = pages.requests.count(path)
        run = Watched(["-u", pages.url + path], timeout)
        status = run.output[0].splitlines()[0] if run.output[0] else ""
        reached = pages.requests.count(path) > asked
        if late_on_a_busy_machine(run, timeout) and attempt < 2:
            assert run.output[1] == "" and run.unkilled == [], described(run.unkilled)
            continue        # its time tried again, bounded; idle, a late run fails at once
        assert_deadline_held(run, timeout, browser=reached)
        if reached:
            break
        # A machine busy enough to hold the browser's start past -t: the deadline held, but the
        # page was not what it held against. Tried again, a bounded number of times.
        assert status.startswith(TIMED_OUT.format(t=f"{timeout:g}")), run.output
    else:
        raise AssertionError("the browser never reached the page in 3 runs: the deadline proved nothing")
    assert status.startswith(tuple(text.format(t=f"{timeout:g}", url=pages.url) for text in HOSTILE[path])), run.output


def test_a_page_allocating_2_gb_meets_the_memory_cap(pages):
    timeout = 20.0
    run = Watched(["-u", pages.url + "/memory/"], timeout, reference=False)
    status = run.output[0].splitlines()[0]
    assert re.match(r"CX PAGE CRITICAL - /memory/: cannot load the page: the page's renderer went over the memory "
                    r"cap of 1024 MB \((\d+) MB\) and was ended \| ", status), status
    assert run.exited < timeout, "the cap ends the page long before the deadline"
    assert run.unkilled == [], described(run.unkilled)
    assert run.browser_ended - run.exited <= ENDED_AFTER


def test_memory_cap_is_an_option(pages):
    result = page(pages, "/memory/", "--memory-cap", "300")
    assert result.code == 2
    assert re.match(r"CX PAGE CRITICAL - /memory/: cannot load the page: the page's renderer went over the memory "
                    r"cap of 300 MB \(\d+ MB\) and was ended", result.text), result.text
    assert 300 <= int(re.search(r"\((\d+) MB\)", result.text).group(1)) < 1024


# -- class 4: a run cut off while its browser starts ------------------------------------------------

def carrying(value: str) -> list[int]:
    """Processes whose environment or command line names `value` (a run's temp dir)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as env, open(f"/proc/{entry}/cmdline", "rb") as cmd:
                if value.encode() in env.read() + cmd.read():
                    found.append(int(entry))
        except OSError:
            pass
    states = {pid: state for (pid, _), (_, state) in proc_table().items()}
    return [pid for pid in found if states.get(pid, "X") not in ("Z", "X")]


def test_a_run_cut_off_while_the_browser_starts_leaves_nothing(pages, browser_tmp):
    """-t swept over the browser's start-up, so that the deadline comes at every stage of it
    (chromedriver starting, Chromium and its helpers and crash handlers starting, the session
    being made): nothing of any run's browser is left, neither a process nor a file."""
    started = time.monotonic()
    first = page(pages, "/plain/", timeout="30")
    start_up = time.monotonic() - started
    assert first.code == 0, first.stdout
    steps = 12
    for step in range(steps):
        timeout = 0.2 + start_up * step / steps
        tmp = browser_tmp / f"t{step}"
        tmp.mkdir()
        # -vvv: an internal error comes with its traceback (CI once: "RuntimeError: release
        # unlocked lock", the alarm inside a thread's start: test_hardening_deadline).
        result = page(pages, "/plain/", "-vvv", env={"TMPDIR": str(tmp)}, timeout=f"{timeout:.2f}")
        assert result.code in (0, 2) and result.stderr == "", result.stdout
        lingering = carrying(str(tmp))
        alive = unkilled(lingering)
        assert alive == [], f"-t {timeout:.2f}: not killed: {result.text}\n{described(alive)}"
        deadline = time.monotonic() + ENDED_AFTER
        while carrying(str(tmp)) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = carrying(str(tmp))
        assert left == [], f"-t {timeout:.2f}: killed, not ended: {result.text}\n{described(left)}"
        sweep_as_the_next_run(tmp, bool(lingering))
        assert os.listdir(tmp) == [], f"-t {timeout:.2f}: {result.text}"


def in_tmp(monkeypatch, path):
    """This (pytest's) process's temp dir for a browser started in-process: TMPDIR, and the
    tempfile module's own, which it keeps once asked."""
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))


def test_a_chromedriver_whose_pid_the_deadline_cut_off_is_still_ended(tmp_path, monkeypatch):
    """In-process: the deadline's alarm comes after chromedriver was forked and before Popen
    returned its pid (the run cannot know it): the end finds it by the run's home."""
    need_browser()
    from cxcheck.browser import launch
    from cxcheck.runtime import Deadline, DeadlineExceeded

    started = []
    real = subprocess.Popen

    def cut_off(*args, **kwargs):
        started.append(real(*args, **kwargs))
        raise DeadlineExceeded()

    in_tmp(monkeypatch, tmp_path)
    monkeypatch.setattr(launch.subprocess, "Popen", cut_off)
    driver = launch.Driver(Deadline(30))
    with pytest.raises(DeadlineExceeded):
        driver.start(launch.find(launch.CHROMEDRIVER, "CXCHECK_CHROMEDRIVER", "chromedriver"))
    (chromedriver,) = started
    assert driver.process is None and chromedriver.poll() is None
    driver.end()
    chromedriver.wait(timeout=5)            # ended (and reaped by the end: its code is gone with it)
    assert os.listdir(tmp_path) == []


def test_an_end_out_of_time_is_finished_once_the_result_is_out(tmp_path, monkeypatch):
    """In-process: an end given no time kills the browser but cannot remove its home; it stays
    registered, and the run's last step (end_owned, after the result, within the promise)
    removes it: the next run's sweep is for runs that died."""
    need_browser()
    from cxcheck.browser import launch
    from cxcheck.runtime import Deadline, processes

    in_tmp(monkeypatch, tmp_path)
    driver = launch.Driver(Deadline(30))
    driver.start(launch.find(launch.CHROMEDRIVER, "CXCHECK_CHROMEDRIVER", "chromedriver"))
    chromedriver = driver.process
    driver.end(time.monotonic())
    chromedriver.wait(timeout=ENDED_AFTER)          # killed at once
    assert os.listdir(tmp_path) == [os.path.basename(driver.home)]
    processes.end_owned(time.monotonic() + 5)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("step", ["take_js_errors", "sample_memory"])
def test_the_deadline_at_the_end_of_the_start_leaves_nothing(browser_tmp, monkeypatch, step):
    """In-process: the deadline's alarm in the last things the start does, once Chromium is up
    (its first memory sample was once outside the start's clean-up: a whole browser was left)."""
    need_browser()
    from cxcheck.browser.session import Browser
    from cxcheck.runtime import Deadline, DeadlineExceeded

    def alarm(*args):
        raise DeadlineExceeded()

    in_tmp(monkeypatch, browser_tmp)
    monkeypatch.setattr(Browser, step, alarm)
    with pytest.raises(DeadlineExceeded):
        Browser(Deadline(30)).__enter__()
    assert carrying(str(browser_tmp)) == [] and os.listdir(browser_tmp) == []


def test_the_alarm_while_the_browser_closes_leaves_nothing(browser_tmp, monkeypatch):
    """In-process: the deadline's SIGALRM at the first thing the browser's close does (a CI run
    timed out "while reading /plain/" and left Chromium with all its helpers running: the alarm
    had come after the page was read, before the kill began). The end is done whole, then the
    deadline is raised."""
    need_browser()
    from cxcheck.browser.memory import MemoryCap
    from cxcheck.browser.session import Browser
    from cxcheck.runtime import Backstop, Deadline, DeadlineExceeded

    deadline = Deadline(30)
    stop = MemoryCap.stop

    def alarm_then_stop(cap):
        deadline.end = time.monotonic()         # the deadline is now: the alarm is its own
        signal.raise_signal(signal.SIGALRM)     # its handler runs at the next line, in this frame
        deadline.end += 30                      # the end then has its usual time (not judged here)
        stop(cap)

    in_tmp(monkeypatch, browser_tmp)
    backstop = Backstop(deadline, lambda: None, lambda signum: None)
    browser = Browser(deadline)
    try:
        with pytest.raises(DeadlineExceeded), browser:
            backstop.arm()                      # once the browser is up: its start is not judged here
            monkeypatch.setattr(MemoryCap, "stop", alarm_then_stop)
        alive = unkilled(carrying(str(browser_tmp)))
    finally:
        backstop.release()
        monkeypatch.undo()
        browser.close()                         # what the alarm would have left: never this test's leftover
    assert alive == [], described(alive)
    assert os.listdir(browser_tmp) == []


ALARM_BEFORE_THE_CLOSE = """
import signal, sys, time
from cxcheck.browser.session import Browser

def alarm(frame, event, arg):       # at the call of Browser.__exit__, before its first line
    if frame.f_code is Browser.__exit__.__code__:
        sys.settrace(None)
        frame.f_locals["self"].deadline.end = time.monotonic()
        signal.raise_signal(signal.SIGALRM)

sys.settrace(alarm)
sys.argv = ["check_cx_page", *sys.argv[1:]]
from cxcheck.checks.page import main
main()
"""


def test_an_end_the_alarm_cut_off_before_it_began_is_done_by_the_run(pages, browser_tmp):
    """The alarm as the check leaves the browser's block, before its close has begun (a window of
    a few bytecodes no stretch of the close can cover): the run still ends the browser, from its
    registry, once the result is out."""
    result = subprocess.run([sys.executable, "-c", ALARM_BEFORE_THE_CLOSE, "-u", pages.url + "/plain/", "-t", "30"],
                            capture_output=True, text=True, env=plugin_env({"TMPDIR": str(browser_tmp)}), timeout=90)
    assert (result.returncode, result.stderr) == (2, ""), result.stdout
    assert result.stdout.startswith("CX PAGE CRITICAL - timed out after 30 s while reading /plain/"), result.stdout
    lingering = carrying(str(browser_tmp))
    assert unkilled(lingering) == [], described(unkilled(lingering))
    deadline = time.monotonic() + ENDED_AFTER
    while carrying(str(browser_tmp)) and time.monotonic() < deadline:
        time.sleep(0.05)
    sweep_as_the_next_run(browser_tmp, bool(lingering))
    assert os.listdir(browser_tmp) == []


def test_nothing_starts_once_the_run_is_being_ended():
    """The hard timeout ends what the run started from its own thread while the main one goes on:
    from then on the main thread cannot start anything (it would outlive the run)."""
    code = ("from cxcheck.runtime import processes, DeadlineExceeded\n"
            "processes.end_all()\n"
            "try:\n    with processes.starting(): print('started')\n"
            "except DeadlineExceeded:\n    print('refused')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=plugin_env(),
                            timeout=60)
    assert result.stdout == "refused\n", result.stderr
