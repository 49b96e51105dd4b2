"""`cxcheck worker` in a real Nagios 4 (Debian nagios4-core 4.4.6): the example host's services
against the demo shop, run by the worker (each result in status.dat is the one the worker logged
through the core's log), the core surviving the worker's death and running the checks itself
again, and the worker registering anew after a reload; then a worker forking a child per check
(--jobs-per-child 1) serving the same core. One core for both: how the worker runs its checks
is not what the core sees."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from conftest import need_binary, plugin_env
from engines import stop_process, wait_until
from test_templates_nagios import EXPECTED, HOST, PASSWORD_VARIABLE, build_site
from worker_core import start_worker

# nagios.log: `[time] wproc: cxcheck:KEY: job N check_cx_login: OK in 93 ms, CPU 19.3 ms: CX LOGIN OK - ...`
pytestmark = pytest.mark.slow(seconds=58)   # its measured time: the longest files start first (conftest)
JOB_LINE = re.compile(r"^\[\d+\] wproc: cxcheck:\S+: job \d+ (check_cx_\w+): \S+ in \d+ ms, CPU [\d.]+ ms: (.*)$", re.M)


@pytest.fixture(scope="module")
def site(tmp_path_factory, shop):
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    binary = need_binary("nagios4", "nagios4-core")
    workdir = tmp_path_factory.mktemp("nagios-worker")
    password = DEMO_ACCOUNTS["shopper@example.com"]
    nagios, skipped = build_site(workdir, shop.url, password, binary)
    nagios.plugins = workdir / "plugins"
    # The worker runs the checks with its own environment: the variable the env-style service
    # names is given to it as to the core (a systemd EnvironmentFile in production).
    nagios.worker_env = plugin_env({PASSWORD_VARIABLE: password})
    nagios.expected = [s for s in EXPECTED if s not in skipped]
    nagios.start()
    try:
        # The core runs every check once as it starts (NAGIOS_PACE): over before the first forced
        # round, which would otherwise find them running and wait to force them again.
        nagios.wait_for_results([(HOST, s) for s in nagios.expected], since=0, timeout=120)
        yield nagios
    finally:
        nagios.stop()


def log_text(nagios) -> str:
    return nagios.log_file.read_text(errors="replace")


def registrations(nagios) -> int:
    return len(re.findall(r"wproc: cxcheck:\S+: registered with the core at ", log_text(nagios)))


def start(nagios, stderr_path, *args):
    stderr = open(stderr_path, "wb")
    proc = start_worker(nagios.dir / "rw" / "nagios.qh", nagios.plugins, "-vv", "--max-backoff", "1",
                        *args, env=nagios.worker_env, stderr=stderr)
    stderr.close()
    return proc


def forced_round(nagios) -> dict:
    """Every service of the host checked anew (started after this call); their results. A check
    already running when the command arrives is not forced again: the command is repeated for
    the services still without a fresh result."""
    time.sleep(max(0.0, int(time.time()) + 1 - time.time()))     # checks started before `since` do not count
    since = int(time.time())
    keys = [(HOST, s) for s in nagios.expected]
    for attempt in range(4):
        nagios.force_checks(HOST)
        try:
            results = nagios.wait_for_results(keys, since=since, timeout=20 if attempt < 3 else 60)
            return {desc: results[(HOST, desc)] for desc in nagios.expected}
        except AssertionError:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


def worker_outputs(text: str) -> set[str]:
    """The status lines (perfdata included, cut at 300 characters) the worker logged for its jobs."""
    return {match.group(2) for match in JOB_LINE.finditer(text)}


def status_line(status: dict) -> str:
    line = status["plugin_output"] + (f" | {status['performance_data']}" if status["performance_data"] else "")
    return line[:300]


def assert_from_worker(results: dict, text: str):
    """Each result is the one the worker logged: durations to the microsecond make the lines unique."""
    from_worker = worker_outputs(text)
    for desc, status in results.items():
        state, start_text, labels = EXPECTED[desc]
        assert int(status["current_state"]) == state, (desc, status["plugin_output"])
        assert status["plugin_output"].startswith(start_text), (desc, status["plugin_output"])
        assert status_line(status) in from_worker, (desc, status_line(status), sorted(from_worker))


def test_results_come_from_the_worker_then_from_the_core_once_it_dies_then_again_after_a_reload(site, tmp_path):
    nagios = site
    worker = start(nagios, tmp_path / "worker1.stderr")      # the default: children that run checks in turn
    try:
        wait_until(lambda: registrations(nagios) == 1, 30, "the worker's registration in nagios.log")
        text = log_text(nagios)
        assert "wproc: Registry request: name=cxcheck:check_cx_login;max_jobs=32;plugin=check_cx_login" in text
        assert f"plugin={nagios.plugins}/check_cx_login" in text and ";pid=" not in text.split("cxcheck:", 1)[1]

        assert_from_worker(forced_round(nagios), log_text(nagios))

        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        wait_until(lambda: "Socket to worker cxcheck:check_cx_login broken" in log_text(nagios), 30,
                   "the core to notice the worker is gone")
        seen = log_text(nagios)
        results = forced_round(nagios)
        assert nagios.proc.poll() is None, "nagios died with its worker"
        assert worker_outputs(log_text(nagios)) == worker_outputs(seen), "job lines after the worker died"
        for desc, status in results.items():            # fresh, and not from the worker: the core's own
            assert int(status["current_state"]) == EXPECTED[desc][0], (desc, status["plugin_output"])
    finally:
        stop_process(worker, 10)

    worker = start(nagios, tmp_path / "worker2.stderr")
    try:
        wait_until(lambda: registrations(nagios) == 2, 30, "the new worker's registration")
        os.kill(nagios.proc.pid, signal.SIGHUP)                   # a reload closes every worker's socket
        wait_until(lambda: registrations(nagios) == 3, 60, "the worker's registration after the reload")
        assert worker.poll() is None
        assert_from_worker(forced_round(nagios), log_text(nagios))
    finally:
        stop_process(worker, 10)
    assert nagios.proc.poll() is None


def test_a_worker_forking_a_child_per_check_serves_the_core_too(site, tmp_path):
    nagios = site
    before = registrations(nagios)
    worker = start(nagios, tmp_path / "worker.stderr", "--jobs-per-child", "1")
    try:
        wait_until(lambda: registrations(nagios) == before + 1, 30, "the worker's registration in nagios.log")
        assert_from_worker(forced_round(nagios), log_text(nagios))
    finally:
        stop_process(worker, 10)
    assert nagios.proc.poll() is None
