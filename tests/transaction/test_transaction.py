"""check_cx_transaction: synthetic attempts against the demo shop, real users' counts from any
JSON endpoint, burn-rate pairs, and configuration errors. (Real Prometheus: test_prometheus.py.)"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import ROOT, run_plugin, run_until

pytestmark = pytest.mark.slow(seconds=37)   # its measured time: the longest files start first (conftest)

SCENARIOS = ROOT / "templates" / "scenarios"
HTML = str(SCENARIOS / "shop-checkout-html.yaml")
API = str(SCENARIOS / "shop-checkout-api.yaml")
ENV = {"SHOP_PASSWORD": "correct-horse-battery"}


def synthetic(shop, *args, scenario=API, url=None, **kw):
    return run_plugin("check_cx_transaction", "--scenario", scenario, "--var", f"base_url={url or shop.url}",
                      "--var-env", "password=SHOP_PASSWORD", *args, env=ENV, **kw)


def assert_clean(result, state):
    assert result.status.startswith(f"CX TRANSACTION {state} - "), result.stdout
    assert "Traceback" not in result.stdout + result.stderr and result.stderr == ""


# --- synthetic -------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario, name", [(API, "api-checkout"), (HTML, "checkout")])
def test_example_scenarios_succeed(shop, scenario, name):
    result = synthetic(shop, scenario=scenario)
    assert result.code == 0, result.stdout
    assert_clean(result, "OK")
    assert result.text.startswith(f"CX TRANSACTION OK - {name} 100% success, 3 of 3 attempts, ")
    assert result.text.endswith(" s median")
    assert result.perfdata["success"] == ("100%", "100:", "50:", "0", "100")
    assert result.perfdata["attempts"][0] == "3c" and result.perfdata["failures"][0] == "0c"
    assert result.value("time") > 0


def test_each_attempt_is_a_fresh_session(fresh_shop):
    fresh_shop.clear_requests()
    result = synthetic(fresh_shop, "--attempts", "4", scenario=HTML)
    assert result.code == 0, result.stdout
    sessions = {r["session"] for r in fresh_shop.stats["requests"] if r["path"] == "/checkout/thank-you/"}
    assert len(sessions) == 4


def test_half_the_orders_failing(fresh_shop):
    attempts = 30
    fresh_shop.set_faults({"failure_rate": 0.5, "seed": 7})
    result = synthetic(fresh_shop, "--attempts", str(attempts), "-c", "0:", "-t", "60")
    failed = fresh_shop.stats["orders"]["failed"]
    assert result.value("failures") == failed and result.value("attempts") == attempts
    assert result.value("success") == pytest.approx(100.0 * (attempts - failed) / attempts, abs=0.001)
    # Within the binomial spread of 30 attempts at p = 0.5: 3 standard deviations.
    spread = 3 * 100 * math.sqrt(0.25 / attempts)
    assert abs(result.value("success") - 50) <= spread
    assert result.code == 1, result.stdout
    assert_clean(result, "WARNING")
    assert f"failed {failed}x at step create_order: HTTP 402, expected 201" in result.text


def test_exactly_half_failing_warns_and_a_majority_is_critical(fresh_shop):
    fresh_shop.set_faults({"fail_every": 2})
    half = synthetic(fresh_shop, "--attempts", "4")
    assert half.code == 1 and half.value("success") == 50.0, half.stdout
    assert "2 of 4 attempts, failed 2x at step create_order: HTTP 402, expected 201" in half.text
    fresh_shop.set_faults({"fail_every": 1})
    none = synthetic(fresh_shop, "--attempts", "3")
    assert none.code == 2, none.stdout
    assert_clean(none, "CRITICAL")
    assert "api-checkout 0% success (< 50)" in none.text


def test_shop_down_is_critical_quickly(fresh_shop):
    fresh_shop.set_faults({"down": True})
    result = synthetic(fresh_shop, "--attempts", "3", "--interval", "3", "-t", "30", reference=3)
    assert result.code == 2, result.stdout
    assert_clean(result, "CRITICAL")
    assert "failed 2x at step api_login: HTTP 503, expected 200" in result.text
    assert "stopped after 2 of 3 attempts" in result.text
    assert result.overrun < 2.5               # one pause (the reference's), not two, no waiting on timeouts


def test_shop_gone_is_critical(fresh_shop):
    url = fresh_shop.url
    fresh_shop.stop()
    result = synthetic(fresh_shop, url=url)
    assert result.code == 2
    assert "at step api_login: connection refused by 127.0.0.1" in result.text


def test_interval_between_attempts(fresh_shop):
    result = synthetic(fresh_shop, "--attempts", "3", "--interval", "0.4")
    assert result.code == 0, result.stdout
    assert result.elapsed >= 0.8


def test_hanging_step_holds_the_deadline(fresh_shop):
    fresh_shop.set_faults({"latency": {"/api/orders": 60}})
    result, seconds = run_until(lambda result: "create_order" in result.text,
                                lambda seconds: synthetic(fresh_shop, "-t", str(seconds), reference=seconds))
    assert result.code == 2, result.stdout
    assert_clean(result, "CRITICAL")
    if result.perfdata:              # the run's own line (the backstop's, on a busy machine, has no perfdata)
        assert f"timed out after {seconds} s at step create_order in attempt 1 of 3" in result.text
        assert result.perfdata["success"][0] == "U" and result.perfdata["attempts"][0] == "0c"
    else:
        assert result.text.endswith(f"timed out after {seconds} s while attempt 1 of 3, step create_order")
    assert result.overrun < 1.5


def test_deadline_in_a_later_attempt_keeps_the_earlier_ones(fresh_shop):
    # Attempts of 1.5 s and more: two fit in 4.5 s on an idle machine, one on a busy one, never
    # five. The run says how many it finished; those are judged, the one cut off is named.
    fresh_shop.set_faults({"latency": {"/api/login": 1.5}})
    result = synthetic(fresh_shop, "--attempts", "5", "-t", "4.5", "--timeout-state", "warning", reference=4.5)
    assert result.code == 1 and "attempts" in result.perfdata, result.stdout
    done = int(result.value("attempts"))
    assert 1 <= done <= 2, result.stdout
    assert re.search(rf"timed out after 4\.5 s at step \w+ in attempt {done + 1} of 5; api-checkout 100% success, "
                     rf"{done} of {done} attempts", result.text), result.text
    assert result.value("time") >= 1.5
    assert result.overrun < 1.5


def test_no_time_left_for_the_pause(fresh_shop):
    # Attempts of 0.5 s, pauses of 1.5 s: after two attempts and a pause (2.5 s and more) less than a
    # pause is left of 4 s. On a busy machine the first attempt alone may take 2.5 s: then no time is
    # left for the second; or a little more than a pause was left, and the attempt after it meets
    # the deadline. Never is a pause started that would end past the deadline.
    fresh_shop.set_faults({"latency": {"/api/login": 0.5}})
    result = synthetic(fresh_shop, "--attempts", "3", "--interval", "1.5", "-t", "4", "--timeout-state", "unknown")
    assert result.code == 3 and "pausing" not in result.text, result.stdout
    if not result.perfdata:     # the backstop ended a slowed attempt first: its line names the attempt and step
        assert re.fullmatch(r"CX TRANSACTION UNKNOWN - timed out after 4 s while attempt [12] of 3, step \w+",
                            result.text), result.text
        return
    done = int(result.value("attempts"))
    assert done in (1, 2), result.stdout
    assert f"no time left for attempt {done + 1} of 3 (-t 4 with --interval 1.5)" in result.text or (
        f"timed out after 4 s at step api_login in attempt {done + 1} of 3" in result.text), result.text


def test_synthetic_mode_does_not_load_the_prometheus_source(shop):
    import subprocess
    import sys

    from conftest import plugin_env

    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cxcheck.checks.transaction", "--scenario", API,
                           "--var", f"base_url={shop.url}", "--var-env", "password=SHOP_PASSWORD"],
                          capture_output=True, text=True, env=plugin_env(ENV), timeout=60)
    assert proc.returncode == 0, proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "yaml" in imported and "cxcheck.sources.apiclient" not in imported


# --- real users: any JSON endpoint -------------------------------------------------------------


def counts_site(site, table):
    """A JSON endpoint answering {"orders": {"ok": N, "all": M}} for ?window=W from `table`."""
    def answer(handler, body):
        window = parse_qs(urlsplit(handler.path).query).get("window", [""])[0]
        ok, total = table[window]
        return json.dumps({"orders": {"ok": ok, "all": total}, "window": window})

    return site({"/stats": (200, {"Content-Type": "application/json"}, answer)})


def json_tx(server, *args, query="?window=", paths=("orders.ok", "orders.all"), env=None):
    return run_plugin("check_cx_transaction", "--json-url", server.url + "/stats" + query,
                      "--success-path", paths[0], "--total-path", paths[1], *args, env=env)


def test_json_endpoint_ratio(site):
    server = counts_site(site, {"": (95, 100)})
    ok = json_tx(server)
    assert ok.code == 0, ok.stdout
    assert_clean(ok, "OK")
    assert "success 95% of 100 transactions" in ok.text
    assert ok.value("success") == 95.0 and ok.value("total") == 100
    warn = json_tx(server, "-w", "99:")
    assert warn.code == 1 and "(< 99)" in warn.text


@pytest.mark.parametrize("payload, words", [
    ({"orders": {"all": 10}}, "--success-path 'orders.ok' found nothing"),
    ({"orders": {"ok": "many", "all": 10}}, "--success-path 'orders.ok' gives \"many\", not a number"),
    ({"orders": {"ok": 11, "all": 10}}, "more successes (11) than transactions (10)"),
    ({"orders": {"ok": -1, "all": 10}}, "a count cannot be negative"),
    ({"orders": {"ok": 1, "all": [10]}}, "--total-path 'orders.all' gives [10], not a number"),
])
def test_json_endpoint_bad_numbers_are_unknown(site, payload, words):
    server = site({"/stats": (200, {"Content-Type": "application/json"}, json.dumps(payload))})
    result = json_tx(server, query="")
    assert result.code == 3, result.stdout
    assert_clean(result, "UNKNOWN")
    assert words in result.text


@pytest.mark.parametrize("status, body, words", [
    (500, "{}", "answered HTTP 500"),
    (200, "<html>oops</html>", "is not JSON"),
])
def test_json_endpoint_errors_are_unknown(site, status, body, words):
    server = site({"/stats": (status, {}, body)})
    result = json_tx(server, query="")
    assert result.code == 3 and words in result.text, result.stdout


def test_json_endpoint_that_hangs_holds_the_deadline(raw_server):
    server = raw_server(lambda conn, stop: stop.wait(30))
    result = run_plugin("check_cx_transaction", "--json-url", server.url + "/stats", "--success-path", "a",
                        "--total-path", "b", "-t", "4", reference=4)
    assert result.code == 2
    assert_clean(result, "CRITICAL")
    assert "timed out after 4 s while querying the success ratio" in result.text
    assert result.overrun < 1.5


def test_verbose_shows_each_window(site):
    server = counts_site(site, dict(WINDOWS))
    result = json_tx(server, "--slo", "99.9", "--burn-windows", "1h/5m:14.4", "-v", query="?window=${window}")
    assert result.long_output == ["window 1h: 9800 of 10000 transactions succeeded (98%)",
                                  "window 5m: 990 of 1000 transactions succeeded (99%)"]


def test_json_endpoint_without_traffic_is_low_volume(site):
    server = counts_site(site, {"": (0, 0)})
    result = json_tx(server)
    assert result.code == 0, result.stdout
    assert "low volume: 0 transactions" in result.text
    assert result.perfdata["success"][0] == "U"
    assert json_tx(server, "--low-volume-state", "critical").code == 2


def test_json_endpoint_window_in_the_one_duration_grammar(site):
    server = counts_site(site, {"1.5d": (999, 1000)})
    result = json_tx(server, "--window", "1.5d", query="?window=${window}")
    assert result.code == 0, result.stdout
    assert result.status == ("CX TRANSACTION OK - success 99.9% of 1000 transactions in 1.5d | "
                             "success=99.9%;;50:;0;100 total=1000c;;;0")


def test_json_endpoint_rate_limited_then_answering(site):
    answers = iter([(429, {"Retry-After": "0"}, ""),
                    (200, {"Content-Type": "application/json"}, json.dumps({"orders": {"ok": 9, "all": 10}}))])
    server = site({"/stats": (200, {}, lambda handler, body: next(answers))})
    result = json_tx(server, query="")
    assert result.code == 0, result.stdout
    assert "success 90% of 10 transactions" in result.text


# --- burn rates ----------------------------------------------------------------------------------

WINDOWS = {"1h": (9800, 10000), "5m": (990, 1000)}     # 2 % and 1 % errors: burn 20x and 10x at 99.9 %


def test_burn_needs_long_and_short_window(site):
    server = counts_site(site, dict(WINDOWS))
    result = json_tx(server, "--slo", "99.9", "--burn-windows", "1h/5m:14.4", query="?window=${window}")
    assert result.code == 0, result.stdout
    assert result.value("burn_1h") == pytest.approx(20) and result.value("burn_5m") == pytest.approx(10)
    assert result.perfdata["burn_1h"][1:3] == ("", "14.4")
    assert "success 98% of 10000 transactions in 1h" in result.text
    assert "error budget burn at most 20.00x (1h)" in result.text


def test_burn_pair_fires_critical_and_ticket_warns(site):
    server = counts_site(site, {"1h": (9800, 10000), "5m": (970, 1000), "6h": (59000, 60000), "30m": (4900, 5000)})
    page = json_tx(server, "--slo", "99.9", "--burn-windows", "1h/5m:14.4,6h/30m:6:ticket", query="?window=${window}")
    assert page.code == 2, page.stdout
    assert_clean(page, "CRITICAL")
    assert "error budget burning 20.0x over 1h and 30.0x over 5m (> 14.4, page)" in page.text
    assert "burning 16.7x over 6h and 20.0x over 30m (> 6, ticket)" in page.text
    assert page.perfdata["burn_6h"][1:3] == ("6", "")
    ticket = json_tx(server, "--slo", "99.9", "--burn-windows", "1h/5m:40,6h/30m:6:ticket", query="?window=${window}")
    assert ticket.code == 1, ticket.stdout
    assert "(> 6, ticket)" in ticket.text


def test_burn_default_windows(site):
    table = {w: (100000, 100000) for w in ("1h", "5m", "6h", "30m", "1d", "2h", "3d")}
    server = counts_site(site, table)
    result = json_tx(server, "--slo", "99.5", query="?window=${window}")
    assert result.code == 0, result.stdout
    assert {k for k in result.perfdata if k.startswith("burn_")} == {f"burn_{w}" for w in table}
    assert all(result.value(f"burn_{w}") == 0 for w in table)


def test_burn_with_low_volume_window_is_not_judged(site):
    server = counts_site(site, {"1h": (50, 100), "5m": (0, 3)})
    result = json_tx(server, "--slo", "99", "--burn-windows", "1h/5m:2", "--min-volume", "10", "-c", "0:",
                     query="?window=${window}")
    assert result.code == 0, result.stdout
    assert result.value("burn_5m") == pytest.approx(100)          # measured, shown, not judged
    assert "error budget burn at most 50.00x (1h)" in result.text


# --- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    ([], "give one of --scenario FILE (synthetic), --prometheus URL or --json-url URL"),
    (["--scenario", API, "--prometheus", "http://127.0.0.1:9"], "got --scenario, --prometheus"),
    (["--prometheus", "http://127.0.0.1:9", "--attempts", "3", "--ratio-query", "x"],
     "--attempts does not go with --prometheus"),
    (["--scenario", API, "--slo", "99"], "--slo does not go with --scenario"),
    (["--prometheus", "http://127.0.0.1:9"], "--prometheus needs --ratio-query, or --success-query and --total-query"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", "--success-query", "y"], "not both"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", "--min-volume", "5"], "--min-volume needs the total"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", "--slo", "99.9"], "burn rates need ${window}"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x[${window}]"], "give --window (or --slo"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", "--window", "1h"], "--window needs ${window}"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x[${window}]", "--slo", "99", "--burn-windows",
      "5m/1h:2"], "the long window 5m must be longer than the short one 1h"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x[${window}]", "--slo", "99", "--burn-windows",
      "1h/5m"], "write LONG/SHORT:RATE"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x[${window}]", "--slo", "99", "--burn-windows",
      "1h/5q:2"], "'5q' is not a duration such as 90s"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x[${window}]", "--burn-windows", "1h/5m:2"],
     "--burn-windows needs --slo"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", "--slo", "100"], "an objective between 0 and 100"),
    (["--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", "--bearer-env", "NOPE_NOT_SET"],
     "environment variable NOPE_NOT_SET is not set"),
    (["--json-url", "http://127.0.0.1:9/x", "--success-path", "a[", "--total-path", "b"],
     "--success-path 'a[' is not a JMESPath expression"),
    (["--json-url", "http://127.0.0.1:9/x", "--success-path", "a"], "--json-url needs --success-path and --total-path"),
    (["--scenario", API, "--attempts", "4", "--interval", "10", "-t", "30"], "take more than -t 30 s"),
    (["--scenario", API, "--attempts", "51"], "at most 50"),
])
def test_configuration_errors_are_unknown(args, words):
    result = run_plugin("check_cx_transaction", *args)
    assert result.code == 3, result.stdout
    assert result.status.startswith("CX TRANSACTION UNKNOWN - ") and words in result.text, result.stdout
    assert "Traceback" not in result.stdout + result.stderr


# --- pure parts ------------------------------------------------------------------------------------


def test_burn_windows_parse():
    from cxcheck.checks.transaction import BurnPair, parse_burn_windows

    assert parse_burn_windows("1h/5m:14.4, 6h/30m:6,1d/2h:3:ticket") == [
        BurnPair("1h", "5m", 14.4), BurnPair("6h", "30m", 6.0), BurnPair("1d", "2h", 3.0, ticket=True)]
    assert parse_burn_windows("1h30m/90s:2")[0].long == "1h30m"


def test_burn_windows_any_text_parses_or_is_a_config_error():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cxcheck.checks.transaction import parse_burn_windows
    from cxcheck.runtime import ConfigError

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet="0123456789hmsdwy/:,.ticket -", max_size=40))
    def check(spec):
        try:
            pairs = parse_burn_windows(spec)
        except ConfigError as exc:
            assert "\n" not in str(exc)
        else:
            assert pairs and all(p.rate > 0 for p in pairs)

    check()
