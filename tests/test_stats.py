"""Survey statistics against hand computation (in-process: no plugin is started)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxcheck.stats import (
    Proportion,
    Tally,
    drop_lower_bound,
    one_sided_p,
    two_proportion_z,
    wilson_interval,
    z_score,
)


def test_z_score_of_the_usual_levels():
    assert z_score(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_score(0.90) == pytest.approx(1.644854, abs=1e-6)


def test_wilson_interval_by_hand():
    # 8 of 10: p = 0.8, z² = 3.841459; centre = (0.8 + z²/20) / (1 + z²/10) = 0.716736;
    # half = z / (1 + z²/10) * sqrt(0.016 + z²/400) = 0.226579 -> 49.02 .. 94.33 %.
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(49.016, abs=0.01) and high == pytest.approx(94.332, abs=0.01)


def test_wilson_interval_at_the_edges_stays_inside_the_scale():
    low, high = wilson_interval(0, 20)
    assert low == 0 and high == pytest.approx(16.11, abs=0.01)      # z²/(n+z²) = 3.8415/23.8415
    low, high = wilson_interval(20, 20)
    assert high == 100 and low == pytest.approx(83.89, abs=0.01)


def test_proportion_value_stderr_interval():
    tally = Proportion(hits=85, responses=100)
    assert tally.value == 85 and tally.misses == 15
    assert tally.stderr == pytest.approx(100 * math.sqrt(0.85 * 0.15 / 100))
    assert tally.interval() == wilson_interval(85, 100)
    assert Proportion().value is None and Proportion().interval() is None


def test_nps_tally_by_hand():
    counts = [1, 0, 0, 0, 0, 0, 1, 2, 0, 3, 3]       # 2 detractors, 2 passives, 6 promoters
    tally = Tally.of_counts(counts)
    assert (tally.promoters, tally.passives, tally.detractors) == (6, 2, 2)
    assert tally.value == tally.nps == 40.0
    # p = 0.6, d = 0.2: var = (0.8 - 0.16) / 10 = 0.064 -> stderr 25.30 points
    assert tally.stderr == pytest.approx(25.298, abs=0.001)


def test_drop_lower_bound_of_two_proportions_by_hand():
    before, now = Proportion(90, 400), Proportion(80, 400)
    # 22.5 % -> 20 %: drop 2.5 points; stderr sqrt(.225*.775/400 + .2*.8/400) = 2.8962 points
    assert drop_lower_bound(before, now) == pytest.approx(2.5 - 1.959964 * 2.8962, abs=0.01)
    assert drop_lower_bound(Proportion(), now) is None


@given(st.integers(min_value=1, max_value=10_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))))
def test_wilson_interval_holds_the_share(pair):
    hits, n = pair
    low, high = wilson_interval(hits, n)
    assert 0 <= low <= 100 * hits / n <= high <= 100


def test_two_proportion_z_by_hand():
    # 40 of 1000 then 25 of 1000: pooled p = 65/2000 = 0.0325;
    # se = sqrt(0.0325 * 0.9675 * (1/1000 + 1/1000)) = 0.0079302; z = (0.04 - 0.025) / se = 1.8915
    assert two_proportion_z(Proportion(40, 1000), Proportion(25, 1000)) == pytest.approx(1.8915, abs=1e-4)
    # the other way round, the sign turns: the second share is the higher
    assert two_proportion_z(Proportion(25, 1000), Proportion(40, 1000)) == pytest.approx(-1.8915, abs=1e-4)
    # one-sided p of z = 1.8915: 1 - Phi(1.8915) = 0.0293
    assert one_sided_p(1.8915) == pytest.approx(0.0293, abs=1e-4)


def test_the_same_halving_is_noise_at_100_and_certain_at_10000():
    # 4 % -> 2 %: pooled 0.03, se = sqrt(0.03 * 0.97 * 2/n); n = 100: z = 0.02 / 0.024125 = 0.829;
    # n = 10000: se ten times smaller, z = 8.29
    assert two_proportion_z(Proportion(4, 100), Proportion(2, 100)) == pytest.approx(0.829, abs=1e-3)
    assert two_proportion_z(Proportion(400, 10000), Proportion(200, 10000)) == pytest.approx(8.290, abs=1e-3)


def test_two_proportion_z_without_variance_or_data_is_none():
    assert two_proportion_z(Proportion(0, 50), Proportion(0, 80)) is None       # pooled 0 %
    assert two_proportion_z(Proportion(50, 50), Proportion(80, 80)) is None     # pooled 100 %
    assert two_proportion_z(Proportion(), Proportion(3, 10)) is None
