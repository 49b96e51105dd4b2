"""`cxcheck config`: a command that works in a shell, as a service for Nagios 4, Icinga 2 or
Centreon, whatever its values hold. The exact texts it writes for each engine, its one-line
mistakes, and its services run for real: each engine on Debian's stock configuration
(tests/engines.py) runs the real plugins of the services it wrote, against the demo shop and
export files: the cases users met (a score column with spaces and a `?`, a date format with `%`
and a space, a JSON Lines export no shipped command took, a page text with a space) and secrets
from files, from the daemon's environment, from an Icinga constant, from Centreon's password
macro. test_engine_transport.py runs every option of every plugin through the engines."""

from __future__ import annotations

import pytest
from clapi import Clapi
from conftest import run_plugin
from engines import TEMPLATES, browser_missing, nagios_host, run_in_icinga2, run_in_nagios, write_wrappers

from cxcheck.demo.shop import DEMO_ACCOUNTS

pytestmark = pytest.mark.slow(seconds=16)   # its measured time: the longest files start first (conftest)
PASSWORD = DEMO_ACCOUNTS["shopper@example.com"]
ENV_NAME = "CX_SHOP_PASSWORD"
SCENARIOS = TEMPLATES / "scenarios"
QUESTION = "How likely are you to recommend us?"
DATE_FORMAT = "%d/%m/%Y %H:%M"
NOW = "2026-11-01T00:00:00Z"


def config(*argv, code: int = 0) -> tuple[str, str]:
    result = run_plugin("cxcheck", "config", *argv, env={ENV_NAME: PASSWORD})
    assert result.code == code, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    return result.stdout, result.stderr


NPS = ["check_cx_nps", "--csv", "/var/lib/cx/nps export.csv", "--score-column", QUESTION, "--date-format",
       DATE_FORMAT, "-w", "30:", "-c", "10:", "--host", "shop"]


def test_nagios_service_takes_the_options_as_typed():
    assert config(*NPS) == ("""\
# check_cx_nps for Nagios 4 (also Naemon, Centreon Engine): paste into a cfg_dir file beside
# cxcheck-commands.cfg and cxcheck-templates.cfg (templates/nagios/), then check: nagios4 -v nagios.cfg
# The host shop must be defined (use cx-shop-host,generic-host for a shop seen from outside).
# check_cx_nps_args runs check_cx_nps with the options after the `!`, as in a shell ($$ is a $, \\! a !, \\; a ;).
define service {
    use                         cx-nps-service,generic-service
    host_name                   shop
    service_description         CX NPS
    check_command               check_cx_nps_args!--csv '/var/lib/cx/nps export.csv' --score-column 'How likely are you to recommend us?' --date-format '%d/%m/%Y %H:%M' -w 30: -c 10:
}
""", "")


def test_icinga2_service_sets_one_variable_per_option():
    assert config(*NPS, "--engine", "icinga2") == ("""\
/* check_cx_nps for Icinga 2: put it beside cxcheck-commands.conf and cxcheck-services.conf
 * (templates/icinga2/) in the zone's configuration, then check: icinga2 daemon -C
 * The host shop must exist (import "cx-shop-host" for a shop seen from outside).
 */
object Service "cx-nps" {
\timport "cx-survey-service"

\thost_name = "shop"
\tcheck_command = "cx_nps"
\tvars.cx_csv = "/var/lib/cx/nps export.csv"
\tvars.cx_score_column = "How likely are you to recommend us?"
\tvars.cx_date_format = [ "%d/%m/%Y %H:%M" ]
\tvars.cx_warning = "30:"
\tvars.cx_critical = "10:"
}
""", "")


def test_centreon_lines_hold_nothing_but_clapi_and_say_the_rest_on_stderr():
    out, err = config(*NPS, "--engine", "centreon")
    assert out == """\
SERVICE;ADD;shop;CX NPS;cxcheck-nps
SERVICE;setparam;shop;CX NPS;check_command;cxcheck-nps-args
SERVICE;setparam;shop;CX NPS;check_command_arguments;!--csv '/var/lib/cx/nps export.csv' --score-column 'How likely are you to recommend us?' --date-format '%d/%m/%Y %H:%M' -w 30: -c 10:
"""
    assert err == """\
note: check_cx_nps for Centreon: import after cxcheck-clapi.txt (templates/centreon/) with
note:   centreon -u admin -p '...' -i THIS_FILE      then export the configuration to the poller.
note: The host shop must exist, e.g.: HOST;ADD;shop;shop;ADDRESS;cxcheck-shop;Central;
"""


LOGIN = ["check_cx_login", "-u", "https://shop.example.com/accounts/login/", "--username", "shopper@example.com",
         "--host", "shop"]


def test_a_password_stays_where_the_command_named_it():
    """A file stays a file; a variable is the daemon's (Nagios), an Icinga constant, Centreon's
    password macro."""
    out, _ = config(*LOGIN, "--password-file", "/etc/cxcheck/secrets/shop.password")
    assert "check_cx_login_args!-u https://shop.example.com/accounts/login/ --username shopper@example.com " \
           "--password-file /etc/cxcheck/secrets/shop.password\n" in out
    assert "# The password: the file /etc/cxcheck/secrets/shop.password, readable by the nagios user only.\n" in out
    out, _ = config(*LOGIN, "--password-env", ENV_NAME)
    assert f"--password-env {ENV_NAME}\n" in out and f"the variable {ENV_NAME} of the Nagios daemon's environment" in out
    out, _ = config(*LOGIN, "--password-env", ENV_NAME, "--engine", "icinga2")
    assert f"\tvars.cx_password = {ENV_NAME}\n" in out and f'const {ENV_NAME} = "..."' in out
    out, err = config(*LOGIN, "--password-env", ENV_NAME, "--engine", "centreon")
    assert "--password-env NAGIOS__HOSTCX_PASSWORD\n" in out
    assert f"note: The password (your command read it from ${ENV_NAME}): set the host's CX_PASSWORD password " \
           "macro to it in the UI (Configuration > Hosts > shop > Macros).\n" in err


def test_what_no_shipped_command_ran_before_is_a_service_on_every_engine():
    """A JSON Lines export, a JSON endpoint, HubSpot deals: refused before, a command of one's own."""
    for argv in (["check_cx_nps", "--jsonl", "/var/lib/cx/nps.jsonl"],
                 ["check_cx_transaction", "--json-url", "https://shop.example.com/stats", "--success-path", "ok",
                  "--total-path", "all"],
                 ["check_cx_churn", "--hubspot", "--token-file", "/etc/cxcheck/secrets/hs.token"],
                 ["check_cx_csat", "--zendesk", "acme", "--zendesk-email", "a@example.com", "--token-env", "ZD"]):
        for engine in ("nagios", "icinga2", "centreon"):
            out, _ = config(*argv, "--engine", engine)
            assert out, (argv, engine)


@pytest.mark.parametrize("argv, message", [
    (["check_cx_zabbix"], "config: 'check_cx_zabbix' is not a plugin; one of check_cx_login, check_cx_checkout, "
                          "check_cx_transaction, check_cx_nps, check_cx_csat, check_cx_support, check_cx_apdex, "
                          "check_cx_conversion, check_cx_churn, check_cx_page, check_cx_ratings, "
                          "check_cx_payments, check_cx_revenue"),
    (["login", *LOGIN[1:], "--engine", "zabbix"], "argument --engine: invalid choice: 'zabbix' (choose from 'nagios', "
                                                  "'icinga2', 'centreon')"),
    # the plugin's own first mistakes, in the plugin's own words
    (["login", *LOGIN[1:], "--password", "x"], "argument --password: passwords and other secrets are never taken on "
                                               "the command line (ps shows them to every local user); use "
                                               "--password-env VAR or --password-file PATH"),
    (["login", *LOGIN[1:], "-w", "5", "-c", "2"], "the critical threshold (-c 2) is below the warning one (-w 5): a "
                                                  "value over 2 is critical before it ever warns; did you mean -w 2 -c 5?"),
    (["nps", "--csv", "/x.csv", "--score-column"], "argument --score-column/--score-field: expected one argument"),
    # what an engine cannot hold
    (["nps", "--csv", "/x.csv", "--score-column", "two\nlines"],
     "nagios: 'two\\nlines': a line break cannot be written in a command's arguments"),
    (["nps", "--csv", "/x.csv", "--service", "CX NPS (main)"],
     "nagios: service 'CX NPS (main)': the engine refuses ( ) in object names; choose another with --service"),
    (["nps", "--csv", "/x.csv", "--host", "shop;eu", "--engine", "centreon"],
     "centreon: host 'shop;eu': the engine refuses ; in object names; choose another with --host"),
    (["login", *LOGIN[1:], "--password-env", "NOT A NAME", "--engine", "icinga2"],
     "icinga2: 'NOT A NAME' cannot name an Icinga constant; give the password by file"),
])
def test_mistakes_are_one_line(argv, message):
    result = run_plugin("cxcheck", "config", *argv)
    assert (result.code, result.stdout, result.stderr) == (3, "", f"error: {message}\n")


def test_a_value_any_shell_takes_is_written():
    """Quotes, `;`, `$` and a leading dash: every engine writes them (the transport test runs them)."""
    for engine in ("nagios", "icinga2", "centreon"):
        out, _ = config("nps", "--csv", "/x.csv", "--score-column=-it's \"$x\"; 50%", "--service", "CX ; NPS",
                        "--engine", engine, code=3 if engine == "centreon" else 0)
    out, _ = config("nps", "--csv", "/x.csv", "--score-column=-it's \"$x\"; 50%")
    assert "check_cx_nps_args!--csv /x.csv '--score-column=-it'\"'\"'s \"$$x\"\\; 50%'\n" in out


# ---------------------------------------------------------------------------------------------
# The services it writes, run by the real plugins in each engine


def exports(work) -> dict:
    """An NPS export as a survey tool writes it (its question as the score column, day-first
    dates) and the same answers as JSON Lines."""
    import json

    rows = [(day, hour, 10 if day % 3 else 6) for day in range(2, 30) for hour in (10, 15)]
    csv = work / "nps export.csv"
    csv.write_text(f"Submitted at;{QUESTION}\n"
                   + "".join(f"{day:02d}/10/2026 {hour}:30;{score}\n" for day, hour, score in rows))
    jsonl = work / "nps.jsonl"
    jsonl.write_text("".join(json.dumps({"created_at": f"2026-10-{day:02d}T{hour}:30:00Z", "score": score}) + "\n"
                             for day, hour, score in rows))
    return {"csv": csv, "jsonl": jsonl}


def real_services(shop_url: str, work) -> dict[str, tuple[list[str], str]]:
    """service name -> (the command's options, the start of its status line)."""
    files = exports(work)
    secret = work / "shop password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    login = ["check_cx_login", "-u", f"{shop_url}/accounts/login/", "--username", "shopper@example.com",
             "--then-url", "/accounts/", "--then-text", "shopper@example.com", "-t", "30"]
    # -t 30 and the ceilings far above a login's time: the engine starts every service at once
    # beside a Chromium, on a machine the suite loads; what is tested is the transport.
    services = {
        "CX NPS question": (["check_cx_nps", "--csv", str(files["csv"]), "--score-column", QUESTION, "--date-column",
                             "Submitted at", "--date-format", DATE_FORMAT, "--now", NOW, "-w", "30:", "-c", "0:"],
                            "CX NPS OK - NPS 35.7 (95% CI 11.3..60.2, n=56)"),
        "CX NPS jsonl": (["check_cx_nps", "--jsonl", str(files["jsonl"]), "--now", NOW, "-w", "30:"],
                         "CX NPS OK - NPS 35.7 (95% CI 11.3..60.2, n=56)"),
        "CX login file": ([*login, "--password-file", str(secret), "-w", "20", "-c", "25"],
                          "CX LOGIN OK - logged in as s***@example.com"),
        "CX login env": ([*login, "--password-env", ENV_NAME], "CX LOGIN OK - logged in as s***@example.com"),
        "CX checkout env": (["check_cx_checkout", "--scenario", str(SCENARIOS / "shop-checkout-html.yaml"), "--var",
                             f"base_url={shop_url}", "--var-env", f"password={ENV_NAME}", "-t", "60",
                             *[f"--step-{level}={step}=20" for level in ("warning", "critical")
                               for step in ("login", "payment", "place_order")]], "CX CHECKOUT OK"),
    }
    if not browser_missing():
        services["CX page text"] = (["check_cx_page", "-u", f"{shop_url}/catalogue/", "--expect-text", "All products"],
                                    "CX PAGE OK")
    return services


HOST = "cx-shop"


@pytest.fixture(scope="module")
def site(tmp_path_factory, shop):
    work = tmp_path_factory.mktemp("config-site")
    return work, real_services(shop.url, work), write_wrappers(work / "plugins", system_plugins=True)


def written(engine: str, services: dict) -> list[tuple[str, str]]:
    return [config(*argv, "--host", HOST, "--service", name if engine != "icinga2" else name.lower().replace(" ", "-"),
                   "--engine", engine) for name, (argv, _) in services.items()]


def check(results: dict, services: dict, output_of, icinga: bool = False):
    for name, (_, start) in services.items():
        key = (HOST, name.lower().replace(" ", "-") if icinga else name)
        output = output_of(results[key])
        assert output.startswith(start), f"{key}: {output}"
        assert PASSWORD not in str(results[key])


def test_nagios_runs_what_it_wrote(site, tmp_path):
    work, services, plugins = site
    objects = nagios_host(HOST, "check_cx_nps_args!--help") + "\n".join(out for out, _ in written("nagios", services))
    results = run_in_nagios(tmp_path, objects, [(HOST, name) for name in services], plugins, env={ENV_NAME: PASSWORD})
    check(results, services, lambda entry: entry["plugin_output"])
    for path in (tmp_path / "nagios" / "objects.cache", tmp_path / "nagios" / "nagios.log"):
        assert PASSWORD not in path.read_text(errors="replace")


def test_icinga2_runs_what_it_wrote(site, tmp_path):
    work, services, plugins = site
    objects = (f'const {ENV_NAME} = "{PASSWORD}"\nobject Host "{HOST}" {{ check_command = "dummy" }}\n'
               + "\n".join(out for out, _ in written("icinga2", services)))
    results = run_in_icinga2(tmp_path, objects, [(HOST, name.lower().replace(" ", "-")) for name in services], plugins)
    check(results, services, lambda entry: entry["output"], icinga=True)


def test_centreon_runs_what_it_wrote(site, tmp_path):
    """The lines pass CLAPI's rules after cxcheck-clapi.txt and run as Centreon generates them,
    the password from the host's password macro through environment macros."""
    work, services, plugins = site
    model = Clapi((TEMPLATES / "centreon" / "cxcheck-clapi.txt").read_text())
    model.read(f"HOST;ADD;{HOST};{HOST};127.0.0.1;cxcheck-shop;Central;\n"
               f"HOST;setmacro;{HOST};CX_PASSWORD;{PASSWORD};1", "host: ")
    for out, _ in written("centreon", services):
        model.read(out, "config: ")
    assert not model.errors, "\n".join(model.errors)
    objects = model.nagios_objects(host_lines={HOST: ["contact_groups admins", "max_check_attempts 1"]})
    results = run_in_nagios(tmp_path, objects, [(HOST, name) for name in services], plugins, files=(),
                            settings={"enable_environment_macros": 1})
    check(results, services, lambda entry: entry["plugin_output"])
