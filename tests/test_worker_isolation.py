"""A warm child of `cxcheck worker` runs check after check: nothing of one reaches the next.

Two ways. First the mechanism (cxcheck.worker.isolation), in a fresh interpreter per case: each
kind of state a check can change in its process is changed, and Baseline.restore() either puts
it back or names it (then the runner is let go and the next check gets a fresh child):
environment and time zone, secrets to mask, working directory and umask, open files, signal
handlers, timers and mask (the deadline), log handlers and levels (nagiosplugin's runtime
singleton too), warnings, socket timeout, threads, child processes, module-level state.

Then the worker itself, one child for every job (--max-children 1), with the real plugins,
against the protocol's other end (worker_core): a secret, a variable, -vv logging, an expired
deadline or a hard exit in one check, and the next check says what it says as a process; every
plugin's runs, with CXCHECK_WORKER_AUDIT=1 (the child compares every module's globals after each
check), leave no module-level state: the one child runs them all.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import PLUGINS, plugin_env, run_plugin, wait_for
from engines import write_wrappers
from worker_core import WorkerAgainstCore

from cxcheck.worker import registry

pytestmark = pytest.mark.slow(seconds=12)   # its measured time: the longest files start first (conftest)

PLUGIN_NAMES = sorted(registry.discover())
PRELUDE = """
import json, logging, os, signal, socket, sys, threading, time, warnings
from cxcheck.worker.isolation import Baseline, changed_state, module_state
from cxcheck.worker import registry
registry.preload()
baseline = Baseline()
before = module_state()
"""


def probe(change: str, check: str = "") -> dict:
    """Run PRELUDE, `change` (what a check would do), restore(), then `check` (which fills
    `found`); returns {"left": [...], "found": {...}} from a fresh interpreter."""
    code = PRELUDE + textwrap.dedent(change) + "\nleft = baseline.restore()\nfound = {}\n" + textwrap.dedent(check)
    code += "\nprint(json.dumps({'left': left, 'found': found}))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=plugin_env({"TZ": "UTC"}), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_environment_and_time_zone_are_put_back():
    result = probe("""
        baseline.apply_env({"CX_SECRET_VAR": "s3cret", "TZ": "Asia/Tokyo"})
        assert time.strftime("%Z") == "JST", time.strftime("%Z")
        os.environ["ADDED_BY_CHECK"] = "1"
        del os.environ["PATH"]
    """, """
        found = {"var": os.environ.get("CX_SECRET_VAR"), "added": os.environ.get("ADDED_BY_CHECK"),
                 "path": "PATH" in os.environ, "zone": time.strftime("%Z")}
    """)
    assert result == {"left": [], "found": {"var": None, "added": None, "path": True, "zone": "UTC"}}


def test_registered_secrets_are_forgotten():
    result = probe("""
        from cxcheck.runtime import masker
        masker.register("correct-horse-battery")
        assert masker.mask("pw correct-horse-battery") == "pw ***"
    """, """
        from cxcheck.runtime import masker
        found = {"masked": masker.mask("pw correct-horse-battery"), "any": bool(masker)}
    """)
    assert result == {"left": [], "found": {"masked": "pw correct-horse-battery", "any": False}}


def test_working_directory_and_umask_are_put_back(tmp_path):
    result = probe(f"""
        start = os.getcwd()
        os.chdir({str(tmp_path)!r})
        os.umask(0o077)
    """, """
        mask = os.umask(0o022)
        os.umask(mask)
        found = {"back": os.getcwd() == start, "umask": mask}
    """)
    assert result == {"left": [], "found": {"back": True, "umask": 0o022}}


def test_signal_handlers_timers_and_mask_are_put_back():
    """What a check's deadline and signal handling leave: an armed SIGALRM timer and its handler,
    a stop-signal handler, a blocked signal, a wakeup fd."""
    result = probe("""
        signal.signal(signal.SIGALRM, lambda *a: None)
        signal.setitimer(signal.ITIMER_REAL, 30)
        signal.signal(signal.SIGTERM, lambda *a: None)
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w)
    """, """
        found = {"alarm": signal.getitimer(signal.ITIMER_REAL)[0], "alrm": signal.getsignal(signal.SIGALRM) == signal.SIG_DFL,
                 "term": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
                 "usr2": signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL,
                 "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
                 "wakeup": signal.set_wakeup_fd(-1)}
    """)
    # the pipe the check opened is named too (below): here only what restore() put back
    assert result["found"] == {"alarm": 0.0, "alrm": True, "term": True, "usr2": True, "blocked": [], "wakeup": -1}
    assert len(result["left"]) == 1 and result["left"][0].startswith("open descriptors ")


def test_log_handlers_levels_and_nagiosplugins_runtime_are_put_back():
    result = probe("""
        import nagiosplugin
        log = logging.getLogger("cxcheck")
        log.addHandler(logging.StreamHandler(sys.stderr))
        log.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(logging.NullHandler())
        logging.getLogger("made.by.a.check").addHandler(logging.NullHandler())
        logging.disable(logging.CRITICAL)
        runtime = nagiosplugin.runtime.Runtime()
        runtime.verbose = 3
        logging.getLogger("nagiosplugin").debug("a record of this check")
    """, """
        import nagiosplugin
        fresh = nagiosplugin.runtime.Runtime()
        found = {"cxcheck": [len(logging.getLogger("cxcheck").handlers), logging.getLogger("cxcheck").level],
                 "root": len(logging.getLogger().handlers), "made": len(logging.getLogger("made.by.a.check").handlers),
                 "disabled": logging.root.manager.disable,
                 "old_records": fresh.logchan.stream.getvalue(), "verbose": fresh.verbose}
    """)
    assert result == {"left": [], "found": {"cxcheck": [0, 0], "root": 0, "made": 0, "disabled": 0,
                                            "old_records": "", "verbose": 1}}


def test_warnings_and_the_socket_timeout_are_put_back():
    result = probe("""
        warnings.simplefilter("error")
        warnings.showwarning = lambda *a, **k: None
        socket.setdefaulttimeout(3)
    """, """
        found = {"error": any(f[0] == "error" for f in warnings.filters), "timeout": socket.getdefaulttimeout(),
                 "show": warnings.showwarning.__module__}
    """)
    assert result == {"left": [], "found": {"error": False, "timeout": None, "show": "warnings"}}


@pytest.mark.parametrize("change, named", [
    ("handle = open(os.devnull)", "open descriptors"),
    ("sock = socket.socket()", "open descriptors"),
    ("event = threading.Event(); threading.Thread(target=event.wait, daemon=True).start()", "threads"),
    ("import subprocess; proc = subprocess.Popen(['sleep', '30'])", "child processes"),
    ("from cxcheck.runtime import processes; processes.own('browser', lambda: None)", "a process it registered"),
])
def test_what_cannot_be_put_back_is_named_so_the_child_is_replaced(change, named):
    # The sleep, once named, ends: it holds the probe's output pipe open (the run would wait 30 s).
    result = probe(change, "proc.kill(); proc.wait()" if "sleep" in change else "")
    assert len(result["left"]) == 1 and result["left"][0].startswith(named), result


def test_module_level_state_is_seen_by_the_audit():
    result = probe("""
        import cxcheck.runtime.states as states
        states.LEFT_BY_A_CHECK = 1                   # a new global is not a change
        import nagiosplugin.runtime
        nagiosplugin.runtime.Runtime.exitcode = 3    # put back by restore()
        import cxcheck.worker.registry as reg
        reg.DEFAULT_PLUGIN_DIRS = ("/tmp",)         # rebound
        reg.LAZY_IMPORTS += ("x",)                   # same object? no: a tuple is rebound too
        import cxcheck.runtime.processes as processes
        processes._owned["k"] = 1                    # mutated in place: its length changed
        processes._owned.clear()
    """, """
        found = {"changed": changed_state(before, module_state())}
    """)
    assert result["found"]["changed"] == ["cxcheck.worker.registry.DEFAULT_PLUGIN_DIRS",
                                          "cxcheck.worker.registry.LAZY_IMPORTS"], result


# ---------------------------------------------------------------------------------------------
# Through the worker, one child for every check


@pytest.fixture(scope="module")
def one_child(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("isolation")
    plugins = write_wrappers(workdir / "plugins")
    running = WorkerAgainstCore(workdir, plugins, 2 * len(PLUGIN_NAMES), "-vvv", "--max-children", "1",
                                env=plugin_env({"CXCHECK_WORKER_AUDIT": "1"}))
    running.plugins = plugins
    try:
        yield running
    finally:
        running.stop()


def through(worker, argv: list[str], env: dict | None = None, timeout: int = 60) -> tuple[int, bytes]:
    command = " ".join(shlex.quote(str(a)) for a in [worker.plugins / argv[0], *argv[1:]])
    result = worker.job(command, env=env, timeout=timeout)
    return int(result["wait_status"]) >> 8, result["outstd"]


def runner_pids(worker) -> set[int]:
    with open(f"/proc/{worker.proc.pid}/task/{worker.proc.pid}/children") as handle:
        return {int(p) for p in handle.read().split()}


def sockets(pid: int) -> int:
    """Sockets the process holds (a runner holds its control socket; a check's request adds one)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def as_process(argv: list[str], env: dict | None = None) -> tuple[int, bytes]:
    run = run_plugin(*argv, env=env or {})
    return run.code, run.stdout.encode()


def let_go_lines(worker) -> list[str]:
    return [line for line in worker.stderr().splitlines() if "let go after a check left" in line]


def blank(text: bytes) -> bytes:
    """Durations blanked out (they differ from run to run)."""
    return re.sub(rb"\d+(\.\d+)?", b"N", text)


def test_a_secret_a_variable_and_logging_stay_with_their_check(one_child, shop, tmp_path):
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    password = DEMO_ACCOUNTS["shopper@example.com"]
    first = ["check_cx_login", "-u", f"{shop.url}/accounts/login/", "--username", "shopper@example.com",
             "--password-env", "CX_ISO_PW", "-vv"]
    code, out = through(one_child, first, env={"CX_ISO_PW": password})
    assert code == 0 and b"INFO cxcheck: " in out, out
    pid = runner_pids(one_child)
    # The same variable, not given: as a process, the plugin says it is not set.
    second = first[:-1]
    assert through(one_child, second) == as_process(second)
    # The first check's secret is no secret of the next one: its -vv lines show it as a process's do.
    other = tmp_path / "other.password"
    other.write_text("another-password\n")
    third = ["check_cx_login", "-u", f"{shop.url}/{password}", "--username", "shopper@example.com",
             "--password-file", str(other), "-vv"]
    code, out = through(one_child, third)
    assert password.encode() in out and blank(out) == blank(as_process(third)[1])
    # And a run without -v has no debug lines left from the first.
    assert b"INFO" not in through(one_child, first[:-1], env={"CX_ISO_PW": password})[1]
    assert runner_pids(one_child) == pid and not let_go_lines(one_child)


def test_a_deadline_that_expired_leaves_no_alarm_for_the_next_check(one_child, shop):
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    env = {"CX_ISO_PW": DEMO_ACCOUNTS["shopper@example.com"]}
    hang = ["check_cx_login", "-u", f"{shop.url}/fault/hang", "--username", "shopper@example.com",
            "--password-env", "CX_ISO_PW", "-t", "1"]
    code, out = through(one_child, hang, env=env)
    assert code == 2 and b"timed out after 1 s" in out, out
    slow = ["check_cx_login", "-u", f"{shop.url}/fault/slow?ms=1500", "--username", "shopper@example.com",
            "--password-env", "CX_ISO_PW", "-t", "10"]
    code, out = through(one_child, slow, env=env)
    assert b"timed out" not in out, out


def test_every_plugins_runs_leave_no_module_state_in_the_one_child(one_child, shop):
    """Each plugin's help, version, a usage error and a run against the demo shop (or its sample
    export), twice, in the one child that audits module state after each: none makes it leave."""
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    env = {"CX_ISO_PW": DEMO_ACCOUNTS["shopper@example.com"]}
    sample = PLUGINS / "cxcheck" / "demo" / "data" / "nps_sample.csv"
    runs = {"check_cx_login": ["-u", f"{shop.url}/accounts/login/", "--username", "shopper@example.com",
                               "--password-env", "CX_ISO_PW", "-vvv"],
            "check_cx_nps": ["--csv", str(sample), "-vv"]}
    before = runner_pids(one_child) or {None}
    for _ in range(2):
        for name in PLUGIN_NAMES:
            for argv in (["-h"], ["-V"], ["--no-such-option"], runs.get(name, [])):
                through(one_child, [name, *argv], env=env)
    assert not let_go_lines(one_child), let_go_lines(one_child)
    after = runner_pids(one_child)
    assert len(after) == 1 and (before == {None} or after == before)


def test_a_check_that_leaves_the_process_gets_its_answer_and_a_fresh_child(one_child, shop):
    """A stop signal ends a check with the plugin's own line and os._exit: the child is gone, the
    job answered from its output and exit status, the next check runs in a fresh child."""
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    env = {"CX_ISO_PW": DEMO_ACCOUNTS["shopper@example.com"]}
    through(one_child, ["check_cx_login", "-V"])
    [first] = runner_pids(one_child)
    slow = ["check_cx_login", "-u", f"{shop.url}/fault/slow?ms=5000", "--username", "shopper@example.com",
            "--password-env", "CX_ISO_PW", "-t", "20"]
    command = " ".join(shlex.quote(str(a)) for a in [one_child.plugins / slow[0], *slow[1:]])
    conn, job_id = one_child.send(command, env=env)
    wait_for(lambda: sockets(first) >= 2, timeout=20, what="the check's request")   # 5 s long
    os.kill(first, signal.SIGTERM)
    result = conn.result(job_id, 30)
    assert int(result["wait_status"]) >> 8 == 3 and b"stopped by SIGTERM" in result["outstd"], result
    wait_for(lambda: first not in runner_pids(one_child), timeout=10, what="the old child to go")
    assert through(one_child, ["check_cx_login", "-V"])[0] == 0
    assert first not in runner_pids(one_child)
