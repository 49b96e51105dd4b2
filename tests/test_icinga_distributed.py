"""A real Icinga 2 cluster on 127.0.0.1 (Debian icinga2-bin): a master and a satellite, two
daemons with their own ports, directories and certificates from one CA made with `icinga2 pki`.
The CheckCommands travel to the satellite through a global zone (config sync); a cxcheck service
of the master has command_endpoint = the satellite. The master's plugin directory is empty, so a
check the master ran itself would fail: the result the master holds (its REST API and its
perfdata writer) is the satellite's, with check_source = satellite. docs/distributed.md says
what this proves."""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, need_binary
from engines import CLEAN_PATH, TEMPLATES, Icinga2, wait_until, write_wrappers

API_USER, API_PASSWORD = "cxcheck-test", "not-a-secret-of-any-shop"
pytestmark = pytest.mark.slow(seconds=13)   # its measured time: the longest files start first (conftest)
ZONES = """\
object Endpoint "master" {{ host = "127.0.0.1"; port = "{master_port}" }}
object Endpoint "satellite" {{ host = "127.0.0.1"; port = "{satellite_port}" }}
object Zone "master" {{ endpoints = [ "master" ] }}
object Zone "satellite" {{ endpoints = [ "satellite" ]; parent = "master" }}
object Zone "global-templates" {{ global = true }}
"""
API = """\
object ApiListener "api" {{
  bind_host = "127.0.0.1"
  bind_port = {port}
  accept_config = true
  accept_commands = true
}}
object ApiUser "{user}" {{ password = "{password}"; permissions = [ "objects/query/*", "actions/*" ] }}
"""
# The master zone's objects: a shop and its login journey, run by the satellite.
SHOP = """\
object Host "shop" {{
  check_command = "dummy"
  vars.dummy_text = "the shop host is not what this test checks"
}}
object Service "cx-login" {{
  host_name = "shop"
  check_command = "cx_login"
  command_endpoint = "satellite"
  check_interval = 2s
  retry_interval = 2s
  vars.cx_url = "{url}/accounts/login/"
  vars.cx_username = "shopper@example.com"
  vars.cx_password_file = "{secret}"
  vars.cx_warning = 3
  vars.cx_critical = 8
  vars.cx_timeout = 10
}}
"""


def pki(binary: str, node: Icinga2, *args: str):
    proc = subprocess.run([binary, "pki", *args, *node.dirs()], capture_output=True, text=True, timeout=60,
                          env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def certificates(binary: str, master: Icinga2, nodes: dict[str, Icinga2]):
    """One CA (in the master's data directory, as `icinga2 node wizard` would put it); a key and
    a certificate signed by it for each node, named after its endpoint."""
    pki(binary, master, "new-ca")
    ca = master.dir / "data" / "ca" / "ca.crt"
    for name, node in nodes.items():
        certs = node.dir / "data" / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        key, csr, crt = certs / f"{name}.key", certs / f"{name}.csr", certs / f"{name}.crt"
        pki(binary, master, "new-cert", "--cn", name, "--key", str(key), "--csr", str(csr))
        pki(binary, master, "sign-csr", "--csr", str(csr), "--cert", str(crt))
        shutil.copyfile(ca, certs / "ca.crt")


def api(master: Icinga2, port: int, path: str, body: dict | None = None) -> list[dict]:
    """The master's REST API: GET `path`, or POST `body` to it; its results."""
    context = ssl.create_default_context(cafile=str(master.dir / "data" / "certs" / "ca.crt"))
    context.check_hostname = False          # the certificate names the endpoint ("master"), not 127.0.0.1
    request = urllib.request.Request(f"https://127.0.0.1:{port}/v1/{path}",
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Accept": "application/json", "Authorization": "Basic " + base64.b64encode(
                                         f"{API_USER}:{API_PASSWORD}".encode()).decode()})
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:
        return json.load(answer)["results"]


def api_services(master: Icinga2, port: int) -> list[dict]:
    return api(master, port, "objects/services")


@pytest.fixture
def cluster(tmp_path, shop):
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    binary = need_binary("icinga2", "icinga2-bin")
    secret = tmp_path / "shop.password"
    secret.write_text(DEMO_ACCOUNTS["shopper@example.com"] + "\n")
    secret.chmod(0o600)
    ports = {"master": free_port(), "satellite": free_port()}
    plugins = {"master": tmp_path / "master-plugins", "satellite": write_wrappers(tmp_path / "satellite-plugins")}
    plugins["master"].mkdir()                     # nothing in it: the master cannot run check_cx_login
    nodes = {}
    for name in ("master", "satellite"):
        work = tmp_path / name
        work.mkdir()
        # Debian's stock configuration, as an administrator sets up a cluster: zones.conf replaced,
        # the api feature on.
        nodes[name] = Icinga2(binary, work, [], {"PluginDir": str(plugins[name]), "NodeName": name, "ZoneName": name},
                              zones=ZONES.format(master_port=ports["master"], satellite_port=ports["satellite"]),
                              features={"api": API.format(port=ports[name], user=API_USER, password=API_PASSWORD)})
        nodes[name].write_config()
    master = nodes["master"]
    zones = master.dir / "zones.d"
    (zones / "global-templates").mkdir(parents=True)
    shutil.copyfile(TEMPLATES / "icinga2" / "cxcheck-commands.conf", zones / "global-templates" / "cxcheck-commands.conf")
    (zones / "master").mkdir()
    (zones / "master" / "shop.conf").write_text(SHOP.format(url=shop.url, secret=secret))
    certificates(binary, master, nodes)
    for node in nodes.values():
        proc = node.validate()
        assert proc.returncode == 0, proc.stdout + proc.stderr
    try:
        nodes["satellite"].start()
        master.start()
        yield nodes, ports
    finally:
        for node in nodes.values():
            node.stop()


def test_the_master_holds_the_result_its_satellite_ran(cluster):
    nodes, ports = cluster
    master, satellite = nodes["master"], nodes["satellite"]

    # The satellite reloads once the CheckCommands reach it; a check the master sent it meanwhile
    # is lost, and the master waits the command's timeout and 30 s more (90 s) before sending it
    # again (Icinga's own guard against running a remote check twice). As an administrator would,
    # the test then asks for the check now ("Check now", the API's reschedule-check), every 5 s.
    asked = [time.monotonic()]

    def satellite_result():
        services = {s["name"]: s["attrs"] for s in api_services(master, ports["master"])}
        result = services.get("shop!cx-login", {}).get("last_check_result") or {}
        if result.get("check_source") == "satellite" and result.get("state") == 0:
            return result
        if time.monotonic() - asked[-1] >= 5:
            asked.append(time.monotonic())
            api(master, ports["master"], "actions/reschedule-check",
                {"type": "Service", "filter": 'service.name == "cx-login"', "force": True})
        return None

    try:
        result = wait_until(satellite_result, 120, "the satellite's result of cx-login on the master", interval=1)
    except AssertionError:
        logs = "\n".join(f"--- {name}\n" + (node.dir / "icinga2.out").read_text(errors="replace")[-3000:]
                         for name, node in nodes.items())
        raise AssertionError(f"{logs}\nservices: {api_services(master, ports['master'])}") from None
    assert result["output"].startswith("CX LOGIN OK - logged in as s***@example.com in "), result["output"]
    assert result["command"][0] == str(Path(satellite.constants["PluginDir"]) / "check_cx_login"), result["command"]
    assert result["exit_status"] == 0
    labels = {p.split("=", 1)[0].strip("'") for p in result["performance_data"]}
    assert {"time", "step_login_page", "step_login"} <= labels, result["performance_data"]
    # The master's own writers have it too (its perfdata writer's files).
    wait_until(lambda: master.results().get(("shop", "cx-login"), {}).get("output", "").startswith("CX LOGIN OK"),
               30, "the result in the master's perfdata files", interval=0.5)
    # The CheckCommands reached the satellite by config sync, not from its own configuration.
    synced = list((satellite.dir / "data" / "api" / "zones" / "global-templates").rglob("cxcheck-commands.conf"))
    assert synced, "no synced global-templates zone on the satellite"
    assert "cx_login" in synced[0].read_text()
    assert time.time() - result["execution_end"] < 300
