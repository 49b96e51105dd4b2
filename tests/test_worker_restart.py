"""Restarting `cxcheck worker` under load loses no check and raises no false state, in a real
Nagios 4 (Debian's nagios4-core on Debian's stock nagios.cfg, paths changed: core_load).

The load: 24 check_cx_login services on the shipped command and template against a demo shop
that answers its login pages in 0.3 s, so that checks are in flight at any moment.

- Every 3 s each, as the packaged unit runs it (packaging/systemd/cxcheck-worker.service: Type=notify,
  FileDescriptorStoreMax=, KillMode=mixed; service_manager.py plays systemd's part), three
  `systemctl restart`s in a row. The connections stay open across each: the core numbers the
  jobs of a connection 0, 1, 2... (base/workers.c, get_job_id), and every number is answered
  exactly once, by the old worker or the new one: no check lost. No SERVICE ALERT (every result
  OK), no killed check, no orphaned one; every service checked again after the last restart.
- A plain SIGTERM (no service manager), every 15 s each, sent while checks are at the shop: the
  worker answers every job it took and every job that comes meanwhile, shuts each connection
  once nothing is in flight on it, and the core runs the checks itself; no false state, no job
  left unanswered, every service keeps being checked. (A load that never lets a connection be idle for the whole --drain leaves the
  jobs of its last moment to the core's orphan check: a restart goes through the unit.)

The counts (jobs answered by each worker, jobs handed over) are printed with -s.
"""

from __future__ import annotations

import re
import signal
import sys
import time

import pytest
from conftest import PLUGINS, need_binary, plugin_env
from core_load import LoadedNagios, login_site
from service_manager import ServiceManager
from worker_core import start_worker

from cxcheck.worker import registry

pytestmark = pytest.mark.slow(seconds=76)   # its measured time: the longest files start first (conftest)

SERVICES = 24
HOST = "shop"
# Thresholds far above what a machine under load makes of a 0.3 s page: a state that is not OK
# is one the worker caused.
EVERY = ("    check_interval          %(minutes)s\n    retry_interval          %(minutes)s\n"
         "    _CX_WARNING             30\n    _CX_CRITICAL            60\n    _CX_TIMEOUT             60\n")
# nagios.log: `[t] wproc: cxcheck:KEY: job N check_cx_login: OK in 412 ms, CPU 5.1 ms: CX LOGIN OK - ...`
JOB_LINE = re.compile(r"^\[\d+\] wproc: cxcheck:(\S+): job (\d+) check_cx_login: (\S+) in ", re.M)
TROUBLE = re.compile(r"SERVICE ALERT|died by signal|doesn't exist|orphaned|timed out|Socket to worker cxcheck")


@pytest.fixture
def site(request, tmp_path):
    """The core with its services every request.param minutes (0.05: 3 s)."""
    from cxcheck.demo.shop import DEMO_ACCOUNTS, DemoShop

    binary = need_binary("nagios4", "nagios4-core")
    username, password = next(iter(DEMO_ACCOUNTS.items()))
    with DemoShop(faults={"latency": {"/accounts/": 0.3}}) as shop:
        files, resources, plugins = login_site(tmp_path, HOST, SERVICES, shop.url, username, password,
                                               sys.executable, PLUGINS, EVERY % {"minutes": request.param})
        nagios = LoadedNagios(binary, tmp_path / "nagios", files, resources, name="restart")
        nagios.plugins, nagios.shop = plugins, shop
        nagios.verify()
        nagios.start()
        try:
            yield nagios
        finally:
            nagios.stop()


def jobs(nagios) -> dict[str, list[int]]:
    """Routing key -> the job numbers the workers answered on it, as the core logged them."""
    answered: dict[str, list[int]] = {}
    for key, number, _ in JOB_LINE.findall(nagios.log()):
        answered.setdefault(key, []).append(int(number))
    return answered


def count(nagios) -> int:
    return sum(len(v) for v in jobs(nagios).values())


def wait_until(condition, timeout: float, what: str, nagios):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s\n" + nagios.log()[-4000:])
        time.sleep(0.1)


def in_flight(nagios) -> int:
    """Checks inside a request to the shop now (a check keeps its connection for its 3 requests)."""
    with nagios.shop._connections_changed:
        return len(nagios.shop._connections)


def every_service_checked_since(nagios, since: int, timeout: float):
    keys = [(HOST, f"login {n:02d}") for n in range(SERVICES)]
    return nagios.wait_for_checks(keys, since, timeout, ask=True)


def worker_args(nagios, *extra) -> list[str]:
    return ["-m", "cxcheck.cli", "worker", "--query-socket", str(nagios.query_socket), "--plugin-dir",
            str(nagios.plugins), "-vv", *extra]


@pytest.mark.parametrize("site", [0.05], indirect=True)
def test_restarts_of_the_packaged_unit_lose_no_check(site, tmp_path):
    nagios = site
    stderr = open(tmp_path / "worker.stderr", "wb")
    unit = ServiceManager(tmp_path, [sys.executable, *worker_args(nagios, "--fd-store")], plugin_env(),
                          stop_timeout=30, stderr=stderr)
    try:
        unit.start()
        wait_until(lambda: "registered with the core at" in nagios.log(), 60, "the registration", nagios)
        every_service_checked_since(nagios, int(time.time()), 60)
        restarts = []
        for _ in range(3):
            before = count(nagios)
            wait_until(lambda before=before: count(nagios) >= before + 20, 60, "20 more checks", nagios)
            wait_until(lambda: in_flight(nagios) >= 3, 60, "3 checks in flight", nagios)
            unit.restart()
            restarts.append(int(time.time()))
        every_service_checked_since(nagios, restarts[-1] + 1, 60)
        nagios.command("STOP_EXECUTING_SVC_CHECKS")
        # Once the last checks are answered, every number of every connection is there.
        wait_until(lambda: all(sorted(n) == list(range(len(n))) for n in jobs(nagios).values()), 60,
                   "every job answered", nagios)
        answered = jobs(nagios)
        log = nagios.log()
        stderr.flush()
        text = (tmp_path / "worker.stderr").read_text(errors="replace")
    finally:
        unit.close()
        stderr.close()
    flying = [int(n) for n in re.findall(r"SIGTERM: answering the (\d+) jobs in flight", text)]
    handed = [int(n) for n in re.findall(r"handed (\d+) jobs and \d+ connections to the next worker", text)]
    taken = [int(n) for n in re.findall(r"took over \d+ connections and (\d+) jobs", text)]
    total = sum(len(n) for n in answered.values())
    print(f"\n{total} checks answered on {len(answered)} connection(s) across {len(restarts)} restarts; "
          f"jobs in flight at each SIGTERM: {flying}, answered by the old worker; jobs that came during its "
          f"drain, handed over: {handed}, taken up by the new one: {taken}; wrong states: "
          f"{len(re.findall('SERVICE ALERT', log))}; lost: 0")
    assert len(handed) == len(taken) == 3 and handed == taken
    assert [len(set(n)) for n in answered.values()] == [len(n) for n in answered.values()], "a job answered twice"
    assert not TROUBLE.findall(log), TROUBLE.findall(log)
    keys = 2 * len(registry.discover())                 # each plugin by name and by path
    assert log.count("wproc: Registry request: name=cxcheck") == keys, "connections made again at a restart"
    assert unit.refused == 0


@pytest.mark.parametrize("site", [0.25], indirect=True)
def test_a_plain_sigterm_under_load_raises_no_false_state(site, tmp_path):
    nagios = site
    stderr = open(tmp_path / "worker.stderr", "wb")
    worker = start_worker(nagios.query_socket, nagios.plugins, "-vv", env=plugin_env(), stderr=stderr)
    try:
        wait_until(lambda: "registered with the core at" in nagios.log(), 60, "the registration", nagios)
        before = count(nagios)
        # Working for a while, and inside checks when the signal comes (each check is at the shop
        # for its 3 requests: about 1.4 checks in flight on average at this pace).
        wait_until(lambda: count(nagios) >= before + 10, 60, "10 checks", nagios)
        wait_until(lambda: in_flight(nagios) >= 2, 60, "2 checks in flight", nagios)
        worker.terminate()
        assert worker.wait(timeout=30) == 0
        stopped = int(time.time())
        # The core runs the checks itself now: every service keeps its results coming.
        every_service_checked_since(nagios, stopped + 1, 60)
    finally:
        if worker.poll() is None:
            worker.kill()
        stderr.close()
    log = nagios.log()
    text = (tmp_path / "worker.stderr").read_text(errors="replace")
    lost = re.findall(r"(\d+) jobs not answered", text)
    print(f"\n{count(nagios)} checks answered by the worker before it stopped; not answered: {lost or 0}; "
          f"wrong states: {len(re.findall('SERVICE ALERT', log))}")
    assert not lost, text[-2000:]
    assert not re.findall(r"SERVICE ALERT|died by signal|doesn't exist|timed out", log)


def test_a_job_cut_in_two_by_a_restart_and_the_jobs_of_the_drain_go_to_the_next_worker(tmp_path, fresh_shop):
    """The protocol's other end (worker_core) under the unit: a job in flight when SIGTERM comes
    is answered by the old worker; one sent during its drain, and one whose first half it read
    before it stopped, are answered by the next one, on the same connection, with their ids."""
    shop = fresh_shop      # its own: a connection left open by another test would pass for the job at the shop
    from engines import write_wrappers
    from worker_core import FakeCore

    plugins = write_wrappers(tmp_path / "plugins")
    core = FakeCore(tmp_path / "nagios.qh")
    argv = [sys.executable, "-m", "cxcheck.cli", "worker", "--query-socket", str(core.path), "--plugin-dir",
            str(plugins), "--fd-store", "-v"]
    secret = tmp_path / "password"
    secret.write_text("not-the-password\n")
    stderr = open(tmp_path / "worker.stderr", "wb")
    unit = ServiceManager(tmp_path, argv, plugin_env(), stop_timeout=30, stderr=stderr)
    try:
        unit.start()
        conns = core.accept(2 * len(registry.discover()))
        conn = conns[str(plugins / "check_cx_login")]
        slow = f"{plugins}/check_cx_login -u {shop.url}/fault/slow?ms=2000 --username a@example.com " \
               f"--password-file {secret} -t 10"
        conn.send_job(1, slow)
        wait_until(lambda: len(unit.store) >= 2 * len(registry.discover()) and in_flight(_Shop(shop)), 30,
                   "the connections in the store and the job at the shop", _Shop(shop))
        unit.proc.send_signal(signal.SIGTERM)
        assert unit.wait_for("STOPPING=1", 30)
        conn.send_job(2, f"{plugins}/check_cx_login -V")                      # during the drain
        whole = encode_job(3, f"{plugins}/check_cx_nps -V")
        conn.sock.sendall(whole[:20])                                          # half a message
        assert unit.proc.wait(timeout=30) == 0
        unit.start()
        conn.sock.sendall(whole[20:])                                          # the rest, to the next one
        first, second, third = (conn.result(n, 60) for n in (1, 2, 3))
        assert first["exited_ok"] == b"1" and float(first["runtime"]) >= 2 and b"CX LOGIN" in first["outstd"]
        assert second["outstd"].startswith(b"check_cx_login (cxcheck) ")
        assert third["outstd"].startswith(b"check_cx_nps (cxcheck) "), third
        assert len(core.connections) == len(conns), "no new registration"
    finally:
        unit.close()
        core.close()
        stderr.close()
    text = (tmp_path / "worker.stderr").read_text()
    assert "SIGTERM: answering the 1 jobs in flight" in text and "handed 1 jobs and " in text, text
    assert "took over " in text and " connections and 1 jobs from the previous worker" in text, text


class _Shop:
    """What wait_until and in_flight want of a site, for the shop alone."""

    def __init__(self, shop):
        self.shop = shop

    def log(self) -> str:
        return ""


def encode_job(job_id: int, command: str) -> bytes:
    from worker_core import END

    pairs = [f"job_id={job_id}", "type=0", f"command={command}", "timeout=60"]
    return b"".join(p.encode() + b"\0" for p in pairs) + END
