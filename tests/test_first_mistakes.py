"""A newcomer's first mistakes: each is one UNKNOWN line that says what to do instead, found
before anything else goes wrong (no request is made, no secret is read)."""

from __future__ import annotations

import pytest
from conftest import run_plugin

from cxcheck.runtime import ConfigError
from cxcheck.runtime.options import threshold_order

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


@pytest.mark.parametrize("plugin, argv, message", [
    ("check_cx_login", ["-u", "https://example.com/login", *LOGIN, "--password-env", "X", "-w", "5", "-c", "2"],
     "CX LOGIN UNKNOWN - the critical threshold (-c 2) is below the warning one (-w 5): a value over 2 is critical "
     "before it ever warns; did you mean -w 2 -c 5?"),
    ("check_cx_checkout", ["--scenario", "x.yaml", "-w", "10.5", "-c", "4"],
     "CX CHECKOUT UNKNOWN - the critical threshold (-c 4) is below the warning one (-w 10.5): a value over 4 is "
     "critical before it ever warns; did you mean -w 4 -c 10.5?"),
    ("check_cx_nps", ["--csv", "x.csv", "-w", "10:", "-c", "30:"],
     "CX NPS UNKNOWN - the critical threshold (-c 30:) is above the warning one (-w 10:): a value under 30 is "
     "critical before it ever warns; did you mean -w 30: -c 10:?"),
])
def test_thresholds_in_the_wrong_order(plugin, argv, message):
    result = run_plugin(plugin, *argv)
    assert (result.code, result.stdout) == (3, message + "\n")


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
