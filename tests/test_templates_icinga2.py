"""templates/icinga2 in a real Icinga 2 (Debian icinga2-bin) on Debian's stock /etc/icinga2
(tests/engines.py): `icinga2 daemon -C` over the CheckCommands and apply rules, the CheckCommands
checked to be what the plugins' parsers give (cxcheck.engines.icinga2_commands), and a private
daemon that runs the example host's services against the demo shop, so the argument dictionaries
(set_if, repeat_key, the secrets in the environment) are proven by the plugins' answers, not only
by the parser."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import free_port, need_binary
from engines import (
    EXAMPLE_PATHS,
    EXAMPLE_URL,
    TEMPLATES,
    Icinga2,
    browser_missing,
    console_scripts,
    module_exists,
    wait_until,
    write_wrappers,
)
from weblogs import REQUESTS, WHEN, nginx

pytestmark = pytest.mark.slow(seconds=12)   # its measured time: the longest files start first (conftest)
ICINGA_DIR = TEMPLATES / "icinga2"
COMMANDS = ICINGA_DIR / "cxcheck-commands.conf"
SERVICES = ICINGA_DIR / "cxcheck-services.conf"
HOST = "demo-shop"

# service -> (state, status line start, perfdata labels it must carry)
EXPECTED = {
    (HOST, "cx-login"): (0, "CX LOGIN OK", {"time", "step_then"}),
    (HOST, "cx-checkout"): (0, "CX CHECKOUT OK", {"time", "step_payment"}),
    (HOST, "cx-orders"): (0, "CX TRANSACTION OK", {"success"}),
    (HOST, "cx-nps"): (0, "CX NPS OK", set()),
    (HOST, "cx-orders-real-users"): (0, "CX TRANSACTION OK", set()),
    (HOST, "cx-csat"): (0, "CX CSAT OK", {"csat", "satisfied", "dissatisfied"}),
    (HOST, "cx-first-reply"): (0, "CX SUPPORT OK", {"first_reply_p90", "first_reply_p50"}),
    (HOST, "cx-backlog"): (0, "CX SUPPORT OK", {"backlog", "oldest_unsolved"}),
    (HOST, "cx-apdex-shop"): (0, "CX APDEX OK", {"apdex", "requests", "rejected", "p90", "p99"}),
    (HOST, "cx-checkout-conversion"): (0, "CX CONVERSION OK", {"conversion", "entered", "converted"}),
    (HOST, "cx-churn"): (1, "CX CHURN WARNING", {"churn", "churn_previous", "lost_value"}),
    (HOST, "cx-payments"): (1, "CX PAYMENTS WARNING", {"failure_rate", "failure_rate_previous", "refund_rate",
                                                       "dispute_rate"}),
    (HOST, "cx-revenue"): (0, "CX REVENUE OK", {"mrr", "arpu", "customers", "revenue_churn", "clv"}),
    (HOST, "cx-page-catalogue"): (0, "CX PAGE OK", {"ttfb", "dcl", "load", "lcp", "cls", "requests", "bytes",
                                                    "failed_resources", "js_errors", "browser_memory"}),
    (HOST, "cx-login-browser"): (0, "CX CHECKOUT OK", {"time", "step_login_page", "step_login", "step_submit"}),
    (HOST, "cx-app-reviews"): (2, "CX RATINGS CRITICAL - rating 3.13 (95% CI 2.62..3.65, n=45) over 30d",
                               {"rating", "low_share", "reviews", "rating_previous", "negative_share"}),
    # test-only host: the password itself in cx_password (through the environment), and a wrong one
    ("env-shop", "cx-login"): (0, "CX LOGIN OK", {"time"}),
    ("env-shop", "cx-checkout"): (0, "CX CHECKOUT OK", {"time"}),
    ("wrong-shop", "cx-login"): (2, "CX LOGIN CRITICAL", {"time"}),
    # test-only host: an access log in the server's own format ($ written $$), a window by timestamp
    ("log-shop", "cx-apdex-shop"): (2, "CX APDEX CRITICAL - Apdex 0.57 [0.5] poor < 0.7, 7 requests over 1h",
                                    {"apdex", "satisfied", "tolerating", "frustrated", "requests", "rejected", "p90"}),
}
PLUGIN_OF = {"cx-app-reviews": "check_cx_ratings", "cx-login": "check_cx_login", "cx-checkout": "check_cx_checkout", "cx-orders": "check_cx_transaction",
             "cx-nps": "check_cx_nps", "cx-orders-real-users": "check_cx_transaction", "cx-csat": "check_cx_csat",
             "cx-first-reply": "check_cx_support", "cx-backlog": "check_cx_support", "cx-apdex-shop": "check_cx_apdex",
             "cx-checkout-conversion": "check_cx_conversion", "cx-churn": "check_cx_churn",
             "cx-payments": "check_cx_payments", "cx-revenue": "check_cx_revenue",
             "cx-page-catalogue": "check_cx_page", "cx-login-browser": "check_cx_checkout"}
BROWSER_SERVICES = {"cx-page-catalogue", "cx-login-browser"}
BROWSER_SCENARIO = TEMPLATES / "scenarios" / "shop-login-browser.yaml"

EXTRA = """
object Host "env-shop" {
	import "cx-shop-host"
	address = "127.0.0.1"
	vars.http_port = %(port)s
	vars.http_uri = "/accounts/login/"
	vars.cx_base_url = "%(url)s"
	vars.cx_username = "shopper@example.com"
	vars.cx_password = "%(password)s"
	vars.cx_login = { cx_url = "%(url)s/accounts/login/" }
	vars.cx_checkouts["checkout"] = { cx_scenario = "%(scenarios)s/shop-checkout-html.yaml" }
}

object Host "log-shop" {
	import "cx-shop-host"
	address = "127.0.0.1"
	vars.http_port = %(port)s
	vars.http_uri = "/accounts/login/"
	vars.cx_access_logs["shop"] = {
		cx_log = "%(log)s"
		cx_log_format = "$$remote_addr - $$remote_user [$$time_local] \\"$$request\\" $$status $$body_bytes_sent \\"$$http_referer\\" \\"$$http_user_agent\\" $$request_time"
		cx_window = "1h"
		cx_now = "%(now)s"
		cx_min_volume = 1
	}
}

object Host "wrong-shop" {
	import "cx-shop-host"
	address = "127.0.0.1"
	vars.http_port = %(port)s
	vars.http_uri = "/accounts/login/"
	vars.cx_username = "shopper@example.com"
	vars.cx_password_file = "%(wrong)s"
	vars.cx_login = { cx_url = "%(url)s/accounts/login/" }
}
"""


def validated(binary: str, tmp: Path, plugin_dir: str = "/usr/lib/nagios/plugins") -> Icinga2:
    """Debian's stock Icinga 2 with the templates, validated (`icinga2 daemon -C`)."""
    engine = Icinga2(binary, tmp, sorted(ICINGA_DIR.glob("*.conf")), {"PluginDir": plugin_dir})
    engine.write_config()
    engine.checked = engine.validate()
    return engine


def test_the_checkcommands_are_what_the_plugins_parsers_give():
    """Every option of every plugin is an argument: the shipped file is the generator's output."""
    from cxcheck.engines.icinga2_commands import commands

    assert COMMANDS.read_text() == commands(), (
        "templates/icinga2/cxcheck-commands.conf is not what the plugins' parsers give: run "
        "PYTHONPATH=plugins python3 -m cxcheck.engines.icinga2_commands > templates/icinga2/cxcheck-commands.conf")


def test_icinga2_validates_the_templates(tmp_path):
    binary = need_binary("icinga2", "icinga2-bin")
    proc = validated(binary, tmp_path).checked
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "critical/" not in out, out
    assert re.search(r"warning/.*cxcheck", out) is None, out
    services = [name for (kind, name), properties in compiled_objects(tmp_path / "cache" / "icinga2.debug").items()
                if kind == "Service" and properties["check_command"].startswith("cx_")]
    assert len(services) == 16, services   # login, checkout, orders, nps, orders from Prometheus, csat, two waits,
    #                                        apdex, conversion, churn, the catalogue page, the login in a browser,
    #                                        app reviews, payments, revenue
    commands = re.findall(r'object CheckCommand "(cx_\w+)"', COMMANDS.read_text())
    assert len(commands) >= 4


def compiled_objects(debug_file: Path) -> dict[tuple[str, str], dict]:
    """(type, name) -> properties, from the objects file `icinga2 daemon -C` writes (netstrings of
    JSON): the arguments as Icinga built them, loops and removals done."""
    import json

    data, objects, at = debug_file.read_text(), {}, 0
    while at < len(data):
        colon = data.index(":", at)
        size = int(data[at:colon])
        item = json.loads(data[colon + 1:colon + 1 + size])
        objects[(item["type"], item["name"])] = item["properties"]
        at = colon + 1 + size + 1
    return objects


def test_every_option_is_an_argument_of_its_checkcommand(tmp_path):
    """As Icinga builds them (`daemon -C`'s objects): each plugin's CheckCommand has an argument for
    each option of the plugin's parser and none other (-v's count is one argument of its own)."""
    from cxcheck.engines.options import specs
    from cxcheck.plugin_table import PLUGINS

    binary = need_binary("icinga2", "icinga2-bin")
    proc = validated(binary, tmp_path).checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    objects = compiled_objects(tmp_path / "cache" / "icinga2.debug")
    for entry in PLUGINS:
        properties = objects[("CheckCommand", entry.icinga_command)]
        assert properties["command"][-1].endswith(f"/{entry.name}")
        options = {spec.long if spec.kind != "count" else "(verbose)" for spec in specs(entry.build_parser())}
        assert set(properties["arguments"]) == options, entry.name


def test_every_checkcommand_runs_a_console_script():
    scripts = console_scripts()
    found = re.findall(r'object CheckCommand "(\w+)" \{.*?command = \[ PluginDir \+ "/(\w+)" \]', COMMANDS.read_text(),
                       re.S)
    used = {script for _, script in found}
    for name, script in found:
        assert script in scripts, f"{name}: {script} is not a console script of pyproject.toml"
    assert {s for s in scripts if s.startswith("check_cx_")} <= used


def test_secrets_never_become_arguments():
    """A secret (cx_password, cx_token) is only ever an environment value: each use of it is the
    environment entry or a test that it is set; the arguments name the variable, or a file."""
    text = COMMANDS.read_text()
    for secret in ("cx_password", "cx_token"):
        uses = len(re.findall(rf"\${secret}\$", text))
        allowed = len(re.findall(rf'"CXCHECK_\w+" = "\${secret}\$"', text))
        allowed += len(re.findall(rf'string\(macro\("\${secret}\$"\)\) != ""', text))
        assert uses and uses == allowed, secret


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, shop):
    binary = need_binary("prometheus", "prometheus")
    import subprocess

    from engines import CLEAN_PATH, kill_session

    work = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    target = shop.url.split("//", 1)[1]
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: shop\n    static_configs: [{{targets: ['{target}']}}]\n")
    log = open(work / "prometheus.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/data",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env={"PATH": CLEAN_PATH}, cwd=work, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        import json
        import urllib.request

        def scraped():
            if proc.poll() is not None:
                raise AssertionError((work / "prometheus.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"{url}/api/v1/query?query=up", timeout=2) as answer:
                    result = json.load(answer)["data"]["result"]
                    return result and result[0]["value"][1] == "1"
            except OSError:
                return False

        wait_until(scraped, 30, "Prometheus to scrape the demo shop")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        kill_session(proc.pid)


@pytest.fixture(scope="module")
def icinga_run(tmp_path_factory, shop, prometheus):
    binary = need_binary("icinga2", "icinga2-bin")
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    password = DEMO_ACCOUNTS["shopper@example.com"]
    work = tmp_path_factory.mktemp("icinga2")
    plugins = write_wrappers(work / "plugins", system_plugins=True)
    secrets = work / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "demo-shop.password").write_text(password + "\n")
    (secrets / "wrong.password").write_text("not-the-password\n")
    port = shop.url.rsplit(":", 1)[1]

    scripts = console_scripts()
    skipped = {}
    for (host, service) in EXPECTED:
        script = PLUGIN_OF[service]
        module = scripts[script].split(":")[0]
        assert module_exists(module), f"{script}: module {module} is not in this checkout"
        if service in BROWSER_SERVICES and browser_missing():
            skipped[(host, service)] = browser_missing()
        elif service == "cx-login-browser" and not BROWSER_SCENARIO.exists():
            skipped[(host, service)] = f"{BROWSER_SCENARIO} does not exist yet"

    text = SERVICES.read_text()
    text = text.replace(EXAMPLE_URL, shop.url).replace("vars.http_port = 8000", f"vars.http_port = {port}")
    text = text.replace("http://127.0.0.1:9090", prometheus)
    text = text.replace("/etc/cxcheck/secrets", str(secrets))
    demo = work / "demo"                      # the example's access log: requests all within T
    demo.mkdir()
    (demo / "screenshots").mkdir()            # the browser checks' evidence of a failed run
    (demo / "access.log").write_text("".join(nginx("GET", "/", 200, 0.1) for _ in range(30)))
    text = text.replace("/var/tmp/cxcheck-demo", str(demo))
    for installed, here in EXAMPLE_PATHS.items():
        text = text.replace(installed, here)
    if any(s == "cx-nps" for _, s in skipped):
        text = re.sub(r'\tvars\.cx_nps\["nps"\] = \{.*?\n\t\}\n', "", text, flags=re.S)
    for variable, name, service in (("cx_pages", "catalogue", "cx-page-catalogue"),
                                    ("cx_browser_journeys", "login-browser", "cx-login-browser")):
        if (HOST, service) in skipped:
            text = re.sub(rf'\tvars\.{variable}\["{name}"\] = \{{.*?\n\t\}}\n', "", text, flags=re.S)
    conf_dir = work / "conf"
    conf_dir.mkdir()
    (conf_dir / COMMANDS.name).write_text(COMMANDS.read_text())
    (conf_dir / SERVICES.name).write_text(text)
    log = work / "access.log"
    log.write_text("".join(nginx(*request) for request in REQUESTS))
    (conf_dir / "test-extra.conf").write_text(EXTRA % {
        "url": shop.url, "port": port, "password": password, "wrong": secrets / "wrong.password",
        "scenarios": TEMPLATES / "scenarios", "log": log, "now": WHEN.isoformat()})

    icinga = Icinga2(binary, work / "icinga2", sorted(conf_dir.glob("*.conf")),
                     {"PluginDir": str(plugins), "NodeName": "cxcheck-test", "ZoneName": "cxcheck-test"})
    icinga.dir.mkdir()
    icinga.write_config()
    proc = icinga.validate()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    keys = [k for k in EXPECTED if k not in skipped]
    try:
        icinga.start()
        since = time.time()
        for host in sorted({h for h, _ in keys}):
            icinga.command(f"SCHEDULE_FORCED_HOST_SVC_CHECKS;{host};{int(since)}")

        def done():
            results = icinga.results()
            if all(k in results and results[k]["last_check"] >= since - 1 for k in keys):
                return results
            return None

        try:
            results = wait_until(done, 60, "Icinga 2 results of every service", interval=0.2)
        except AssertionError:
            raise AssertionError(f"results so far: {icinga.results()}\n"
                                 + (icinga.dir / "icinga2.out").read_text(errors="replace")[-4000:]) from None
        yield results, skipped, icinga
    finally:
        icinga.stop()


def test_icinga2_runs_every_service_against_the_demo_shop(icinga_run):
    results, skipped, icinga = icinga_run
    for key, (state, start, labels) in EXPECTED.items():
        if key in skipped:
            continue
        result = results[key]
        assert result["state"] == state, f"{key}: {result['output']}"
        assert result["output"].startswith(start), f"{key}: {result['output']}"
        perf = {token.split("=", 1)[0].strip("'") for token in result["perfdata"].split()}
        assert labels <= perf, f"{key}: {result['perfdata']}"
    if skipped:
        pytest.skip("not run (plugin missing): " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))


def test_icinga2_logs_no_warning_about_cxcheck_commands(icinga_run):
    """Missing macros, set_if values that are not booleans and such show as warnings in the log."""
    results, skipped, icinga = icinga_run
    log = (icinga.dir / "icinga2.out").read_text(errors="replace")
    bad = [line for line in log.splitlines()
           if ("warning/" in line or "critical/" in line) and ("cx" in line.lower() or "PluginUtility" in line)
           and not (skipped and "does not match anywhere" in line)]   # a rule emptied with its missing plugin
    assert not bad, "\n".join(bad)
