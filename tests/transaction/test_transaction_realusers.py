"""check_cx_transaction's real-user side in-process: options to windows, measures from stand-in
sources, and the verdicts (volume, success, burn-rate pairs) judged by the Contexts and worded by
the Summary, without starting a plugin (end-to-end: test_transaction.py, test_prometheus.py)."""

from __future__ import annotations

import pytest

from cxcheck import runtime
from cxcheck.checks import transaction
from cxcheck.checks.transaction.realusers import RealUsers, judge, window_options
from cxcheck.runtime import ConfigError
from cxcheck.sources.promql import NoData
from cxcheck.sources.registry import open_source
from cxcheck.sources.transactions import Measure, counted

JSON = ["--json-url", "http://127.0.0.1:9/stats?window=${window}", "--success-path", "ok", "--total-path", "all"]


def parse(*argv):
    return transaction.build_parser().parse_args(list(argv))


def source_of(*argv):
    """The transactions source the options select, built as the plugin builds it (no I/O)."""
    args = parse(*argv)
    return args, open_source(runtime.Run(args=args, deadline=runtime.Deadline(10), verbosity=0), "transactions")


def status(table, *argv, verbosity=0):
    """The status line of a real-users check over {window: (successes, total)}; and the run."""
    args, source = source_of(*JSON, *argv)
    run = runtime.Run(args=args, deadline=runtime.Deadline(10), verbosity=verbosity)
    window, pairs = window_options(args, source)
    resource = RealUsers(run, lambda w: counted(w, *table[w], "table"), window, pairs, args.slo, [])
    check = judge(run, args, resource)
    check()
    text, code = runtime.render("CX TRANSACTION", check, run.longoutput)
    return code, text.splitlines()[0], text.splitlines()[1:]


def test_a_page_fires_when_both_windows_burn_over_the_rate():
    code, line, _ = status({"1h": (9800, 10000), "5m": (970, 1000)}, "--slo", "99.9", "--burn-windows", "1h/5m:14.4")
    assert code == 2
    assert line == ("CX TRANSACTION CRITICAL - success 98% of 10000 transactions in 1h, error budget burning 20.0x "
                    "over 1h and 30.0x over 5m (> 14.4, page) | burn_1h=20;;14.4;0 burn_5m=30;;14.4;0 "
                    "success=98%;;50:;0;100 total=10000c;;;0")


def test_the_page_is_worded_before_the_ticket_whatever_the_order_given():
    table = {"1h": (9800, 10000), "5m": (970, 1000), "6h": (59000, 60000), "30m": (4900, 5000)}
    code, line, _ = status(table, "--slo", "99.9", "--burn-windows", "6h/30m:6:ticket,1h/5m:14.4")
    assert code == 2
    assert line.startswith("CX TRANSACTION CRITICAL - success 98.333% of 60000 transactions in 6h, error budget "
                           "burning 20.0x over 1h and 30.0x over 5m (> 14.4, page); error budget burning 16.7x "
                           "over 6h and 20.0x over 30m (> 6, ticket) | ")


def test_a_stopped_incident_does_not_page():
    code, line, _ = status({"1h": (9800, 10000), "5m": (1000, 1000)}, "--slo", "99.9", "--burn-windows", "1h/5m:14.4")
    assert code == 0
    assert "error budget burn at most 20.00x (1h) |" in line


def test_a_window_under_the_volume_floor_is_shown_not_judged():
    table = {"1h": (50, 100), "5m": (0, 3)}
    code, line, _ = status(table, "--slo", "99", "--burn-windows", "1h/5m:2", "--min-volume", "10", "-c", "0:")
    assert code == 0
    assert line == ("CX TRANSACTION OK - success 50% of 100 transactions in 1h, error budget burn at most 50.00x (1h)"
                    " | burn_1h=50;;2;0 burn_5m=100;;2;0 success=50%;;0:;0;100 total=100c;;;0")


def test_no_window_with_volume_enough():
    table = {"1h": (0, 0), "5m": (0, 0)}
    code, line, _ = status(table, "--slo", "99", "--burn-windows", "1h/5m:2")
    assert code == 0
    assert line == ("CX TRANSACTION OK - low volume: 0 transactions in 1h, burn rate not judged (low volume in every "
                    "window) | burn_1h=0;;2;0 burn_5m=0;;2;0 success=U;;50:;0;100 total=0c;;;0")


@pytest.mark.parametrize("state, code", [("ok", 0), ("warning", 1), ("critical", 2), ("unknown", 3)])
def test_low_volume_state(state, code):
    got, line, _ = status({"15m": (1, 4)}, "--window", "15m", "--min-volume", "5", "--low-volume-state", state)
    assert got == code
    assert line.startswith(f"CX TRANSACTION {state.upper()} - low volume: 4 transactions in 15m, under --min-volume 5;"
                           " success 25% not judged |")


def test_window_in_the_one_duration_grammar_keeps_how_it_was_written():
    code, line, lines = status({"1.5d": (999, 1000)}, "--window", "1.5d", "-w", "99.95:", verbosity=1)
    assert code == 1
    assert line == ("CX TRANSACTION WARNING - success 99.9% of 1000 transactions in 1.5d (< 99.95) | "
                    "success=99.9%;99.95:;50:;0;100 total=1000c;;;0")
    assert lines == ["window 1.5d: 999 of 1000 transactions succeeded (99.9%)"]


@pytest.mark.parametrize("argv, window, pairs", [
    ([], None, []),
    (["--window", "90m"], "90m", []),
    (["--slo", "99.9"], "1h", ["1h/5m:14.4", "6h/30m:6", "1d/2h:3:ticket", "3d/6h:1:ticket"]),
    (["--slo", "99.9", "--window", "1.5d", "--burn-windows", "2h/10m:5"], "1.5d", ["2h/10m:5"]),
])
def test_window_options(argv, window, pairs):
    url = JSON[1] if "--window" in argv or "--slo" in argv else "http://127.0.0.1:9/stats"
    got_window, got_pairs = window_options(*source_of("--json-url", url, *JSON[2:], *argv))
    assert got_window == window and [str(p) for p in got_pairs] == pairs


@pytest.mark.parametrize("argv", [["--window", "1.5x"], ["--window", "0s"], ["--window", "1y"]])
def test_window_outside_the_grammar_is_a_usage_error(argv):
    with pytest.raises(ConfigError, match="argument --window: .* is not a duration such as 90s"):
        parse(*JSON, *argv)


# --- measures from stand-in sources ---------------------------------------------------------------


class Answers:
    """Stands in for the Prometheus source: a number (or NoData) per query, each query noted."""

    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def query(self, query):
        self.asked.append(query)
        answer = self.answers[query]
        if answer is None:
            raise NoData(f"query {query!r} returned no data")
        return answer


def prometheus(answers, ratio=None, success=None, total=None):
    """The Prometheus transactions source with the queries given, answering from `answers`."""
    argv = ["--prometheus", "http://127.0.0.1:9"]
    for option, query in (("--ratio-query", ratio), ("--success-query", success), ("--total-query", total)):
        argv += [option, query] if query else []
    _, source = source_of(*argv)
    source.query = answers.query
    return source


def test_promql_gets_the_window_as_prometheus_writes_it():
    answers = Answers({"sum(ok[1d12h])": 9.0, "sum(all[1d12h])": 10.0})
    source = prometheus(answers, success="sum(ok[${window}])", total="sum(all[${window}])")
    assert source.read_transactions("1.5d", 1.0) == Measure("1.5d", 0.9, 10.0, 9.0)
    assert answers.asked == ["sum(all[1d12h])", "sum(ok[1d12h])"]
    assert prometheus(Answers({"r[1h30m]": 0.5}), ratio="r[${window}]").read_transactions("90m", 1.0) == \
        Measure("90m", 0.5, None)


def test_no_data_is_a_quiet_night_only_under_the_volume_floor():
    quiet = prometheus(Answers({"r": None, "t": 0.0}), ratio="r", total="t")
    assert quiet.read_transactions(None, 1.0) == Measure(None, None, 0.0)
    busy = prometheus(Answers({"r": None, "t": 50.0}), ratio="r", total="t")
    with pytest.raises(NoData):
        busy.read_transactions(None, 1.0)


@pytest.mark.parametrize("answers, words", [
    ({"r": 97.0, "t": 10.0}, "--ratio-query gives 97, not a fraction between 0 and 1"),
    ({"r": 0.5, "t": -1.0}, "--total-query gives -1: a count cannot be negative"),
])
def test_prometheus_answers_that_cannot_be_a_ratio(answers, words):
    with pytest.raises(ConfigError) as error:
        prometheus(Answers(answers), ratio="r", total="t").read_transactions(None, 1.0)
    assert words in str(error.value)


def test_json_url_gets_the_window_as_written():
    _, source = source_of(*JSON)
    asked = []
    source.fetch = lambda url: asked.append(url) or (3.0, 4.0)
    assert source.read_transactions("1.5d", 1.0) == Measure("1.5d", 0.75, 4.0, 3.0)
    assert asked == ["http://127.0.0.1:9/stats?window=1.5d"]


@pytest.mark.parametrize("success, total, words", [
    (11, 10, "more successes (11) than transactions (10)"),
    (-1, 10, "negative counts"),
])
def test_counts_that_cannot_be_right(success, total, words):
    with pytest.raises(ConfigError) as error:
        counted(None, success, total, "JSON endpoint")
    assert words in str(error.value)


def test_counts_extrapolated_a_little_over_are_the_same_count():
    assert counted("5m", 5.0634, 5.0632, "x").ratio == 1.0
    assert counted("5m", 0, 0, "x") == Measure("5m", None, 0, 0)
