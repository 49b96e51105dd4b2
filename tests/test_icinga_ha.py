"""An Icinga 2 HA satellite zone running cxcheck, for real (Debian icinga2-bin, stock
configuration, see stock_icinga): a master and a zone "satellite" of two endpoints, three
daemons on 127.0.0.1 with their own ports and certificates from `icinga2 pki`. The master holds
the configuration (zones.d: the shipped CheckCommands in a global zone, six cx_login services in
the satellite zone, every 5 s against the demo shop) and has no plugins: every check is a
satellite's.

Counted from the plugin side: each satellite's PluginDir runs check_cx_login through a wrapper
that logs the node, the time and the service (its --user-agent) before it starts the plugin, and
the demo shop's access log counts the logins each service made. One scenario, measured in phases:

1. both satellites up: each service runs once per interval, on the endpoint Icinga's documented
   authority rule names (endpoints sorted by name, SDBM hash of the object name modulo the
   connected endpoints), and its results reach the master with that satellite as check_source;
2. the satellites lose each other (the link between them cut, both still connected to the
   master): each computes its authority alone and runs every check, so each service runs twice
   per interval; the link back, once again;
3. one satellite killed (SIGKILL): the other runs every check within a bounded time.

Docs: https://icinga.com/docs/icinga-2/latest/doc/06-distributed-monitoring/#high-availability-with-checks
("All nodes in the same zone load-balance the check execution. If one instance shuts down, the
other nodes will automatically take over the remaining checks.") and
https://icinga.com/docs/icinga-2/latest/doc/19-technical-concepts/#high-availability-object-authority
(the rule, computed by each endpoint from the endpoints it is connected to; a 60 s grace period
after start while a zone's other endpoint is not yet connected).
docs/distributed.md gives the figures. `-s` prints them."""

from __future__ import annotations

import re
import select
import shutil
import signal
import socket
import statistics
import threading
import time
from pathlib import Path

import pytest
from conftest import RawServer, free_port, need_binary
from engines import TEMPLATES, Icinga2, kill_session, wait_until, write_wrappers
from icinga_features import icinga_log, stock_feature
from test_icinga_distributed import API_PASSWORD, API_USER, api_services, certificates

pytestmark = pytest.mark.slow(seconds=108)   # its measured time: the longest files start first (conftest)
INTERVAL = 5.0
SERVICES = [f"cx-login-{n}" for n in range(1, 7)]
NODES = ("master", "satellite-a", "satellite-b")
SATELLITES = NODES[1:]
STEADY, SPLIT, AFTER_KILL = 15.0, 15.0, 15.0      # seconds each phase is counted over: 3 intervals
# Runs per interval of one endpoint: once is 1, the split's double running 2 on the two together.
# A window of 3 intervals holds 2 to 4 runs of a check run once per interval (where its edges
# fall, the load's delays), so once per interval is judged between 0.5 and 1.5, the midpoint.
ONCE = (0.5, 1.5)
SETTLE = 2 * INTERVAL + 10                         # authority timer (10 s) and a check interval

SHOP = """\
object Host "shop" {{
  check_command = "dummy"
  check_interval = 1m
  vars.dummy_text = "the shop host is not what this test checks"
}}
""" + "".join(f"""
object Service "{service}" {{{{
  host_name = "shop"
  check_command = "cx_login"
  check_interval = {INTERVAL:g}s
  retry_interval = {INTERVAL:g}s
  max_check_attempts = 1
  vars.cx_url = "{{url}}/accounts/login/"
  vars.cx_username = "shopper@example.com"
  vars.cx_password_file = "{{secret}}"
  vars.cx_user_agent = "cxcheck-ha/{service}"
  vars.cx_timeout = 20
}}}}
""" for service in SERVICES)
LOGGING_WRAPPER = """#!/bin/sh
# Log who runs which service, then run the plugin.
agent=""; previous=""
for arg in "$@"; do
    case "$arg" in --user-agent=*) agent="${{arg#--user-agent=}}";; esac
    [ "$previous" = "--user-agent" ] && agent="$arg"; previous="$arg"
done
printf '%s %s %s\\n' '{node}' "$(date +%s.%N)" "${{agent#cxcheck-ha/}}" >> '{log}'
exec '{real}' "$@"
"""


def sdbm(text: str) -> int:
    """Icinga 2's Utility::SDBM over the object name (64-bit unsigned arithmetic)."""
    value = 0
    for byte in text.encode():
        value = (byte + (value << 6) + (value << 16) - value) & 0xFFFFFFFFFFFFFFFF
    return value


def authority(service: str, connected: list[str]) -> str:
    return sorted(connected)[sdbm(f"shop!{service}") % len(connected)]


def zones_conf(node: str, ports: dict[str, int], link_port: int) -> str:
    """As `icinga2 node setup` writes zones.conf, with the connection directions fixed: the
    satellites connect up to the master, satellite-a connects to satellite-b through the cuttable
    link, satellite-b connects to nobody in its zone."""
    def endpoint(name: str) -> str:
        port = None
        if name == "master" and node != "master":
            port = ports["master"]
        elif node == "satellite-a" and name == "satellite-b":
            port = link_port
        address = f' host = "127.0.0.1"; port = "{port}"' if port else ""
        return f'object Endpoint "{name}" {{{address} }}\n'

    return ("".join(endpoint(name) for name in NODES)
            + 'object Zone "master" { endpoints = [ "master" ] }\n'
            + 'object Zone "satellite" { endpoints = [ "satellite-a", "satellite-b" ]; parent = "master" }\n'
            + 'object Zone "global-templates" { global = true }\n')


class Link:
    """A TCP relay between the two satellites that the test can cut and restore."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.is_cut = threading.Event()
        self.open: list[socket.socket] = []
        self.server = RawServer(self.relay)

    def relay(self, conn: socket.socket, stopping: threading.Event):
        if self.is_cut.is_set():
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        self.open += [conn, upstream]
        pairs = {conn: upstream, upstream: conn}
        try:
            while not stopping.is_set() and not self.is_cut.is_set():
                ready, _, _ = select.select(list(pairs), [], [], 0.2)
                for side in ready:
                    data = side.recv(65536)
                    if not data:
                        return
                    pairs[side].sendall(data)
        except OSError:
            pass
        finally:
            for side in pairs:
                side.close()

    def cut(self):
        self.is_cut.set()
        for side in self.open:
            try:
                side.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.open.clear()

    def restore(self):
        self.is_cut.clear()

    def stop(self):
        self.cut()
        self.server.stop()


def runs(log: Path) -> list[tuple[str, float, str]]:
    """(node, start time, service) of every plugin run the wrappers logged."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        node, when, service = line.split(" ", 2)
        out.append((node, float(when), service))
    return out


def gaps(log: Path, start: float, end: float) -> list[float]:
    """Seconds between one service's consecutive runs on one node, between start and end."""
    last: dict[tuple[str, str], float] = {}
    out = []
    for node, when, service in runs(log):
        if start <= when < end:
            if (node, service) in last:
                out.append(when - last[(node, service)])
            last[(node, service)] = when
    return out


def per_interval(log: Path, start: float, end: float) -> dict[str, dict[str, float]]:
    """service -> node -> runs per check interval, between start and end."""
    intervals = (end - start) / INTERVAL
    counts: dict[str, dict[str, float]] = {service: {} for service in SERVICES}
    for node, when, service in runs(log):
        if start <= when < end and service in counts:
            counts[service][node] = counts[service].get(node, 0) + 1 / intervals
    return counts


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Run the three phases once; return what was measured."""
    binary = need_binary("icinga2", "icinga2-bin")
    from cxcheck.demo.shop import DEMO_ACCOUNTS, DemoShop

    work = tmp_path_factory.mktemp("ha")
    run_log = work / "runs.log"
    secret = work / "shop.password"
    secret.write_text(DEMO_ACCOUNTS["shopper@example.com"] + "\n")
    secret.chmod(0o600)
    ports = {name: free_port() for name in NODES}
    shop = DemoShop(access_log=str(work / "access.log")).start()
    link = Link(ports["satellite-b"])
    nodes: dict[str, Icinga2] = {}
    try:
        for name in NODES:
            plugins = work / f"{name}-plugins"
            if name == "master":
                plugins.mkdir()                 # empty: the master cannot run check_cx_login
            else:
                write_wrappers(plugins)
                real = plugins / "check_cx_login.real"
                (plugins / "check_cx_login").rename(real)
                (plugins / "check_cx_login").write_text(LOGGING_WRAPPER.format(node=name, log=run_log, real=real))
                (plugins / "check_cx_login").chmod(0o755)
            users = work / f"{name}-api-users.conf"
            users.write_text(f'object ApiUser "{API_USER}" {{ password = "{API_PASSWORD}"; '
                             'permissions = [ "objects/query/*", "status/query" ] }\n')
            node = nodes[name] = Icinga2(binary, work / name, [users], {"PluginDir": str(plugins), "NodeName": name},
                                         zones=zones_conf(name, ports, link.server.port),
                                         features={"api": stock_feature("api", bind_host="127.0.0.1",
                                                                        bind_port=ports[name],
                                                                        accept_config=name != "master",
                                                                        accept_commands=True)})
            node.write_config()
        zones = nodes["master"].dir / "zones.d"
        (zones / "global-templates").mkdir(parents=True)
        shutil.copyfile(TEMPLATES / "icinga2" / "cxcheck-commands.conf", zones / "global-templates" / "cxcheck-commands.conf")
        (zones / "satellite").mkdir()
        (zones / "satellite" / "shop.conf").write_text(SHOP.format(url=shop.url, secret=secret))
        certificates(binary, nodes["master"], nodes)
        for node in nodes.values():
            proc = node.validate()
            assert proc.returncode == 0, proc.stdout + proc.stderr
        for node in nodes.values():
            node.start()
        measured = phases(nodes, ports, link, run_log)
        measured["access_log"] = (work / "access.log").read_text()
        measured["runs"] = runs(run_log)
        yield measured
    except AssertionError as error:
        logs = "\n".join(f"--- {name}\n{icinga_log(node, 2500)}" for name, node in nodes.items())
        raise AssertionError(f"{error}\n{logs}\nruns: {runs(run_log)[-30:]}") from None
    finally:
        for node in nodes.values():
            node.stop()
        link.stop()
        shop.stop()


def watch(master: Icinga2, port: int, seconds: float) -> dict[str, list[str]]:
    """The measuring window: the daemons work, the test reads the master's view once a second.
    service -> the check sources of its results on the master, in the order seen."""
    start = time.time()
    sources: dict[str, list[str]] = {service: [] for service in SERVICES}

    def sampled():
        for item in api_services(master, port):
            service = item["name"].split("!", 1)[1]
            if service in sources and item["attrs"]["last_check_result"]:
                sources[service].append(item["attrs"]["last_check_result"]["check_source"])
        return time.time() - start >= seconds

    wait_until(sampled, seconds + 30, "the measuring window to pass", interval=1)
    return sources


def phases(nodes: dict[str, Icinga2], ports: dict[str, int], link: Link, run_log: Path) -> dict:
    measured = {}
    master = nodes["master"]

    # Phase 1: both satellites up. Wait until every service ran on the endpoint the rule names,
    # then count over STEADY seconds.
    expected = {service: authority(service, list(SATELLITES)) for service in SERVICES}

    def settled():
        unnamed = [run for run in runs(run_log) if run[2] not in SERVICES]
        assert not unnamed, f"runs the wrapper could not name (no --user-agent?): {unnamed[:3]}"
        latest = {service: node for node, _, service in runs(run_log)}
        return all(latest.get(service) == expected[service] for service in SERVICES)

    wait_until(settled, 180, "each service to run on the endpoint Icinga's authority rule names", interval=0.5)
    start = time.time()
    measured["steady_sources"] = watch(master, ports["master"], STEADY)
    measured["steady"] = per_interval(run_log, start, time.time())
    measured["steady_gap"] = statistics.median(gaps(run_log, start, time.time()))
    measured["expected"] = expected
    results = {s["name"]: s["attrs"]["last_check_result"] for s in api_services(master, ports["master"])}
    measured["master_results"] = results

    # Phase 2: the satellites lose each other, then find each other again.
    link.cut()
    cut_at = time.time()

    def everywhere():
        seen = {(node, service) for node, when, service in runs(run_log) if when > cut_at}
        return all((node, service) in seen for node in SATELLITES for service in SERVICES)

    wait_until(everywhere, 60, "both satellites to run every service once they lost each other", interval=0.5)
    measured["split_takeover"] = time.time() - cut_at
    start = time.time()
    measured["split_sources"] = watch(master, ports["master"], SPLIT)
    measured["split"] = per_interval(run_log, start, time.time())
    measured["split_gap"] = statistics.median(gaps(run_log, start, time.time()))
    link.restore()
    restored_at = time.time()

    def rejoined():
        recent = per_interval(run_log, time.time() - 2 * INTERVAL, time.time())
        return all(set(recent[service]) == {expected[service]} for service in SERVICES)

    wait_until(rejoined, 90, "the satellites to share the checks again", interval=1)
    measured["rejoin"] = time.time() - restored_at

    # Phase 3: satellite-b killed (SIGKILL to its whole session, as a crash).
    victim = nodes["satellite-b"]
    kill_session(victim.proc.pid, signal.SIGKILL, grace=0)
    victim.proc.wait(timeout=30)
    killed_at = time.time()
    moved = [service for service in SERVICES if expected[service] == "satellite-b"]

    def taken_over():
        seen = {service for node, when, service in runs(run_log) if node == "satellite-a" and when > killed_at}
        return set(moved) <= seen

    wait_until(taken_over, 120, "satellite-a to run the checks of the killed satellite-b", interval=0.5)
    measured["moved"] = moved
    measured["failover"] = {service: min(when for node, when, s in runs(run_log)
                                         if s == service and node == "satellite-a" and when > killed_at) - killed_at
                            for service in moved}
    start = time.time()
    measured["after_kill_sources"] = watch(master, ports["master"], AFTER_KILL)
    measured["after_kill"] = per_interval(run_log, start, time.time())
    print(summary(measured))
    return measured


def summary(measured: dict) -> str:
    def ratios(phase):
        return ", ".join(f"{s}: " + "+".join(f"{node[-1]} {rate:.2f}" for node, rate in sorted(measured[phase][s].items()))
                         for s in SERVICES)

    return (f"\nHA satellites, runs per service per {INTERVAL:g} s interval\n"
            f"  both up ({STEADY:g} s, median {measured['steady_gap']:.2f} s between runs): {ratios('steady')}\n"
            f"  lost each other ({SPLIT:g} s, both running after {measured['split_takeover']:.1f} s, median "
            f"{measured['split_gap']:.2f} s between one node's runs): {ratios('split')}\n"
            f"  back to one run per interval {measured['rejoin']:.1f} s after the link returned\n"
            f"  satellite-b killed: its {len(measured['moved'])} services on satellite-a after "
            f"{max(measured['failover'].values(), default=0):.1f} s (max); {ratios('after_kill')}")


def test_each_check_runs_once_per_interval_on_the_endpoint_the_rule_names(scenario):
    for service in SERVICES:
        nodes = scenario["steady"][service]
        assert set(nodes) == {scenario["expected"][service]}, f"{service} ran on {nodes} (no duplicates expected)"
        rate = sum(nodes.values())
        assert ONCE[0] <= rate <= ONCE[1], f"{service}: {rate:.2f} runs per interval"
    # The zone shares the work: both satellites have services (six names, the rule spreads them).
    assert set(scenario["expected"].values()) == set(SATELLITES)


def test_results_reach_the_master_with_the_satellite_as_check_source(scenario):
    for service in SERVICES:
        assert set(scenario["steady_sources"][service]) == {scenario["expected"][service]}, \
            (service, scenario["steady_sources"][service])
        result = scenario["master_results"][f"shop!{service}"]
        assert result["check_source"] == scenario["expected"][service], (service, result["check_source"])
        assert result["state"] == 0 and result["output"].startswith("CX LOGIN OK - logged in as s***@example.com"), \
            result["output"]
        assert Path(result["command"][0]).name == "check_cx_login"


def test_satellites_that_lose_each_other_both_run_every_check(scenario):
    for service in SERVICES:
        nodes = scenario["split"][service]
        assert set(nodes) == set(SATELLITES), f"{service} ran on {nodes}"
        # each endpoint once per interval: twice in all (2 runs each over 15 s under the suite's load)
        assert all(ONCE[0] <= rate <= ONCE[1] for rate in nodes.values()), f"{service}: {nodes}"
    # The master takes both endpoints' results: the check source of a service changes hands.
    assert any(set(sources) == set(SATELLITES) for sources in scenario["split_sources"].values()), \
        scenario["split_sources"]
    assert scenario["rejoin"] < 90


def test_a_killed_satellites_checks_move_to_the_other(scenario):
    assert scenario["moved"], "the rule gave satellite-b no service"
    assert max(scenario["failover"].values()) < 60, scenario["failover"]
    for service in SERVICES:
        nodes = scenario["after_kill"][service]
        assert set(nodes) == {"satellite-a"}, f"{service} ran on {nodes}"
        assert scenario["after_kill_sources"][service][-1] == "satellite-a", scenario["after_kill_sources"][service]
        assert ONCE[0] <= nodes["satellite-a"] <= ONCE[1], f"{service}: {nodes}"


def test_the_shop_saw_every_login_the_wrappers_logged(scenario):
    """The wrappers' count is the plugins' count: one POST of the login form per run."""
    logged = {service: 0 for service in SERVICES}
    for line in scenario["access_log"].splitlines():
        found = re.search(r'"POST /accounts/login/[^"]*" \d+ .* "cxcheck-ha/(cx-login-\d+)"', line)
        if found:
            logged[found.group(1)] += 1
    ran = {service: sum(1 for _, _, s in scenario["runs"] if s == service) for service in SERVICES}
    for service in SERVICES:
        # a run the kill interrupted may have logged no POST
        assert ran[service] - 2 <= logged[service] <= ran[service], (service, ran[service], logged[service])
