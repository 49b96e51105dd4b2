"""check_cx_checkout against the demo shop: the example scenarios run green, a slowed step is
named, a failing step is CRITICAL with U after it, and the deadline holds when a step hangs."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from conftest import ROOT, run_plugin, run_until

pytestmark = pytest.mark.slow(seconds=21)   # its measured time: the longest files start first (conftest)

SCENARIOS = ROOT / "templates" / "scenarios"
HTML = str(SCENARIOS / "shop-checkout-html.yaml")
API = str(SCENARIOS / "shop-checkout-api.yaml")
HTML_STEPS = ["login_page", "login", "catalogue", "add_to_basket", "checkout", "address", "shipping", "payment",
              "place_order"]
ENV = {"SHOP_PASSWORD": "correct-horse-battery"}


def checkout(shop, scenario=HTML, *args, env=None, **kw):
    return run_plugin("check_cx_checkout", "--scenario", scenario, "--var", f"base_url={shop.url}",
                      "--var-env", "password=SHOP_PASSWORD", *args, env=env or ENV, **kw)


def assert_clean(result, state):
    assert result.status.startswith(f"CX CHECKOUT {state} - "), result.stdout
    assert "Traceback" not in result.stdout + result.stderr and result.stderr == ""


def shop_requests(shop):
    with urllib.request.urlopen(shop.url + "/admin/requests", timeout=5) as resp:
        return json.load(resp)


def test_html_checkout_is_ok(shop):
    result = checkout(shop, HTML, "-w", "5", "-c", "10")
    assert result.code == 0, result.stdout
    assert_clean(result, "OK")
    assert result.text.startswith("CX CHECKOUT OK - checkout ") and result.text.endswith(" s, 9 steps")
    steps = {name: result.value(f"step_{name}") for name in HTML_STEPS}
    assert all(value > 0 for value in steps.values()), steps
    assert result.value("time") == pytest.approx(sum(steps.values()), abs=1e-5)
    assert result.perfdata["time"][1:3] == ("5", "10")
    assert result.perfdata["step_payment"][1:3] == ("2", "5")          # the scenario's own ranges
    assert "time_max" not in result.perfdata


def test_api_checkout_is_ok(shop):
    result = checkout(shop, API)
    assert result.code == 0, result.stdout
    assert_clean(result, "OK")
    assert result.text.startswith("CX CHECKOUT OK - api-checkout ") and result.text.endswith(" s, 3 steps")
    assert {k for k in result.perfdata} == {"time", "step_api_login", "step_create_order", "step_order_status"}


def test_runs_report_median_and_max(shop):
    result = checkout(shop, API, "--runs", "3", "-v")
    assert result.code == 0, result.stdout
    assert "median of 3 runs, max" in result.text
    assert result.value("time") <= result.value("time_max")
    assert sum(line.startswith("run 3: ") for line in result.long_output) == 3


def test_secret_from_a_file_is_masked(shop, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("correct-horse-battery\n")
    result = run_plugin("check_cx_checkout", "--scenario", HTML, "--var", f"base_url={shop.url}",
                        "--var-file", f"password={secret}", "-vvv")
    assert result.code == 0, result.stdout
    assert "correct-horse-battery" not in result.stdout


def test_slowed_step_is_named(fresh_shop):
    # The thank-you page is reached only by place_order's redirect: only that step slows down.
    fresh_shop.set_faults({"latency": {"/checkout/thank-you/": 0.6}})
    warn = checkout(fresh_shop, HTML, "--step-warning", "place_order=0.5")
    assert warn.code == 1, warn.stdout
    assert_clean(warn, "WARNING")
    slowest = re.search(r"slowest step place_order (\d+\.\d+) s \(> 0\.5\)", warn.text)
    assert slowest and float(slowest.group(1)) >= 0.6, warn.text      # at least the latency; more when busy
    assert warn.perfdata["step_place_order"][1:3] == ("0.5", "8")
    assert warn.value("step_place_order") >= 0.6
    crit = checkout(fresh_shop, HTML, "--step-warning", "place_order=0.2", "--step-critical", "place_order=0.4",
                    "--step-critical", "login=0:10")
    assert crit.code == 2, crit.stdout
    assert "slowest step place_order" in crit.text and "(> 0.4)" in crit.text
    total = checkout(fresh_shop, HTML, "-w", "0.3")
    assert total.code == 1 and "(> 0.3)" in total.text, total.stdout


def test_failing_step_is_critical_and_later_steps_are_u(fresh_shop):
    # The shipping page fails: the address step (redirected to it) fails, nothing after it runs.
    fresh_shop.set_faults({"status": {"/checkout/shipping/": 503}})
    result = checkout(fresh_shop)
    assert result.code == 2, result.stdout
    assert_clean(result, "CRITICAL")
    assert "checkout failed at step address: HTTP 503, expected 200" in result.text
    assert result.value("step_address") > 0
    for name in ("shipping", "payment", "place_order"):
        assert result.perfdata[f"step_{name}"][0] == "U"
    assert result.perfdata["time"][0] == "U"


def test_declined_payment_is_critical(fresh_shop):
    fresh_shop.set_faults({"fail_every": 1})
    result = checkout(fresh_shop)
    assert result.code == 2
    assert "failed at step place_order:" in result.text and "page shows 'Payment declined'" in result.text


def test_transport_failure_names_the_step(fresh_shop):
    url = fresh_shop.url
    fresh_shop.stop()
    result = run_plugin("check_cx_checkout", "--scenario", API, "--var", f"base_url={url}",
                        "--var-env", "password=SHOP_PASSWORD", env=ENV)
    assert result.code == 2
    assert_clean(result, "CRITICAL")
    assert "api-checkout failed at step api_login: connection refused by 127.0.0.1" in result.text
    assert all(v[0] == "U" for v in result.perfdata.values())


@pytest.mark.parametrize("state, code", [("critical", 2), ("warning", 1), ("unknown", 3)])
def test_hanging_step_holds_the_deadline(fresh_shop, state, code):
    fresh_shop.set_faults({"latency": {"/checkout/thank-you/": 60}})
    result, seconds = run_until(lambda result: "place_order" in result.text, lambda seconds: checkout(
        fresh_shop, HTML, "-t", str(seconds), "--timeout-state", state, reference=seconds))
    assert result.code == code, result.stdout
    assert_clean(result, state.upper())
    # the run's own line, or the backstop's when the machine is too busy for it to be written in time
    assert result.text.endswith((f"checkout failed at step place_order: timed out after {seconds} s",
                                 f"timed out after {seconds} s while step place_order")), result.text
    assert result.overrun < 1.5
    if result.perfdata:         # the run's own line carries the steps' times (the backstop's has none)
        assert result.value("step_payment") > 0 and result.perfdata["step_place_order"][0] == "U"


def test_hanging_step_in_a_later_run_holds_the_deadline(fresh_shop):
    # 20 runs of ~1.7 s: each -t of the sequence ends within a later run (with 5, -t 20 let all
    # five finish when a busy machine had held the first run past -t 3 and 8).
    fresh_shop.set_faults({"latency": {"/api/orders": 0.8}})
    result, seconds = run_until(lambda result: "(run " in result.text, lambda seconds: checkout(
        fresh_shop, API, "--runs", "20", "-t", str(seconds), reference=seconds), deadlines=(3, 8, 20))
    assert result.code == 2, result.stdout
    assert f"timed out after {seconds} s" in result.text
    assert result.overrun < 1.5


@pytest.mark.parametrize("args, words", [
    ([], "the following arguments are required: --scenario"),
    (["--scenario", "/nonexistent.yaml"], "cannot read scenario /nonexistent.yaml"),
    (["--scenario", HTML], "base_url uses undefined ${base_url}"),
    (["--scenario", HTML, "--var", "base_url=http://127.0.0.1:1", "--step-warning", "pay=1"],
     "--step-warning pay: no such step"),
    (["--scenario", HTML, "--var", "base_url=http://127.0.0.1:1", "--step-critical", "payment=abc"],
     "not a Nagios range"),
    (["--scenario", HTML, "--runs", "0"], "must be at least 1"),
    (["--scenario", HTML, "--runs", "21"], "at most 20"),
    (["--scenario", HTML, "--var-env", "password=NOT_SET_ANYWHERE"],
     "environment variable NOT_SET_ANYWHERE is not set"),
])
def test_configuration_errors_are_unknown(args, words):
    result = run_plugin("check_cx_checkout", *args)
    assert result.code == 3, result.stdout
    assert result.status.startswith("CX CHECKOUT UNKNOWN - ") and words in result.text, result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_plugin_times_match_the_shops_own(fresh_shop):
    """Each step's time is what the customer waited: at least what the shop spent serving its
    requests (Server-Timing, /admin/requests), and not much more on a loopback connection."""
    fresh_shop.set_faults({"latency": {"/checkout/thank-you/": 0.25, "/catalogue/": 0.1}})
    per_step = [1, 2, 1, 2, 1, 2, 2, 2, 2]           # requests per step, redirects included
    for _ in range(3):
        fresh_shop.clear_requests()
        result = checkout(fresh_shop)
        assert result.code == 0, result.stdout
        served = shop_requests(fresh_shop)
        assert len(served) == sum(per_step), served
        index, over = 0, []
        for name, count in zip(HTML_STEPS, per_step):
            server = sum(r["duration_s"] for r in served[index:index + count])
            index += count
            plugin = result.value(f"step_{name}")
            assert server <= plugin, (name, plugin, server)
            if plugin > server + 0.25:
                over.append((name, plugin, server))
        # Over by more than 0.25 s: the client's own turns of the CPU on a loaded machine (seen
        # at load 26). Tried again, bounded; idle, the first run holds.
        if not over:
            break
    assert not over, over
    assert result.value("step_place_order") >= 0.25 and result.value("step_catalogue") >= 0.1
