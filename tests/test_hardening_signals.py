"""Class 7 of issue 9 and class 6 of issue 21: a stop signal (SIGTERM, SIGINT, SIGHUP, a SIGALRM
that is not the deadline's) ends the run within 0.5 s (of a process that only exits from its
handler, signalled beside it) with one status line, whenever it comes.

An engine stopping, or an administrator pressing Ctrl-C, while the plugin waits on a server that
never answers, on a FIFO nobody writes, or on a child process: one UNKNOWN line naming the
signal and what the run was doing, no traceback, nothing on stderr, children ended too. And
while the plugin's modules are imported and its options parsed, from the first line of our
package (cxcheck.startup's guard) on: before it, the interpreter's own start-up, a signal is its
business.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import MODULES, PLUGIN_TABLE, plugin_env, wait_for

pytestmark = pytest.mark.slow(seconds=26)   # its measured time: the longest files start first (conftest)


def start(name: str, *args: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", MODULES[name], *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=plugin_env(env))


# Beside each stop, a Python process that ends as soon as its own handler runs: a busy machine
# delays its wake-up as it delays the plugin's, so a stop is judged by how much later the plugin ended.
REACTS = ("import signal, sys, time\n"
          "for signum in (signal.SIGTERM, signal.SIGINT):\n"
          "    signal.signal(signum, lambda *_: sys.exit(3))\n"
          "print('ready', flush=True)\n"
          "time.sleep(600)\n")


def stop(proc: subprocess.Popen, signum: int) -> tuple[int, str, str, float]:
    """Send the signal to the plugin and to a reference beside it; (exit code, stdout, stderr, seconds
    the plugin ended after the reference did)."""
    reference = subprocess.Popen([sys.executable, "-c", REACTS], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                 text=True)
    ended = {}
    try:
        assert reference.stdout.readline() == "ready\n"
        def wait():
            reference.wait()
            ended["reference"] = time.monotonic()

        waiter = threading.Thread(target=wait)
        waiter.start()
        reference.send_signal(signum)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
        ended["plugin"] = time.monotonic()
        waiter.join(10)
    finally:
        proc.kill()
        reference.kill()
        reference.wait(timeout=10)
        reference.stdout.close()
    return proc.returncode, out, err, ended["plugin"] - ended["reference"]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM],
                         ids=["SIGTERM", "SIGINT", "SIGHUP", "SIGALRM"])
def test_signal_while_a_server_never_answers(raw_server, signum):
    server = raw_server(lambda conn, stopping: stopping.wait(30))
    proc = start("check_cx_login", "-u", server.url + "/login", "--username", "u", "--password-env", "CX_PW",
                 "-t", "30", env={"CX_PW": "correct-horse"})
    wait_for(lambda: server.connections, what="the plugin's connection")
    code, out, err, took = stop(proc, signum)
    assert (code, out, err) == (3, f"CX LOGIN UNKNOWN - stopped by {signum.name} while step login_page\n", "")
    assert took < 0.5


def test_signal_while_opening_a_fifo_nobody_writes(tmp_path):
    fifo = tmp_path / "pw"
    os.mkfifo(fifo)
    proc = start("check_cx_login", "-u", "http://127.0.0.1:9/", "--username", "u", "--password-file", str(fifo),
                 "-t", "30")
    wait_for(lambda: _blocked_in_open(proc.pid), what="the plugin to block opening the FIFO")
    code, out, err, took = stop(proc, signal.SIGTERM)
    assert (code, out, err) == (3, "CX LOGIN UNKNOWN - stopped by SIGTERM\n", "")
    assert took < 0.5


def _blocked_in_open(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/wchan") as handle:
            return handle.read() == "wait_for_partner"        # the kernel's wait in a FIFO's open()
    except OSError:
        return False


def test_signal_ends_the_children_too(tmp_path):
    pids = tmp_path / "child.pid"
    script = tmp_path / "check_child.py"
    script.write_text(f"""
import subprocess, sys, time
from cxcheck import runtime

def body(run):
    child = subprocess.Popen(["sleep", "60"])
    open({str(pids)!r}, "w").write(str(child.pid))
    run.activity = "waiting for its child"
    time.sleep(60)

sys.exit(runtime.run_plugin("CX CHILD", lambda: runtime.Parser("check_child", "a child", ""), body, ["-t", "30"]))
""")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=plugin_env())
    child = int(wait_for(lambda: pids.exists() and pids.read_text(), what="the child's pid"))
    code, out, err, took = stop(proc, signal.SIGTERM)
    assert (code, out, err) == (3, "CX CHILD UNKNOWN - stopped by SIGTERM while waiting for its child\n", "")
    assert took < 0.5
    wait_for(lambda: not alive(child), timeout=2, what="the child to end")


EARLY = """
import os, signal, sys
from cxcheck import runtime

def build_parser():                 # the signal arrives while the options are still being read
    os.kill(os.getpid(), signal.{signal})
    return runtime.Parser("check_early", description="early")

sys.exit(runtime.run_plugin("CX EARLY", build_parser, lambda run: None))
"""


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT", "SIGHUP", "SIGALRM"])
def test_signal_before_the_deadline_is_armed_still_gets_its_line(signum):
    proc = subprocess.run([sys.executable, "-c", EARLY.format(signal=signum)], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, env=plugin_env())
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, f"CX EARLY UNKNOWN - stopped by {signum} while starting\n", "")


# -- issue 21 class 6: every moment from the first line of ours to the exit -------------------------

# Runs a plugin as its launcher does (`from cxcheck.checks.X import main; sys.exit(main())`, argv[0]
# the launcher's path) and sends itself a signal at the N-th Python function call from before the
# package's import to the end: a moment in the imports, the parsing of options, the run, the
# writing of the result or the interpreter's shutdown. N 0 counts the calls instead. Writes to
# NOTES whether our guard was in place when the signal went (the interpreter's before it), and
# which of our modules were imported (or being imported) by then.
SWEEP = """
import os, sys
signum, at, notes, module = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
sys.argv = sys.argv[5:]
calls = 0

def note(text):
    with open(notes, "w") as out:
        out.write(text)

def count(frame, event, arg):
    global calls
    if event != "call":
        return
    calls += 1
    if calls == at:
        startup = sys.modules.get("cxcheck.startup")
        ours = " ".join(sorted(name for name in sys.modules if name.startswith("cxcheck")))
        if hasattr(sys.modules.get(module), "main"):      # the plugin's own module is imported
            ours += " " + module + ":main"
        note(("guarded " if startup is not None and startup._name else "unguarded ") + ours)
        os.kill(os.getpid(), signum)

if at == 0:                         # the plugin ends with os._exit: count up to there
    exit = os._exit
    os._exit = lambda code: (note(str(calls)), exit(code))
sys.setprofile(count)
main = __import__(module, fromlist=["main"]).main
sys.exit(main())
"""
SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM]


def swept(tmp_path, name: str, args: list[str], signum: int, at: int) -> tuple[int, str, str, str]:
    notes = tmp_path / "notes"
    notes.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-c", SWEEP, str(int(signum)), str(at), str(notes), MODULES[name],
                           f"/usr/lib/nagios/plugins/{name}", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env=plugin_env())
    return proc.returncode, proc.stdout, proc.stderr, notes.read_text() if notes.exists() else ""


def nps_export(tmp_path) -> list[str]:
    export = tmp_path / "nps.csv"
    export.write_text("date,score\n" + "".join(f"2026-10-{1 + n % 28:02d},{n % 11}\n" for n in range(200)))
    return ["--csv", str(export), "--now", "2026-11-01T00:00:00Z", "--min-responses", "1"]


def apdex_log(tmp_path) -> list[str]:
    from weblogs import nginx, write

    log = write(tmp_path / "access.log", [nginx("GET", f"/p/{n}", 200, 0.1 * (n % 30)) for n in range(300)])
    return ["--log", str(log), "-T", "0.5", "--state-file", str(tmp_path / "states" / "apdex.json")]


CASES = {                   # a plugin and options that end without the network, each its own way
    "check_cx_nps": nps_export,
    "check_cx_apdex": apdex_log,                                       # writes its state at the end
    "check_cx_page": lambda tmp_path: ["-u", "http://127.0.0.1:9/", "--screenshot-dir", "/nonexistent"],
    "check_cx_login": lambda tmp_path: ["-u", "http://127.0.0.1:9/login", "--username", "u", "--password-env",
                                        "PW"],
}
MOMENTS = 24


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_a_signal_at_any_moment_gets_one_status_line(tmp_path, name):
    """From the package's first line to the exit, a stop signal at N moments (each of the four in
    turn) ends the run with exactly one result: the stop line (UNKNOWN, 3) if it came before the
    result was out, the check's own result and exit code if after; never silence, a traceback,
    a second line or anything on stderr. Before our guard, the interpreter's: killed by it."""
    args = CASES[name](tmp_path)
    plain = subprocess.run([sys.executable, "-m", MODULES[name], *args], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL, env=plugin_env())
    (tmp_path / "states" / "apdex.json").unlink(missing_ok=True)
    _, _, _, total = swept(tmp_path, name, args, signal.SIGTERM, 0)
    total = int(total)
    assert total > 1000, total
    moments = sorted({1, 10, 100, 200, 300, 400, 600} | {round(total * (k + 0.5) / MOMENTS) for k in range(MOMENTS)}
                     | {total - back for back in (200, 50, 10, 1)})
    unguarded, outcomes = [], []
    state = tmp_path / "states" / "apdex.json"
    for index, at in enumerate(moments):
        signum = SIGNALS[index % len(SIGNALS)]
        state.unlink(missing_ok=True)
        code, out, err, note = swept(tmp_path, name, args, signum, at)
        if state.exists() and state.read_text():        # a state file is whole, whenever the signal came
            assert json.loads(state.read_text()), (at, state.read_text())
        if not note:
            # This run ended in fewer calls than `at`: a path that depends on the clock (the
            # deadline's checks, on a loaded machine) took fewer. No signal came: its own result.
            assert err == "" and (code, out) == (plain.returncode, plain.stdout), (at, code, out, err)
            outcomes.append("result")
            continue
        note, *ours = note.split()
        if note == "unguarded":
            # Only while the interpreter finds and loads our package and its guard, none of the rest.
            assert set(ours) <= {"cxcheck", "cxcheck.startup"}, (at, ours)
            unguarded.append(at)
            if signum == signal.SIGINT:             # the interpreter's KeyboardInterrupt
                assert code in (1, -signal.SIGINT) and "KeyboardInterrupt" in err, (at, code, out, err)
            else:
                assert (code, out) == (-signum, ""), (at, code, out, err)
            continue
        assert note == "guarded", (at, note)        # the signal went
        stopped = re.fullmatch(rf"CX \w+ UNKNOWN - stopped by {signum.name}( while [^\n|]*)?\n", out)
        assert err == "" and ((code == 3 and stopped) or (code, out) == (plain.returncode, plain.stdout)), \
            (at, signum.name, code, out, err)
        outcomes.append("stopped" if stopped else "result")
    # The interpreter's moments are the first ones only: finding our package, before its guard.
    assert all(at < min(set(moments) - set(unguarded)) for at in unguarded)
    assert len(unguarded) < len(moments) / 3, unguarded
    assert "stopped" in outcomes and outcomes[-1] == "result"      # the sweep spans the result's writing


@pytest.mark.slow
@pytest.mark.parametrize("name", [entry.name for entry in PLUGIN_TABLE])
def test_every_plugin_is_guarded_while_it_imports_and_parses(tmp_path, name):
    """Every console script of the plugin table, started with no options (it imports its modules,
    parses, and ends with its usage line): a stop signal at moments spread over that gives the stop
    line and exit 3, or the usage line if the result was already out. Some of the moments fall in
    the imports of the plugin's own module (phase noted from inside)."""
    plain = subprocess.run([sys.executable, "-m", MODULES[name]], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL, env=plugin_env())
    assert plain.returncode == 3 and plain.stdout.count("\n") == 1, plain
    total = int(swept(tmp_path, name, [], signal.SIGTERM, 0)[3])
    phases = []
    for index, share in enumerate((0.1, 0.3, 0.5, 0.7, 0.9, 0.99)):
        signum = SIGNALS[index % len(SIGNALS)]
        code, out, err, note = swept(tmp_path, name, [], signum, round(total * share))
        assert note.split()[0] == "guarded", (share, note)
        stopped = re.fullmatch(rf"CX \w+ UNKNOWN - stopped by {signum.name}( while [^\n|]*)?\n", out)
        assert err == "" and ((code == 3 and stopped) or (code, out) == (3, plain.stdout)), \
            (share, signum.name, code, out, err)
        phases.append(("importing" if MODULES[name] + ":main" not in note else "imported", bool(stopped)))
    assert ("importing", True) in phases, phases


def test_the_guard_names_the_plugin_from_its_launcher_or_module():
    from cxcheck.startup import plugin_name

    assert plugin_name("/usr/lib/nagios/plugins/check_cx_page", []) == "CX PAGE"
    assert plugin_name("-m", ["python3", "-m", "cxcheck.checks.nps", "--csv", "x"]) == "CX NPS"
    assert plugin_name("/usr/bin/cxcheck", ["python3", "/usr/bin/cxcheck", "worker"]) is None
    assert plugin_name("/usr/bin/pytest", ["python3", "-m", "pytest", "tests"]) is None


def caught(pid: int) -> int:
    """The signals a process has handlers for (SigCgt in /proc/PID/status), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next(int(line.split()[1], 16) for line in handle if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return 0


@pytest.mark.parametrize("delay", [0, 0.005, 0.02, 0.05, 0.1, 0.2])
def test_python_m_a_signal_from_the_moment_the_guard_is_in_place(delay):
    """`python -m cxcheck.checks.page`, as an engine would start it: the test watches from outside
    for the moment the process first handles SIGTERM (the guard, our package's first line), then
    sends each signal that long after it: one line, exit 3, whatever it was doing by then."""
    for signum in SIGNALS:
        proc = subprocess.Popen([sys.executable, "-m", MODULES["check_cx_page"], "-u", "http://127.0.0.1:9/",
                                 "--screenshot-dir", "/nonexistent"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env=plugin_env())
        wait_for(lambda proc=proc: caught(proc.pid) & (1 << (signal.SIGTERM - 1)) or proc.poll() is not None,
                 interval=0.0005,
                 what="the guard")
        time.sleep(delay)
        code, out, err, _ = stop(proc, signum)
        stopped = re.fullmatch(f"CX PAGE UNKNOWN - stopped by {signum.name}( while starting)?\n", out)
        refused = out == "CX PAGE UNKNOWN - --screenshot-dir /nonexistent: no such directory\n"
        assert (code, err) == (3, "") and (stopped or refused), (signum.name, code, out, err)
