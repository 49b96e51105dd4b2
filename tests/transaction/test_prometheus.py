"""check_cx_transaction with real users' counts from a real Prometheus (Debian package
`prometheus`), started here on 127.0.0.1 with a private config and storage, scraping the demo
shop's /metrics every second after the shop was driven to known order outcomes."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import free_port, need_binary, run_plugin

from cxcheck.demo.prometheus import PrivatePrometheus

ORDERS, EVERY = 20, 4                     # fail_every=4: orders 4, 8, 12, 16, 20 are declined
SUCCEEDED, FAILED = ORDERS - ORDERS // EVERY, ORDERS // EVERY
SUCCESS_Q = 'sum(cxshop_orders_total{outcome="success"})'
TOTAL_Q = "sum(cxshop_orders_total)"
RATIO_Q = f"{SUCCESS_Q} / {TOTAL_Q}"


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    from cxcheck.demo.shop import DemoShop

    need_binary("prometheus", "prometheus")
    with DemoShop(faults={"fail_every": EVERY}) as shop:
        # Drive the shop through its JSON API, as customers' apps would.
        with requests.Session() as http:
            http.trust_env = False
            token = http.post(shop.url + "/api/login", json={"email": "shopper@example.com",
                                                             "password": "correct-horse-battery"},
                              timeout=10).json()["token"]
            codes = [http.post(shop.url + "/api/orders", json={"sku": "W-1"}, timeout=10,
                               headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(ORDERS)]
        assert codes.count(201) == SUCCEEDED and codes.count(402) == FAILED
        assert shop.stats["orders"] == {"success": SUCCEEDED, "failed": FAILED}
        # max-samples low enough that a big subquery gives a real 422, high enough for the rest.
        with PrivatePrometheus([shop.url.split("//", 1)[1]], tmp_path_factory.mktemp("prometheus"),
                               extra_flags=["--query.max-samples=2000"]) as server:
            server.wait(lambda: server.value(TOTAL_Q) == ORDERS, 30, f"Prometheus to see {TOTAL_Q} == {ORDERS}")
            server.wait(lambda: server.value(SUCCESS_Q) == SUCCEEDED, 10,
                        f"Prometheus to see {SUCCESS_Q} == {SUCCEEDED}")
            yield server, shop


def tx(*args, env=None, **kw):
    return run_plugin("check_cx_transaction", *args, env=env, **kw)


def prom_tx(prom, *args, env=None):
    return tx("--prometheus", prom[0].url, *args, env=env)


def assert_clean(result, state):
    assert result.status.startswith(f"CX TRANSACTION {state} - "), result.stdout
    assert "Traceback" not in result.stdout + result.stderr and result.stderr == ""


def test_success_and_total_queries_match_the_shop(prom):
    result = prom_tx(prom, "--success-query", SUCCESS_Q, "--total-query", TOTAL_Q)
    assert result.code == 0
    assert_clean(result, "OK")
    assert result.value("success") == 100.0 * SUCCEEDED / ORDERS == 75.0
    assert result.value("total") == ORDERS
    assert result.perfdata["success"] == ("75%", "", "50:", "0", "100")
    assert result.perfdata["total"][0] == "20c"
    assert "success 75% of 20 transactions" in result.text


def test_ratio_query_matches_the_shop(prom):
    result = prom_tx(prom, "--ratio-query", RATIO_Q)
    assert result.code == 0, result.stdout
    assert result.value("success") == 75.0
    assert "total" not in result.perfdata


@pytest.mark.parametrize("args, code, state, words", [
    (["-w", "80:"], 1, "WARNING", "success 75% of 20 transactions (< 80)"),
    (["-w", "95:", "-c", "90:"], 2, "CRITICAL", "(< 90)"),
    (["-w", "70:", "-c", "60:"], 0, "OK", "success 75%"),
])
def test_thresholds(prom, args, code, state, words):
    result = prom_tx(prom, "--success-query", SUCCESS_Q, "--total-query", TOTAL_Q, *args)
    assert result.code == code, result.stdout
    assert_clean(result, state)
    assert words in result.text


def test_low_volume_is_ok_by_default_and_says_so(prom):
    result = prom_tx(prom, "--success-query", SUCCESS_Q, "--total-query", TOTAL_Q, "--min-volume", "50",
                     "-c", "90:")
    assert result.code == 0, result.stdout
    assert "low volume: 20 transactions, under --min-volume 50; success 75% not judged" in result.text
    assert result.value("success") == 75.0


def test_low_volume_state(prom):
    result = prom_tx(prom, "--ratio-query", RATIO_Q, "--total-query", TOTAL_Q, "--min-volume", "50",
                     "--low-volume-state", "warning")
    assert result.code == 1, result.stdout
    assert_clean(result, "WARNING")
    assert "low volume" in result.text


def test_malformed_query_gives_prometheus_400(prom):
    result = prom_tx(prom, "--ratio-query", "sum(cxshop_orders_total")
    assert result.code == 3
    assert_clean(result, "UNKNOWN")
    assert "Prometheus bad_data (HTTP 400)" in result.text
    assert "parse error" in result.text and "unclosed left parenthesis" in result.text


def test_too_expensive_query_gives_prometheus_422(prom):
    result = prom_tx(prom, "--ratio-query", "count_over_time(vector(1)[1h:1s])")
    assert result.code == 3
    assert_clean(result, "UNKNOWN")
    assert "Prometheus execution (HTTP 422)" in result.text and "too many samples" in result.text


@pytest.mark.parametrize("query, words", [
    ("sum(cxshop_no_such_metric)", "returned no data"),
    ("0/0", "returned NaN"),
    ("1/0", "returned +Inf"),
    ("cxshop_orders_total", "returned 2 series"),
    ("cxshop_orders_total[1m]", "returned a range vector"),
    ('"text"', "returned a string result"),
])
def test_no_single_finite_number_is_unknown(prom, query, words):
    result = prom_tx(prom, "--ratio-query", query)
    assert result.code == 3, result.stdout
    assert_clean(result, "UNKNOWN")
    assert words in result.text


@pytest.mark.parametrize("args", [
    ["--ratio-query", "0/0", "--total-query", "vector(0)"],
    ["--success-query", "sum(cxshop_no_such_metric)", "--total-query", "vector(0)"],
])
def test_no_data_on_a_quiet_night_is_low_volume_not_unknown(prom, args):
    result = prom_tx(prom, *args)
    assert result.code == 0, result.stdout
    assert "low volume: 0 transactions" in result.text
    assert result.perfdata["total"][0] == "0c"


def test_ratio_query_must_be_a_fraction(prom):
    result = prom_tx(prom, "--ratio-query", f"100 * {RATIO_Q}")
    assert result.code == 3
    assert "not a fraction between 0 and 1" in result.text


def test_evaluation_time_before_any_sample(prom):
    result = prom_tx(prom, "--success-query", SUCCESS_Q, "--total-query", TOTAL_Q, "--time", "2020-01-01T00:00:00Z")
    assert result.code == 3
    assert "returned no data" in result.text


@pytest.mark.parametrize("windows, code, state", [
    ("1m/30s:2", 2, "CRITICAL"),
    ("1m/30s:2:ticket", 1, "WARNING"),
    ("1m/30s:3", 0, "OK"),
    ("1m/30s:3,2m/1m:2:ticket", 1, "WARNING"),
])
def test_burn_rate_from_real_prometheus(prom, windows, code, state):
    # The counters were flat since Prometheus started: max_over_time gives the same 15 of 20 in
    # every window, an error ratio of 25 %, against a 90 % objective a burn rate of 2.5.
    result = prom_tx(prom, "--slo", "90", "--burn-windows", windows,
                     "--success-query", 'sum(max_over_time(cxshop_orders_total{outcome="success"}[${window}]))',
                     "--total-query", "sum(max_over_time(cxshop_orders_total[${window}]))")
    assert result.code == code, result.stdout
    assert_clean(result, state)
    assert result.value("burn_1m") == pytest.approx(2.5) and result.value("burn_30s") == pytest.approx(2.5)
    assert result.value("success") == 75.0
    if code:
        assert "error budget burning 2.5x over 1m and 2.5x over 30s" in result.text or \
               "error budget burning 2.5x over 2m and 2.5x over 1m" in result.text
    else:
        assert "error budget burn at most 2.50x" in result.text


def test_not_a_prometheus_url(prom):
    shop = prom[1]
    result = tx("--prometheus", shop.url, "--ratio-query", RATIO_Q)
    assert result.code == 3
    assert_clean(result, "UNKNOWN")
    assert "HTTP 404, not a Prometheus API answer (is the URL a Prometheus server?)" in result.text


def test_prometheus_down():
    result = tx("--prometheus", f"http://127.0.0.1:{free_port()}", "--ratio-query", "vector(1)")
    assert result.code == 3
    assert_clean(result, "UNKNOWN")
    assert "Prometheus: connection refused" in result.text


# --- what a real Prometheus cannot be made to do on demand: answered by a look-alike ---------


def _prometheus_like(status, body):
    return {"/api/v1/query": (status, {"Content-Type": "application/json"}, json.dumps(body))}


@pytest.mark.parametrize("status, body, words", [
    (503, {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"},
     "Prometheus timeout (HTTP 503) for query 'vector(1)': query timed out in expression evaluation"),
    (503, {"status": "error", "errorType": "unavailable", "error": "TSDB not ready"},
     "Prometheus unavailable (HTTP 503)"),
    (200, {"status": "error", "errorType": "internal", "error": "something | broke\nbadly"},
     "Prometheus internal (HTTP 200) for query 'vector(1)': something / broke badly"),
])
def test_prometheus_error_answers(site, status, body, words):
    server = site(_prometheus_like(status, body))
    result = tx("--prometheus", server.url, "--ratio-query", "vector(1)")
    assert result.code == 3
    assert_clean(result, "UNKNOWN")
    assert words in result.text


def test_bearer_token_and_header_are_sent_and_token_masked(site):
    def answer(handler, body):
        if handler.headers.get("Authorization") != "Bearer s3cr3t-t0ken" or handler.headers.get("X-Org") != "7":
            return json.dumps({"status": "error", "errorType": "unauthorized", "error": "bad token s3cr3t-t0ken"})
        return json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1, "0.99"]}})

    server = site({"/api/v1/query": (200, {"Content-Type": "application/json"}, answer)})
    ok = tx("--prometheus", server.url, "--ratio-query", "vector(0.99)", "--bearer-env", "PROM_TOKEN",
            "--header", "X-Org: 7", "-vv", env={"PROM_TOKEN": "s3cr3t-t0ken"})
    assert ok.code == 0, ok.stdout
    assert ok.value("success") == 99.0
    denied = tx("--prometheus", server.url, "--ratio-query", "vector(0.99)", "--bearer-env", "PROM_TOKEN",
                env={"PROM_TOKEN": "s3cr3t-t0ken"})     # no X-Org: the look-alike echoes the token back
    assert denied.code == 3
    assert "unauthorized" in denied.text and "bad token ***" in denied.text
    assert "s3cr3t" not in ok.stdout + denied.stdout


def test_prometheus_that_hangs_holds_the_deadline(raw_server):
    server = raw_server(lambda conn, stop: stop.wait(30))
    result = tx("--prometheus", server.url, "--ratio-query", "vector(1)", "-t", "4", "--timeout-state", "unknown",
                reference=4)
    assert result.code == 3
    assert_clean(result, "UNKNOWN")
    assert "timed out after 4 s" in result.text and "querying" in result.text
    assert result.overrun < 1.5


def test_prometheus_mode_does_not_load_yaml_or_the_journey_engine(prom):
    import subprocess
    import sys

    from conftest import plugin_env

    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cxcheck.checks.transaction",
                           "--prometheus", prom[0].url, "--ratio-query", RATIO_Q],
                          capture_output=True, text=True, env=plugin_env(), timeout=60)
    assert proc.returncode == 0, proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "cxcheck.sources.promql" in imported
    assert not {"yaml", "jmespath", "cxcheck.journey.runner"} & imported


# --- the one duration grammar and the shared API client ------------------------------------------


def test_window_in_the_one_duration_grammar(prom):
    # Prometheus itself has no 1.5d: the plugin says it as 1d12h.
    raw = requests.get(prom[0].url + "/api/v1/query", params={"query": "sum(cxshop_orders_total[1.5d])"}, timeout=10)
    assert raw.status_code == 400 and "1.5d" in raw.json()["error"]
    result = prom_tx(prom, "--window", "1.5d",
                     "--success-query", 'sum(max_over_time(cxshop_orders_total{outcome="success"}[${window}]))',
                     "--total-query", "sum(max_over_time(cxshop_orders_total[${window}]))")
    assert result.code == 0, result.stdout
    assert result.status == ("CX TRANSACTION OK - success 75% of 20 transactions in 1.5d | success=75%;;50:;0;100 "
                             "total=20c;;;0")


def _scalar(value):
    return json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1, str(value)]}})


def test_window_and_burn_windows_reach_promql_as_prometheus_writes_them(site):
    server = site({"/api/v1/query": (200, {"Content-Type": "application/json"}, lambda handler, body: _scalar(0.999))})
    result = tx("--prometheus", server.url, "--ratio-query", "ratio[${window}]", "--window", "90m", "--slo", "99",
                "--burn-windows", "1.5d/3600:2")
    assert result.code == 0, result.stdout
    queries = [parse_qs(urlsplit(path).query)["query"][0] for _, path, _, _ in server.requests]
    assert queries == ["ratio[1h30m]", "ratio[1d12h]", "ratio[1h]"]
    assert result.text == "CX TRANSACTION OK - success 99.9% in 90m, error budget burn at most 0.10x (1.5d)"
    assert set(result.perfdata) == {"success", "burn_1_5d", "burn_3600"}


def test_rate_limited_prometheus_is_asked_again_after_retry_after(site):
    answers = iter([(429, {"Retry-After": "0.2"}, "slow down"), (200, {"Content-Type": "application/json"}, _scalar(1))])
    server = site({"/api/v1/query": (200, {}, lambda handler, body: next(answers))})
    result = tx("--prometheus", server.url, "--ratio-query", "vector(1)")
    assert result.code == 0, result.stdout
    assert len(server.requests) == 2


def test_rate_limit_longer_than_the_deadline_is_unknown_at_once(site):
    server = site({"/api/v1/query": (429, {"Retry-After": "60"}, "slow down")})
    result = tx("--prometheus", server.url, "--ratio-query", "vector(1)", "-t", "5", reference=0)
    assert result.code == 3
    assert_clean(result, "UNKNOWN")
    assert "Prometheus rate limited (429), Retry-After 60 s exceeds the" in result.text
    assert result.overrun < 2.5               # at once: a reference ending at its start, not at the deadline


def test_bearer_token_is_not_carried_to_another_host(site):
    elsewhere = site({"/api/v1/query": (200, {"Content-Type": "application/json"}, _scalar(0.5))})
    moved = elsewhere.url.replace("127.0.0.1", "localhost") + "/api/v1/query"
    server = site({"/api/v1/query": (302, {"Location": moved}, "")})
    result = tx("--prometheus", server.url, "--ratio-query", "vector(0.5)", "--bearer-env", "PROM_TOKEN",
                env={"PROM_TOKEN": "s3cr3t-t0ken"})
    assert result.code == 0, result.stdout
    assert server.requests[0][2]["Authorization"] == "Bearer s3cr3t-t0ken"
    assert [r[2].get("Authorization") for r in elsewhere.requests] == [None]


def test_a_private_prometheus_that_cannot_start_says_why_and_leaves_nothing(tmp_path):
    """The one start/stop the demo and these tests share: a refused flag ends the start with the
    log's reason, the process gone and the temporary directory removed."""
    need_binary("prometheus", "prometheus")
    server = PrivatePrometheus(["127.0.0.1:9"], extra_flags=["--no-such-flag"])
    with pytest.raises(RuntimeError) as error:
        server.start(timeout=20)
    assert str(error.value).startswith(f"Prometheus exited with 1 while waiting for Prometheus ready on {server.url}; "
                                       "its log:\n"), error.value
    assert "unknown long flag '--no-such-flag'" in str(error.value)
    assert server.proc.poll() == 1 and not server.workdir.exists()
