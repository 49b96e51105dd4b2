"""The Apdex and percentile maths, in-process, against numbers worked out by hand."""

from __future__ import annotations

import math
import random

import pytest

from cxcheck.latency import EXACT_VALUES, ApdexCounts, ResponseTimes, apdex, percentile, rating, significant


@pytest.mark.parametrize("satisfied, tolerating, frustrated, expected", [
    (60, 30, 10, 0.75),          # (60 + 15) / 100
    (3, 2, 2, 4 / 7),            # (3 + 1) / 7
    (0, 0, 5, 0.0),
    (5, 0, 0, 1.0),
    (0, 4, 0, 0.5),
    (170.5, 20.25, 9.25, (170.5 + 10.125) / 200),   # a histogram's extrapolated counts
])
def test_apdex_by_hand(satisfied, tolerating, frustrated, expected):
    assert apdex(satisfied, tolerating, frustrated) == pytest.approx(expected, abs=1e-12)
    assert ApdexCounts(satisfied, tolerating, frustrated).score == pytest.approx(expected, abs=1e-12)


def test_no_requests_no_score():
    assert apdex(0, 0, 0) is None
    assert ApdexCounts().score is None and ApdexCounts().rating == "no requests"


@pytest.mark.parametrize("score, name", [
    (1.0, "excellent"), (0.94, "excellent"), (0.935, "excellent"), (0.934, "good"), (0.85, "good"),
    (0.849, "good"), (0.844, "fair"), (0.70, "fair"), (0.69, "poor"), (0.50, "poor"), (0.494, "unacceptable"),
    (0.0, "unacceptable"),
])
def test_ratings_of_the_specification_as_reported_to_two_decimals(score, name):
    assert rating(score) == name


def test_boundaries_satisfied_at_t_tolerating_at_4t_and_server_errors_frustrated():
    times = ResponseTimes(0.5)
    for seconds in (0.0, 0.5, 0.5000001, 2.0, 2.0000001, 30.0):
        times.add(seconds)
    times.add(0.1, count=3, failed=True)              # a fast 5xx is still frustrated
    assert times.counts == ApdexCounts(satisfied=2, tolerating=2, frustrated=5)
    assert times.errors == 3
    assert times.counts.score == pytest.approx((2 + 1) / 9)


def test_microseconds_and_milliseconds_compare_exactly_at_t():
    # 300000 us and 300 ms are exactly 0.3 s: satisfied, not tolerating, at T = 0.3.
    times = ResponseTimes(0.3)
    times.add(300000 / 1_000_000)
    times.add(300 / 1000)
    times.add(float(b"0.300"))
    times.add(1200000 / 1_000_000)                    # exactly 4T: tolerating
    assert times.counts == ApdexCounts(satisfied=3, tolerating=1, frustrated=0)


@pytest.mark.parametrize("share, expected", [(0.5, 3), (0.9, 5), (0.99, 5), (0.2, 1), (0.21, 2), (1.0, 5)])
def test_nearest_rank_percentile_by_hand(share, expected):
    # 1, 2, 3, 4, 5: p50 is the 3rd (ceil 2.5), p90 the 5th (ceil 4.5), p20 the 1st (ceil 1.0)
    assert percentile({5.0: 1, 1.0: 1, 3.0: 1, 2.0: 1, 4.0: 1}, share) == expected


def test_percentile_with_counts_and_none_without_values():
    # 90 requests at 0.1 s and 10 at 2 s: the 90th is 0.1 s, the 91st 2 s
    assert percentile({0.1: 90, 2.0: 10}, 0.90) == 0.1
    assert percentile({0.1: 90, 2.0: 10}, 0.91) == 2.0
    assert percentile({}, 0.9) is None


def test_memory_is_bounded_and_percentiles_stay_within_half_a_percent():
    rng = random.Random(7)
    values = [rng.uniform(0.001, 10.0) for _ in range(EXACT_VALUES + 20_000)]
    times = ResponseTimes(0.5)
    for value in values:
        times.add(value)
    assert times.coarse and len(times.values) < 10_000           # 3 significant digits over 4 decades
    assert times.counts.requests == len(values)
    exact = sorted(values)
    for share in (0.5, 0.9, 0.99):
        truth = exact[math.ceil(share * len(exact)) - 1]
        assert times.percentile(share) == pytest.approx(truth, rel=0.005)
    # classification was exact, before any rounding
    assert times.counts.satisfied == sum(1 for v in values if v <= 0.5)


def test_significant_digits():
    assert significant(0.123456) == 0.123
    assert significant(12345.0) == 12300.0
    assert significant(0.0) == 0.0
