"""Browser journeys (`browser: true`) against the demo shop in headless Chromium: scenarios
validated before anything runs, the checkout green, a failed expectation CRITICAL with U after
it, an element that never comes named, --runs, the deadline on a page that never loads, and the
screenshot of a failed step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, need_browser, run_plugin, run_until

from cxcheck.journey.scenario import ScenarioError, from_dict

pytestmark = pytest.mark.slow(seconds=33)   # its measured time: the longest files start first (conftest)

SCENARIOS = ROOT / "templates" / "scenarios"
CHECKOUT = str(SCENARIOS / "shop-checkout-browser.yaml")
LOGIN = str(SCENARIOS / "shop-login-browser.yaml")
CHECKOUT_STEPS = ["login_page", "login", "submit_login", "catalogue", "add_to_basket", "checkout", "address",
                  "address_continue", "shipping", "shipping_continue", "payment", "payment_continue", "place_order"]
PASSWORD = "correct-horse-battery"
ENV = {"SHOP_PASSWORD": PASSWORD}


@pytest.fixture
def chromium():
    need_browser()


def checkout(shop, scenario, *args, plugin="check_cx_checkout"):
    return run_plugin(plugin, "--scenario", str(scenario), "--var", f"base_url={shop.url}",
                      "--var-env", "password=SHOP_PASSWORD", *args, env=ENV)


def roomy(scenario: str, keep=()) -> list[str]:
    """--step-warning/--step-critical of 20/30 s for every step the example scenario gives a range
    (2 s and more) but those in `keep`: the tests using it judge what the journey did, and a
    browser step on a loaded machine passes 2 s."""
    import yaml

    steps = yaml.safe_load(Path(scenario).read_text())["steps"]
    return [arg for step in steps if ("warning" in step or "critical" in step) and step["name"] not in keep
            for level, limit in (("warning", 20), ("critical", 30)) for arg in (f"--step-{level}", f"{step['name']}={limit}")]


def write(tmp_path, text: str, name="journey.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def browser_scenario(tmp_path, shop, steps_yaml: str, name="probe") -> str:
    return write(tmp_path, f"name: {name}\nbrowser: true\nbase_url: {shop.url}\nsteps:\n{steps_yaml}")


def assert_clean(result, state, plugin="CHECKOUT"):
    assert result.status.startswith(f"CX {plugin} {state} - "), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr and result.stderr == ""


def steps(*lines: str) -> dict:
    """A browser scenario whose first step opens the home page."""
    return {"name": "probe", "browser": True, "steps": [{"name": "home", "goto": "/"}, *lines]}


@pytest.mark.parametrize("step, error", [
    ({"name": "pay", "post": "/pay"},
     "step 'pay': key 'post' is for HTTP scenarios; a browser scenario uses goto, fill, click, press, select, "
     "check, wait_for"),
    ({"name": "pay", "submit_form": {}},
     "step 'pay': key 'submit_form' is for HTTP scenarios; a browser scenario uses goto, fill, click, press, "
     "select, check, wait_for"),
    ({"name": "two", "click": "#a", "fill": {"#b": "x"}},
     "step 'two': give exactly one of goto, fill, click, press, select, check (or wait_for alone), "
     "not fill and click"),
    ({"name": "none", "expect": {"text": "x"}},
     "step 'none': give exactly one of goto, fill, click, press, select, check (or wait_for alone)"),
    ({"name": "key", "press": {"#q": "F5"}}, "step 'key': key 'press': 'F5' is not a key: Enter, Tab, Escape or one "
                                              "character"),
    ({"name": "fill", "fill": "label=Email"}, "step 'fill': key 'fill': a mapping {TARGET: VALUE, ...}"),
    ({"name": "fill", "fill": {"label=Email": ["a"]}},
     "step 'fill': key 'fill': the value of 'label=Email' must be a text or a number"),
    ({"name": "sel", "select": {"#a": "x", "#b": "y"}}, "step 'sel': key 'select': one {TARGET: OPTION} per step"),
    ({"name": "lab", "click": "label= "}, "step 'lab': key 'click': 'label= ' names no label"),
    ({"name": "wait", "wait_for": {"txt": "Done"}},
     "step 'wait': key 'wait_for': a target, or {text: T} for a text the page shows"),
    ({"name": "exp", "click": "#a", "expect": {"contains": "Done"}},
     "step 'exp': expect: unknown key 'contains' (in a browser scenario: text, not_text) (known: text, not_text, "
     "selector, url_matches, title)"),
    ({"name": "exp", "click": "#a", "expect": {"title": "(unclosed"}},
     "step 'exp': expect: key 'title': invalid regular expression: missing ), unterminated subpattern at "
     "position 0"),
    ({"name": "slow", "click": "#a", "timeout": 0}, "step 'slow': key 'timeout': seconds, a positive number"),
    ({"name": "slow", "click": "#a", "warning": "fast"}, "step 'slow': key 'warning': 'fast' is not a Nagios range"),
    ({"name": "odd", "click": "#a", "hover": "#b"}, "step 'odd': unknown key 'hover'"),
])
def test_browser_step_errors_name_file_step_and_key(step, error):
    with pytest.raises(ScenarioError) as raised:
        from_dict(steps(step), source="shop.yaml")
    assert str(raised.value) == f"shop.yaml: {error}"


def test_scenario_level_errors():
    def error(data):
        with pytest.raises(ScenarioError) as raised:
            from_dict(data, source="shop.yaml")
        return str(raised.value)

    assert error({"browser": "yes", "steps": [{"goto": "/"}]}) == "shop.yaml: 'browser' must be true or false"
    assert error({"browser": True, "steps": [{"name": "first", "click": "#a"}]}) == (
        "shop.yaml: step 'first': a browser journey starts with a goto step (the browser opens on an empty page)")
    assert error({"steps": [{"get": "/"}, {"name": "go", "click": "text=Log In"}]}) == (
        "shop.yaml: step 'go': key 'click' is a browser step: add 'browser: true' at the top of the scenario")


def test_example_scenarios_validate():
    for path, count in ((CHECKOUT, 13), (LOGIN, 3)):
        result = run_plugin("cxcheck", "scenario", "check", path)
        assert result.code == 0 and f"with {count} steps" in result.stdout, result.stdout


def test_a_variable_nobody_defines_is_refused_before_the_browser_starts(tmp_path):
    path = write(tmp_path, "browser: true\nsteps:\n  - goto: http://127.0.0.1:9/\n"
                           "  - name: who\n    fill: {label=Email: '${email}'}\n")
    result = run_plugin("check_cx_checkout", "--scenario", path)
    assert result.code == 3
    assert result.text == (f"CX CHECKOUT UNKNOWN - {path}: step 'who': variable ${{email}} is not defined "
                           "(define it under variables, pass --var, or extract it in an earlier step)")


def test_screenshot_dir_is_refused_for_an_http_journey(shop, tmp_path):
    result = checkout(shop, SCENARIOS / "shop-checkout-html.yaml", "--screenshot-dir", str(tmp_path))
    assert result.code == 3
    assert result.text == ("CX CHECKOUT UNKNOWN - --screenshot-dir: screenshots come from a browser; this journey "
                           "runs over HTTP (a scenario with 'browser: true', or check_cx_login --browser)")


def test_browser_checkout_is_ok(chromium, shop):
    result = checkout(shop, CHECKOUT, "-w", "20", "-c", "30", "-t", "60", *roomy(CHECKOUT, keep=["place_order"]))
    assert result.code == 0, result.stdout
    assert_clean(result, "OK")
    assert re.fullmatch(r"CX CHECKOUT OK - checkout \d+\.\d{3} s, 13 steps", result.text), result.text
    assert set(result.perfdata) == {"time"} | {f"step_{name}" for name in CHECKOUT_STEPS}
    durations = [result.value(f"step_{name}") for name in CHECKOUT_STEPS]
    assert all(value > 0 for value in durations), result.perfdata
    assert result.value("time") == pytest.approx(sum(durations), abs=1e-5)
    assert result.perfdata["time"][1:3] == ("20", "30")
    assert result.perfdata["step_place_order"][1:3] == ("3", "8")       # the scenario's own ranges
    assert result.long_output == []                                     # no -v: no trace


def test_failed_expectation_is_critical_with_u_after(chromium, shop, tmp_path):
    path = browser_scenario(tmp_path, shop, """  - name: catalogue
    goto: /catalogue/
    expect: {text: All products, selector: "#add_W-1 button"}
  - name: basket
    click: "#add_W-1 button"
    expect: {text: "Free shipping today", url_matches: "/basket/$"}
  - name: pay
    goto: /checkout/payment/
""")
    result = run_plugin("check_cx_checkout", "--scenario", path, "-v")
    assert result.code == 2, result.stdout
    assert_clean(result, "CRITICAL")
    assert result.text == "CX CHECKOUT CRITICAL - probe failed at step basket: page lacks 'Free shipping today'"
    assert result.value("step_catalogue") > 0 and result.value("step_basket") > 0
    assert result.perfdata["step_pay"][0] == "U" and result.perfdata["time"][0] == "U"
    assert result.long_output[0].startswith(f"catalogue: goto /catalogue/ -> {shop.url}/catalogue/ 200, ")
    assert result.long_output[1].startswith(f"basket: click #add_W-1 button -> {shop.url}/basket/ 200, ")
    assert result.long_output[1].endswith(", FAILED: page lacks 'Free shipping today'")
    assert result.long_output[2:] == ["pay: not run"]


def test_an_element_that_never_comes_fails_naming_it(chromium, shop, tmp_path):
    path = browser_scenario(tmp_path, shop, """  - name: login_page
    goto: /spa/login/
  - name: nickname
    fill: {label=Nickname: cx}
    timeout: 1
  - name: submit
    click: text=Log In
""")
    result = run_plugin("check_cx_checkout", "--scenario", path, "-t", "20", reference=20, ends_first=True)
    assert result.code == 2, result.stdout
    assert_clean(result, "CRITICAL")
    assert result.text == "CX CHECKOUT CRITICAL - probe failed at step nickname: no element matches label=Nickname"
    assert result.perfdata["step_submit"][0] == "U"
    assert result.overrun < 0           # the step's own timeout, not the run's -t: before its reference


def test_script_built_form_is_found_by_label_and_secrets_are_masked(chromium, shop):
    result = checkout(shop, LOGIN, "--runs", "2", "-vvv", *roomy(LOGIN))
    assert result.code == 0, result.stdout
    assert_clean(result, "OK")
    assert re.fullmatch(r"CX CHECKOUT OK - spa-login \d+\.\d{3} s median of 2 runs, max \d+\.\d{3} s, 3 steps",
                        result.text), result.text
    assert result.value("time") <= result.value("time_max")
    assert set(result.perfdata) == {"time", "time_max", "step_login_page", "step_login", "step_submit"}
    runs = [line for line in result.long_output if line.startswith("run 2: ")]
    assert [line.split(":")[1].strip() for line in runs] == ["login_page", "login", "submit"], result.long_output
    assert runs[1].startswith("run 2: login: fill label=Email, label=Password -> ")
    assert PASSWORD not in result.stdout + result.stderr


def test_transaction_attempts_a_browser_journey(chromium, shop):
    result = checkout(shop, LOGIN, "--attempts", "2", plugin="check_cx_transaction")
    assert result.code == 0, result.stdout
    assert_clean(result, "OK", "TRANSACTION")
    assert re.fullmatch(r"CX TRANSACTION OK - spa-login 100% success, 2 of 2 attempts, \d+\.\d{3} s median",
                        result.text), result.text


def test_page_that_never_loads_is_a_timeout_within_the_deadline(chromium, shop, tmp_path):
    path = browser_scenario(tmp_path, shop, name="slow", steps_yaml="""  - name: home
    goto: /
  - name: widget
    goto: /catalogue/slow-widget/?ms=60000
  - name: after
    click: text=Catalogue
""")
    # A busy machine may not get Chromium to the step in 6 s: then a longer -t (conftest.run_until).
    result, seconds = run_until(lambda result: "widget" in result.text, lambda seconds: run_plugin(
        "check_cx_checkout", "--scenario", path, "-t", str(seconds), "--timeout-state", "unknown",
        reference=seconds), deadlines=(6, 15, 30))
    assert result.code == 3, result.stdout
    assert_clean(result, "UNKNOWN")
    # The step's own line, or on a busy machine the deadline's (the step named either way). The
    # request still loading is named when the browser had reported it by then (not always, loaded).
    if result.perfdata:
        assert re.fullmatch(re.escape(f"CX CHECKOUT UNKNOWN - slow failed at step widget: timed out after {seconds} s")
                            + "(" + re.escape(f", still waiting for {shop.url}/3p/widget.js?ms=60000") + ")?",
                            result.text), result.text
        assert result.perfdata["step_after"][0] == "U"
    else:
        assert result.text == f"CX CHECKOUT UNKNOWN - timed out after {seconds} s while step widget", result.stdout
    assert result.overrun < 3, result.elapsed


def test_failed_step_leaves_a_screenshot(chromium, shop, tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    path = browser_scenario(tmp_path, shop, """  - name: catalogue
    goto: /catalogue/
    expect: {title: "^Checkout"}
""")
    result = run_plugin("check_cx_checkout", "--scenario", path, "--screenshot-dir", str(shots))
    assert result.code == 2, result.stdout
    # A "|" would start perfdata: the status line shows it as "/".
    assert result.text == ("CX CHECKOUT CRITICAL - probe failed at step catalogue: the title is "
                           "'All products / CX Demo Shop', expected /^Checkout/")
    saved = list(shots.iterdir())
    assert len(saved) == 1 and re.fullmatch(r"probe-\d{8}T\d{6}-\d+\.png", saved[0].name)
    assert saved[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.long_output == [f"screenshot of step catalogue: {saved[0]}"]


def test_press_submits_the_script_built_form(chromium, shop, tmp_path):
    path = browser_scenario(tmp_path, shop, """  - name: login_page
    goto: /spa/login/
  - name: credentials
    fill: {label=Email: shopper@example.com, label=Password: "${password}"}
  - name: enter
    press: {label=Password: Enter}
    expect: {url_matches: "/accounts/$", text: "Signed in as shopper@example.com"}
""")
    result = run_plugin("check_cx_checkout", "--scenario", path, "--var-env", "password=SHOP_PASSWORD", "-v",
                        env=ENV)
    assert result.code == 0, result.stdout
    assert result.long_output[2].startswith(f"enter: press Enter in label=Password -> {shop.url}/accounts/ 200, ")


SELECT_PAGE = b"""<!DOCTYPE html><html><head><title>Sizes</title></head><body>
<label for="size">Size:</label> <select id="size"><option value="s">Small</option><option value="l">Large</option>
</select> <p id="out">none</p>
<script>document.getElementById("size").addEventListener("change",
  (event) => { document.getElementById("out").textContent = "chosen " + event.target.value; });</script>
</body></html>"""


def serve_page(conn, stopping):
    """Answers every request on the connection with SELECT_PAGE."""
    conn.settimeout(5)
    while not stopping.is_set():
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                     + str(len(SELECT_PAGE)).encode() + b"\r\n\r\n" + SELECT_PAGE)


def test_select_by_visible_text_or_value(chromium, raw_server, tmp_path):
    server = raw_server(serve_page)
    path = write(tmp_path, f"""name: sizes
browser: true
steps:
  - name: page
    goto: {server.url}/
  - name: large
    select: {{label=Size: Large}}
    wait_for: {{text: chosen l}}
  - name: small
    select: {{"#size": s}}
    wait_for: {{text: chosen s}}
  - name: huge
    select: {{"#size": Huge}}
""")
    result = run_plugin("check_cx_checkout", "--scenario", path, "-t", "20")
    assert result.code == 2, result.stdout
    assert result.text == "CX CHECKOUT CRITICAL - sizes failed at step huge: #size has no option 'Huge'"
    assert result.value("step_large") > 0 and result.value("step_small") > 0
