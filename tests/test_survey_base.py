"""The survey-check base in-process: Statistic, Responses, contexts and summary judged without
starting a plugin (the end-to-end runs are in test_nps*.py)."""

from __future__ import annotations

import nagiosplugin
import pytest

from cxcheck import runtime
from cxcheck.bases.survey import Responses
from cxcheck.bases.survey_verdicts import survey_verdicts
from cxcheck.checks import nps

NOW = 1_000_000.0
DAY = 86400.0


def judge(answers, *argv, rejected=0):
    """Run the NPS statistic over (age in days, score) answers; (state, summary, check)."""
    args = nps.build_parser().parse_args(["--csv", "unused", *argv])

    def read(oldest, until, rejects):
        for number in range(rejected):
            rejects.add("score not a whole number", number + 1)
        for age, score in answers:
            yield NOW - age * DAY, score

    resource = Responses(nps.NPS, read, args.window, NOW, bool(args.max_drop), args.confidence)
    check = nagiosplugin.Check(resource, *survey_verdicts(resource, args, nagiosplugin.Unknown))
    check()
    return check.state, check.summary_str, check


def window(scores, age=1):
    return [(age, score) for score in scores]


def test_floor_breach_by_the_point_estimate():
    # 20 promoters, 10 passives, 20 detractors: NPS 0
    answers = window([10] * 20 + [8] * 10 + [3] * 20)
    state, summary, _ = judge(answers, "-w", "30:", "-c", "10:")
    assert state == nagiosplugin.Critical
    assert summary == "NPS 0 (95% CI -24.8..24.8, n=50) over 30d (< 10)"


def test_significant_floor_needs_the_whole_interval_below():
    answers = window([10] * 20 + [8] * 10 + [3] * 20)
    state, summary, _ = judge(answers, "-w", "30:", "-c", "10:", "--significant")
    # the interval reaches 24.8: above 10 (critical) but below 30 (warning): the whole of it
    assert state == nagiosplugin.Warn
    assert summary.endswith("(significantly < 30)")


def test_low_sample_is_judged_before_the_floor():
    state, summary, _ = judge(window([0] * 5), "-c", "10:")
    assert state == nagiosplugin.Unknown
    assert summary.startswith("only 5 responses in 30d (at least 30 needed to judge)")


def test_too_many_rejected_rows_is_unknown():
    state, summary, _ = judge(window([10] * 40), rejected=10)
    assert state == nagiosplugin.Unknown
    assert summary == "10 of 50 rows rejected (20.0% > 5%): the NPS would lie; 10 score not a whole number"


def test_a_drop_within_the_noise_stays_ok_with_significant():
    before = window([10] * 22 + [3] * 18, age=40)        # NPS 10
    now = window([10] * 20 + [3] * 20)                   # NPS 0: a drop of 10, n=40 each
    state, _, check = judge(before + now, "--max-drop", "5", "--significant")
    assert state == nagiosplugin.Ok
    assert any("not significantly" in line for line in check.verbose_str)
    state, summary, _ = judge(before + now, "--max-drop", "5")
    assert state == nagiosplugin.Warn
    assert summary.endswith("dropped 10 points from 10 in the previous 30d (> 5)")


@pytest.mark.parametrize("spec, value, words", [("30:", 20, "< 30"), ("5", 7, "> 5"), ("10:20", 5, "< 10"),
                                                 ("10:20", 25, "> 20"), ("@3:7", 5, "inside 3:7")])
def test_one_wording_of_a_broken_range(spec, value, words):
    assert runtime.violation(nagiosplugin.Range(spec), value) == words
