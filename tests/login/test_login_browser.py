"""check_cx_login --browser against the demo shop's /spa/login/, a login form its script builds:
the HTTP engine sees no form there and says so; headless Chromium logs in."""

from __future__ import annotations

import re

import pytest
from conftest import need_browser, run_plugin, run_until

pytestmark = pytest.mark.slow(seconds=25)   # its measured time: the longest files start first (conftest)
ACCOUNT, PASSWORD = "shopper@example.com", "correct-horse-battery"
ENV = {"SHOP_PW": PASSWORD, "WRONG_PW": "not-the-password"}
STEPS = ["login_page", "credentials", "login"]


@pytest.fixture
def chromium():
    need_browser()


def spa_login(shop, *extra, password_env="SHOP_PW"):
    return run_plugin("check_cx_login", "-u", f"{shop.url}/spa/login/", "--username", ACCOUNT,
                      "--password-env", password_env, *extra, env=ENV)


def browser_login(shop, *extra, deadlines=(10, 20, 30), password_env="SHOP_PW"):
    """spa_login --browser at -t 10 (the default), longer when a busy machine held the browser's
    start and steps past it (CI-like: 'failed at step login: timed out after 10 s')."""
    return run_until(lambda result: "timed out after" not in result.text,
                     lambda seconds: spa_login(shop, "--browser", *extra, "-t", str(seconds),
                                               password_env=password_env), deadlines=deadlines)[0]


def test_without_a_browser_the_missing_form_is_said_clearly(shop):
    result = spa_login(shop)
    assert result.code == 2, result.stdout
    assert result.text == ("CX LOGIN CRITICAL - login as s***@example.com failed at step login: there is no login "
                           "form in the page's HTML (no form with exactly one password field); if a script builds "
                           "it, log in with --browser")
    assert result.perfdata["step_login"][0] == "U" and result.stderr == ""


def test_browser_logs_in_through_the_script_built_form(chromium, shop):
    result = browser_login(shop, "-w", "5", "-c", "10", "-v")
    assert result.code == 0, result.stdout
    assert re.fullmatch(r"CX LOGIN OK - logged in as s\*\*\*@example\.com in \d+\.\d{3} s", result.text), result.text
    assert set(result.perfdata) == {"time"} | {f"step_{name}" for name in STEPS}
    assert result.perfdata["time"][1:3] == ("5", "10")
    assert result.value("time") == pytest.approx(sum(result.value(f"step_{name}") for name in STEPS), abs=1e-5)
    assert result.long_output[1].startswith("credentials: fill login=username, login=password -> ")
    assert result.long_output[2].startswith(f"login: click login=submit -> {shop.url}/accounts/ 200, ")
    assert PASSWORD not in result.stdout and result.stderr == ""


def test_wrong_password_is_critical(chromium, shop):
    result = browser_login(shop, password_env="WRONG_PW")
    assert result.code == 2, result.stdout
    assert result.text == ("CX LOGIN CRITICAL - login as s***@example.com failed at step login: "
                           "the login page came back (wrong credentials?)")
    assert result.perfdata["time"][0] == "U"


def test_expectations_and_the_members_page(chromium, shop):
    result = browser_login(shop, "--expect-url", "/accounts/$", "--expect-cookie", "sessionid",
                           "--then-url", "/accounts/", "--then-text", ACCOUNT)
    assert result.code == 0, result.stdout
    assert set(result.perfdata) == {"time", "step_then"} | {f"step_{name}" for name in STEPS}
    assert result.value("time") < sum(result.value(f"step_{name}") for name in [*STEPS, "then"])
    result = browser_login(shop, "--expect-text", "Welcome to the moon")
    assert result.text == ("CX LOGIN CRITICAL - login as s***@example.com failed at step login: "
                           "page lacks 'Welcome to the moon'")
    result = browser_login(shop, "--expect-cookie", "no_such_cookie")
    assert result.text == "CX LOGIN CRITICAL - login as s***@example.com failed at step login: no cookie no_such_cookie was set"


def test_named_fields_that_do_not_exist_fail_naming_them(chromium, shop):
    result = browser_login(shop, "--username-field", "user", deadlines=(12, 20, 30))
    assert result.code == 2, result.stdout
    assert result.text == ("CX LOGIN CRITICAL - login as s***@example.com failed at step credentials: "
                           'no element matches [name="user"]')


@pytest.mark.parametrize("args, error", [
    (["--form", "#spa_login_form"], "--form does not go with --browser: the login form is the one with the password "
                                    "field (name the fields with --username-field/--password-field)"),
    (["--proxy", "http://127.0.0.1:9"], "--proxy: not available with a browser (scenario check_cx_login runs in "
                                        "Chromium)"),
])
def test_options_a_browser_login_cannot_take(shop, args, error):
    result = spa_login(shop, "--browser", *args)
    assert result.code == 3
    assert result.text == f"CX LOGIN UNKNOWN - {error}"


def test_browser_with_a_scenario_is_refused(tmp_path):
    scenario = tmp_path / "login.yaml"
    scenario.write_text("steps:\n  - get: http://127.0.0.1:9/\n")
    result = run_plugin("check_cx_login", "--scenario", str(scenario), "--browser")
    assert result.code == 3
    assert result.text == ("CX LOGIN UNKNOWN - --browser goes with -u: a scenario runs in a browser when it says "
                           "'browser: true'")
