"""check_cx_apdex as the engine runs it: thresholds, filters, a window by timestamp, a Prometheus
histogram (a small server answering Prometheus' HTTP API with exact numbers, and a real
Prometheus scraping a histogram), and configuration mistakes. Whole status lines where they are
known; the requests are those of tests/weblogs.py, worked out by hand there."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import free_port, need_binary, wait_for
from weblogs import REQUESTS, STATUS_OF_REQUESTS, WHEN, args_for, nginx, write

pytestmark = pytest.mark.slow(seconds=18)   # its measured time: the longest files start first (conftest)
WHOLE_LOG = STATUS_OF_REQUESTS.format(span="in the whole log")


@pytest.fixture
def log(tmp_path):
    return write(tmp_path / "access.log", [nginx(*request) for request in REQUESTS])


def test_ok_with_floors_in_the_perfdata(plugin, log, tmp_path):
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json"), "-w", "0.5:", "-c", "0.3:")
    assert result.code == 0
    assert result.status == WHOLE_LOG.replace("apdex=0.57;;;0;1", "apdex=0.57;0.5:;0.3:;0;1")


@pytest.mark.parametrize("options, code, status", [
    (["-w", "0.9:"], 1, "CX APDEX WARNING - Apdex 0.57 [0.5] poor < 0.9"),
    (["-w", "0.9:", "-c", "0.6:"], 2, "CX APDEX CRITICAL - Apdex 0.57 [0.5] poor < 0.6"),
    (["-T", "500ms", "-c", "0.6:"], 2, "CX APDEX CRITICAL - Apdex 0.57 [0.5] poor < 0.6"),
])
def test_warning_and_critical(plugin, log, tmp_path, options, code, status):
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json"), *options)
    assert result.code == code
    assert result.text == (f"{status}, 7 requests in the whole log: satisfied 3, tolerating 2, frustrated 2; "
                           "p90 2.001 s, p99 2.001 s")


def test_long_output(plugin, log, tmp_path):
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json"), "-w", "0.9:", "-v")
    assert result.long_output == ["first run: read the log from its start",
                                  "1 server errors (5xx) among the frustrated",
                                  "7 lines read, 0 rejected, 0 left out by the filters or the window"]


def test_filters_leave_out_what_customers_did_not_wait_for(plugin, log, tmp_path):
    # GET /checkout/ only: 0.1 and 0.5 satisfied, 0.501 tolerating: (2 + 0.5) / 3
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json"), "--path-regex", "^/checkout",
                    "--method", "GET", "-v")
    assert result.status == ("CX APDEX OK - Apdex 0.83 [0.5] fair, 3 requests in the whole log: satisfied 2, "
                             "tolerating 1, frustrated 0; p90 0.501 s, p99 0.501 s | apdex=0.83;;;0;1 "
                             "frustrated=0c;;;0 p90=0.501s;;;0 p99=0.501s;;;0 rejected=0c;;;0 requests=3c;;;0 "
                             "satisfied=2c;;;0 tolerating=1c;;;0")
    assert "7 lines read, 0 rejected, 4 left out by the filters or the window" in result.long_output
    # without the 502 and the 404: (2 + 1) / 5
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "t.json"), "--exclude-status", "5xx",
                    "--exclude-status", "404")
    assert result.text.startswith("CX APDEX OK - Apdex 0.60 [0.5] poor, 5 requests in the whole log: satisfied 2, "
                                  "tolerating 2, frustrated 1;")


def test_a_window_by_timestamp(plugin, tmp_path):
    lines = [nginx("GET", "/", 200, 3.0, when=WHEN - timedelta(minutes=20))]
    lines += [nginx(*request, when=WHEN - timedelta(minutes=4)) for request in REQUESTS]
    lines += [nginx("GET", "/", 200, 3.0, when=WHEN + timedelta(minutes=1))]
    log = write(tmp_path / "access.log", lines)
    result = plugin("check_cx_apdex", "--log", str(log), "-T", "0.5", "--window", "15m", "--now",
                    WHEN.isoformat())
    assert result.status == STATUS_OF_REQUESTS.format(span="over 15m")
    assert not (tmp_path / "s.json").exists()


def test_a_window_at_the_end_of_a_big_log_is_found_by_its_timestamps(plugin, tmp_path):
    """200,000 lines over 55 hours; the last 10 minutes hold 600 of them and a junk line, which is
    numbered from the file's start although the reading started near the end."""
    log = tmp_path / "access.log"
    with open(log, "w") as out:
        for second in range(200_000):
            when = WHEN - timedelta(seconds=199_999 - second)
            out.write(nginx("GET", "/", 200, 0.1 if second % 2 else 1.0, when=when))
            if second == 199_700:
                out.write("junk\n")
    result = plugin("check_cx_apdex", "--log", str(log), "-T", "0.5", "--window", "10m", "--now",
                    WHEN.isoformat(), "-v")
    assert result.text == ("CX APDEX OK - Apdex 0.75 [0.5] fair, 600 requests over 10m: satisfied 300, "
                           "tolerating 300, frustrated 0; p90 1.000 s, p99 1.000 s")
    assert "1 rejected: not in the log format (nginx combined + $request_time) (line 199702)" in result.long_output
    lines_read = int(re.search(r"(\d+) lines read", result.stdout).group(1))
    assert lines_read < 20_000, result.stdout


@pytest.mark.parametrize("options, message", [
    (["--log", "x.log"], "give the target time: -T SECONDS (satisfied within T, tolerating within 4T)"),
    (["-T", "0.5"], "give a source: --log or --prometheus"),
    (["-T", "0", "--log", "x.log"], "argument -T/--target: '0' is not a duration such as 90s, 15m, 4h, 1.5d or 2w "
                                    "(a bare number is seconds)"),
    (["-T", "0.5", "--log", "x.log", "--prometheus", "http://127.0.0.1:9"],
     "argument --prometheus: not allowed with argument --log"),
    (["-T", "0.5", "--prometheus", "http://127.0.0.1:9"],
     "--prometheus needs --histogram METRIC (a latency histogram, in seconds)"),
    (["-T", "0.5", "--prometheus", "http://127.0.0.1:9", "--histogram", "not a metric{"],
     "--histogram 'not a metric{' is not METRIC or METRIC{label=\"value\",...}"),
    (["-T", "0.5", "--log", "/nonexistent/access.log", "--state-file", "/tmp/x.json"],
     "cannot read /nonexistent/access.log: No such file or directory"),
    (["-T", "0.5", "--log", "x.log", "--now", "2026-11-20T12:00:00Z"],
     "--now is the end of a --window: give --window too (without it, a log is read since the last run)"),
])
def test_configuration_mistakes_are_one_line_unknowns(plugin, options, message):
    result = plugin("check_cx_apdex", *options)
    assert (result.code, result.stdout) == (3, f"CX APDEX UNKNOWN - {message}\n")


def test_help_has_examples(plugin):
    result = plugin("check_cx_apdex", "--help")
    assert result.code == 0
    assert "check_cx_apdex --log /var/log/nginx/access.log -T 0.5 -w 0.85: -c 0.7:" in result.stdout
    assert "--histogram" in result.stdout and "--path-regex" in result.stdout


# -- a Prometheus histogram -----------------------------------------------------------------------

# Cumulative counts over the window; bounds spelled as different clients spell them.
BUCKETS = [("0.1", 50), ("0.25", 70), ("0.50", 80), ("1.0", 90), ("2.5", 95), ("5", 98), ("10", 99), ("+Inf", 100)]
METRIC = 'http_request_duration_seconds_bucket{route="/checkout",le'


def bucket_quantile(share: float, buckets) -> float:
    """Prometheus' histogram_quantile() over (bound, cumulative count), as promql/quantile.go does."""
    total = buckets[-1][1]
    rank = share * total
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if index == len(buckets) - 1:
        return buckets[-2][0]
    start = 0.0 if index == 0 else buckets[index - 1][0]
    below = 0 if index == 0 else buckets[index - 1][1]
    return start + (buckets[index][0] - start) * (rank - below) / (buckets[index][1] - below)


def prometheus_api(buckets, seen: list):
    """Answers the queries check_cx_apdex sends, from `buckets`; anything else is bad_data."""
    finite = [(float(le), count) for le, count in buckets if le != "+Inf"]
    table = finite + [(float("inf"), buckets[-1][1])]

    def vector(value):
        return {"status": "success", "data": {"resultType": "vector",
                                              "result": [] if value is None else [{"metric": {}, "value": [0, str(value)]}]}}

    def answer(handler, body):
        query = parse_qs(urlsplit(handler.path).query)["query"][0]
        seen.append(query)
        selector = re.escape('http_request_duration_seconds_bucket{route="/checkout",')
        exact = re.fullmatch(rf'sum\(increase\({selector}le="\+Inf"\}}\[5m\]\)\)', query)
        regex = re.fullmatch(rf'sum\(increase\({selector}le=~"(.*)"\}}\[5m\]\)\)', query)
        quantile = re.fullmatch(r'histogram_quantile\(([0-9.e-]+), sum by \(le\) \(increase\('
                                r'http_request_duration_seconds_bucket\{route="/checkout"\}\[5m\]\)\)\)', query)
        if exact:
            result = vector(buckets[-1][1])
        elif regex:
            pattern = regex.group(1).replace("\\\\", "\\")
            counts = [count for le, count in buckets if re.fullmatch(pattern, le)]
            result = vector(sum(counts) if counts else None)
        elif quantile:
            result = vector(bucket_quantile(float(quantile.group(1)), table))
        else:
            return 400, {"Content-Type": "application/json"}, json.dumps(
                {"status": "error", "errorType": "bad_data", "error": f"unexpected query {query}"})
        return 200, {"Content-Type": "application/json"}, json.dumps(result)

    return {"/api/v1/query": (200, {}, answer)}


HISTOGRAM = ["--histogram", 'http_request_duration_seconds{route="/checkout"}']


def test_histogram_buckets_at_t_and_4t(plugin, site):
    seen = []
    server = site(prometheus_api(BUCKETS, seen))
    # T = 0.25, 4T = 1: satisfied 70, tolerating 90 - 70, frustrated 100 - 90: (70 + 10) / 100
    result = plugin("check_cx_apdex", "--prometheus", server.url, *HISTOGRAM, "-T", "0.25", "-w", "0.85:")
    assert result.code == 1
    assert result.status == ("CX APDEX WARNING - Apdex 0.80 [0.25] fair < 0.85, 100 requests over 5m: satisfied 70, "
                             "tolerating 20, frustrated 10 | apdex=0.8;0.85:;;0;1 frustrated=10c;;;0 requests=100c;;;0 "
                             "satisfied=70c;;;0 tolerating=20c;;;0")
    assert len(seen) == 3


def test_histogram_behind_a_bearer_token(plugin, site, tmp_path):
    server = site(prometheus_api(BUCKETS, []))
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    result = plugin("check_cx_apdex", "--prometheus", server.url, *HISTOGRAM, "-T", "0.25", "--bearer-file",
                    str(token))
    assert result.code == 0, result.stdout
    assert {headers.get("Authorization") for _, _, headers, _ in server.requests} == {"Bearer s3cret-token"}


@pytest.mark.parametrize("content, env", [("one\ntwo\n", None), (None, "   \t")])
def test_a_bearer_token_a_header_cannot_carry_is_refused_alike_by_apdex_and_transaction(plugin, tmp_path,
                                                                                         content, env):
    """Both readers of --bearer-env/--bearer-file are runtime.read_token: the same refusal, before any request."""
    if content is None:
        where = ["--bearer-env", "CX_BEARER"]
    else:
        (tmp_path / "token").write_text(content)
        where = ["--bearer-file", str(tmp_path / "token")]
    apdex = plugin("check_cx_apdex", "--prometheus", "http://127.0.0.1:9", *HISTOGRAM, "-T", "0.25", *where,
                   env={"CX_BEARER": env} if env else None)
    assert (apdex.code, apdex.stdout) == (3, "CX APDEX UNKNOWN - the bearer token is empty or spans several lines\n")
    transaction = plugin("check_cx_transaction", "--prometheus", "http://127.0.0.1:9", "--ratio-query", "x", *where,
                         env={"CX_BEARER": env} if env else None)
    assert (transaction.code, transaction.stdout) == (
        3, "CX TRANSACTION UNKNOWN - the bearer token is empty or spans several lines\n")


def test_read_token_strips_the_blanks_around_one_line(monkeypatch):
    from cxcheck.runtime import read_token

    monkeypatch.setenv("CX_BEARER", " s3cret-token\r\n")
    assert read_token(env="CX_BEARER") == "s3cret-token"
    assert read_token() is None


def test_histogram_bound_not_a_bucket_is_refused_or_interpolated(plugin, site):
    seen = []
    server = site(prometheus_api(BUCKETS, seen))
    refused = plugin("check_cx_apdex", "--prometheus", server.url, *HISTOGRAM, "-T", "0.3")
    assert (refused.code, refused.stdout) == (3, "CX APDEX UNKNOWN - 0.3 s is not a bucket bound of "
                                                 "http_request_duration_seconds (no le=\"0.3\" bucket): choose -T so "
                                                 "that T and 4T are bounds, or give --interpolate\n")
    # Inside the bucket (0.25, 0.5]: 70 + 10 * 0.05 / 0.25 = 72 within 0.3 s; inside (1, 2.5]:
    # 90 + 5 * 0.2 / 1.5 = 90.667 within 1.2 s. (72 + 18.667 / 2) / 100 = 0.81
    seen.clear()
    result = plugin("check_cx_apdex", "--prometheus", server.url, *HISTOGRAM, "-T", "0.3", "--interpolate", "-v")
    assert result.status == ("CX APDEX OK - Apdex 0.81 [0.3] fair, 100 requests over 5m: satisfied 72, "
                             "tolerating 18.7, frustrated 9.3 | apdex=0.81;;;0;1 frustrated=9.33c;;;0 "
                             "requests=100c;;;0 satisfied=72c;;;0 tolerating=18.67c;;;0")
    assert result.long_output == [
        "0.3 s is not a bucket bound: 72.0 requests within it interpolated inside its bucket",
        "1.2 s is not a bucket bound: 90.7 requests within it interpolated inside its bucket"]
    assert len(seen) < 3 + 2 * 12, seen            # a few quantiles each, not a bisection's dozens


def test_histogram_beyond_the_highest_finite_bound(plugin, site):
    server = site(prometheus_api(BUCKETS, []))
    result = plugin("check_cx_apdex", "--prometheus", server.url, *HISTOGRAM, "-T", "4", "--interpolate")
    assert result.stdout == ("CX APDEX UNKNOWN - 16 s is beyond the highest finite bucket bound of "
                             "http_request_duration_seconds (10 s): no estimate is possible; choose a smaller -T\n")
    everything_within = [(le, min(count, 99)) for le, count in BUCKETS[:-1]] + [("+Inf", 99)]
    server = site(prometheus_api(everything_within, []))
    result = plugin("check_cx_apdex", "--prometheus", server.url, *HISTOGRAM, "-T", "4", "--interpolate")
    assert result.text.startswith("CX APDEX OK - Apdex 0.99 [4] excellent, 99 requests over 5m: satisfied 96.8, "
                                  "tolerating 2.2, frustrated 0"), result.stdout


def test_histogram_without_series_or_with_an_error(plugin, site):
    server = site(prometheus_api([("+Inf", 0)], []))
    other = plugin("check_cx_apdex", "--prometheus", server.url, "--histogram", "nope_seconds", "-T", "0.5")
    assert other.stdout.startswith("CX APDEX UNKNOWN - Prometheus bad_data (HTTP 400) for query "
                                   "'sum(increase(nope_seconds_bucket{le=\"+Inf\"}[5m]))': unexpected query")
    down = plugin("check_cx_apdex", "--prometheus", f"http://127.0.0.1:{free_port()}", *HISTOGRAM, "-T", "0.5")
    assert down.code == 3 and down.text.startswith("CX APDEX UNKNOWN - Prometheus: "), down.stdout


def test_a_real_prometheus_scraping_a_histogram(plugin, site, tmp_path):
    """Prometheus' own le matching (1.0 and 0.25 spelled as exposed), increase() and
    histogram_quantile(): every scrape adds the same counts per bucket, so whatever increase()
    extrapolates, the shares are those of BUCKETS."""
    from cxcheck.demo.prometheus import PrivatePrometheus

    need_binary("prometheus", "prometheus")
    scrapes = []

    def metrics(handler, body):
        scrapes.append(time.time())
        n = len(scrapes)
        lines = ["# TYPE http_request_duration_seconds histogram"]
        lines += [f'http_request_duration_seconds_bucket{{route="/checkout",le="{le}"}} {count * n}' for le, count in BUCKETS]
        lines += [f"http_request_duration_seconds_count{{route=\"/checkout\"}} {100 * n}"]
        return "\n".join(lines) + "\n"

    target = site({"/metrics": (200, {"Content-Type": "text/plain; version=0.0.4"}, metrics)})
    with PrivatePrometheus([target.url.split("//", 1)[1]], tmp_path / "prometheus") as prometheus:
        wait_for(lambda: (prometheus.value('count_over_time(http_request_duration_seconds_count{route="/checkout"}[5m])')
                          or 0) >= 3, timeout=60, interval=0.2, what="three scrapes")
        now = f"{time.time():.3f}"
        exact = plugin("check_cx_apdex", "--prometheus", prometheus.url, *HISTOGRAM, "-T", "0.25", "--now", now)
        estimated = plugin("check_cx_apdex", "--prometheus", prometheus.url, *HISTOGRAM, "-T", "0.3",
                           "--interpolate", "--now", now)
    assert re.fullmatch(r"CX APDEX OK - Apdex 0\.80 \[0\.25\] fair, [\d.]+ requests over 5m: satisfied [\d.]+, "
                        r"tolerating [\d.]+, frustrated [\d.]+ \| .*", exact.status), exact.stdout
    assert exact.value("satisfied") == pytest.approx(0.7 * exact.value("requests"), rel=1e-3)
    assert re.fullmatch(r"CX APDEX OK - Apdex 0\.81 \[0\.3\] fair, .*", estimated.status), estimated.stdout
    assert estimated.value("satisfied") == pytest.approx(0.72 * estimated.value("requests"), rel=1e-3)


# -- the demo shop's own access log ----------------------------------------------------------------

def test_the_demo_shops_own_log_across_its_rotation(plugin, tmp_path):
    """The shop writes its log as nginx does (combined + $request_time, reopened on rotation); a
    latency fault on /catalogue/ makes its requests tolerating at T = 0.5."""
    import requests

    from cxcheck.demo.shop import DemoShop

    log, state = tmp_path / "access.log", tmp_path / "state.json"

    def logged(count):
        wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == count, 10, 0.02, f"{count} lines")

    with DemoShop(access_log=log, faults={"latency": {"/catalogue/": 0.6}}) as shop:
        for path in ("/", "/accounts/login/", "/", "/catalogue/"):
            requests.get(shop.url + path, timeout=10)
        logged(4)
        first = plugin("check_cx_apdex", *args_for(log, state))
        assert (first.value("satisfied"), first.value("tolerating"), first.value("apdex")) == (3, 1, 0.88), \
            first.stdout
        requests.get(shop.url + "/catalogue/", timeout=10)
        logged(5)
        log.rename(tmp_path / "access.log.1")
        shop.reopen_access_log()
        requests.get(shop.url + "/", timeout=10)
        logged(1)
        second = plugin("check_cx_apdex", *args_for(log, state), "-v")
    assert (second.value("requests"), second.value("satisfied"), second.value("tolerating")) == (2, 1, 1), \
        second.stdout
    assert "log rotated (renamed) since the last run: read the rest of access.log.1, then the new log" \
        in second.long_output
