"""check_cx_conversion from Prometheus (a local server answering as Prometheus' HTTP API
documents instant queries: https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries,
GET /api/v1/query?query=Q&time=T, `{"status": "success", "data": {"resultType": "vector",
"result": [{"metric": {}, "value": [T, "12"]}]}}`) and from a JSON endpoint; and the rule that
makes a quiet hour's drop no page while the same drop over real volume pages."""

from __future__ import annotations

import json

import pytest
from conftest import run_plugin
from prometheus_api import JSON, prometheus_api, query, windowed

NOW = "2026-11-01T12:00:00Z"
NOW_EPOCH = 1793534400
WEEK = 7 * 86400
ENTERED = 'sum(increase(cxshop_requests_total{path="/basket/add/"}[${window}]))'
PAYMENT = 'sum(increase(cxshop_requests_total{path="/checkout/payment/"}[${window}]))'
ORDERED = 'sum(increase(cxshop_orders_total{outcome="success"}[${window}]))'


def conversion(*args, env=None):
    return run_plugin("check_cx_conversion", "--now", NOW, *args, env=env)


def test_prometheus_counters_steps_and_the_week_before(site):
    seen = []
    now, before = float(NOW_EPOCH), float(NOW_EPOCH - WEEK)
    values = {(windowed(ENTERED, "1h"), now): 412.6, (windowed(PAYMENT, "1h"), now): 130,
              (windowed(ORDERED, "1h"), now): 101.2,
              (windowed(ENTERED, "1h"), before): 400, (windowed(PAYMENT, "1h"), before): 150,
              (windowed(ORDERED, "1h"), before): 120}
    api = prometheus_api(site, values, seen)
    result = conversion("--prometheus", api.url, "--entered-query", ENTERED, "--step-query", f"payment={PAYMENT}",
                        "--converted-query", ORDERED, "--window", "1h", "-w", "20:", "--max-drop", "10")
    # increase() extrapolates: 412.6 -> 413 entered, 101.2 -> 101 converted: 101/413 = 24.46 %;
    # a week before 120/400 = 30 %: a drop of 5.54/30 = 18 % (> 10). payment kept 130/413 = 31.48 %,
    # converted 101/130 = 77.69 %: the worst step is payment.
    assert result.status == (
        "CX CONVERSION WARNING - conversion 24.46% (101 of 413 entered) over 1h dropped 18% from 30% 7d earlier "
        "(> 10%), worst step payment 31.48% | conversion=24.46%;20:;;0;100 conversion_previous=30%;;;0;100 "
        "converted=101c;;;0 entered=413c;;;0 step_converted=77.69%;;;0;100 step_payment=31.48%;;;0;100")
    assert [(p["query"], p["time"]) for p in seen] == [
        (windowed(ENTERED, "1h"), f"{now:.3f}"), (windowed(PAYMENT, "1h"), f"{now:.3f}"),
        (windowed(ORDERED, "1h"), f"{now:.3f}"), (windowed(ENTERED, "1h"), f"{before:.3f}"),
        (windowed(PAYMENT, "1h"), f"{before:.3f}"), (windowed(ORDERED, "1h"), f"{before:.3f}")]


def test_prometheus_ratio_with_the_entered_count_and_a_token(site):
    ratio = f"{windowed(ORDERED, '1d')} / {windowed(ENTERED, '1d')}"
    values = {(windowed(ENTERED, "1d"), float(NOW_EPOCH)): 2000, (ratio, float(NOW_EPOCH)): 0.0315}
    auths = []
    api = prometheus_api(site, values, auths=auths)
    result = conversion("--prometheus", api.url, "--entered-query", ENTERED, "--ratio-query",
                        f"{ORDERED} / {ENTERED}", "--no-compare", "-c", "2:", "--token-env", "PROM_TOKEN", "-vv",
                        env={"PROM_TOKEN": "prom-s3cret"})
    assert auths == ["Bearer prom-s3cret"] * 2 and "prom-s3cret" not in result.stdout
    # 0.0315 x 2000 = 63 converted: 3.15 %
    assert (result.code, result.text) == (0, "CX CONVERSION OK - conversion 3.15% (63 of 2000 entered) over 1d, "
                                             "floor 2%")
    assert any(line.startswith("INFO cxcheck: GET") for line in result.long_output)    # -vv shows the requests


def test_prometheus_quiet_night_ratio_without_data_is_no_volume(site):
    ratio = f"{windowed(ORDERED, '1h')} / {windowed(ENTERED, '1h')}"
    values = {(windowed(ENTERED, "1h"), float(NOW_EPOCH)): 0, (ratio, float(NOW_EPOCH)): None}
    api = prometheus_api(site, values)
    result = conversion("--prometheus", api.url, "--entered-query", ENTERED, "--ratio-query",
                        f"{ORDERED} / {ENTERED}", "--no-compare", "--window", "1h", "-c", "2:")
    assert (result.code, result.text) == (0, "CX CONVERSION OK - low volume: 0 entered in 1h")
    assert result.perfdata["conversion"][0] == "U"


def test_prometheus_empty_result_for_a_count_is_unknown(site):
    values = {(windowed(ENTERED, "1h"), float(NOW_EPOCH)): None}
    api = prometheus_api(site, values)
    result = conversion("--prometheus", api.url, "--entered-query", ENTERED, "--converted-query", ORDERED,
                        "--window", "1h", "--no-compare")
    assert result.code == 3
    assert result.text.startswith("CX CONVERSION UNKNOWN - query 'sum(increase(cxshop_requests_total"
                                  "{path=\"/basket/add/\"}[1h]))' returned no data")


def test_more_converted_than_entered_is_refused(site):
    values = {(windowed(ENTERED, "1h"), float(NOW_EPOCH)): 10, (windowed(ORDERED, "1h"), float(NOW_EPOCH)): 25}
    api = prometheus_api(site, values)
    result = conversion("--prometheus", api.url, "--entered-query", ENTERED, "--converted-query", ORDERED,
                        "--window", "1h", "--no-compare")
    assert result.text == ("CX CONVERSION UNKNOWN - Prometheus: more converted (25) than entered (10); do both count "
                           "the same customers over the same window?")


@pytest.mark.parametrize("args, reason", [
    (["--entered-query", ENTERED], "--prometheus needs --entered-query, and --converted-query or --ratio-query (one)"),
    (["--entered-query", "sum(x)", "--converted-query", ORDERED],
     "every query needs ${window} (the window, e.g. increase(x[${window}])): 'sum(x)'"),
    (["--entered-query", ENTERED, "--converted-query", ORDERED, "--max-drop", "10", "--no-compare"],
     "--max-drop compares with an earlier window: not with --no-compare"),
])
def test_prometheus_configuration_errors(args, reason):
    result = conversion("--prometheus", "http://127.0.0.1:9", *args)
    assert (result.code, result.text) == (3, f"CX CONVERSION UNKNOWN - {reason}")


def json_funnel(site, counts: dict, seen: list | None = None):
    """A stats endpoint answering the counts of the window whose `until` it is asked for."""
    def answer(handler, body):
        params = query(handler)
        if seen is not None:
            seen.append((params, handler.headers.get("Authorization")))
        entered, paid, ordered = counts[params["to"]]
        return json.dumps({"funnel": {"checkout_started": entered, "paid": paid, "ordered": ordered}})

    return site({"/stats/funnel": (200, JSON, answer)})


def json_conversion(url, *args, env=None):
    return conversion("--json-url", url + "/stats/funnel?from=${since}&to=${until}", "--entered-path",
                      "funnel.checkout_started", "--step-path", "paid=funnel.paid", "--converted-path",
                      "funnel.ordered", *args, env=env)


def test_json_endpoint_with_the_window_in_the_url_and_a_token(site):
    seen = []
    api = json_funnel(site, {"2026-11-01T12:00:00Z": (500, 100, 90), "2026-10-25T12:00:00Z": (480, 110, 100)}, seen)
    result = json_conversion(api.url, "--token-env", "STATS_TOKEN", "-w", "15:", env={"STATS_TOKEN": "stats-s3cret"})
    # 90/500 = 18 %; a week earlier 100/480 = 20.83 %; paid 100/500 = 20 %, ordered 90/100 = 90 %
    assert (result.code, result.text) == (0, "CX CONVERSION OK - conversion 18% (90 of 500 entered) over 1d, "
                                             "worst step paid 20%, floor 15%, 20.83% 7d earlier")
    assert [params for params, _ in seen] == [{"from": "2026-10-31T12:00:00Z", "to": "2026-11-01T12:00:00Z"},
                                              {"from": "2026-10-24T12:00:00Z", "to": "2026-10-25T12:00:00Z"}]
    assert {auth for _, auth in seen} == {"Bearer stats-s3cret"}


def test_json_endpoint_without_the_window_cannot_compare(site):
    result = conversion("--json-url", "http://127.0.0.1:9/stats", "--entered-path", "a", "--converted-path", "b")
    assert result.text == ("CX CONVERSION UNKNOWN - http://127.0.0.1:9/stats cannot give an earlier window (the URL "
                           "has no ${since} and ${until} (or ${window})); add that, or give --no-compare")


@pytest.mark.parametrize("answer, reason", [
    ({"funnel": {"paid": 1, "ordered": 1}}, "--entered-path 'funnel.checkout_started' found nothing in the answer"),
    ({"funnel": {"checkout_started": "lots", "paid": 1, "ordered": 1}},
     "--entered-path 'funnel.checkout_started' is 'lots', not a count"),
    ({"funnel": {"checkout_started": -3, "paid": 1, "ordered": 1}},
     "--entered-path 'funnel.checkout_started' is -3, not a count (a finite number, 0 or more)"),
])
def test_json_answers_without_counts_name_the_path(site, answer, reason):
    api = site({"/stats/funnel": (200, JSON, json.dumps(answer))})
    result = json_conversion(api.url, "--no-compare")
    assert result.code == 3 and result.text.startswith(f"CX CONVERSION UNKNOWN - {reason}")


# ------------------------------------------------------------------------------------------------
# The significance rule: the same halving, over a quiet hour and over real volume


QUIET = {"2026-11-01T12:00:00Z": (100, 10, 2), "2026-10-25T12:00:00Z": (100, 10, 4)}
BUSY = {"2026-11-01T12:00:00Z": (10000, 1000, 200), "2026-10-25T12:00:00Z": (10000, 1000, 400)}


def test_significance_keeps_a_low_volume_drop_at_ok_and_pages_a_real_one(site):
    options = ["--window", "1h", "--max-drop", "25", "--significant", "--change-state", "critical", "-v"]
    quiet = json_conversion(json_funnel(site, QUIET).url, *options)
    busy = json_conversion(json_funnel(site, BUSY).url, *options)
    print("\n" + quiet.stdout + busy.stdout)        # the closing note quotes both runs
    # 4 % -> 2 % both times, a 50 % drop. 100 each: pooled 0.03, se = sqrt(0.03 * 0.97 * 2/100) = 0.024125,
    # z = 0.02 / 0.024125 = 0.83 < 1.96: noise. 10000 each: se ten times smaller, z = 8.29: a real drop.
    assert quiet.code == 0
    assert quiet.text == ("CX CONVERSION OK - conversion 2% (2 of 100 entered) over 1h, worst step paid 10%, "
                          "dropped 50% from 4% 7d earlier (> 25%), not significantly (z 0.83 < 1.96)")
    assert ("dropped 50% from 4% 7d earlier (> 25%), not significantly (z 0.83 < 1.96): 4 of 100 7d earlier, "
            "2 of 100 now") in quiet.long_output
    assert busy.code == 2
    assert busy.text == ("CX CONVERSION CRITICAL - conversion 2% (200 of 10000 entered) over 1h dropped 50% from 4% "
                         "7d earlier (> 25%), significantly (z 8.29 >= 1.96, p 5.6e-17), worst step paid 10%")
    # Without --significant the quiet hour's drop would page too.
    assert json_conversion(json_funnel(site, QUIET).url, *[o for o in options if o != "--significant"]).code == 2


def test_min_volume_leaves_the_quiet_hour_unjudged(site):
    result = json_conversion(json_funnel(site, QUIET).url, "--window", "1h", "-c", "3:", "--min-volume", "500")
    assert (result.code, result.text) == (0, "CX CONVERSION OK - low volume: 100 entered in 1h, under --min-volume "
                                             "500; conversion 2% not judged")


def test_an_earlier_window_under_min_volume_is_not_compared(site):
    counts = {"2026-11-01T12:00:00Z": (1000, 100, 20), "2026-10-25T12:00:00Z": (40, 10, 4)}
    result = json_conversion(json_funnel(site, counts).url, "--window", "1h", "--max-drop", "10", "--min-volume",
                             "100", "-v")
    assert result.code == 0
    assert "the same 1h 7d earlier: 40 entered, too few to compare (--min-volume 100)" in result.long_output


def test_a_floor_breach_with_significant_needs_the_whole_interval(site):
    result = json_conversion(json_funnel(site, QUIET).url, "--window", "1h", "-c", "3:", "--significant")
    # 2 of 100: Wilson 95 % 0.55 %..7.0 %, reaching above 3: not significantly below.
    assert (result.code, result.text) == (0, "CX CONVERSION OK - conversion 2% (2 of 100 entered) over 1h, worst step "
                                             "paid 10%, < 3% but not significantly, 4% 7d earlier")
    busy = json_conversion(json_funnel(site, BUSY).url, "--window", "1h", "-c", "3:", "--significant")
    assert (busy.code, busy.text) == (2, "CX CONVERSION CRITICAL - conversion 2% (200 of 10000 entered) over 1h "
                                         "(significantly < 3%), worst step paid 10%, 4% 7d earlier")


def test_a_breach_and_a_drop_together_in_one_line(site):
    result = json_conversion(json_funnel(site, BUSY).url, "--window", "1h", "-c", "3:", "--max-drop", "25")
    assert (result.code, result.text) == (2, "CX CONVERSION CRITICAL - conversion 2% (200 of 10000 entered) over 1h "
                                             "(< 3%), dropped 50% from 4% 7d earlier (> 25%), worst step "
                                             "paid 10%")


def test_the_demo_shop_funnel_through_a_real_prometheus(tmp_path):
    """The demo's path end to end: customers walk the shop's checkout, a real Prometheus scrapes
    its /metrics, the plugin reads the funnel with the same client as check_cx_transaction."""
    from conftest import ROOT, need_binary

    from cxcheck.demo import business
    from cxcheck.demo.shop import DEMO_ACCOUNTS, DemoShop

    need_binary("prometheus", "prometheus")
    with DemoShop() as shop:
        prometheus = business.DemoPrometheus(shop.url).start()
        try:
            account, password = next(iter(DEMO_ACCOUNTS.items()))
            ordered = business.walk_the_funnel(shop.url, ROOT / "templates" / "scenarios" / "shop-checkout-html.yaml",
                                               account, password)
            assert ordered == 6
            prometheus.wait(lambda: prometheus.value(business.SEEN) == 6, 30, "the orders in Prometheus")
            result = run_plugin("check_cx_conversion", *business.conversion_args(prometheus.url))
        finally:
            prometheus.stop()
    # 12 baskets, 9 payment pages (3 left there), 6 orders: 50 %, payment kept 75 %, orders 66.67 %.
    assert (result.code, result.text) == (0, "CX CONVERSION OK - conversion 50% (6 of 12 entered) over 10m, worst "
                                             "step converted 66.67%, floor 30%")
