"""What an Icinga admin sees of cxcheck: graphs and the web UI, on Debian 12's own packages.

One stack for the module, every part on its stock configuration with only paths, names and ports
changed (see stock_icinga, graphite_stack, icingaweb_stack): Icinga 2 (icinga2-bin, features
graphite, ido-mysql, perfdata, command as `icinga2 feature enable` would) runs the shipped example
host of templates/icinga2 against the demo shop and a Prometheus scraping it; its GraphiteWriter
sends to carbon-cache (graphite-carbon), read back through graphite-web's render API
(graphite-web); its IDO writes to MariaDB, read by Icinga Web 2's monitoring module (icingaweb2,
icingaweb2-module-monitoring) with icingaweb2-module-graphite and the graphs templates shipped in
templates/icingaweb2-graphite; headless Chromium logs in through Selenium.

Vendor facts relied on, each from the vendor's documentation:
- the metric paths `icinga2.<host>.services.<service>.<check command>.perfdata.<label>.value`
  and, with enable_send_thresholds, `.warn .crit .min .max`; characters escaped in the prefix
  and labels: https://icinga.com/docs/icinga-2/latest/doc/14-features/#graphite-schema
- "metric backends (Graphite, InfluxDB, etc.) get perfdata (including warn, crit, min, max)
  normalized by Icinga", ms to seconds, KB to bytes, "Unknown UoMs are discarded", "c" a counter:
  https://icinga.com/docs/icinga-2/latest/doc/05-service-monitoring/#unit-of-measurement-uom
- the render API (`format=json`: a list of {target, datapoints: [[value, timestamp]]};
  `format=png`), and `/metrics/expand`: https://graphite.readthedocs.io/en/latest/render_api.html
  and https://graphite.readthedocs.io/en/latest/metrics_api.html
- Icinga Web 2 set up without its wizard (resources.ini, config.ini, authentication.ini,
  roles.ini, modules/monitoring/backends.ini, enabledModules/):
  https://icinga.com/docs/icinga-web/latest/doc/20-Advanced-Topics/#web-setup-manual-from-source
- the graphite module's templates (graph, metrics_filters, urlparams, functions; templates in
  <config dir>/modules/graphite/templates; the default template for metrics no template of the
  check command names): https://icinga.com/docs/icinga-web-graphite-integration/latest/doc/04-Templates/

CXCHECK_SCREENSHOT=PATH keeps the service page's screenshot there (docs/icingaweb2-service.png is
made so)."""

from __future__ import annotations

import math
import os
import re
import shutil
import struct
import tempfile
import time
from pathlib import Path

import pytest
from conftest import free_port, need_binary, need_browser
from engines import EXAMPLE_PATHS, EXAMPLE_URL, TEMPLATES, Icinga2, browser_missing, wait_until, write_wrappers
from graphite_stack import Carbon, GraphiteWeb
from icinga_features import icinga_log, stock_feature
from icingaweb_stack import IDO_SCHEMA, Apache, IcingaWeb2, MariaDB
from test_templates_icinga2 import EXPECTED as EXAMPLE_EXPECTED
from test_templates_icinga2 import prometheus  # noqa: F401  (a fixture: the example's Prometheus)
from weblogs import nginx

pytestmark = pytest.mark.slow(seconds=95)   # its measured time: the longest files start first (conftest)
HOST = "demo-shop"
ADMIN = ("cxadmin", "not-a-secret-of-any-shop")
GRAPH_TEMPLATES = TEMPLATES / "icingaweb2-graphite"
ROUNDS = 3
SPACING = 2        # seconds between the login journey's rounds
BROWSER_SERVICES = {"cx-page-catalogue", "cx-login-browser"}
# The units cxcheck emits, and the factor Icinga 2 applies to each for the metric backends (its
# docs, above: seconds, percent, bytes and counters keep their numbers). A unit a plugin emits
# that is not here fails the test: find what Icinga makes of it first (KB is scaled, an unknown
# unit is dropped). ms is here for ping4, which Debian's stock conf.d/services.conf applies to
# the example host (it has an address): its rta shows the scaling to seconds.
NORMALISED = {"s": 1.0, "%": 1.0, "B": 1.0, "c": 1.0, "": 1.0, "ms": 0.001}


def example_config(shop_url: str, prometheus_url: str, secrets: Path, demo: Path) -> str:
    """The shipped example host and rules, aimed at this shop, Prometheus and directories."""
    text = (TEMPLATES / "icinga2" / "cxcheck-services.conf").read_text()
    port = shop_url.rsplit(":", 1)[1]
    text = text.replace(EXAMPLE_URL, shop_url).replace("vars.http_port = 8000", f"vars.http_port = {port}")
    text = text.replace("http://127.0.0.1:9090", prometheus_url)
    text = text.replace("/etc/cxcheck/secrets", str(secrets)).replace("/var/tmp/cxcheck-demo", str(demo))
    for installed, here in EXAMPLE_PATHS.items():
        text = text.replace(installed, here)
    if browser_missing():
        for variable, name in (("cx_pages", "catalogue"), ("cx_browser_journeys", "login-browser")):
            text = re.sub(rf'\tvars\.{variable}\["{name}"\] = \{{.*?\n\t\}}\n', "", text, flags=re.S)
    return text


def perfdata_records(icinga: Icinga2) -> list[dict]:
    """Every service result the stock PerfdataWriter wrote (rotated files and the one in progress)."""
    spool = icinga.dir / "spool"
    records = []
    for path in sorted([*(spool / "perfdata").glob("service-perfdata*"), *(spool / "tmp").glob("service-perfdata*")]):
        text = path.read_text(errors="replace")
        for line in text[:text.rfind("\n") + 1].splitlines():        # a line being written is not one yet
            fields = dict(field.split("::", 1) for field in line.split("\t") if "::" in field)
            if fields.get("DATATYPE") == "SERVICEPERFDATA":
                records.append(fields)
    return sorted(records, key=lambda r: float(r["TIMET"]))


def parse_perfdata(text: str) -> dict[str, dict]:
    """label -> {value, unit, warn, crit, min, max} as the plugin wrote them (strings)."""
    out = {}
    for token in re.findall(r"(?:'[^']*'|\S)+", text):
        label, _, rest = token.rpartition("=")
        fields = (rest.split(";") + [""] * 5)[:5]
        value, unit = re.fullmatch(r"(U|[-+0-9.eE]*)(\D*)", fields[0]).groups()
        out[label.strip("'")] = {"value": value, "unit": unit, "warn": fields[1], "crit": fields[2],
                                 "min": fields[3], "max": fields[4]}
    return out


def graphite_expectations(records: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """metric path -> the (time, value) points Graphite should hold, in order, from the plugin's
    own perfdata: the value and plain-number thresholds scaled as Icinga normalises their unit; a
    `U` value sends nothing for its label, a range threshold (`80:`) sends no .warn/.crit."""
    expected: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        prefix = f"icinga2.{record['HOSTNAME']}.services.{record['SERVICEDESC']}.{record['SERVICECHECKCOMMAND']}"
        when = float(record["TIMET"])
        for label, fields in parse_perfdata(record["SERVICEPERFDATA"]).items():
            assert fields["unit"] in NORMALISED, f"{record['SERVICEDESC']}: unit {fields['unit']!r} of {label}: " \
                                                 "Icinga 2 drops units it does not know"
            if fields["value"] in ("U", ""):
                continue
            factor = NORMALISED[fields["unit"]]
            path = f"{prefix}.perfdata.{label}"
            expected.setdefault(f"{path}.value", []).append((when, float(fields["value"]) * factor))
            for kind in ("warn", "crit", "min", "max"):
                if re.fullmatch(r"[-+]?[0-9.]+(e[-+]?\d+)?", fields[kind]):
                    expected.setdefault(f"{path}.{kind}", []).append((when, float(fields[kind]) * factor))
    return expected


def differences(expected: dict, stored: dict, since: float) -> dict:
    """Series whose stored values are not the expected ones. Every result from `since` on must be
    there; an older one may be missing (checks Icinga ran before its GraphiteWriter connected:
    it drops what it cannot send)."""
    wrong = {}
    for path, points in expected.items():
        values = [v for _, v in stored.get(path, [])]
        due = sum(1 for when, _ in points if when >= int(since))
        tail = [v for _, v in points][-len(values):] if values else []
        if len(values) < due or not same_values(tail, values):
            wrong[path] = ([v for _, v in points], values)
    return wrong


@pytest.fixture(scope="module")
def stack(shop, prometheus):  # noqa: F811  (the imported fixture)
    icinga_binary = need_binary("icinga2", "icinga2-bin")
    carbon_binary = need_binary("carbon-cache", "graphite-carbon")
    apache_binary = need_binary("apache2", "apache2")
    need_binary("graphite-manage", "graphite-web")
    need_binary("mariadbd", "mariadb-server")
    for path, package in ((IDO_SCHEMA, "icinga2-ido-mysql"), (Path("/usr/share/icingaweb2/public"), "icingaweb2"),
                          (Path("/usr/share/icingaweb2/modules/monitoring"), "icingaweb2-module-monitoring"),
                          (Path("/usr/share/icingaweb2/modules/graphite"), "icingaweb2-module-graphite")):
        if not path.exists():
            if os.environ.get("CI"):
                pytest.fail(f"{path} is missing: .ci/run must install Debian package {package}")
            pytest.skip(f"{path} is missing (Debian package {package})")
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    # The web server's and carbon's users read parts of it: not pytest's private tmp.
    work = Path(tempfile.mkdtemp(prefix="cxcheck-graphs-"))
    work.chmod(0o755)
    started = []
    try:
        db = MariaDB(work / "mariadb", free_port())
        db.write_config()
        started.append(db)
        db.start()
        db.create("icinga", "icinga", "icinga", IDO_SCHEMA)
        carbon = Carbon(carbon_binary, work / "carbon", free_port(), free_port(), free_port())
        carbon.write_config()
        started.append(carbon)
        carbon.start()
        graphite = GraphiteWeb(work / "graphite-web", carbon, free_port())
        web = IcingaWeb2(work / "icingaweb2", db, ADMIN, graphite.url, GRAPH_TEMPLATES)
        web_port = free_port()
        apache = Apache(apache_binary, work / "apache", [graphite.port, web_port],
                        [graphite.write_config(), web.write_config()],
                        env={"GRAPHITE_SETTINGS_MODULE": "local_settings"})
        apache.write_config()
        started.append(apache)
        apache.start()
        try:
            wait_until(graphite.up, 60, "graphite-web to answer")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{apache.tail()}") from None

        secrets, demo = work / "secrets", work / "demo"
        secrets.mkdir(mode=0o700)
        (secrets / "demo-shop.password").write_text(DEMO_ACCOUNTS["shopper@example.com"] + "\n")
        (demo / "screenshots").mkdir(parents=True)
        (demo / "access.log").write_text("".join(nginx("GET", "/", 200, 0.1) for _ in range(30)))
        objects = work / "objects"
        objects.mkdir()
        shutil.copyfile(TEMPLATES / "icinga2" / "cxcheck-commands.conf", objects / "cxcheck-commands.conf")
        (objects / "cxcheck-services.conf").write_text(example_config(shop.url, prometheus, secrets, demo))
        icinga = Icinga2(icinga_binary, work / "icinga2", sorted(objects.glob("*.conf")),
                         {"PluginDir": str(write_wrappers(work / "plugins", system_plugins=True)),
                          "NodeName": "cxcheck-master"},
                         features={"graphite": stock_feature("graphite", host="127.0.0.1", port=carbon.line_port,
                                                             enable_send_thresholds=True),
                                   "ido-mysql": stock_feature("ido-mysql", host="127.0.0.1", port=db.port,
                                                              user="icinga", password="icinga", database="icinga"),
                                   "perfdata": stock_feature("perfdata")})
        icinga.write_config()
        for spool in ("tmp", "perfdata"):       # the stock PerfdataWriter's (the package makes them)
            (icinga.dir / "spool" / spool).mkdir(parents=True, exist_ok=True)
        proc = icinga.validate()
        assert proc.returncode == 0, proc.stdout + proc.stderr
        started.append(icinga)
        icinga.start()
        # Results before the writer's first connection are dropped, not queued.
        wait_until(lambda: "Finished reconnecting to Graphite" in icinga_log(icinga, 0), 60, "Icinga 2 to reach carbon")
        rounds = run_rounds(icinga, db)
        yield {"icinga": icinga, "graphite": graphite, "web": web, "apache": apache, "db": db, "rounds": rounds,
               "url": f"http://127.0.0.1:{web_port}/icingaweb2", "work": work}
    finally:
        for component in reversed(started):
            component.stop()
        shutil.rmtree(work, ignore_errors=True)


def example_services() -> set[str]:
    services = {service for host, service in EXAMPLE_EXPECTED if host == HOST}
    return services - BROWSER_SERVICES if browser_missing() else services


def run_rounds(icinga: Icinga2, db: MariaDB) -> list[float]:
    """Every service of the example host once, then the login journey again, ROUNDS runs in all
    (each round to its last result): the graphs get a line, not a point."""
    starts = []
    for number in range(ROUNDS):
        if starts:      # a few seconds apart (the IDO and Graphite keep whole seconds: one point each)
            last = ido_last_checks(db)["cx-login"]
            wait_until(lambda last=last: time.time() >= int(last) + SPACING, 30, "the next round's time")
        since = time.time()
        starts.append(since)
        if number == 0:
            services = example_services()
            icinga.command(f"SCHEDULE_FORCED_HOST_SVC_CHECKS;{HOST};{int(since)}")
            icinga.command(f"SCHEDULE_FORCED_HOST_CHECK;{HOST};{int(since)}")
        else:
            services = {"cx-login"}
            icinga.command(f"SCHEDULE_FORCED_SVC_CHECK;{HOST};cx-login;{int(since)}")

        def done(since=since, services=services):
            latest = ido_last_checks(db)
            return all(latest.get(service, 0) >= int(since) for service in services)    # whole seconds

        try:
            wait_until(done, 180, f"results of round {number + 1}", interval=0.5)
        except AssertionError:
            raise AssertionError(f"last checks: {ido_last_checks(db)}\n{icinga_log(icinga)}") from None
    return starts


def ido_last_checks(db: MariaDB) -> dict[str, float]:
    """service -> when the IDO database says it was last checked (the stock perfdata files
    appear only when the writer rotates them, every 30 s)."""
    rows = db.sql("SET time_zone = '+00:00'; SELECT o.name2, UNIX_TIMESTAMP(s.last_check) FROM icinga_servicestatus s "
                  "JOIN icinga_objects o ON o.object_id = s.service_object_id "
                  f"WHERE o.name1 = '{HOST}' AND o.is_active = 1", "icinga")
    return {name: float(when) for name, when in (line.split("\t") for line in rows.splitlines()) if when != "NULL"}


def ido_services(db: MariaDB) -> dict[str, tuple[int, str]]:
    """service -> (state, output) of the example host, as the IDO database holds them."""
    rows = db.sql("SELECT o.name2, s.current_state, s.output FROM icinga_servicestatus s "
                  "JOIN icinga_objects o ON o.object_id = s.service_object_id "
                  f"WHERE o.name1 = '{HOST}' AND o.is_active = 1", "icinga")
    return {name: (int(state), output) for name, state, output in (line.split("\t", 2) for line in rows.splitlines())}


@pytest.fixture(scope="module")
def logged_in(stack):
    """Headless Chromium through the project's browser layer (Selenium, Debian's chromedriver),
    logged in to Icinga Web 2 with the login form."""
    need_browser()
    from selenium.webdriver.common.by import By

    from cxcheck.browser.session import Browser
    from cxcheck.runtime.deadline import Deadline

    wait_until(lambda: "cx-login" in ido_services(stack["db"]) and stack["db"].sql(
        "SELECT s.current_state FROM icinga_hoststatus s JOIN icinga_objects o ON o.object_id = s.host_object_id "
        f"WHERE o.name1 = '{HOST}' AND s.has_been_checked = 1", "icinga").strip() == "0",
        60, "the IDO database to hold the host UP and cx-login")
    with Browser(Deadline(600), window=(1280, 1000)) as browser:
        driver = browser.driver
        driver.set_page_load_timeout(60)
        driver.get(f"{stack['url']}/authentication/login")
        driver.find_element(By.NAME, "username").send_keys(ADMIN[0])
        driver.find_element(By.NAME, "password").send_keys(ADMIN[1])
        driver.find_element(By.NAME, "password").submit()
        try:
            wait_until(lambda: "/authentication/login" not in driver.current_url, 60, "Icinga Web 2 to log in")
        except AssertionError:
            raise AssertionError(driver.page_source[-3000:] + stack["web"].tail() + stack["apache"].tail()) from None
        yield driver


def service_page(stack, service: str) -> str:
    return f"{stack['url']}/monitoring/service/show?host={HOST}&service={service}&graphs_limit=-1"


def loaded_graphs(driver) -> list[dict]:
    """The graphite module's images on the page once the module's JavaScript has loaded them."""
    script = ("return Array.from(document.querySelectorAll('img.graphiteImg')).map(i => ({"
              "src: i.currentSrc, actual: i.dataset.actualimageurl, complete: i.complete, width: i.naturalWidth}))")

    def loaded():
        images = driver.execute_script(script)
        return images if images and all(i["complete"] and i["width"] > 1 and "/graphite/graph/" in i["src"]
                                        for i in images) else None

    return wait_until(loaded, 60, "the graph images to load", interval=0.5)


def test_icingaweb2_shows_the_login_service_with_its_graphs(stack, logged_in, tmp_path):
    from selenium.webdriver.common.by import By

    driver = logged_in
    state, output = ido_services(stack["db"])["cx-login"]
    assert state == 0 and output.startswith("CX LOGIN OK - logged in as s***@example.com in "), output
    driver.get(service_page(stack, "cx-login"))
    images = loaded_graphs(driver)
    detail = driver.find_element(By.CSS_SELECTOR, "#col1").text
    assert "cx-login" in detail and HOST in detail, detail[:2000]
    assert re.search(r"\bOK\b", detail), detail[:2000]
    assert "CX LOGIN OK - logged in as s***@example.com in " in detail, detail[:2000]
    # The journey's own graphs, from cxcheck's templates: its time and each of its steps.
    templates = sorted(re.search(r"[?&]template=([^&]+)", i["actual"]).group(1) for i in images)
    assert templates == ["cx-journey-step"] * 3 + ["cx-journey-time"], templates
    png = driver.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "icingaweb2-service.png").write_bytes(png)
    keep = os.environ.get("CXCHECK_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(png)


def test_every_perfdata_label_has_a_cxcheck_graph(stack, logged_in):
    """On each example service's page, every series Graphite holds is drawn by a cxcheck template:
    the module falls back to its default template (`default_template=`) for a label none names."""
    driver = logged_in

    def stored_services():
        found = stack["graphite"].find(f"icinga2.{HOST}.services.cx-*.*.perfdata.*.value")
        return {path.split(".")[3] for path in found}

    # conversion may have no value yet
    stored = wait_until(lambda: (lambda s: s if len(s) >= len(example_services()) - 1 else None)(stored_services()),
                        60, "Graphite to hold the example services' series")
    uncovered = {}
    for service in sorted(stored):
        driver.get(service_page(stack, service))
        images = loaded_graphs(driver)
        fallback = [i["actual"] for i in images if "default_template=" in i["actual"]]
        if fallback:
            uncovered[service] = fallback
    assert not uncovered, uncovered


# Graphite last: the stock PerfdataWriter shows the rounds' results when it rotates its files
# (every 30 s), which the Icinga Web 2 pages above leave time for.

def test_graphite_holds_every_result_as_icinga_normalises_it(stack):
    icinga, graphite, since = stack["icinga"], stack["graphite"], stack["rounds"][0]

    def compared():
        records = perfdata_records(icinga)
        runs = [r["SERVICEDESC"] for r in records if float(r["TIMET"]) >= int(since)]
        if not (set(runs) >= example_services() and runs.count("cx-login") >= ROUNDS):
            return None, {"perfdata files": "the rounds' results not written yet (rotated every 30 s)"}
        expected = graphite_expectations(records)
        wrong = differences(expected, graphite.render_json(sorted(expected), since="-15min"), since)
        # Graphite holds nothing Icinga was not given: every series under the host is one of ours
        # (a result newer than the perfdata files' last rotation waits for the next one).
        for path in set(graphite.find(f"icinga2.{HOST}.services.*.*.perfdata.*.*")) - set(expected):
            wrong[path] = ("no result wrote it", "in Graphite")
        return expected, wrong

    try:
        expected, _ = wait_until(lambda: (lambda e, w: None if w else (e, w))(*compared()), 90,
                                 "Graphite to hold every result", interval=1)
    except AssertionError:
        expected, wrong = compared()
        raise AssertionError(f"{len(wrong)} series differ (expected, stored): {dict(list(wrong.items())[:10])}") from None
    services = {path.split(".")[3] for path in expected}
    assert {"cx-login", "cx-csat", "cx-apdex-shop", "cx-churn", "cx-app-reviews"} <= services, services
    # Debian's ping4 writes milliseconds, which the comparison above scaled to seconds as Icinga does.
    assert all(0 <= v < 0.1 for _, v in expected.get(f"icinga2.{HOST}.services.ping4.ping4.perfdata.rta.value", []))
    login = f"icinga2.{HOST}.services.cx-login.cx_login.perfdata.time"
    assert len(expected[f"{login}.value"]) >= ROUNDS
    assert {v for _, v in expected[f"{login}.warn"]} == {2.0} and {v for _, v in expected[f"{login}.crit"]} == {5.0}
    print(f"\nGraphite: {len(expected)} series for the example host's {len(services)} services")


def same_values(expected: list[float], stored: list[float]) -> bool:
    return len(expected) == len(stored) and all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
                                                for a, b in zip(expected, stored))


def test_graphite_renders_the_login_time_with_its_thresholds_as_png(stack):
    graphite = stack["graphite"]
    path = f"icinga2.{HOST}.services.cx-login.cx_login.perfdata.time"
    png = graphite.get("/render", [("format", "png"), ("from", "-15min"), ("width", 600), ("height", 300),
                                   ("target", f"{path}.value"), ("target", f"{path}.warn"), ("target", f"{path}.crit")])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (600, 300)
    assert len(png) > 3000              # lines and labels drawn, not an empty frame
