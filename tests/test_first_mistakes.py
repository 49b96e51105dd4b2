"""A newcomer's first mistakes: each is one UNKNOWN line that says what to do instead, found
before anything else goes wrong (no request is made, no secret is read)."""

from __future__ import annotations

import pytest
from conftest import run_plugin

from cxcheck.runtime import ConfigError
from cxcheck.runtime.thresholds import threshold_order

LOGIN = ["--username", "shopper@example.com"]


@pytest.mark.parametrize("argv, message", [
    (["-u", "example.com", *LOGIN, "--password-env", "SHOP_PASSWORD"],
     "-u needs a full URL such as https://example.com/login, not 'example.com'"),
    (["-u", "shop.example.com/accounts/login/", *LOGIN],
     "-u needs a full URL such as https://shop.example.com/accounts/login/, not 'shop.example.com/accounts/login/'"),
    (["-u", "localhost:8000", *LOGIN], "-u needs a full URL such as https://localhost:8000/login, not 'localhost:8000'"),
    (["-u", "https://", *LOGIN], "-u needs a full URL such as https://shop.example.com/login, not 'https://'"),
    # the scheme is named before the missing password is
    (["-u", "ftp://example.com/login", *LOGIN],
     "-u ftp://example.com/login: unsupported scheme ftp:// (cxcheck checks web pages: http:// or https://)"),
    (["-u", "https://example.com/login", *LOGIN, "--password-env", "SHOP_PASSWORD", "--then-url", "accounts/"],
     "--then-url needs a full URL or a path such as /accounts/, not 'accounts/'"),
])
def test_login_url_mistakes(argv, message):
    result = run_plugin("check_cx_login", *argv, env={"SHOP_PASSWORD": "x"})
    assert (result.code, result.stdout) == (3, f"CX LOGIN UNKNOWN - {message}\n")


SECRET_ON_ARGV = ("passwords and other secrets are never taken on the command line (ps shows them to every local "
                  "user); ")


@pytest.mark.parametrize("plugin, argv, message", [
    ("check_cx_login", ["-u", "https://example.com/login", *LOGIN, "--password", "hunter2"],
     "CX LOGIN UNKNOWN - argument --password: " + SECRET_ON_ARGV + "use --password-env VAR or --password-file PATH"),
    ("check_cx_login", ["-u", "https://example.com/login", *LOGIN, "--password=hunter2"],
     "CX LOGIN UNKNOWN - argument --password: " + SECRET_ON_ARGV + "use --password-env VAR or --password-file PATH"),
    ("check_cx_checkout", ["--scenario", "x.yaml", "--password", "hunter2"],
     "CX CHECKOUT UNKNOWN - argument --password: " + SECRET_ON_ARGV
     + "give it to the scenario with --var-env password=ENVVAR or --var-file password=PATH"),
    ("check_cx_transaction", ["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", "--bearer", "hunter2"],
     "CX TRANSACTION UNKNOWN - argument --bearer: " + SECRET_ON_ARGV + "use --bearer-env VAR or --bearer-file PATH"),
])
def test_a_secret_on_the_command_line_names_the_safe_options(plugin, argv, message):
    result = run_plugin(plugin, *argv)
    assert (result.code, result.stdout) == (3, message + "\n")
    assert "hunter2" not in result.stdout + result.stderr


# Each plugin's metric, judged from below (a floor: scores, shares, the Apdex) or from above (a
# ceiling: times, waits, churn); the hints follow it.
DIRECTIONS = {"check_cx_login": "ceiling", "check_cx_checkout": "ceiling", "check_cx_transaction": "floor",
              "check_cx_nps": "floor", "check_cx_csat": "floor", "check_cx_support": "ceiling",
              "check_cx_apdex": "floor", "check_cx_conversion": "floor", "check_cx_churn": "ceiling",
              "check_cx_page": "ceiling", "check_cx_ratings": "floor", "check_cx_payments": "ceiling",
              "check_cx_revenue": "floor"}


def test_every_plugin_declares_which_way_its_metric_is_judged():
    import importlib

    from conftest import MODULES

    plugins = {name: module for name, module in MODULES.items() if name != "cxcheck"}
    assert set(plugins) == set(DIRECTIONS)
    for name, module in plugins.items():
        parser = importlib.import_module(module).build_parser()
        assert parser.range_pairs[0] == ("-w", "-c", DIRECTIONS[name]), name


FLOOR_HINT = "but here higher is better: a floor ends in a colon (alert below it); did you mean"


@pytest.mark.parametrize("plugin, argv, message", [
    # a floor written as ceilings: the colons added, the higher floor on -w
    ("check_cx_csat", ["--csv", "x.csv", "-w", "80", "-c", "70"],
     f"CX CSAT UNKNOWN - -w 80 -c 70 alert above 80 and 70, {FLOOR_HINT} -w 80: -c 70:?"),
    # the opposite slip would page on an excellent score: the same advice, in the right order
    ("check_cx_apdex", ["--log", "x.log", "-w", "0.7", "-c", "0.85"],
     f"CX APDEX UNKNOWN - -w 0.7 -c 0.85 alert above 0.7 and 0.85, {FLOOR_HINT} -w 0.85: -c 0.7:?"),
    ("check_cx_nps", ["--csv", "x.csv", "-w", "30", "-c", "0:"],
     f"CX NPS UNKNOWN - -w 30 alerts above 30, {FLOOR_HINT} -w 30: -c 0:?"),
    ("check_cx_nps", ["--csv", "x.csv", "-c", "10"], f"CX NPS UNKNOWN - -c 10 alerts above 10, {FLOOR_HINT} -c 10:?"),
    ("check_cx_conversion", ["--mixpanel", "1", "-w", "1", "-c", "2"],
     f"CX CONVERSION UNKNOWN - -w 1 -c 2 alert above 1 and 2, {FLOOR_HINT} -w 2: -c 1:?"),
    ("check_cx_transaction", ["--scenario", "x.yaml", "-w", "99", "-c", "90"],
     f"CX TRANSACTION UNKNOWN - -w 99 -c 90 alert above 99 and 90, {FLOOR_HINT} -w 99: -c 90:?"),
    # floors in the wrong order
    ("check_cx_apdex", ["--log", "x.log", "-w", "0.7:", "-c", "0.85:"],
     "CX APDEX UNKNOWN - the critical threshold (-c 0.85:) is above the warning one (-w 0.7:): a value under 0.85 "
     "is critical before it ever warns; did you mean -w 0.85: -c 0.7:?"),
    # ceilings: critical before it ever warns, durations answered in durations
    ("check_cx_login", ["-u", "https://example.com/login", *LOGIN, "--password-env", "X", "-w", "5", "-c", "2"],
     "CX LOGIN UNKNOWN - the critical threshold (-c 2) is below the warning one (-w 5): a value over 2 is critical "
     "before it ever warns; did you mean -w 2 -c 5?"),
    ("check_cx_checkout", ["--scenario", "x.yaml", "-w", "10.5", "-c", "4"],
     "CX CHECKOUT UNKNOWN - the critical threshold (-c 4) is below the warning one (-w 10.5): a value over 4 is "
     "critical before it ever warns; did you mean -w 4 -c 10.5?"),
    ("check_cx_nps", ["--csv", "x.csv", "-w", "10:", "-c", "30:"],
     "CX NPS UNKNOWN - the critical threshold (-c 30:) is above the warning one (-w 10:): a value under 30 is "
     "critical before it ever warns; did you mean -w 30: -c 10:?"),
    ("check_cx_support", ["--csv", "x.csv", "-w", "8h", "-c", "4h"],
     "CX SUPPORT UNKNOWN - the critical threshold (-c 4h) is below the warning one (-w 8h): a value over 4h is "
     "critical before it ever warns; did you mean -w 4h -c 8h?"),
    ("check_cx_page", ["-u", "https://example.com/", "--warning-lcp", "4s", "--critical-lcp", "2500ms"],
     "CX PAGE UNKNOWN - the critical threshold (--critical-lcp 2500ms) is below the warning one (--warning-lcp 4s): "
     "a value over 2500ms is critical before it ever warns; did you mean --warning-lcp 2500ms --critical-lcp 4s?"),
    ("check_cx_transaction", ["--scenario", "x.yaml", "--time-warning", "5", "--time-critical", "2"],
     "CX TRANSACTION UNKNOWN - the critical threshold (--time-critical 2) is below the warning one "
     "(--time-warning 5): a value over 2 is critical before it ever warns; did you mean --time-warning 2 "
     "--time-critical 5?"),
    ("check_cx_ratings", ["--csv", "x.csv", "-w", "4", "-c", "3.5"],
     f"CX RATINGS UNKNOWN - -w 4 -c 3.5 alert above 4 and 3.5, {FLOOR_HINT} -w 4: -c 3.5:?"),
    ("check_cx_ratings", ["--csv", "x.csv", "--warning-low-share", "35", "--critical-low-share", "20"],
     "CX RATINGS UNKNOWN - the critical threshold (--critical-low-share 20) is below the warning one "
     "(--warning-low-share 35): a value over 20 is critical before it ever warns; did you mean "
     "--warning-low-share 20 --critical-low-share 35?"),
    ("check_cx_csat", ["--csv", "x.csv", "--sentiment", "--warning-negative", "50", "--critical-negative", "30"],
     "CX CSAT UNKNOWN - the critical threshold (--critical-negative 30) is below the warning one "
     "(--warning-negative 50): a value over 30 is critical before it ever warns; did you mean "
     "--warning-negative 30 --critical-negative 50?"),
    # payments' failure rate is a ceiling; revenue's MRR and ARPU floors, its revenue churn a ceiling
    ("check_cx_payments", ["--stripe", "--token-env", "KEY", "-w", "10", "-c", "5"],
     "CX PAYMENTS UNKNOWN - the critical threshold (-c 5) is below the warning one (-w 10): a value over 5 is "
     "critical before it ever warns; did you mean -w 5 -c 10?"),
    ("check_cx_revenue", ["--stripe", "--token-env", "KEY", "-w", "10000", "-c", "8000"],
     f"CX REVENUE UNKNOWN - -w 10000 -c 8000 alert above 10000 and 8000, {FLOOR_HINT} -w 10000: -c 8000:?"),
    ("check_cx_revenue", ["--stripe", "--token-env", "KEY", "--warning-arpu", "20", "--critical-arpu", "15"],
     f"CX REVENUE UNKNOWN - --warning-arpu 20 --critical-arpu 15 alert above 20 and 15, {FLOOR_HINT} "
     "--warning-arpu 20: --critical-arpu 15:?"),
    ("check_cx_revenue", ["--stripe", "--token-env", "KEY", "--warning-revenue-churn", "5",
                          "--critical-revenue-churn", "3"],
     "CX REVENUE UNKNOWN - the critical threshold (--critical-revenue-churn 3) is below the warning one "
     "(--warning-revenue-churn 5): a value over 3 is critical before it ever warns; did you mean "
     "--warning-revenue-churn 3 --critical-revenue-churn 5?"),
    ("check_cx_churn", ["--events-csv", "x.csv", "-w", "8", "-c", "5"],
     "CX CHURN UNKNOWN - the critical threshold (-c 5) is below the warning one (-w 8): a value over 5 is critical "
     "before it ever warns; did you mean -w 5 -c 8?"),
])
def test_threshold_hints_follow_the_metrics_direction(plugin, argv, message):
    result = run_plugin(plugin, *argv)
    assert (result.code, result.stdout) == (3, message + "\n")


@pytest.mark.parametrize("plugin, argv", [
    ("check_cx_csat", ["-w", "80:", "-c", "70:"]), ("check_cx_nps", ["-w", "@-100:0", "-c", "-10:"]),
    ("check_cx_apdex", ["-T", "0.5", "-w", "0.85:1", "-c", "~:0.7"]), ("check_cx_churn", ["-w", "5", "-c", "8"]),
    ("check_cx_support", ["-w", "4h", "-c", "30m:8h"]),
])
def test_sensible_floors_and_ceilings_reach_the_source(plugin, argv, tmp_path):
    """Ranges that mean what they say get past the hints: the run stops at the missing file."""
    option = {"check_cx_apdex": "--log", "check_cx_churn": "--events-csv"}.get(plugin, "--csv")
    result = run_plugin(plugin, option, str(tmp_path / "missing"), *argv)
    assert result.code == 3 and f"{tmp_path / 'missing'}" in result.stdout, result.stdout


@pytest.mark.parametrize("plugin, argv", [
    ("check_cx_payments", ["-w", "5", "-c", "10"]),
    ("check_cx_revenue", ["-w", "10000:", "-c", "8000:", "--warning-arpu", "20:", "--critical-arpu", "15:",
                          "--warning-revenue-churn", "3", "--critical-revenue-churn", "5"]),
])
def test_sensible_stripe_ranges_reach_the_key(plugin, argv):
    """Floors with colons, ceilings in order: past the hints, the run stops at the unset key."""
    result = run_plugin(plugin, "--stripe", "--token-env", "CX_UNSET_KEY", *argv)
    assert result.code == 3
    assert result.text.endswith(" UNKNOWN - API token: environment variable CX_UNSET_KEY is not set"), result.text


@pytest.mark.parametrize("warning, critical", [
    ("2", "5"), ("5", "5"), ("30:", "10:"), ("99:", "95:"), (None, "2"), ("5", None),
    ("@1:3", "2"), ("10:20", "5:30"), ("-5:5", "-10:10"), ("~:3", "~:5"),
])
def test_sensible_threshold_orders_pass(warning, critical):
    threshold_order(warning, critical)


def test_the_order_check_sees_both_directions():
    with pytest.raises(ConfigError, match=r"below the warning one"):
        threshold_order("~:5", "~:2")
    with pytest.raises(ConfigError, match=r"above the warning one"):
        threshold_order("-10:", "0:")


def test_the_scenario_check_command_refuses_a_password_too(tmp_path):
    result = run_plugin("cxcheck", "scenario", "check", str(tmp_path / "x.yaml"), "--password", "hunter2")
    assert result.code == 2
    assert result.stderr.splitlines()[-1] == (
        "cxcheck scenario check: error: argument --password: " + SECRET_ON_ARGV
        + "give it to the scenario with --var-env password=ENVVAR or --var-file password=PATH")


@pytest.mark.parametrize("plugin, argv, message", [
    ("check_cx_login", ["-u", "https://example.com/login", "--usrname", "ann"],
     "CX LOGIN UNKNOWN - unrecognized arguments: --usrname ann; did you mean --username?"),
    ("check_cx_login", ["-u", "https://example.com/login", *LOGIN, "--pasword-env=X"],
     "CX LOGIN UNKNOWN - unrecognized arguments: --pasword-env=X; did you mean --password-env?"),
    ("check_cx_nps", ["--csv", "x.csv", "-W", "30:"], "CX NPS UNKNOWN - unrecognized arguments: -W 30:; did you mean -w?"),
    ("check_cx_nps", ["--csv", "x.csv", "--windw", "7d", "--min-response", "5", "--frobnicate"],
     "CX NPS UNKNOWN - unrecognized arguments: --windw 7d --frobnicate; did you mean --window for --windw?"),
    # a typo that hides a required option: the missing one is named, and the typo with it
    ("check_cx_checkout", ["--scenaro", "x.yaml"],
     "CX CHECKOUT UNKNOWN - the following arguments are required: --scenario; did you mean --scenario for "
     "--scenaro?"),
    # nothing close: argparse's own words
    ("check_cx_login", ["-u", "https://example.com/login", *LOGIN, "--frobnicate"],
     "CX LOGIN UNKNOWN - unrecognized arguments: --frobnicate"),
])
def test_a_mistyped_option_suggests_the_closest_one(plugin, argv, message):
    result = run_plugin(plugin, *argv)
    assert (result.code, result.stdout) == (3, message + "\n")


@pytest.mark.parametrize("argv, message", [
    (["scenario", "check", "x.yaml", "--rn"], "unrecognized arguments: --rn; did you mean --run?"),
    (["scenario", "import", "x.har", "--keep-hots", "cdn"], "unrecognized arguments: --keep-hots cdn; did you mean "
                                                            "--keep-host?"),
    (["demo", "--acess-log", "x.log"], "unrecognized arguments: --acess-log x.log; did you mean --access-log?"),
])
def test_cxcheck_subcommands_suggest_from_their_own_options(argv, message):
    result = run_plugin("cxcheck", *argv)
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"cxcheck: error: {message}"


def test_a_har_given_as_a_scenario_says_to_import_it_first(tmp_path):
    har = tmp_path / "checkout.har"            # never read: the name says what it is
    for plugin, name in (("check_cx_checkout", "CHECKOUT"), ("check_cx_transaction", "TRANSACTION")):
        result = run_plugin(plugin, "--scenario", str(har))
        assert (result.code, result.stdout) == (
            3, f"CX {name} UNKNOWN - {har} is a browser recording (a HAR file), not a scenario: import it first "
               f"(cxcheck scenario import {har} -o {tmp_path}/checkout.yaml), then run --scenario "
               f"{tmp_path}/checkout.yaml\n")
    saved = tmp_path / "recording.json"       # a HAR by its content, and a Recorder export
    saved.write_text('{"log": {"version": "1.2", "entries": []}}')
    result = run_plugin("check_cx_checkout", "--scenario", str(saved))
    assert f"{saved} is a browser recording (a HAR file), not a scenario: import it first" in result.stdout
    saved.write_text('{"title": "login", "steps": [{"type": "navigate", "url": "https://example.com/"}]}')
    result = run_plugin("cxcheck", "scenario", "check", str(saved))
    assert (result.code, result.stdout) == (
        3, f"error: {saved} is a browser recording (a Chrome DevTools Recorder export), not a scenario: import it "
           f"first (cxcheck scenario import {saved} -o {tmp_path}/recording.yaml), then run --scenario "
           f"{tmp_path}/recording.yaml\n")


def test_tls_against_a_plain_http_port_says_so_in_a_whole_sentence(shop):
    url = shop.url.replace("http://", "https://") + "/accounts/login/"
    result = run_plugin("check_cx_login", "-u", url, *LOGIN, "--password-env", "SHOP_PASSWORD",
                        env={"SHOP_PASSWORD": "correct-horse-battery"})
    host = url.split("/")[2]
    assert result.code == 2
    assert result.text == (f"CX LOGIN CRITICAL - login as s***@example.com failed at step login_page: TLS error with "
                           f"{host}: the server does not speak TLS on this port (plain HTTP? then the URL is http://)")


@pytest.mark.parametrize("text, innermost", [
    ("HTTPSConnectionPool(host='x', port=1): Max retries exceeded with url: / (Caused by SSLError(SSLError(1, "
     "'[SSL: TLSV1_ALERT_INTERNAL_ERROR] tlsv1 alert internal error (_ssl.c:1006)')))", "tlsv1 alert internal error"),
    ("EOF occurred in violation of protocol (_ssl.c:2427)", "EOF occurred in violation of protocol"),
    ("('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
     "Remote end closed connection without response"),
    ("something failed (while reading (the header", "the header"),
])
def test_transport_reasons_are_never_cut_mid_sentence(text, innermost):
    from cxcheck.http import _innermost

    assert _innermost(text) == innermost
