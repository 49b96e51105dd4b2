"""check_cx_login against the demo shop: the customer's login, as the engine would run it."""

from __future__ import annotations

import json
import urllib.request

import pytest
from conftest import run_plugin

ACCOUNT, PASSWORD = "shopper@example.com", "correct-horse-battery"
ENV = {"SHOP_PW": PASSWORD, "WRONG_PW": "not-the-password"}


def login(shop, *extra, password_env="SHOP_PW"):
    return run_plugin("check_cx_login", "-u", f"{shop.url}/accounts/login/", "--username", ACCOUNT,
                      "--password-env", password_env, *extra, env=ENV)


def requests_log(shop) -> list[dict]:
    with urllib.request.urlopen(f"{shop.url}/admin/requests", timeout=5) as resp:
        return json.load(resp)


def test_login_ok_with_perfdata_per_phase(shop):
    result = login(shop, "--then-url", "/accounts/", "--then-text", ACCOUNT, "-w", "2", "-c", "5")
    assert result.code == 0, result.stdout
    assert result.text.startswith("CX LOGIN OK - logged in as s***@example.com in ")
    perf = result.perfdata
    assert set(perf) == {"time", "step_login_page", "step_login", "step_then"}
    assert perf["time"][1:3] == ("2", "5")
    assert result.value("time") == pytest.approx(result.value("step_login_page") + result.value("step_login"),
                                                 abs=2e-6)
    assert all(perf[label][0].endswith("s") for label in perf)
    assert ACCOUNT not in result.status          # the account shows masked


def test_login_sends_csrf_token_and_clicks_the_button(fresh_shop):
    result = login(fresh_shop)
    assert result.code == 0, result.stdout
    posts = [r for r in requests_log(fresh_shop) if r["method"] == "POST" and r["path"] == "/accounts/login/"]
    assert len(posts) == 1
    assert {"csrfmiddlewaretoken", "login-username", "login-password", "login_submit"} <= set(posts[0]["fields"])
    assert not any(r["path"] == "/accounts/register/" for r in requests_log(fresh_shop))


def test_wrong_password_is_critical(shop):
    result = login(shop, password_env="WRONG_PW")
    assert result.code == 2
    assert result.text == ("CX LOGIN CRITICAL - login as s***@example.com failed at step login: "
                           "the login page came back (wrong credentials?)")
    assert result.perfdata["time"][0] == "U"
    assert result.value("step_login_page") is not None


def test_missing_csrf_field_gives_the_403(shop, tmp_path):
    # A scenario that posts the form by hand, without the hidden token a browser would send.
    scenario = tmp_path / "no-csrf.yaml"
    scenario.write_text(f"""name: no-csrf
base_url: {shop.url}
steps:
  - name: login_page
    get: /accounts/login/
  - name: login
    post: /accounts/login/
    form: {{login-username: "${{username}}", login-password: "${{password}}", login_submit: "Log In"}}
""")
    result = run_plugin("check_cx_login", "--scenario", str(scenario), "--username", ACCOUNT,
                        "--password-env", "SHOP_PW", env=ENV)
    assert result.code == 2
    assert "failed at step login: HTTP 403" in result.text


def test_expectations(shop):
    assert login(shop, "--expect-url", "/accounts/$", "--expect-cookie", "sessionid",
                 "--expect-text", "Signed in as").code == 0
    result = login(shop, "--expect-text", "Welcome to the moon")
    assert result.code == 2 and "page lacks 'Welcome to the moon'" in result.text
    result = login(shop, "--expect-url", "/basket/")
    assert result.code == 2 and "expected a URL matching //basket//" in result.text
    result = login(shop, "--expect-cookie", "no_such_cookie")
    assert result.code == 2 and "no cookie no_such_cookie was set" in result.text
    result = login(shop, "--then-url", "/accounts/", "--then-text", "someone-else@example.com")
    assert result.code == 2 and "step then: page lacks" in result.text


def test_thresholds_raise_the_state(fresh_shop):
    fresh_shop.set_faults({"latency": {"/accounts/login/": 0.3}})
    result = login(fresh_shop, "-w", "0.2", "-c", "5")
    assert result.code == 1, result.stdout
    assert result.text.startswith("CX LOGIN WARNING - logged in as s***@example.com in ")
    assert "(> 0.2)" in result.text
    result = login(fresh_shop, "-w", "0.1", "-c", "0.2")
    assert result.code == 2 and "(> 0.2)" in result.text


def test_scenario_login_through_the_json_api(shop, tmp_path):
    scenario = tmp_path / "api-login.yaml"
    scenario.write_text(f"""name: api-login
base_url: {shop.url}
steps:
  - name: token
    post: /api/login
    json: {{email: "${{username}}", password: "${{password}}"}}
    expect: {{status: 200}}
    extract: {{token: {{json: token}}}}
  - name: health
    get: /api/health
    headers: {{Authorization: "Bearer ${{token}}"}}
    expect: {{json: {{status: ok}}}}
""")
    result = run_plugin("check_cx_login", "--scenario", str(scenario), "--username", ACCOUNT,
                        "--password-env", "SHOP_PW", "-v", env=ENV)
    assert result.code == 0, result.stdout
    assert set(result.perfdata) == {"time", "step_token", "step_health"}
    assert any(line.startswith("token: POST") for line in result.long_output)
    wrong = run_plugin("check_cx_login", "--scenario", str(scenario), "--username", ACCOUNT,
                       "--password-env", "WRONG_PW", env=ENV)
    assert wrong.code == 2 and "step token: HTTP 401, expected 200" in wrong.text


def test_reported_time_matches_what_the_shop_measured(fresh_shop):
    """The plugin's phase times against the shop's own Server-Timing for the same requests."""
    fresh_shop.set_faults({"latency": {"/accounts/login/": 0.2}})
    result = login(fresh_shop)
    assert result.code == 0
    server = sum(r["duration_s"] for r in requests_log(fresh_shop) if r["path"].startswith("/accounts/"))
    reported = result.value("time")
    # The client can only take longer than the server, and not by much on loopback.
    assert server <= reported < server + 0.25, (server, reported)
