"""templates/nagios in a real Nagios 4 core (Debian nagios4-core): `nagios4 -v` over the
templates with Debian's stock objects, and a private Nagios running the example host against
the demo shop, every service forced, states and perfdata read back from status.dat and from
statusjson.cgi. The command lines are also parsed by the plugins' own option parsers.

The same Nagios in its own web UI: the CGIs (Debian nagios4-cgi) served by a private apache2 on
127.0.0.1, the service status page fetched over HTTP and rendered by headless Chromium (Debian
chromium) into a screenshot. CXCHECK_SCREENSHOT=PATH keeps the screenshot there
(docs/nagios-services.png is made so)."""

from __future__ import annotations

import html
import importlib
import os
import re
import shlex
import shutil
import struct
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, need_binary
from engines import (
    EXAMPLE_URL,
    STATES,
    STATUS_BITS,
    STOCK_NAGIOS_CFG,
    STOCK_OBJECTS,
    TEMPLATES,
    Apache,
    Nagios,
    browser_missing,
    chromium_dump_dom,
    chromium_screenshot,
    console_scripts,
    example_services,
    module_exists,
    nagios_blocks,
    need_cgis,
    rewrite_example,
    wait_until,
    write_wrappers,
)
from weblogs import REQUESTS, nginx

pytestmark = pytest.mark.slow(seconds=36)   # its measured time: the longest files start first (conftest)
NAGIOS_DIR = TEMPLATES / "nagios"
COMMANDS = NAGIOS_DIR / "cxcheck-commands.cfg"
SERVICE_TEMPLATES = NAGIOS_DIR / "cxcheck-templates.cfg"
EXAMPLE = NAGIOS_DIR / "cxcheck-demo-shop.cfg"
HOST = "demo-shop"
STATUS_PAGE = "/cgi-bin/nagios4/status.cgi?host=all&limit=0"

# What each service of the example (and the test's extra ones) must show against the demo shop:
# state, the start of the status line, the perfdata labels it must carry.
EXPECTED = {
    "CX login": (0, "CX LOGIN OK", {"time", "step_login_page", "step_login", "step_then"}),
    "CX checkout": (0, "CX CHECKOUT OK", {"time", "step_login", "step_payment", "step_place_order"}),
    "CX orders": (0, "CX TRANSACTION OK", set()),
    "CX NPS": (0, "CX NPS OK", set()),
    "CX apdex": (0, "CX APDEX OK", {"apdex", "satisfied", "tolerating", "frustrated", "requests", "p90", "p99"}),
    "CX CSAT": (0, "CX CSAT OK", {"csat", "csat_low", "csat_high", "satisfied", "responses"}),
    "CX first reply": (0, "CX SUPPORT OK", {"first_reply_p90", "first_reply_p50", "tickets", "waiting"}),
    "CX backlog": (0, "CX SUPPORT OK", {"backlog", "oldest_unsolved"}),
    "CX churn": (1, "CX CHURN WARNING", {"churn", "churn_previous", "base", "lost", "lost_value"}),
    "CX catalogue page": (0, "CX PAGE OK", {"ttfb", "dcl", "load", "lcp", "cls", "requests", "bytes",
                                            "failed_resources", "js_errors", "browser_memory"}),
    "CX login in a browser": (0, "CX CHECKOUT OK", {"time", "step_login_page", "step_login", "step_submit"}),
    # test-only services (EXTRA below)
    "CX login wrong password": (2, "CX LOGIN CRITICAL", {"time", "step_login_page", "step_login"}),
    "CX login secret from env": (0, "CX LOGIN OK", {"time", "step_login_page", "step_login"}),
    "CX page broken image": (2, "CX PAGE CRITICAL", {"load", "failed_resources"}),
}
BROWSER_TEMPLATES = {"cx-page-service", "cx-browser-journey-service"}

# A login with a wrong password (a second secret file), and the environment-variable style of
# passing a secret (the shipped check_cx_login_env): resource.cfg $USER4$ names a variable of the
# daemon's environment.
EXTRA = """
define service {
    use                         cx-login-service,generic-service
    host_name                   demo-shop
    service_description         CX login wrong password
    _CX_URL                     %(url)s/accounts/login/
    _CX_USERNAME                shopper@example.com
    _CX_SECRET                  wrong.password
}

define service {
    use                         cx-login-service,generic-service
    host_name                   demo-shop
    service_description         CX login secret from env
    check_command               check_cx_login_env
    _CX_URL                     %(url)s/accounts/login/
    _CX_USERNAME                shopper@example.com
}
"""
PASSWORD_VARIABLE = "CX_SHOP_PASSWORD"
# check_cx_page's evidence: the slow-widget page's missing image fails the run, a PNG is saved.
BROWSER_EXTRA = """
define service {
    use                         cx-page-service,generic-service
    host_name                   demo-shop
    service_description         CX page broken image
    _CX_URL                     %(url)s/catalogue/slow-widget/?ms=300
    _CX_OPTIONS                 --fail-on-resource-errors --screenshot-dir %(screenshots)s
}
"""


def parse_perfdata(text: str) -> dict[str, str]:
    out = {}
    for token in re.findall(r"(?:'[^']*'|\S)+", text or ""):
        label, _, rest = token.rpartition("=")
        out[label.strip("'")] = rest
    return out


def definitions(path: Path, kind: str, key: str) -> dict[str, dict]:
    return {d[key]: d for k, d, _ in nagios_blocks(path.read_text()) if k == kind and key in d}


def service_templates(service: dict) -> list[dict]:
    """The cx-* templates a service uses, nearest first."""
    templates = definitions(SERVICE_TEMPLATES, "service", "name")
    chain = []
    for name in service.get("use", "").split(","):
        node = templates.get(name.strip())
        while node is not None:
            chain.append(node)
            node = templates.get(node.get("use", ""))
    return chain


def service_plugin(service: dict) -> str:
    """The console script a service runs, through its templates and its command."""
    commands = definitions(COMMANDS, "command", "command_name")
    command = service.get("check_command") or next(
        (node["check_command"] for node in service_templates(service) if "check_command" in node), None)
    return commands[command]["command_line"].split()[0].split("/")[-1]


def missing_plugins() -> dict[str, str]:
    """Example services that cannot run here (yet): their plugin module or scenario is not in this
    checkout, or they drive a browser and Chromium, its driver or Selenium is missing.
    service -> reason."""
    scripts = console_scripts()
    out = {}
    for name, service in example_services(EXAMPLE).items():
        script = service_plugin(service)
        module = scripts[script].split(":")[0]
        scenario = rewrite_example(service.get("_CX_SCENARIO", ""), EXAMPLE_URL)
        assert module_exists(module), f"{script}: module {module} is not in this checkout"
        if scenario and not os.path.exists(scenario):
            out[name] = f"{scenario} does not exist yet"
        elif BROWSER_TEMPLATES & {node["name"] for node in service_templates(service)} and browser_missing():
            out[name] = browser_missing()
    return out


@pytest.fixture(scope="module")
def demo_password():
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    return DEMO_ACCOUNTS["shopper@example.com"]


def build_site(workdir: Path, shop_url: str, password: str, binary: str) -> tuple[Nagios, dict]:
    """A private Nagios with Debian's stock objects, cxcheck's templates and the example aimed at
    `shop_url`; the test's extra services beside it. Returns it unstarted, and the skipped services."""
    plugins = write_wrappers(workdir / "plugins", system_plugins=True)
    secrets = workdir / "secrets"
    secrets.mkdir(mode=0o700)
    for name, value in (("demo-shop.password", password), ("wrong.password", "not-the-password")):
        (secrets / name).write_text(value + "\n")
        (secrets / name).chmod(0o600)
    objects = workdir / "objects"
    objects.mkdir()
    skipped = missing_plugins()
    for source in (COMMANDS, SERVICE_TEMPLATES):
        (objects / source.name).write_text(source.read_text())
    demo = workdir / "demo"                  # the example's access log (the shop's, in `cxcheck demo`)
    demo.mkdir()
    (demo / "screenshots").mkdir()           # the browser checks' evidence
    (demo / "access.log").write_text("".join(nginx(*request) for request in REQUESTS))
    example = rewrite_example(EXAMPLE.read_text(), shop_url, skipped).replace("/var/tmp/cxcheck-demo", str(demo))
    (objects / EXAMPLE.name).write_text(example)
    extra = EXTRA % {"url": shop_url}
    if module_exists("cxcheck.checks.page") and not browser_missing():
        extra += BROWSER_EXTRA % {"url": shop_url, "screenshots": workdir / "screenshots"}
        (workdir / "screenshots").mkdir()
    else:
        skipped["CX page broken image"] = "check_cx_page or the browser is missing"
    (objects / "test-extra.cfg").write_text(extra)
    cfg_files = STOCK_OBJECTS + sorted(objects.glob("*.cfg"))
    nagios = Nagios(binary, workdir / "nagios", cfg_files,
                    {"USER1": str(plugins), "USER3": str(secrets), "USER4": PASSWORD_VARIABLE},
                    env={PASSWORD_VARIABLE: password})
    nagios.dir.mkdir()
    nagios.write_config()
    return nagios, skipped


def run_site(nagios: Nagios, services: list[str]) -> dict:
    """Start, wait for the first round, force every service of the host, wait for the forced
    results; status.dat's service entries by description."""
    nagios.start()
    keys = [(HOST, s) for s in services]
    first = nagios.wait_for_results(keys, since=0, timeout=60)
    latest = max(int(first[k]["last_check"]) for k in keys)
    wait_until(lambda: int(time.time()) > latest, 2, "the clock to pass the first round's last check")
    since = nagios.force_checks(HOST)
    final = nagios.wait_for_results(keys, since=since, timeout=60)
    return {desc: final[(host, desc)] for host, desc in keys}


@pytest.fixture(scope="module")
def nagios_site(shop, demo_password):
    binary = need_binary("nagios4", "nagios4-core")
    # The CGIs (web_ui) run as www-data: the site must be readable by it (pytest's tmp is not).
    workdir = Path(tempfile.mkdtemp(prefix="cxcheck-nagios-"))
    workdir.chmod(0o755)
    nagios = None
    try:
        nagios, skipped = build_site(workdir, shop.url, demo_password, binary)
        for path in [nagios.dir, *nagios.dir.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        results = run_site(nagios, [s for s in EXPECTED if s not in skipped])
        yield nagios, results, skipped
    finally:
        if nagios is not None:
            nagios.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def web_ui(nagios_site):
    """The site's CGIs behind a private apache2."""
    binary = need_binary("apache2", "apache2")
    need_cgis()
    nagios, results, skipped = nagios_site
    apache = Apache(binary, nagios.dir.parent / "apache", free_port(), nagios.cgi_cfg)
    try:
        apache.write_config()
        apache.start()
        yield apache, results
    finally:
        apache.stop()


# ---------------------------------------------------------------------------------------------


def test_nagios_verifies_the_templates_with_debians_stock_objects(tmp_path):
    """`nagios4 -v` over the templates as shipped (commands, service templates, the example host)
    beside Debian's stock objects: no error, no warning, every object counted."""
    binary = need_binary("nagios4", "nagios4-core")
    nagios = Nagios(binary, tmp_path, STOCK_OBJECTS + sorted(NAGIOS_DIR.glob("*.cfg")),
                    {"USER1": "/usr/lib/nagios/plugins", "USER3": "/etc/cxcheck/secrets"})
    nagios.write_config()
    proc = nagios.verify()
    out = proc.stdout
    assert proc.returncode == 0, out
    assert "Total Errors:   0" in out and "Total Warnings: 0" in out, out
    assert f"Checked {len(example_services(EXAMPLE))} services." in out, out
    commands = definitions(COMMANDS, "command", "command_name")
    assert len(commands) >= 5


def test_every_command_names_a_console_script_and_keeps_secrets_off_the_command_line():
    scripts = console_scripts()
    commands = definitions(COMMANDS, "command", "command_name")
    used = set()
    for name, command in commands.items():
        line = command["command_line"]
        program = line.split()[0]
        assert program.startswith("$USER1$/"), name
        script = program.split("/", 1)[1]
        if not script.startswith("check_cx_"):
            assert script == "check_http", name      # the shop host's check, from monitoring-plugins
            continue
        assert script in scripts, f"{name}: {script} is not a console script of pyproject.toml"
        used.add(script)
        # secrets: only ever a file path or a variable's name
        for option in ("--password", "--token", "--bearer"):
            assert re.search(rf"{option}(\s|=)", line) is None, f"{name}: {option} with a value on argv"
        for match in re.finditer(r"--(password|token|bearer)-(file|env) (\S+)", line):
            assert "$USER" in match.group(3), f"{name}: {match.group(0)} does not come from resource.cfg"
    plugins = {s for s in scripts if s.startswith("check_cx_")}
    assert plugins <= used, f"no command for {plugins - used}"


def test_every_plugin_has_a_command_taking_every_option():
    """check_cx_<name>_args runs the plugin with $ARG1$ as its argv: what `cxcheck config` uses;
    every other cxcheck command ends with $ARG1$ too (options any value may hold)."""
    from cxcheck.engines.nagios import command
    from cxcheck.plugin_table import PLUGINS

    commands = definitions(COMMANDS, "command", "command_name")
    for entry in PLUGINS:
        assert commands[command(entry)]["command_line"] == f"$USER1$/{entry.name} $ARG1$"
    assert all(c["command_line"].endswith(" $ARG1$") for name, c in commands.items() if name != "check_cx_shop_http")


def _expand(line: str, values: dict, resources: dict) -> list[str]:
    """The command line as the stock core makes it for a service without arguments: custom
    variables without the characters Debian's illegal_macro_output_chars removes."""
    def custom(match):
        return "".join(char for char in values.get(match.group(1), "") if char not in STOCK_ILLEGAL)

    line = re.sub(r"\$_SERVICE(\w+)\$", custom, line).replace("$ARG1$", "")
    for key, value in resources.items():
        line = line.replace(f"${key}$", value)
    return shlex.split(line.replace("\\;", ";"))


STOCK_ILLEGAL = next(line.split("=", 1)[1] for line in STOCK_NAGIOS_CFG.read_text().splitlines()
                     if line.startswith("illegal_macro_output_chars="))


def test_no_template_default_holds_a_character_the_core_removes():
    """Debian's core removes illegal_macro_output_chars from custom variables: a default holding
    one would not reach the plugin as written."""
    for _kind, directives, _ in [*nagios_blocks(SERVICE_TEMPLATES.read_text()), *nagios_blocks(EXAMPLE.read_text())]:
        for key, value in directives.items():
            if key.startswith("_"):
                assert not set(value) & set(STOCK_ILLEGAL), (directives.get("name") or directives.get(
                    "service_description"), key, value)


def test_every_service_template_gives_its_command_arguments_its_plugin_accepts(tmp_path):
    """Each cx-* template's command line, expanded with the template's variables (and sample
    values for the per-service ones), is accepted by the plugin's own option parser."""
    scripts = console_scripts()
    templates = definitions(SERVICE_TEMPLATES, "service", "name")
    commands = definitions(COMMANDS, "command", "command_name")
    samples = {"CX_URL": "https://shop.example.com/accounts/login/", "CX_USERNAME": "shopper@example.com",
               "CX_SCENARIO": str(TEMPLATES / "scenarios" / "shop-checkout-html.yaml"),
               "CX_PROMETHEUS": "http://127.0.0.1:9090", "CX_SUCCESS_QUERY": 'sum(x{outcome="success"})',
               "CX_TOTAL_QUERY": "sum(x)", "CX_CSV": "/tmp/export.csv", "CX_ZENDESK": "acme",
               "CX_ZENDESK_EMAIL": "ops@acme.example", "CX_SECRET": "helpdesk.token",
               "CX_LOG": "/var/log/nginx/access.log", "CX_HISTOGRAM": 'http_request_duration_seconds{job="shop"}'}
    checked = 0
    for template in templates.values():
        if "check_command" not in template:
            continue
        values = dict(samples)
        chain, node = [], template
        while node is not None:
            chain.append(node)
            node = templates.get(node.get("use", ""))
        for node in reversed(chain):
            values.update({k[1:]: v for k, v in node.items() if k.startswith("_")})
        argv = _expand(commands[template["check_command"]]["command_line"], values,
                       {"USER1": "/plugins", "USER3": str(tmp_path)})
        script = argv[0].rsplit("/", 1)[1]
        module = scripts[script].split(":")[0]
        if not module_exists(module):
            continue
        main = importlib.import_module(module).main
        main.build_parser().parse_args(argv[1:])   # a ConfigError fails the test with its reason
        checked += 1
    assert checked >= 3


def test_each_service_state_and_perfdata_in_status_dat(nagios_site):
    nagios, results, skipped = nagios_site
    for service, (state, start, labels) in EXPECTED.items():
        if service in skipped:
            continue
        entry = results[service]
        output = entry["plugin_output"]
        assert int(entry["current_state"]) == state, f"{service}: {STATES[int(entry['current_state'])]} {output}"
        assert output.startswith(start), f"{service}: {output}"
        perf = parse_perfdata(entry["performance_data"])
        assert labels <= set(perf), f"{service}: perfdata {entry['performance_data']!r} lacks {labels - set(perf)}"
        assert perf, f"{service}: no perfdata"
    # the rejected login says so, and its later steps report U
    wrong = results["CX login wrong password"]
    assert "step_then" not in parse_perfdata(wrong["performance_data"]) or \
        parse_perfdata(wrong["performance_data"])["step_then"].startswith("U")
    if skipped:
        pytest.skip("not run (plugin missing): " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))


def test_a_failed_page_names_its_resource_and_leaves_a_screenshot(nagios_site):
    """The slow-widget page's missing image, as Nagios keeps it: CRITICAL, the image in the long
    output, the screenshot saved in the service's --screenshot-dir and named there too."""
    from cxcheck.demo.shop.browser import MISSING_IMAGE

    nagios, results, skipped = nagios_site
    if "CX page broken image" in skipped:
        pytest.skip(skipped["CX page broken image"])
    entry = results["CX page broken image"]
    assert entry["plugin_output"].startswith("CX PAGE CRITICAL - /catalogue/slow-widget/: 1 first-party resource "
                                             "failed: 404 http://127.0.0.1:"), entry["plugin_output"]
    long_output = entry.get("long_plugin_output", "").replace("\\n", "\n")
    assert MISSING_IMAGE in long_output and "404" in long_output, long_output
    perf = parse_perfdata(entry["performance_data"])
    assert perf["failed_resources"].split(";")[0] == "1c", perf
    shots = sorted((nagios.dir.parent / "screenshots").glob("*.png"))
    assert shots, "no screenshot saved"
    assert shots[-1].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert str(shots[-1]) in long_output, long_output
    # the catalogue loads clean: nothing failed, no JavaScript error, no screenshot of it
    if "CX catalogue page" not in skipped:
        catalogue = parse_perfdata(results["CX catalogue page"]["performance_data"])
        assert catalogue["failed_resources"].split(";")[0] == "0c" and catalogue["js_errors"].split(";")[0] == "0c"
        assert not list((nagios.dir.parent / "demo" / "screenshots").glob("*.png"))


def test_perfdata_values_make_sense(nagios_site):
    nagios, results, skipped = nagios_site
    login = parse_perfdata(results["CX login"]["performance_data"])
    value, warn, crit = (login["time"].split(";") + ["", ""])[:3]
    assert value.endswith("s") and 0 < float(value[:-1]) < 5
    assert (warn, crit) == ("2", "5"), login["time"]         # the example's _CX_WARNING/_CX_CRITICAL
    if "CX checkout" in results:
        checkout = parse_perfdata(results["CX checkout"]["performance_data"])
        steps = [k for k in checkout if k.startswith("step_")]
        assert all(not checkout[k].startswith("U") for k in steps), checkout


def test_each_service_through_statusjson_cgi(nagios_site):
    """The same results as the CGIs read them (statusjson.cgi, run as a web server would)."""
    need_cgis()
    nagios, results, skipped = nagios_site
    data = nagios.statusjson(f"query=servicelist&details=true&hostname={HOST}")
    assert data["result"]["type_text"] == "Success", data["result"]
    services = data["data"]["servicelist"][HOST]
    for service, (state, start, labels) in EXPECTED.items():
        if service in skipped:
            continue
        entry = services[service]
        assert STATUS_BITS[entry["status"]] == STATES[state], f"{service}: {entry['plugin_output']}"
        assert entry["plugin_output"].startswith(start)
        assert labels <= set(parse_perfdata(entry["perf_data"])), entry["perf_data"]
        assert entry["has_been_checked"] is True


def test_no_secret_reaches_nagios_files(nagios_site, demo_password):
    """The password is in a secret file and the daemon's environment only: never in the object
    cache, the status file, the log, or a plugin's output."""
    nagios, results, skipped = nagios_site
    for path in (nagios.dir / "objects.cache", nagios.status_file, nagios.log_file, nagios.main_cfg):
        assert demo_password not in path.read_text(errors="replace"), path
    for entry in results.values():
        assert demo_password not in entry["plugin_output"] + entry.get("long_plugin_output", "")


def test_example_paths_exist_in_this_checkout():
    """What the example names under /usr/share/cxcheck (the .deb's layout) exists here."""
    skipped = missing_plugins()
    text = rewrite_example(EXAMPLE.read_text(), "http://127.0.0.1:8000", skipped)
    names = [m.group(0) for m in re.finditer(r"/\S+\.(?:yaml|csv)\b", text)]
    assert names
    for name in names:
        assert os.path.exists(name), name
    if skipped:
        pytest.skip("not checked (plugin missing): " + "; ".join(skipped))


# -- the web UI ---------------------------------------------------------------------------------

def status_rows(page: str) -> dict[str, str]:
    """service description -> state text, from status.cgi's service table."""
    rows = {}
    for match in re.finditer(r"service=([^&'\"]+)[^>]*>([^<]+)</a>.*?class=['\"]status(OK|WARNING|CRITICAL|UNKNOWN|PENDING)['\"]",
                             page, re.S):
        rows.setdefault(html.unescape(match.group(2)), match.group(3))
    return rows


def test_status_page_lists_the_cxcheck_services_with_their_states(web_ui):
    apache, results = web_ui
    with urllib.request.urlopen(apache.url + STATUS_PAGE, timeout=30) as answer:
        assert answer.status == 200
        page = answer.read().decode("utf-8", "replace")
    assert "Whoops" not in page, page[:2000]
    rows = status_rows(page)
    for service in results:
        state = STATES[int(results[service]["current_state"])]
        assert rows.get(service) == state, f"{service}: page says {rows.get(service)}, Nagios {state}; rows {rows}"
    assert HOST in page


def test_screenshot_of_the_service_status_page(web_ui, tmp_path):
    apache, results = web_ui
    chromium = need_binary("chromium", "chromium")
    url = apache.url + STATUS_PAGE
    profile = Path(tempfile.mkdtemp(prefix="cxcheck-chromium-"))
    try:
        dom = chromium_dump_dom(chromium, url, profile)
        for service in results:
            assert service in html.unescape(dom), f"{service} not in the rendered page"
        out = tmp_path / "nagios-services.png"
        proc = chromium_screenshot(chromium, url, out, profile, size=(1280, 60 + 40 * (len(results) + 6)))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert out.exists(), proc.stderr[-2000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1280 and height > 200
    assert len(data) < 300_000
    keep = os.environ.get("CXCHECK_SCREENSHOT")
    if keep:
        shutil.copyfile(out, keep)
