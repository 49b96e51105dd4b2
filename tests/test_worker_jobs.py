"""`cxcheck worker` against the protocol's other end (worker_core): jobs it cannot parse, shell
syntax, job timeouts, crashed children, bounded concurrency, the core going away and coming back,
garbage from the core, its log lines, and a clean stop. Every job gets one answer; the worker
outlives whatever happens to a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import plugin_env, wait_for
from engines import write_wrappers
from worker_core import END, FakeCore, WorkerAgainstCore, start_worker

from cxcheck.worker import registry

pytestmark = pytest.mark.slow(seconds=27)   # its measured time: the longest files start first (conftest)

PLUGINS = sorted(registry.discover())
PW = {"CX_PW": "not-the-password"}


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except FileNotFoundError:
        return []


def at_the_shop(shop) -> None:
    """Until the job's request is at this test's own shop: a warm runner may exist before any job
    does, so the worker's children do not say the job was taken."""
    def inside():
        with shop._connections_changed:
            return bool(shop._connections)

    wait_for(inside, timeout=10, what="the job's request at the shop")


@pytest.fixture
def plugin_dir(tmp_path):
    return write_wrappers(tmp_path / "plugins")


MODES = {"warm-children": [], "fork-per-job": ["--jobs-per-child", "1"]}


@pytest.fixture(params=list(MODES))
def worker(request, tmp_path, plugin_dir):
    running = WorkerAgainstCore(tmp_path, plugin_dir, 2 * len(PLUGINS), "--max-children", "2", "-vv",
                                *MODES[request.param], env=plugin_env())
    running.dir = plugin_dir
    try:
        yield running
    finally:
        running.stop()


def assert_serving(worker):
    result = worker.job(f"{worker.dir}/check_cx_login -V")
    assert result["wait_status"] == b"0" and result["outstd"].startswith(b"check_cx_login (cxcheck) "), result


def test_a_command_that_cannot_be_split_is_unknown_not_fatal(worker):
    result = worker.job(f"{worker.dir}/check_cx_login -u 'http://127.0.0.1/")
    assert result["outstd"] == b"CX LOGIN UNKNOWN - cxcheck worker cannot run this command: unbalanced single quote\n"
    assert result["wait_status"] == str(3 << 8).encode() and result["exited_ok"] == b"1"
    assert_serving(worker)


def test_shell_syntax_runs_through_sh_and_a_crash_is_reported_not_fatal(worker):
    result = worker.job(f"{worker.dir}/check_cx_login -V 2>&1 && kill -SEGV $$")
    assert result["outstd"].startswith(b"check_cx_login (cxcheck) ")
    assert result["wait_status"] == str(signal.SIGSEGV).encode() and result["exited_ok"] == b"1"
    assert_serving(worker)


def test_the_jobs_timeout_kills_the_child_and_answers_62(worker, shop):
    started = time.monotonic()
    result = worker.job(f"{worker.dir}/check_cx_login -u {shop.url}/fault/hang --username a@example.com "
                        "--password-env CX_PW -t 30", env=PW, timeout=1)
    assert time.monotonic() - started < 5
    assert result["exited_ok"] == b"0" and result["error_code"] == b"62", result
    wait_for(lambda: children_of(worker.proc.pid) == [], timeout=5, what="the killed child to be reaped")
    assert_serving(worker)


def test_a_child_killed_from_outside_is_reported(worker, fresh_shop):
    shop = fresh_shop
    conn, job_id = worker.send(f"{worker.dir}/check_cx_login -u {shop.url}/fault/hang --username a@example.com "
                               "--password-env CX_PW -t 30", env=PW)
    at_the_shop(shop)
    [child] = wait_for(lambda: children_of(worker.proc.pid), timeout=10, what="the job's child")
    os.kill(child, signal.SIGKILL)
    result = conn.result(job_id, 10)
    assert result["wait_status"] == str(signal.SIGKILL).encode() and result["exited_ok"] == b"1"
    assert_serving(worker)


def test_children_are_bounded_and_a_job_that_waits_too_long_times_out_unrun(worker, shop):
    slow = f"{worker.dir}/check_cx_login -u {shop.url}/fault/slow?ms=1500 --username a@example.com " \
           "--password-env CX_PW -t 10"
    sent = [worker.send(slow, env=PW) for _ in range(3)]
    starved = worker.send(slow, env=PW, timeout=1)
    peak = 0
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        peak = max(peak, len(children_of(worker.proc.pid)))
        time.sleep(0.02)
    assert peak == 2
    results = [conn.result(job_id, 15) for conn, job_id in sent]
    starts = sorted(float(r["start"]) for r in results)
    stops = sorted(float(r["stop"]) for r in results)
    assert starts[2] >= stops[0] - 0.01, "a third child ran beside the first two"
    unrun = starved[0].result(starved[1], 5)
    assert unrun["error_code"] == b"62" and unrun["start"] == unrun["stop"] and unrun["outstd"] == b""


def test_the_core_going_away_and_back_is_a_new_registration_without_pid(worker):
    before = worker.core.connections["check_cx_login"].registration
    assert "pid" not in before and before["max_jobs"] == "2"
    worker.core.drop_all()                       # what a reload does
    worker.core.accept(worker.keys, timeout=30)
    assert all("pid" not in c.registration for c in worker.core.connections.values())
    assert_serving(worker)


def test_garbage_from_the_core_costs_one_connection_only(worker):
    conn = worker.core.connections["check_cx_nps"]
    conn.sock.sendall(b"this is no key value pair\0" + END)
    wait_for(lambda: not conn.pump(0.2), timeout=10, what="the worker to drop the connection")
    del worker.core.connections["check_cx_nps"]
    worker.core.accept(1, timeout=30)
    assert "check_cx_nps" in worker.core.connections
    result = worker.job(f"{worker.dir}/check_cx_nps -V")
    assert result["outstd"].startswith(b"check_cx_nps (cxcheck) ")


def test_log_lines_reach_the_core(worker):
    result = worker.job(f"{worker.dir}/check_cx_nps -V")
    assert result["wait_status"] == b"0"
    conns = worker.core.connections.values()
    wait_for(lambda: [c.pump(0.05) for c in conns] and any("check_cx_nps: OK" in line for c in conns for line in c.logs()),
             timeout=10, what="the job's log line")
    lines = [line for c in conns for line in c.logs()]
    assert any(line.startswith("registered with the core at ") and ", ".join(PLUGINS) in line for line in lines)


def test_a_reused_child_is_let_go_after_its_jobs(tmp_path, plugin_dir):
    running = WorkerAgainstCore(tmp_path, plugin_dir, 2 * len(PLUGINS), "--jobs-per-child", "2", "--max-children",
                                "1", env=plugin_env())
    try:
        seen = []
        for _ in range(5):
            result = running.job(f"{plugin_dir}/check_cx_nps -V")
            assert result["wait_status"] == b"0"
            seen.append(tuple(children_of(running.proc.pid)))
        runners = {pid for pids in seen for pid in pids}
        assert len(runners) == 3, seen              # jobs 1-2, 3-4, 5: three children
    finally:
        running.stop()


def test_a_worker_started_before_the_core_registers_once_it_is_there(tmp_path, plugin_dir):
    path = tmp_path / "later.qh"
    proc = start_worker(path, plugin_dir, "--max-backoff", "0.5", env=plugin_env())
    core = None
    try:
        time.sleep(1)                            # a few failed attempts (nothing to wait for: the socket is absent)
        assert proc.poll() is None
        core = FakeCore(path)
        core.accept(2 * len(PLUGINS), timeout=15)
    finally:
        proc.terminate()
        if core:
            core.close_shut(15, running=lambda: proc.poll() is None)
        proc.wait(timeout=15)
        if core:
            core.close()
    assert proc.returncode == 0


def test_sigterm_answers_the_job_in_flight_then_stops(worker, fresh_shop):
    shop = fresh_shop
    conn, job_id = worker.send(f"{worker.dir}/check_cx_login -u {shop.url}/fault/slow?ms=1000 --username "
                               "a@example.com --password-env CX_PW -t 10", env=PW)
    at_the_shop(shop)
    worker.proc.send_signal(signal.SIGTERM)
    result = conn.result(job_id, 15)
    assert result["exited_ok"] == b"1" and b"CX LOGIN" in result["outstd"]
    worker.core.close_shut(15, running=lambda: worker.proc.poll() is None)
    assert worker.proc.wait(timeout=15) == 0
    assert "SIGTERM: answering the 1 jobs in flight and every job that comes until each connection is idle" \
        in worker.stderr()


def test_an_unreadable_nagios_cfg_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cxcheck.cli", "worker", "--nagios-cfg", str(tmp_path / "none.cfg")],
                          capture_output=True, text=True, env=plugin_env(), timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "error: cannot read " in proc.stderr, proc.stderr
