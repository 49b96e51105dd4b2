"""The SLO maths in-process, against hand computation and the SRE workbook's own figures
(chapter "Alerting on SLOs": a 99.9 % objective over 30 days)."""

from __future__ import annotations

import pytest

from cxcheck import slo
from cxcheck.runtime import ConfigError, Duration
from cxcheck.slo import BurnPair

HOUR, DAY = 3600.0, 86400.0
MONTH = 30 * DAY


def test_error_budget_is_what_the_objective_leaves():
    assert slo.error_budget(99.9) == pytest.approx(0.001)
    assert slo.error_budget(99.5) == pytest.approx(0.005)
    assert slo.error_budget(90) == pytest.approx(0.1)


@pytest.mark.parametrize("error_ratio, slo_percent, rate", [
    (0.001, 99.9, 1.0),         # the budget lasts exactly its period
    (0.0144, 99.9, 14.4),       # 1.44 % errors against 0.1 % allowed
    (0.02, 99.9, 20.0),         # 9800 of 10000 succeeded
    (0.25, 90, 2.5),            # 15 of 20 succeeded against 90 %
    (1.0, 99.9, 1000.0),        # everything fails
    (0.0, 99.9, 0.0),
    (-0.0002, 99.9, 0.0),       # extrapolated counters: a few more successes than transactions
])
def test_burn_rate(error_ratio, slo_percent, rate):
    assert slo.burn_rate(error_ratio, slo.error_budget(slo_percent)) == pytest.approx(rate)


@pytest.mark.parametrize("rate, window, share", [
    (14.4, 1 * HOUR, 0.02),     # workbook: page, 2 % of the budget in 1 h
    (6, 6 * HOUR, 0.05),        # workbook: page, 5 % in 6 h
    (1, 3 * DAY, 0.10),         # workbook: ticket, 10 % in 3 d
    (3, 1 * DAY, 0.10),         # ours: ticket, 10 % in 1 d
    (1, MONTH, 1.0),            # burn 1 spends the budget over its period
    (1000, 43.2 * 60, 1.0),     # workbook: 100 % errors exhaust a 30-day 99.9 % budget in 43 min
    (10, 3 * DAY, 1.0),         # workbook: burn 10 (1 % errors) in 3 days
])
def test_budget_spent_and_the_rate_that_spends_it(rate, window, share):
    assert slo.budget_spent(rate, window, MONTH) == pytest.approx(share)
    assert slo.rate_to_spend(share, window, MONTH) == pytest.approx(rate)


def test_default_windows_are_the_workbooks():
    pairs = slo.parse_burn_windows(slo.DEFAULT_BURN_WINDOWS)
    spent = [slo.budget_spent(p.rate, Duration(p.long), MONTH) for p in pairs]
    assert spent == pytest.approx([0.02, 0.05, 0.10, 0.10])
    assert [p.ticket for p in pairs] == [False, False, True, True]
    # the short window is 1/12 of the long one
    assert [Duration(p.long) / Duration(p.short) for p in pairs] == [12, 12, 12, 12]


@pytest.mark.parametrize("long_burn, short_burn, fires", [
    (20, 30, True),             # both over 14.4: page
    (20, 10, False),            # over the hour, but it stopped: no page (the short window resets it)
    (10, 30, False),            # a spike of five minutes: not enough budget spent to page
    (14.4, 30, False),          # at the rate is not over it
    (14.41, 14.41, True),
])
def test_multiwindow_rule(long_burn, short_burn, fires):
    assert BurnPair("1h", "5m", 14.4).fires(long_burn, short_burn) is fires


def test_parse_keeps_windows_as_written():
    assert slo.parse_burn_windows("1h/5m:14.4, 6h/30m:6,1d/2h:3:ticket") == [
        BurnPair("1h", "5m", 14.4), BurnPair("6h", "30m", 6.0), BurnPair("1d", "2h", 3.0, ticket=True)]
    pair = slo.parse_burn_windows("1.5d/90m:2,3600/300:1")
    assert [p.windows for p in pair] == [("1.5d", "90m"), ("3600", "300")]
    assert str(pair[0]) == "1.5d/90m:2" and str(BurnPair("3d", "6h", 1, True)) == "3d/6h:1:ticket"


@pytest.mark.parametrize("spec, words", [
    ("", "no window pair given"),
    (" , ", "no window pair given"),
    ("1h/5m", "write LONG/SHORT:RATE"),
    ("1h:5m:2", "write LONG/SHORT:RATE"),
    ("1h/5m:2:page", "the only marker is ':ticket'"),
    ("1h/5q:2", "'5q' is not a duration such as 90s"),
    ("1y/1d:2", "'1y' is not a duration"),            # the one grammar has no years
    ("1h/0m:2", "'0m' is not a duration"),            # a window is never empty
    ("5m/1h:2", "the long window 5m must be longer than the short one 1h"),
    ("60m/1h:2", "the long window 60m must be longer than the short one 1h"),   # compared as time
    ("1h/5m:fast", "burn rate 'fast' is not a number"),
    ("1h/5m:0", "burn rate must be a positive number"),
    ("1h/5m:inf", "burn rate must be a positive number"),
    ("1h/5m:nan", "burn rate must be a positive number"),
])
def test_parse_errors_name_the_bad_part(spec, words):
    with pytest.raises(ConfigError) as error:
        slo.parse_burn_windows(spec)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_windows_once_each_in_order():
    pairs = slo.parse_burn_windows("1h/5m:14.4,6h/1h:6,6h/5m:3")
    assert slo.windows(pairs) == ["1h", "5m", "6h"]
