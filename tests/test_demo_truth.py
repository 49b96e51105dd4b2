"""The demo tells the truth: what it counts as expected is what happened (the state and the reason
for it), runs that could not happen here are counted apart, and every command `cxcheck demo --serve`
prints runs as printed: the wrong password's variable set in the command itself, the conversion
aimed at a Prometheus the demo started and fed, none with a placeholder."""

from __future__ import annotations

import io
import os
import queue
import re
import shlex
import subprocess
import sys
import threading

import pytest
from conftest import need_binary, plugin_env

from cxcheck.demo import cli


def test_a_run_counts_as_expected_only_when_it_says_why(shop):
    """The wrong password is CRITICAL because the login page came back; a CRITICAL for another
    reason (here the shop's address mistyped) is not what the demo promised."""
    wrong = next(run for run in cli.demo_runs(shop.url) if run.title.startswith("The same login with a wrong"))
    assert wrong.env == {"CXCHECK_DEMO_WRONG": "not-the-password"}
    assert wrong.command.startswith("CXCHECK_DEMO_WRONG=not-the-password check_cx_login -u ")
    out = io.StringIO()
    assert cli.run_all([wrong], out) == 0
    assert "[exit 2 CRITICAL" in out.getvalue() and "as expected; the shop rejects the password" in out.getvalue()
    elsewhere = cli.demo_runs(shop.url)[1]
    elsewhere.args = [arg.replace("/accounts/login/", "/no-such-page/") for arg in elsewhere.args]
    out = io.StringIO()
    assert cli.run_all([elsewhere], out) == 1
    assert "UNEXPECTED, wanted CRITICAL saying 'the login page came back'" in out.getvalue(), out.getvalue()


def test_skipped_runs_are_counted_apart():
    runs = [cli.DemoRun(f"run {n}", "check_cx_nps", "cxcheck.checks.nps", [], 0, skipped=n < 2) for n in range(5)]
    assert cli.summary(runs, 0) == ("3 of 3 plugin runs gave the expected state; 2 of the 5 did not run here "
                                    "(skipped, said above); the shop is stopped.")
    assert cli.summary(runs[2:], 1) == "2 of 3 plugin runs gave the expected state; the shop is stopped."


@pytest.fixture
def serve(tmp_path):
    """`cxcheck demo --serve`, running: (its output up to "Ctrl-C stops the shop.", the process)."""
    proc = subprocess.Popen([sys.executable, "-m", "cxcheck.cli", "demo", "--serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=plugin_env())
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    printed = []
    try:
        while not printed or printed[-1] != "Ctrl-C stops the shop.\n":
            try:
                printed.append(lines.get(timeout=120))
            except queue.Empty:
                raise AssertionError("cxcheck demo --serve printed only:\n" + "".join(printed)) from None
        yield "".join(printed), proc
    finally:
        proc.terminate()                  # ends the shop and the demo's Prometheus as Ctrl-C does
        assert proc.wait(timeout=30) == 0


def test_every_command_demo_serve_prints_runs_as_printed(serve, tmp_path):
    from engines import write_wrappers

    need_binary("prometheus", "prometheus")          # the conversion command reads the demo's own
    output, _ = serve
    assert "PROMETHEUS_URL" not in output and "$PROMETHEUS" not in output
    export = re.search(r"^export (CXCHECK_DEMO_PASSWORD=\S+)$", output, re.M).group(1)
    commands = re.findall(r"^# (.+)\n((?:\w+=\S+ )?check_cx_\w+ .+)$", output, re.M)
    assert len(commands) >= 10, output
    plugins = write_wrappers(tmp_path / "plugins")
    env = {**os.environ, **plugin_env(), "PATH": f"{plugins}:{os.environ['PATH']}"}
    for title, command in commands:
        proc = subprocess.run(["sh", "-c", f"export {export}; {command}"], capture_output=True, text=True, env=env,
                              timeout=120)
        status = proc.stdout.splitlines()[0] if proc.stdout else proc.stderr
        assert " UNKNOWN - " not in status, f"{title}: {command}\n{status}"
        if "wrong password" in title:
            assert proc.returncode == 2 and "the login page came back" in proc.stdout, status
        if command.startswith("check_cx_conversion"):
            url = shlex.split(command)[shlex.split(command).index("--prometheus") + 1]
            assert url.startswith("http://127.0.0.1:"), command
            assert proc.returncode == 0 and "(7 of 13 entered)" in status, status
    assert any(command.startswith("check_cx_conversion") for _, command in commands), output
