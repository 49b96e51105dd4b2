"""Class 7 of issue 9: SIGTERM and SIGINT end the run at once (within 0.5 s of a process that
only exits from its handler, signalled beside it) with one status line.

An engine stopping, or an administrator pressing Ctrl-C, while the plugin waits on a server that
never answers, on a FIFO nobody writes, or on a child process: one UNKNOWN line naming the
signal and what the run was doing, no traceback, nothing on stderr, children ended too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import MODULES, plugin_env, wait_for


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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
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


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_signal_before_the_deadline_is_armed_still_gets_its_line(signum):
    proc = subprocess.run([sys.executable, "-c", EARLY.format(signal=signum)], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, env=plugin_env())
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, f"CX EARLY UNKNOWN - stopped by {signum} while starting\n", "")
