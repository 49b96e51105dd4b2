"""check_cx_apdex over every log format: the same requests written by nginx, Apache and custom
formats give the Apdex worked out by hand (tests/weblogs.py); the format compiler and the line
reader in-process, with hypothesis writing lines the servers could write."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from weblogs import REQUESTS, STATUS_OF_REQUESTS, WHEN, apache, args_for, nginx, time_local, write

from cxcheck.latency import ResponseTimes
from cxcheck.runtime import ConfigError
from cxcheck.sources.accesslog import BUILT_IN, LogFormat
from cxcheck.sources.loglines import Filters, LineCounter
from cxcheck.sources.rows import Rejects

WHOLE_LOG = STATUS_OF_REQUESTS.format(span="in the whole log")
ISO = WHEN.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def custom_nginx(method, path, status, seconds):
    return f'203.0.113.7 [{ISO}] "{method} {path} HTTP/2.0" {status} 0.900 {seconds:.3f}\n'


def custom_apache(method, path, status, seconds):
    return f'203.0.113.7 [{time_local(WHEN)}] "{method} {path} HTTP/1.1" {status} {round(seconds * 1000)} "a \\"quoted\\" agent"\n'


@pytest.mark.parametrize("options, write_line", [
    ([], lambda *r: nginx(*r)),
    (["--log-format", "nginx"], lambda *r: nginx(*r)),
    (["--log-format", "nginx-upstream"], lambda *r: nginx(*r)),
    (["--log-format", "apache"], lambda *r: apache(*r)),
    (["--log-format", '$remote_addr [$time_iso8601] "$request" $status $request_time $upstream_response_time',
      "--time-field", "upstream_response_time"], custom_nginx),
    (["--log-format", '%h %t "%r" %>s %{ms}T "%{User-Agent}i"'], custom_apache),
], ids=["default", "nginx", "nginx-upstream", "apache-D", "custom-nginx", "custom-apache-ms"])
def test_every_format_gives_the_apdex_worked_out_by_hand(plugin, tmp_path, options, write_line):
    log = write(tmp_path / "access.log", [write_line(*request) for request in REQUESTS])
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "state.json"), *options)
    assert result.code == 0, result.stdout
    assert result.status == WHOLE_LOG


def test_apache_whole_seconds(plugin, tmp_path):
    # %T: whole seconds. T = 1: satisfied 0 and 1 s (2), tolerating 2 and 4 s (2), frustrated 5 s and
    # the 500 (2): (2 + 1) / 6 = 0.5
    times = [("GET", "/", 200, 0), ("GET", "/", 200, 1), ("GET", "/", 200, 2), ("GET", "/", 200, 4),
             ("GET", "/", 200, 5), ("GET", "/", 500, 0)]
    log = write(tmp_path / "access.log", [apache(*r, unit="s") for r in times])
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json", "--log-format", "apache-seconds",
                                                target="1"))
    assert result.status == ("CX APDEX OK - Apdex 0.50 [1] poor, 6 requests in the whole log: satisfied 2, "
                             "tolerating 2, frustrated 2; p90 5.000 s, p99 5.000 s | apdex=0.5;;;0;1 frustrated=2c;;;0 "
                             "p90=5s;;;0 p99=5s;;;0 rejected=0c;;;0 requests=6c;;;0 satisfied=2c;;;0 tolerating=2c;;;0")


def test_upstream_time_missing_or_several(plugin, tmp_path):
    # "-": no upstream (rejected, by reason); "0.300, 0.300": two upstreams tried, 0.6 s in all;
    # "0.100 : 0.100": an internal redirect, 0.2 s. T = 0.5: satisfied 0.2 and 0.1, tolerating 0.6.
    log = write(tmp_path / "access.log", [nginx("GET", "/a", 200, "-"), nginx("GET", "/b", 200, "0.300, 0.300"),
                                          nginx("GET", "/c", 200, "0.100 : 0.100"), nginx("GET", "/d", 200, 0.1)])
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json", "--log-format", "nginx-upstream",
                                                "--max-rejected", "30"), "-v")
    assert result.status == ("CX APDEX OK - Apdex 0.83 [0.5] fair, 3 requests in the whole log: satisfied 2, "
                             "tolerating 1, frustrated 0; p90 0.600 s, p99 0.600 s | apdex=0.83;;;0;1 "
                             "frustrated=0c;;;0 p90=0.6s;;;0 p99=0.6s;;;0 rejected=1c;;;0 requests=3c;;;0 "
                             "satisfied=2c;;;0 tolerating=1c;;;0")
    assert "1 rejected: no response time (upstream_response_time is '-') (line 1)" in result.long_output


def test_a_log_in_another_format_is_unknown_and_says_which_it_reads_as(plugin, tmp_path):
    log = write(tmp_path / "access.log", [apache(*request) for request in REQUESTS])
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json"))
    assert result.code == 3
    assert result.text == ("CX APDEX UNKNOWN - 7 of 7 lines rejected (100.0% > 5%), most: not in the log format "
                           "(nginx combined + $request_time); the rejected lines read as --log-format apache: "
                           "the Apdex would lie")


@pytest.mark.parametrize("options, message", [
    (["--log-format", "plain text"], "--log-format 'plain text': no field in it (nginx $variables or Apache "
                                     "%directives), and not one of nginx, nginx-upstream, apache, apache-seconds"),
    (["--log-format", "$remote_addr $request_time"], "--log-format '$remote_addr $request_time' has no status "
                                                     "field ($status or %>s): 5xx answers count as frustrated, the "
                                                     "check needs it"),
    (["--log-format", "$remote_addr $status"], "--log-format '$remote_addr $status' has no response time field "
                                               "(nginx $request_time or $upstream_response_time, Apache %D or %T)"),
    (["--time-field", "nope"], "--time-field 'nope' is not a field of the log format (fields: remote_addr, "
                               "remote_user, time_local, request, status, body_bytes_sent, http_referer, "
                               "http_user_agent, request_time)"),
    (["--time-field", "status"], "--time-field 'status' is not a response time; known ones: request_time, "
                                 "upstream_response_time, %D, %{us}T, %{ms}T, %T, %{s}T"),
    (["--log-format", "$status $request_time", "--path-regex", "x"],
     "--path-regex: the log format '$status $request_time' has no request or path field"),
    (["--log-format", "$status $request_time", "--window", "5m"],
     "--window: the log format '$status $request_time' has no timestamp field ($time_local, $time_iso8601, "
     "$msec, %t, %{sec}t)"),
    (["--path-regex", "(unclosed"], "--path-regex '(unclosed': missing ), unterminated subpattern at position 0"),
    (["--exclude-status", "4xx,abc"], "--exclude-status '4xx,abc': codes such as 404 or classes such as 4xx"),
])
def test_format_and_filter_mistakes_are_one_line_unknowns(plugin, tmp_path, options, message):
    log = write(tmp_path / "access.log", [nginx(*REQUESTS[0])])
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json"), *options)
    assert (result.code, result.stdout) == (3, f"CX APDEX UNKNOWN - {message}\n")


# -- in-process: the compiler and the reader ---------------------------------------------------

def read(log_format: LogFormat, text: bytes, filters: Filters | None = None):
    rejects = Rejects()
    counter = LineCounter(log_format, filters or Filters(), rejects)
    counter.feed(text, 0)
    times = ResponseTimes(0.5)
    counter.response_times(times)
    return times, rejects, counter


def test_each_field_has_its_name_and_role():
    fmt = LogFormat.named("apache")
    assert [(f.name, f.role) for f in fmt.fields] == [
        ("%h", None), ("%l", None), ("%u", None), ("%t", "timestamp"), ("%r", "request"), ("%>s", "status"),
        ("%b", None), ("%{Referer}i", None), ("%{User-Agent}i", None), ("%D", "time")]
    assert fmt.describe() == "Apache combined + %D (response time %D, in us)"
    assert LogFormat("${remote_addr} $status ${request_time}").describe().endswith("(response time request_time, in s)")


def test_a_field_written_twice_is_read_once():
    fmt = LogFormat("$status $request_time $status")
    times, rejects, _ = read(fmt, b"200 0.100 200\n502 0.100 502\n")
    assert (times.counts.satisfied, times.counts.frustrated, rejects.count) == (1, 1, 0)


def test_an_integer_is_not_nginx_seconds_and_a_decimal_is_not_apache_microseconds():
    nginx_format, apache_format = LogFormat.named("nginx"), LogFormat.named("apache")
    line_nginx, line_apache = nginx("GET", "/", 200, 0.25).encode(), apache("GET", "/", 200, 0.25).encode()
    assert nginx_format.regex.match(line_nginx.strip()) and not nginx_format.regex.match(line_apache.strip())
    assert apache_format.regex.match(line_apache.strip()) and not apache_format.regex.match(line_nginx.strip())


def test_junk_is_rejected_by_reason_with_its_line_number():
    text = (nginx("GET", "/", 200, 0.1) + "\n" + "\x00\x01\x02 binary\n" + "just some text\n"
            + nginx("GET", "/", 200, 0.2)).encode() + b"\xff\xfe not utf-8\n"
    times, rejects, counter = read(LogFormat.named("nginx"), text)
    assert times.counts.requests == 2 and counter.lines == 6
    assert rejects.lines() == ["2 rejected: binary junk (line 3, 6)", "1 rejected: empty line (line 2)",
                               "1 rejected: not in the log format (nginx combined + $request_time) (line 4)"]


def test_filters_path_method_and_status():
    lines = [nginx("GET", "/checkout/pay?x=1", 200, 0.1), nginx("POST", "/checkout/pay", 200, 3.0),
             nginx("GET", "/catalogue/", 200, 3.0), nginx("HEAD", "/checkout/", 200, 3.0),
             nginx("GET", "/checkout/", 404, 3.0), nginx("GET", "/checkout/", 499, 3.0)]
    times, rejects, counter = read(LogFormat.named("nginx"), "".join(lines).encode(),
                                   Filters("^/checkout", ["get", "POST"], ["4xx"]))
    assert (times.counts.satisfied, times.counts.frustrated, counter.skipped) == (1, 1, 4)


def test_window_by_timestamp_in_process():
    from datetime import timedelta

    lines = [nginx("GET", "/", 200, 0.1, when=WHEN - timedelta(minutes=minutes)) for minutes in (20, 10, 5, 0)]
    rejects = Rejects()
    end = WHEN.timestamp()
    counter = LineCounter(LogFormat.named("nginx"), Filters(), rejects, (end - 15 * 60, end))
    counter.feed("".join(lines).encode(), 0)
    assert (sum(counter.ok.values()), counter.skipped) == (3, 1)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_formats_compile(name):
    fmt = LogFormat.named(name)
    assert fmt.status and fmt.time and fmt.request and fmt.timestamp


def test_unknown_time_field_is_a_config_error():
    with pytest.raises(ConfigError):
        LogFormat.named("nginx", time_field="%D")


printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40)


@settings(max_examples=200, deadline=None)
@given(status=st.integers(100, 599), millis=st.integers(0, 120_000), agent=printable,
       path=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, blacklist_characters='"\\'), min_size=1,
                    max_size=30),
       style=st.sampled_from(["nginx", "apache"]))
def test_any_line_a_server_writes_reads_back(status, millis, agent, path, style):
    """nginx escapes " and \\ as \\x22 and \\x5C; Apache as \\" and \\\\. Either way the line reads,
    with its status and time."""
    seconds = millis / 1000
    if style == "nginx":
        escaped = agent.replace("\\", "\\x5C").replace('"', "\\x22")
        line = nginx("GET", path, status, seconds, agent=escaped)
    else:
        escaped = agent.replace("\\", "\\\\").replace('"', '\\"')
        line = apache("GET", path, status, seconds, agent=escaped)
    times, rejects, _ = read(LogFormat.named(style), line.encode())
    assert rejects.count == 0, line
    assert times.values == {seconds: 1}
    assert times.errors == (1 if status >= 500 else 0)
