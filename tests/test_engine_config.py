"""`cxcheck config`: a command that works in a shell, as a service for Nagios 4, Icinga 2 or
Centreon, built on the shipped templates.

Its output is loaded into the real engines beside the shipped templates (`nagios4 -v`,
`icinga2 daemon -C`), and run: a private Nagios and a private Icinga 2 run the services it wrote
against the demo shop (secrets from files, from the daemon's environment, from an Icinga
constant). Centreon's CLAPI lines are checked against the shipped import file's objects and their
command line, expanded as Centreon Engine would, is run against the shop."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import need_binary, plugin_env, run_plugin
from engines import STOCK_OBJECTS, TEMPLATES, Icinga2, Nagios, icinga2_validate, wait_until, write_wrappers

from cxcheck.demo.shop import DEMO_ACCOUNTS
from cxcheck.engines import icinga2 as icinga2_writer

PASSWORD = DEMO_ACCOUNTS["shopper@example.com"]
ENV_NAME = "CX_SHOP_PASSWORD"
SCENARIOS = TEMPLATES / "scenarios"


def secret_files(work: Path) -> Path:
    """The directory of secret files a poller keeps ($USER3$), with the demo account's password."""
    secrets = work / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "demo-shop.password").write_text(PASSWORD + "\n")
    return secrets


def config(*argv) -> str:
    result = run_plugin("cxcheck", "config", *argv, env={ENV_NAME: PASSWORD})
    assert (result.code, result.stderr) == (0, ""), result.stderr
    assert PASSWORD not in result.stdout
    return result.stdout


def test_nagios_service_for_a_login():
    assert config("check_cx_login", "-u", "https://shop.example.com/accounts/login/", "--username",
                  "shopper@example.com", "--password-file", "/etc/cxcheck/secrets/shop.password", "-w", "2", "-c", "5",
                  "--then-url", "/accounts/", "--then-text", "shopper@example.com", "--host", "shop") == """\
# check_cx_login for Nagios 4 (also Naemon, Centreon Engine): paste into a cfg_dir file beside
# cxcheck-commands.cfg and cxcheck-templates.cfg (templates/nagios/), then check: nagios4 -v nagios.cfg
# The host shop must be defined (use cx-shop-host,generic-host for a shop seen from outside).
# The password: the file $USER3$/shop.password; resource.cfg needs $USER3$=/etc/cxcheck/secrets
# (one file per secret, readable by the nagios user only).
define service {
    use                         cx-login-service,generic-service
    host_name                   shop
    service_description         CX login
    _CX_URL                     https://shop.example.com/accounts/login/
    _CX_USERNAME                shopper@example.com
    _CX_SECRET                  shop.password
    _CX_WARNING                 2
    _CX_CRITICAL                5
    _CX_OPTIONS                 --then-url /accounts/ --then-text shopper@example.com
}
"""


def test_icinga2_service_for_a_checkout_with_the_password_in_a_constant():
    assert config("check_cx_checkout", "--scenario", "/etc/cxcheck/checkout.yaml", "--var",
                  "base_url=https://shop.example.com", "--var", "email=shopper@example.com", "--var-env",
                  f"password={ENV_NAME}", "--runs", "3", "--step-warning", "payment=2", "-w", "10", "-c", "20",
                  "--engine", "icinga2", "--host", "shop") == """\
/* check_cx_checkout for Icinga 2: put it beside cxcheck-commands.conf and cxcheck-services.conf
 * (templates/icinga2/) in the zone's configuration, then check: icinga2 daemon -C
 * The host shop must exist (import "cx-shop-host" for a shop seen from outside).
 * The password: the constant CX_SHOP_PASSWORD, defined once where only root and Icinga read it,
 * e.g. const CX_SHOP_PASSWORD = "..." in /etc/icinga2/constants.conf; Icinga passes it to the
 * plugin in its environment (CXCHECK_PASSWORD, CXCHECK_TOKEN), never on the command line.
 */
object Service "cx-checkout" {
\timport "cx-journey-service"

\thost_name = "shop"
\tcheck_command = "cx_checkout"
\tvars.cx_base_url = "https://shop.example.com"
\tvars.cx_username = "shopper@example.com"
\tvars.cx_password = CX_SHOP_PASSWORD
\tvars.cx_warning = "10"
\tvars.cx_critical = "20"
\tvars.cx_scenario = "/etc/cxcheck/checkout.yaml"
\tvars.cx_runs = "3"
\tvars.cx_step_warning = [ "payment=2" ]
}
"""


def test_page_services_for_each_engine():
    argv = ["check_cx_page", "-u", "https://shop.example.com/catalogue/", "--metric", "lcp", "-w", "2.5", "-c", "4",
            "--fail-on-resource-errors", "--screenshot-dir", "/var/lib/cxcheck/screenshots", "--window", "1024x768",
            "--host", "shop"]
    assert config(*argv) == NAGIOS_HEAD.format(plugin="check_cx_page") + """\
define service {
    use                         cx-page-service,generic-service
    host_name                   shop
    service_description         CX page
    check_command               check_cx_page
    _CX_URL                     https://shop.example.com/catalogue/
    _CX_METRIC                  lcp
    _CX_WARNING                 2.5
    _CX_CRITICAL                4
    _CX_OPTIONS                 --fail-on-resource-errors first-party --screenshot-dir /var/lib/cxcheck/screenshots --window 1024x768
}
"""
    assert config(*argv, "--engine", "icinga2") == ICINGA2_HEAD.format(plugin="check_cx_page") + """\
 */
object Service "cx-page" {
\timport "cx-browser-service"

\thost_name = "shop"
\tcheck_command = "cx_page"
\tvars.cx_warning = "2.5"
\tvars.cx_critical = "4"
\tvars.cx_url = "https://shop.example.com/catalogue/"
\tvars.cx_metric = "lcp"
\tvars.cx_fail_on_resource_errors = "first-party"
\tvars.cx_screenshot_dir = "/var/lib/cxcheck/screenshots"
\tvars.cx_window_size = "1024x768"
}
"""
    assert config(*argv, "--engine", "centreon").endswith("""\
SERVICE;ADD;shop;CX page;cxcheck-page
SERVICE;setmacro;shop;CX page;CX_URL;https://shop.example.com/catalogue/
SERVICE;setmacro;shop;CX page;CX_METRIC;lcp
SERVICE;setmacro;shop;CX page;CX_WARNING;2.5
SERVICE;setmacro;shop;CX page;CX_CRITICAL;4
SERVICE;setmacro;shop;CX page;CX_OPTIONS;--fail-on-resource-errors first-party --screenshot-dir /var/lib/cxcheck/screenshots --window 1024x768
""")


def test_browser_journeys_and_logins_get_the_browser_templates():
    """A scenario with browser: true gets the browser templates (their intervals and ranges) and
    keeps its screenshots; check_cx_login --browser passes --browser."""
    scenario = SCENARIOS / "shop-login-browser.yaml"
    journey = ["check_cx_checkout", "--scenario", str(scenario), "--var", "base_url=https://shop.example.com",
               "--var-file", "password=/etc/cxcheck/secrets/shop.password", "--host", "shop"]
    assert config(*journey, "--screenshot-dir", "/var/lib/cxcheck/screenshots") == NAGIOS_HEAD.format(
        plugin="check_cx_checkout") + f"""\
# The password: the file $USER3$/shop.password; resource.cfg needs $USER3$=/etc/cxcheck/secrets
# (one file per secret, readable by the nagios user only).
# No -w/-c given: the cx-browser-journey-service template's ranges apply.
define service {{
    use                         cx-browser-journey-service,generic-service
    host_name                   shop
    service_description         CX checkout
    _CX_SCENARIO                {scenario}
    _CX_URL                     https://shop.example.com
    _CX_USERNAME                shopper@example.com
    _CX_SECRET                  shop.password
    _CX_OPTIONS                 --screenshot-dir /var/lib/cxcheck/screenshots
}}
"""
    assert "\nSERVICE;ADD;shop;CX checkout;cxcheck-browser-journey\n" in config(*journey, "--engine", "centreon")
    assert '\timport "cx-browser-service"\n' in config(*journey, "--engine", "icinga2")
    assert config("check_cx_login", "-u", "https://shop.example.com/spa/login/", "--username", "shopper@example.com",
                  "--password-file", "/etc/cxcheck/secrets/shop.password", "--browser", "--screenshot-dir",
                  "/var/lib/cxcheck/screenshots", "--engine", "icinga2", "--host", "shop") == \
        ICINGA2_HEAD.format(plugin="check_cx_login") + """\
 * The password: the file /etc/cxcheck/secrets/shop.password on the node that runs the check, readable by the icinga user (nagios on Debian) only.
 */
object Service "cx-login" {
\timport "cx-browser-service"

\thost_name = "shop"
\tcheck_command = "cx_login"
\tvars.cx_password_file = "/etc/cxcheck/secrets/shop.password"
\tvars.cx_url = "https://shop.example.com/spa/login/"
\tvars.cx_username = "shopper@example.com"
\tvars.cx_browser = true
\tvars.cx_screenshot_dir = "/var/lib/cxcheck/screenshots"
}
"""
    # an HTTP scenario keeps the journey templates
    html = ["check_cx_checkout", "--scenario", str(SCENARIOS / "shop-checkout-html.yaml"), "--var",
            "base_url=https://shop.example.com", "--var-file", "password=/p"]
    assert "    use                         cx-checkout-service,generic-service\n" in config(*html)


def test_centreon_lines_for_a_login():
    assert config("check_cx_login", "-u", "https://shop.example.com/accounts/login/", "--username",
                  "shopper@example.com", "--password-env", ENV_NAME, "-w", "2", "-c", "5", "--then-url", "/accounts/",
                  "--engine", "centreon", "--host", "shop") == """\
# check_cx_login for Centreon: import after cxcheck-clapi.txt (templates/centreon/) with
#   centreon -u admin -p '...' -i THIS_FILE      then export the configuration to the poller
# The host shop must exist, e.g.: HOST;ADD;shop;shop;ADDRESS;cxcheck-shop;Central;
# The password (your command reads it from the environment variable CX_SHOP_PASSWORD): set the host's CX_PASSWORD macro to it in the UI (Configuration > Hosts > shop > Macros).
# It is a password macro, exported to the plugin as NAGIOS__HOSTCX_PASSWORD (enable environment macros on the poller); it never sits in this file.
HOST;setmacro;shop;CX_BASE_URL;https://shop.example.com
HOST;setmacro;shop;CX_USERNAME;shopper@example.com
SERVICE;ADD;shop;CX login;cxcheck-login
SERVICE;setmacro;shop;CX login;CX_LOGIN_PATH;/accounts/login/
SERVICE;setmacro;shop;CX login;CX_WARNING;2
SERVICE;setmacro;shop;CX login;CX_CRITICAL;5
SERVICE;setmacro;shop;CX login;CX_OPTIONS;--then-url /accounts/
"""


# What every service a writer prints starts with (the host: shop).
NAGIOS_HEAD = """\
# {plugin} for Nagios 4 (also Naemon, Centreon Engine): paste into a cfg_dir file beside
# cxcheck-commands.cfg and cxcheck-templates.cfg (templates/nagios/), then check: nagios4 -v nagios.cfg
# The host shop must be defined (use cx-shop-host,generic-host for a shop seen from outside).
"""
ICINGA2_HEAD = """\
/* {plugin} for Icinga 2: put it beside cxcheck-commands.conf and cxcheck-services.conf
 * (templates/icinga2/) in the zone's configuration, then check: icinga2 daemon -C
 * The host shop must exist (import "cx-shop-host" for a shop seen from outside).
"""
CENTREON_HEAD = """\
# {plugin} for Centreon: import after cxcheck-clapi.txt (templates/centreon/) with
#   centreon -u admin -p '...' -i THIS_FILE      then export the configuration to the poller
# The host shop must exist, e.g.: HOST;ADD;shop;shop;ADDRESS;cxcheck-shop;Central;
"""


def test_nagios_service_for_csat_from_zendesk_with_the_token_in_a_file():
    assert config("csat", "--zendesk", "acme", "--zendesk-email", "agent@example.com", "--token-file",
                  "/etc/cxcheck/secrets/zendesk.token", "--window", "7d", "-w", "80:", "-c", "70:", "--scale", "1-7",
                  "--host", "shop") == NAGIOS_HEAD.format(plugin="check_cx_csat") + """\
# The API token: the file $USER3$/zendesk.token; resource.cfg needs $USER3$=/etc/cxcheck/secrets
# (one file per secret, readable by the nagios user only).
define service {
    use                         cx-csat-zendesk-service,generic-service
    host_name                   shop
    service_description         CX CSAT
    check_command               check_cx_csat_zendesk
    _CX_ZENDESK                 acme
    _CX_ZENDESK_EMAIL           agent@example.com
    _CX_WINDOW                  7d
    _CX_SECRET                  zendesk.token
    _CX_WARNING                 80:
    _CX_CRITICAL                70:
    _CX_OPTIONS                 --scale 1-7
}
"""


def test_nagios_service_for_apdex_from_prometheus_keeps_the_bearer_file_an_option():
    assert config("apdex", "--prometheus", "http://prometheus:9090", "--histogram",
                  'http_request_duration_seconds{job="shop"}', "-T", "0.25", "--window", "5m", "--bearer-file",
                  "/etc/cxcheck/secrets/prom.token", "-w", "0.85:", "-c", "0.7:", "--host", "shop") == NAGIOS_HEAD.format(plugin="check_cx_apdex") + """\
define service {
    use                         cx-apdex-prometheus-service,generic-service
    host_name                   shop
    service_description         CX apdex
    check_command               check_cx_apdex_prometheus
    _CX_PROMETHEUS              http://prometheus:9090
    _CX_HISTOGRAM               http_request_duration_seconds{job="shop"}
    _CX_WINDOW                  5m
    _CX_TARGET                  0.25
    _CX_WARNING                 0.85:
    _CX_CRITICAL                0.7:
    _CX_OPTIONS                 --token-file /etc/cxcheck/secrets/prom.token
}
"""


def test_nagios_service_for_churn_says_the_command_judges_with_significance():
    assert config("churn", "--events-csv", "/var/lib/cx/events.csv", "--max-rise", "50", "-w", "5", "-c", "8",
                  "--currency", "EUR", "--host", "shop") == NAGIOS_HEAD.format(plugin="check_cx_churn") + """\
# The check_cx_churn_events command always passes --significant (judges only what the tests confirm); your command did not.
define service {
    use                         cx-churn-service,generic-service
    host_name                   shop
    service_description         CX churn
    check_command               check_cx_churn_events
    _CX_CSV                     /var/lib/cx/events.csv
    _CX_MAX_RISE                50
    _CX_WARNING                 5
    _CX_CRITICAL                8
    _CX_OPTIONS                 --currency EUR
}
"""


def test_icinga2_services_for_apdex_conversion_and_churn():
    assert config("apdex", "--log", "/var/log/nginx/access.log", "-T", "0.5", "--method", "GET", "--method", "POST",
                  "--exclude-status", "4xx", "-w", "0.85:", "-c", "0.7:", "--engine", "icinga2", "--host",
                  "shop") == ICINGA2_HEAD.format(plugin="check_cx_apdex") + """\
 * It reads the log: run it on the web server's node (command_endpoint, an agent there).
 */
object Service "cx-apdex" {
\timport "cx-apdex-service"

\thost_name = "shop"
\tcheck_command = "cx_apdex"
\tvars.cx_warning = "0.85:"
\tvars.cx_critical = "0.7:"
\tvars.cx_target = "0.5"
\tvars.cx_log = "/var/log/nginx/access.log"
\tvars.cx_methods = [ "GET", "POST" ]
\tvars.cx_exclude_status = [ "4xx" ]
}
"""
    assert config("conversion", "--mixpanel", "12345", "--funnel-id", "7509", "--service-account", "cx-monitor",
                  "--token-env", "MIXPANEL_SECRET", "--window", "1d", "--max-drop", "30", "--significant", "-w", "2:",
                  "-c", "1:", "--engine", "icinga2", "--host", "shop") == ICINGA2_HEAD.format(plugin="check_cx_conversion") + """\
 * The API token: the constant MIXPANEL_SECRET, defined once where only root and Icinga read it,
 * e.g. const MIXPANEL_SECRET = "..." in /etc/icinga2/constants.conf; Icinga passes it to the
 * plugin in its environment (CXCHECK_PASSWORD, CXCHECK_TOKEN), never on the command line.
 */
object Service "cx-conversion" {
\timport "cx-metric-service"

\thost_name = "shop"
\tcheck_command = "cx_conversion"
\tcheck_interval = 10m
\tretry_interval = 10m
\tvars.cx_token = MIXPANEL_SECRET
\tvars.cx_warning = "2:"
\tvars.cx_critical = "1:"
\tvars.cx_mixpanel = "12345"
\tvars.cx_funnel_id = "7509"
\tvars.cx_service_account = "cx-monitor"
\tvars.cx_window = "1d"
\tvars.cx_significant = true
\tvars.cx_max_drop = "30"
}
"""
    # cx-rates passes --significant unless told not to: the command ran without it
    assert config("churn", "--events-csv", "/var/lib/cx/events.csv", "--max-rise", "50", "-w", "5", "-c", "8",
                  "--engine", "icinga2", "--host", "shop") == ICINGA2_HEAD.format(plugin="check_cx_churn") + """\
 */
object Service "cx-churn" {
\timport "cx-survey-service"

\thost_name = "shop"
\tcheck_command = "cx_churn"
\tvars.cx_significant = false
\tvars.cx_warning = "5"
\tvars.cx_critical = "8"
\tvars.cx_events_csv = "/var/lib/cx/events.csv"
\tvars.cx_max_rise = "50"
}
"""


def test_centreon_lines_for_support_from_zendesk_and_conversion_from_mixpanel():
    assert config("support", "--zendesk", "acme", "--zendesk-email", "agent@example.com", "--token-env", "ZD_TOKEN",
                  "--metric", "resolution", "-w", "1d", "-c", "2d", "--percentile", "75", "--engine", "centreon",
                  "--host", "shop") == CENTREON_HEAD.format(plugin="check_cx_support") + """\
# The API token (your command reads it from the environment variable ZD_TOKEN): set the service's CX_TOKEN password macro to it in the UI; the plugin reads it from NAGIOS__SERVICECX_TOKEN (enable environment macros on the poller). It never sits in this file.
SERVICE;ADD;shop;CX support;cxcheck-support-zendesk
SERVICE;setmacro;shop;CX support;CX_ZENDESK;acme
SERVICE;setmacro;shop;CX support;CX_ZENDESK_EMAIL;agent@example.com
SERVICE;setmacro;shop;CX support;CX_METRIC;resolution
SERVICE;setmacro;shop;CX support;CX_WARNING;1d
SERVICE;setmacro;shop;CX support;CX_CRITICAL;2d
SERVICE;setmacro;shop;CX support;CX_OPTIONS;--percentile 75
"""
    assert config("conversion", "--mixpanel", "12345", "--funnel-id", "7509", "--service-account", "cx-monitor",
                  "--token-file", "/etc/cxcheck/secrets/mixpanel.secret", "--region", "eu", "--window", "1d",
                  "--significant", "-t", "40", "--engine", "centreon", "--host", "shop") == CENTREON_HEAD.format(plugin="check_cx_conversion") + """\
# The API token (your command reads it from the file /etc/cxcheck/secrets/mixpanel.secret): set the service's CX_SECRET password macro to it in the UI; the plugin reads it from NAGIOS__SERVICECX_SECRET (enable environment macros on the poller). It never sits in this file.
# No -w/-c given: the cxcheck-conversion-mixpanel template's ranges apply.
SERVICE;ADD;shop;CX conversion;cxcheck-conversion-mixpanel
SERVICE;setmacro;shop;CX conversion;CX_PROJECT;12345
SERVICE;setmacro;shop;CX conversion;CX_FUNNEL_ID;7509
SERVICE;setmacro;shop;CX conversion;CX_SERVICE_ACCOUNT;cx-monitor
SERVICE;setmacro;shop;CX conversion;CX_REGION;eu
SERVICE;setmacro;shop;CX conversion;CX_WINDOW;1d
SERVICE;setmacro;shop;CX conversion;CX_TIMEOUT;40
"""


def test_the_shipped_modes_name_the_shipped_commands_templates_and_settings():
    """Each way shipped.MODES runs a plugin: the Nagios template exists and its command reads every
    setting (and the secret file); the Centreon template exists with every setting's macro and the
    token's password macro, and its command line reads them."""
    from test_templates_centreon import CLAPI, Clapi

    from cxcheck.engines.shipped import MODES

    nagios = (TEMPLATES / "nagios" / "cxcheck-commands.cfg").read_text()
    commands = dict(re.findall(r"command_name\s+(\S+)\n\s+command_line\s+(.*)", nagios))
    templates = (TEMPLATES / "nagios" / "cxcheck-templates.cfg").read_text()
    centreon = Clapi(CLAPI.read_text())
    for mode in MODES:
        template, command = mode.nagios
        assert re.search(rf"name\s+{re.escape(template)}\n", templates), template
        for _, name in mode.settings:
            assert f"$_SERVICECX_{name}$" in commands[command], (command, name)
        assert ("$USER3$/$_SERVICECX_SECRET$" in commands[command]) == bool(mode.secret), command
        if mode.centreon is None:
            continue
        macros = centreon.stpl_macros(mode.centreon)
        line = centreon.commands[centreon.stpl_param(mode.centreon, "check_command")]["line"]
        for name in [f"CX_{name}" for _, name in mode.settings] + ([mode.secret] if mode.secret else []):
            assert name in macros, (mode.centreon, name)
            assert f"$_SERVICE{name}$" in line or f"NAGIOS__SERVICE{name}" in line, (mode.centreon, name)


LOGIN = ["-u", "https://shop.example.com/accounts/login/", "--username", "s@example.com"]


@pytest.mark.parametrize("argv, message", [
    (["check_cx_zabbix"], "config: 'check_cx_zabbix' is not a plugin; one of check_cx_login, check_cx_checkout, "
                          "check_cx_transaction, check_cx_nps, check_cx_csat, check_cx_support, check_cx_apdex, "
                          "check_cx_conversion, check_cx_churn, check_cx_page, check_cx_ratings"),
    (["login", *LOGIN, "--engine", "zabbix"], "argument --engine: invalid choice: 'zabbix' (choose from 'nagios', "
                                              "'icinga2', 'centreon')"),
    # the plugin's own first mistakes, in the plugin's own words
    (["login", "-u", "example.com", "--username", "s"], "-u needs a full URL such as https://example.com/login, "
                                                        "not 'example.com'"),
    (["login", *LOGIN, "--password", "x"], "argument --password: passwords and other secrets are never taken on the "
                                           "command line (ps shows them to every local user); use --password-env VAR "
                                           "or --password-file PATH"),
    (["login", *LOGIN, "-w", "5", "-c", "2"], "the critical threshold (-c 2) is below the warning one (-w 5): a value "
                                              "over 2 is critical before it ever warns; did you mean -w 2 -c 5?"),
    (["login", *LOGIN], "nagios: give the password with --password-env VAR or --password-file PATH, as the check "
                        "takes it"),
    (["login", *LOGIN, "--password-env", "X", "--expect-text", "it's here"],
     None),
    (["login", *LOGIN, "--password-env", "X", "--engine", "icinga2", "--var", "a=b"],
     "icinga2: the cx_login CheckCommand has no argument for --var"),
    (["checkout", "--scenario", "/x.yaml", "--var", "base_url=https://s", "--var", "email=e", "--var-file",
      "password=/p", "--var-env", "card=CARD", "--engine", "icinga2"],
     "icinga2: the cx-journey CheckCommands pass only the password through the environment; give the other secret "
     "variables by file (--var-file NAME=PATH), not card=CARD"),
    (["checkout", "--scenario", "/nowhere.yaml", "--var-file", "password=/p"],
     "nagios: the check_cx_checkout command passes --var base_url; give --var base_url=URL (or set it under "
     "variables in a scenario that can be read here)"),
    (["transaction", "--json-url", "https://s/stats", "--success-path", "a", "--total-path", "b"],
     "nagios: the shipped commands run check_cx_transaction with --scenario or --prometheus; for --json-url use "
     "--engine icinga2 (cx_transaction takes it) or a command of your own"),
    (["login", *LOGIN, "--password-env", "X", "--service", "CX ; login"], None),
    (["csat", "--jsonl", "/x.jsonl"], "nagios: the shipped commands run check_cx_csat with --zendesk or --csv; for "
                                      "this one use --engine icinga2 (cx_csat takes it) or a command of your own"),
    (["csat", "--jsonl", "/x.jsonl", "--engine", "icinga2"], None),
    (["churn", "--hubspot", "--token-file", "/t", "--engine", "centreon"],
     "centreon: the shipped commands run check_cx_churn with --events-csv or --pipedrive; for this one use --engine "
     "icinga2 (cx_churn takes it) or a command of your own"),
    (["csat", "--zendesk", "acme", "--zendesk-email", "a@example.com", "--token-env", "ZD"],
     "nagios: the check_cx_csat_zendesk command reads the token from a file in $USER3$: give --token-file PATH"),
    (["support", "--zendesk", "acme", "--token-file", "/t"],
     "nagios: the check_cx_support_zendesk command passes --zendesk-email: give it"),
    (["conversion", "--prometheus", "http://p:9090", "--ratio-query", "r", "--engine", "centreon"],
     "centreon: the cxcheck-conversion template's command passes --entered-query and --converted-query: give them"),
    (["support", "--csv", "/t.csv", "--created-column", "opened", "--engine", "icinga2"],
     "icinga2: the cx_support CheckCommand has no argument for --created-column"),
])
def test_mistakes_are_one_line(argv, message):
    result = run_plugin("cxcheck", "config", *argv)
    if message is None:                     # valid, and the writer copes
        assert result.code == 0, result.stderr
        return
    assert (result.code, result.stdout, result.stderr) == (3, "", f"error: {message}\n")


def test_a_quote_in_a_single_quoted_value_is_refused():
    result = run_plugin("cxcheck", "config", "login", *LOGIN[:2], "--username", "o'brien", "--password-env", "X")
    assert result.stderr == ("error: nagios: _CX_USERNAME \"o'brien\": the commands insert it in single quotes, so "
                             "it cannot hold a quote or a line break\n")


def test_the_icinga2_arguments_are_the_shipped_checkcommands():
    """Every variable the writer sets is read by the CheckCommand it names (or a template it imports)."""
    text = (TEMPLATES / "icinga2" / "cxcheck-commands.conf").read_text()
    blocks = dict(re.findall(r'(?:object|template) CheckCommand "([\w-]+)" \{(.*?)\n\}', text, re.S))
    for command, dests in icinga2_writer.ARGUMENTS.items():
        names, pending = set(), [command]
        while pending:
            block = blocks[pending.pop()]
            names |= set(re.findall(r"\$(cx_\w+)\$", block))
            pending += re.findall(r'import "([\w-]+)"', block)
        for dest in dests:
            assert icinga2_writer.variable(command, dest) in names, f"{command}: {dest}"
        # and the secrets and journey variables it sets outside ARGUMENTS
        assert "cx_password" in names or "cx_token" in names, command


# ---------------------------------------------------------------------------------------------
# Nagios 4


def nagios_services(shop_url: str, secrets: Path) -> str:
    login = ["login", "-u", f"{shop_url}/accounts/login/", "--username", "shopper@example.com", "--host", "cx-shop"]
    outputs = [
        config(*login, "--password-file", str(secrets / "demo-shop.password"), "-w", "2", "-c", "5",
               "--then-url", "/accounts/", "--then-text", "shopper@example.com", "--expect-url", "/accounts/$",
               "--service", "CX login file"),
        config(*login, "--password-env", ENV_NAME, "--service", "CX login env"),
        config("checkout", "--scenario", str(SCENARIOS / "shop-checkout-html.yaml"), "--var", f"base_url={shop_url}",
               "--var-file", f"password={secrets / 'demo-shop.password'}", "--step-warning", "payment=4",
               "-w", "30", "--host", "cx-shop", "--service", "CX checkout file"),
        config("checkout", "--scenario", str(SCENARIOS / "shop-checkout-api.yaml"), "--var", f"base_url={shop_url}",
               "--var-env", f"password={ENV_NAME}", "-w", "5", "-c", "10", "--host", "cx-shop",
               "--service", "CX checkout env"),
    ]
    return "\n".join(outputs)


VERIFY_ONLY = [
    ["transaction", "--scenario", str(SCENARIOS / "shop-checkout-api.yaml"), "--var", "base_url=http://127.0.0.1:9",
     "--var-env", f"password={ENV_NAME}", "--attempts", "2", "--host", "cx-shop", "--service", "CX orders"],
    ["transaction", "--prometheus", "http://127.0.0.1:9090", "--success-query", 'sum(x{outcome="success"})',
     "--total-query", "sum(x)", "--bearer-file", "/etc/cxcheck/secrets/prom.token", "--host", "cx-shop",
     "--service", "CX orders real users"],
    ["nps", "--csv", "/var/lib/cx/nps.csv", "--window", "7d", "-w", "30:", "-c", "10:", "--host", "cx-shop"],
]
# One service per way shipped.MODES runs the survey, help-desk, Apdex and rate plugins.
ZD = ["--zendesk", "acme", "--zendesk-email", "agent@example.com", "--token-file", "/etc/cxcheck/secrets/zd.token"]
VERIFY_ONLY += [[*argv, "--host", "cx-shop"] for argv in [
    ["csat", "--csv", "/var/lib/cx/csat.csv", "--window", "7d", "--min-responses", "20", "-w", "80:", "-c", "70:"],
    ["csat", *ZD, "--service", "CX CSAT Zendesk"],
    ["support", "--csv", "/var/lib/cx/tickets.csv", "--metric", "resolution", "-w", "1d", "-c", "2d"],
    ["support", *ZD, "--metric", "backlog", "-w", "10", "-c", "20", "--service", "CX support Zendesk"],
    ["support", "--hubspot", "--token-file", "/etc/cxcheck/secrets/hs.token", "--service", "CX support HubSpot"],
    ["apdex", "--log", "/var/log/nginx/access.log", "-T", "0.5", "--path-regex", "^/checkout",
     "--exclude-status", "499"],
    ["apdex", "--prometheus", "http://127.0.0.1:9090", "--histogram", "http_request_duration_seconds", "-T", "0.25",
     "--interpolate", "--service", "CX apdex real users"],
    ["conversion", "--prometheus", "http://127.0.0.1:9090", "--entered-query", "sum(a[${window}])",
     "--converted-query", "sum(b[${window}])", "--step-query", "payment=sum(c[${window}])", "--significant"],
    ["conversion", "--mixpanel", "12345", "--funnel-id", "7", "--service-account", "cx",
     "--token-file", "/etc/cxcheck/secrets/mp.secret", "--window", "1d", "--service", "CX conversion Mixpanel"],
    ["churn", "--events-csv", "/var/lib/cx/events.csv", "--significant", "-w", "5", "-c", "8"],
    ["churn", "--pipedrive", "acme", "--token-file", "/etc/cxcheck/secrets/pd.token", "--service", "CX churn Pipedrive"],
    ["churn", "--hubspot", "--token-file", "/etc/cxcheck/secrets/hs.token", "--service", "CX churn HubSpot"],
    # the browser checks: a page, a journey and a login in Chromium
    ["page", "-u", "https://shop.example.com/catalogue/", "--metric", "lcp", "-w", "2.5", "-c", "4",
     "--fail-on-resource-errors", "--fail-on-js-errors", "--warning-cls", "0.1", "--expect-selector", "main",
     "--screenshot-dir", "/var/lib/cxcheck/screenshots", "--window", "1024x768"],
    ["checkout", "--scenario", str(SCENARIOS / "shop-login-browser.yaml"), "--var", "base_url=http://127.0.0.1:9",
     "--var-file", "password=/etc/cxcheck/secrets/shop.password", "--screenshot-dir", "/var/lib/cxcheck/screenshots",
     "--service", "CX login in a browser"],
    ["login", "-u", "https://shop.example.com/spa/login/", "--username", "shopper@example.com", "--password-file",
     "/etc/cxcheck/secrets/shop.password", "--browser", "--service", "CX SPA login"],
]]
NAGIOS_HOST = """
define host {
    use                         cx-shop-host,generic-host
    host_name                   cx-shop
    address                     127.0.0.1
    contact_groups              admins
    _CX_PORT                    %(port)s
    _CX_HTTP_OPTIONS            -u /
}
"""


@pytest.fixture(scope="module")
def nagios_site(tmp_path_factory, shop):
    binary = need_binary("nagios4", "nagios4-core")
    work = tmp_path_factory.mktemp("config-nagios")
    secrets = secret_files(work)
    (work / "services.cfg").write_text(NAGIOS_HOST % {"port": shop.url.rsplit(":", 1)[1]}
                                       + nagios_services(shop.url, secrets))
    files = [TEMPLATES / "nagios" / "cxcheck-commands.cfg", TEMPLATES / "nagios" / "cxcheck-templates.cfg",
             work / "services.cfg"]
    nagios = Nagios(binary, work / "nagios", STOCK_OBJECTS + files,
                    {"USER1": str(write_wrappers(work / "plugins", system_plugins=True)), "USER3": str(secrets),
                     "USER4": ENV_NAME}, env={ENV_NAME: PASSWORD})
    nagios.dir.mkdir()
    nagios.write_config()
    return nagios, work


def test_nagios_verifies_every_kind_of_service_it_writes(nagios_site):
    nagios, work = nagios_site
    extra = work / "verify-only.cfg"
    extra.write_text("\n".join(config(*argv) for argv in VERIFY_ONLY))
    check = Nagios(nagios.binary, work / "verify", nagios.cfg_files + [extra], nagios.resources)
    check.dir.mkdir()
    check.write_config()
    out = check.verify().stdout
    assert "Total Errors:   0" in out and "Total Warnings: 0" in out, out
    assert "Checked 22 services." in out, out


def test_nagios_runs_the_services_it_writes_against_the_shop(nagios_site):
    nagios, work = nagios_site
    keys = [("cx-shop", name) for name in ("CX login file", "CX login env", "CX checkout file", "CX checkout env")]
    try:
        nagios.start()
        first = nagios.wait_for_results(keys, since=0, timeout=60)
        latest = max(int(first[k]["last_check"]) for k in keys)
        wait_until(lambda: int(time.time()) > latest, 2, "the clock to pass the first round")
        results = nagios.wait_for_results(keys, since=nagios.force_checks("cx-shop"), timeout=60)
    finally:
        nagios.stop()
    for key in keys:
        entry = results[key]
        assert entry["current_state"] == "0", f"{key}: {entry['plugin_output']}"
    login = results[keys[0]]
    assert login["plugin_output"].startswith("CX LOGIN OK - logged in as s***@example.com in ")
    # _CX_OPTIONS reached the plugin: --then-url ran, and -w/-c are the ones given
    assert re.search(r"step_then=[0-9.]+s", login["performance_data"]), login["performance_data"]
    assert re.search(r"time=[0-9.]+s;2;5;0", login["performance_data"]), login["performance_data"]
    # -w alone: no critical range (as the command ran), not the template's; nothing given: the template's
    assert re.search(r"step_payment=[0-9.]+s;4;", results[keys[2]]["performance_data"])
    assert re.search(r"(^| )time=[0-9.]+s;30;;0", results[keys[2]]["performance_data"])
    assert re.search(r"(^| )time=[0-9.]+s;3;8;0", results[keys[1]]["performance_data"])
    for path in (nagios.dir / "objects.cache", nagios.log_file):
        assert PASSWORD not in path.read_text(errors="replace")
    assert not any(PASSWORD in str(entry) for entry in results.values())


# ---------------------------------------------------------------------------------------------
# Icinga 2


def icinga_templates() -> str:
    """The service and host templates of cxcheck-services.conf, without its example host."""
    text = (TEMPLATES / "icinga2" / "cxcheck-services.conf").read_text()
    return "\n".join(re.findall(r'^template (?:Service|Host) "[\w-]+" \{.*?^\}', text, re.S | re.M))


@pytest.fixture(scope="module")
def icinga_files(tmp_path_factory, shop):
    binary = need_binary("icinga2", "icinga2-bin")
    work = tmp_path_factory.mktemp("config-icinga2")
    secrets = secret_files(work)
    login = ["login", "-u", f"{shop.url}/accounts/login/", "--username", "shopper@example.com", "--host", "cx-shop",
             "--engine", "icinga2"]
    services = [
        config(*login, "--password-file", str(secrets / "demo-shop.password"), "--then-url", "/accounts/",
               "--then-text", "shopper@example.com", "--expect-url", "/accounts/$", "-w", "2", "-c", "5"),
        config("checkout", "--scenario", str(SCENARIOS / "shop-checkout-html.yaml"), "--var", f"base_url={shop.url}",
               "--var-env", f"password={ENV_NAME}", "--step-warning", "payment=4", "--host", "cx-shop",
               "--engine", "icinga2"),
    ]
    conf = work / "conf"
    conf.mkdir()
    (conf / "cxcheck-commands.conf").write_text((TEMPLATES / "icinga2" / "cxcheck-commands.conf").read_text())
    (conf / "templates.conf").write_text(icinga_templates())
    (conf / "services.conf").write_text('object Host "cx-shop" {\n\tcheck_command = "dummy"\n'
                                        '\taddress = "127.0.0.1"\n}\n\n' + "\n".join(services))
    return binary, work, conf


def test_icinga2_validates_every_kind_of_service_it_writes(icinga_files, tmp_path):
    binary, work, conf = icinga_files
    extra = tmp_path / "more.conf"
    more = [[*argv, "--engine", "icinga2"] for argv in VERIFY_ONLY]
    more.append(["transaction", "--json-url", "https://shop.example.com/stats", "--success-path", "ok",
                 "--total-path", "all", "--bearer-env", "CX_STATS_TOKEN", "--host", "cx-shop", "--service", "cx-stats",
                 "--engine", "icinga2"])
    extra.write_text("\n".join(config(*argv) for argv in more))
    main = tmp_path / "main.conf"
    main.write_text(f'const PluginDir = "/usr/lib/nagios/plugins"\nconst NodeName = "t"\nconst ZoneName = "t"\n'
                    f'const {ENV_NAME} = "not-the-real-one"\nconst CX_STATS_TOKEN = "t"\n'
                    "include <itl>\ninclude <plugins>\n"
                    + "".join(f'include "{p}"\n' for p in [*sorted(conf.glob("*.conf")), extra]))
    proc = icinga2_validate(binary, tmp_path / "validate", main)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "critical/" not in out and re.search(r"warning/.*cx", out) is None, out
    assert re.search(r"Instantiated 21 Services\.", out), out


def test_icinga2_runs_the_services_it_writes_against_the_shop(icinga_files):
    binary, work, conf = icinga_files
    plugins = write_wrappers(work / "plugins", system_plugins=True)
    icinga = Icinga2(binary, work / "icinga2", sorted(conf.glob("*.conf")),
                     {"PluginDir": str(plugins), "NodeName": "t", "ZoneName": "t", ENV_NAME: PASSWORD})
    icinga.dir.mkdir()
    icinga.write_config()
    keys = [("cx-shop", "cx-login"), ("cx-shop", "cx-checkout")]
    try:
        icinga.start()
        since = time.time()
        icinga.command(f"SCHEDULE_FORCED_HOST_SVC_CHECKS;cx-shop;{int(since)}")
        results = wait_until(lambda: (r := icinga.results()) and all(k in r and r[k]["last_check"] >= since - 1
                                                                     for k in keys) and r,
                             60, "Icinga 2 results", interval=0.2)
    finally:
        icinga.stop()
    login, checkout = results[keys[0]], results[keys[1]]
    assert login["state"] == 0 and login["output"].startswith("CX LOGIN OK - logged in as s***@example.com"), login
    assert re.search(r"step_then=[0-9.]+s", login["perfdata"]) and re.search(r"time=[0-9.]+s;2;5;0", login["perfdata"])
    assert checkout["state"] == 0 and checkout["output"].startswith("CX CHECKOUT OK"), checkout
    assert re.search(r"step_payment=[0-9.]+s;4;", checkout["perfdata"]), checkout["perfdata"]


# ---------------------------------------------------------------------------------------------
# Centreon


def test_centreon_lines_name_shipped_objects_and_their_command_runs(shop):
    """Every template and macro the lines use exists in cxcheck-clapi.txt; the service's command
    line, expanded with the template's and these macros as Centreon Engine does, runs OK."""
    from test_templates_centreon import CLAPI, Clapi

    model = Clapi(CLAPI.read_text())
    text = config("checkout", "--scenario", str(SCENARIOS / "shop-checkout-html.yaml"), "--var",
                  f"base_url={shop.url}", "--var-env", f"password={ENV_NAME}", "--step-warning", "payment=4",
                  "-w", "8", "--engine", "centreon", "--host", "cx-shop")
    host_macros = {m: v["value"] for entry in model.htpl.values() for m, v in entry["macros"].items()}
    service, template, macros = None, None, {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        fields = line.split(";")
        if fields[:2] == ["HOST", "setmacro"]:
            assert fields[2] == "cx-shop" and len(fields) == 5, line
            host_macros[fields[3]] = fields[4]
        elif fields[:2] == ["SERVICE", "ADD"]:
            assert len(fields) == 5, line
            service, template = fields[3], fields[4]
            assert template in model.stpl, line
            macros = {m: v["value"] for m, v in model.stpl_macros(template).items()}
        else:
            assert fields[:2] == ["SERVICE", "setmacro"] and fields[2:4] == ["cx-shop", service], line
            assert fields[4] in model.stpl_macros(template), f"{fields[4]} is not a macro of {template}"
            macros[fields[4]] = fields[5]
    assert template == "cxcheck-checkout" and host_macros["CX_BASE_URL"] == shop.url
    command = model.commands[model.stpl_param(template, "check_command")]["line"]
    line = re.sub(r"\$_SERVICE(\w+)\$", lambda m: macros[m.group(1)], command)
    line = re.sub(r"\$_HOST(\w+)\$", lambda m: host_macros[m.group(1)], line)
    argv = shlex.split(line.replace("$USER1$/check_cx_checkout", "check_cx_checkout"))
    env = plugin_env({"NAGIOS__HOSTCX_PASSWORD": PASSWORD})       # the password macro, as the engine exports it
    proc = subprocess.run([sys.executable, "-m", "cxcheck.checks.checkout", *argv[1:]], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("CX CHECKOUT OK - checkout ")
    assert re.search(r"step_payment=[0-9.]+s;4;", proc.stdout) and re.search(r"time=[0-9.]+s;8;", proc.stdout)
