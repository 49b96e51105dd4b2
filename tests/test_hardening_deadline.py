"""The deadline as the engine's clock sees it (issue 21, class 4): -t counts from the process's
start, the interpreter's start and the imports included, not from the first line of the check."""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import MODULES, plugin_env, wait_for

LATE = """
import sys, time
time.sleep({delay})                     # a start-up as slow as a loaded poller's
sys.argv = ["/usr/lib/nagios/plugins/check_cx_login", *sys.argv[1:]]
from {module} import main
main()
"""


def test_the_deadline_counts_from_the_process_start(raw_server):
    server = raw_server(lambda conn, stopping: stopping.wait(30))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", LATE.format(delay=1.0, module=MODULES["check_cx_login"]),
                           "-u", server.url + "/login", "--username", "u", "--password-env", "PW", "-t", "2"],
                          capture_output=True, text=True, timeout=30, env=plugin_env({"PW": "x"}))
    elapsed = time.monotonic() - started
    assert (proc.returncode, proc.stderr) == (2, ""), proc.stdout
    assert proc.stdout.startswith(("CX LOGIN CRITICAL - login as u*** failed at step login_page: timed out after 2 s |",
                                   "CX LOGIN CRITICAL - timed out after 2 s while step login_page")), proc.stdout
    wait_for(lambda: server.connections, what="the plugin's connection")
    # Ended 2 s after the process began (1 s of it before any of our code ran), not 3 s.
    assert 1.9 < elapsed < 2.5, elapsed
