"""check_cx_csat on exports and the survey tools' APIs: values against hand computation, scales,
what satisfied means, and the survey verdicts (floors, significance, drop, low sample, rejects).

The survey APIs answer as documented (see DESIGN.md and tests/nps/test_nps_sources.py): Delighted runs
CSAT projects with scores 1-5 on GET /v1/survey_responses.json; Typeform rating fields carry
`number`; SurveyMonkey rating questions map choice ids to 1..n by position.
"""

from __future__ import annotations

import json
import math

import pytest
from conftest import run_plugin

NOW = "2026-11-01T00:00:00Z"
NOW_EPOCH = 1793491200
Z = 1.959963984540054


def export(tmp_path, scores, days_ago=1, name="csat.csv", header="submitted_at,rating"):
    rows = [header] + [f"2026-10-{31 - days_ago:02d}T12:00:00Z,{s}" for s in scores]
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def csat(*args, **kw):
    return run_plugin("check_cx_csat", "--now", NOW, *args, **kw)


def wilson(hits, n):
    """The Wilson interval written out, in percent: the test's own arithmetic."""
    p, z2 = hits / n, Z * Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return 100 * max(centre - half, 0), 100 * min(centre + half, 1)


@pytest.mark.parametrize("scores, satisfied", [
    ([5, 4, 3, 2, 1], 2),                 # the boundary: 4 and 5 satisfied, 3 not
    ([5] * 8 + [3] * 2, 8),
    ([1, 2, 3], 0),
    ([4, 4, 5], 3),
])
def test_values_match_hand_computation(tmp_path, scores, satisfied):
    result = csat("--csv", export(tmp_path, scores), "--min-responses", "1")
    assert result.code == 0, result.stdout
    n = len(scores)
    assert result.value("csat") == pytest.approx(round(100 * satisfied / n, 2))
    assert (result.value("satisfied"), result.value("dissatisfied"), result.value("responses")) == \
        (satisfied, n - satisfied, n)
    low, high = wilson(satisfied, n)
    assert result.value("csat_low") == pytest.approx(low, abs=0.01)
    assert result.value("csat_high") == pytest.approx(high, abs=0.01)


def test_status_line_and_perfdata(tmp_path):
    # 34 of 40 satisfied: 85 %. Wilson: centre (0.85 + z²/80) / (1 + z²/40) = 0.898018 / 1.096036
    # = 0.819332, half z / 1.096036 * sqrt(0.1275 / 40 + z² / 6400) = 1.788228 * 0.061545 = 0.110055
    # -> 70.93 .. 92.94 %.
    result = csat("--csv", export(tmp_path, [5] * 20 + [4] * 14 + [2] * 6), "-w", "90:", "-c", "70:")
    assert result.code == 1, result.stdout
    assert result.status == ("CX CSAT WARNING - CSAT 85% (95% CI 70.9..92.9%, n=40) over 30d (< 90%) | "
                             "csat=85%;90:;70:;0;100 csat_high=92.94%;;;0;100 csat_low=70.93%;;;0;100 "
                             "dissatisfied=6c;;;0 rejected=0c;;;0 responses=40c;;;0 satisfied=34c;;;0")
    assert result.long_output[-1] == "satisfied 34 (4-5 on 1-5), dissatisfied 6; 40 rows read, 0 rejected"


def test_other_scales_and_satisfied_ranges(tmp_path):
    path = export(tmp_path, [7, 7, 6, 5, 4, 1, 7, 6, 6, 2])
    # 1-7, top two (6-7) by default: 6 of 10.
    assert csat("--csv", path, "--scale", "1-7", "--min-responses", "1").value("csat") == 60
    # 5-7 satisfied: 7 of 10.
    assert csat("--csv", path, "--scale", "1-7", "--satisfied", "5-7", "--min-responses", "1").value("csat") == 70
    # "5:" reads up to the top; one answer alone: only the sevens, 3 of 10.
    assert csat("--csv", path, "--scale", "1-7", "--satisfied", "5:", "--min-responses", "1").value("csat") == 70
    assert csat("--csv", path, "--scale", "1-7", "--satisfied", "7", "--min-responses", "1").value("csat") == 30
    # On 1-5 the sixes and sevens are off the scale: rejected, counted by reason.
    result = csat("--csv", path, "--min-responses", "1", "--max-rejected", "90", "-v")
    assert result.value("rejected") == 6 and result.value("csat") == 50       # 5 and 4 of {5, 4, 1, 2}
    assert "6 rejected: score out of range 1-5 (line 2, 3, 4, 8, 9, ...)" in result.long_output


def test_good_bad_words_in_an_export(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("created_at,score\n" + "".join(f"2026-10-30T00:00:00Z,{w}\n" for w in
                                                     ["good", "Good", "bad", "GOOD", "meh", "1", "0"]))
    result = csat("--csv", str(path), "--scale", "good-bad", "--min-responses", "1", "--max-rejected", "50", "-v")
    assert result.code == 0, result.stdout
    # good x3, 1 (good) x1, bad x1, 0 (bad) x1: 4 of 6; "meh" rejected.
    assert result.value("csat") == pytest.approx(66.67) and result.value("rejected") == 1
    assert "1 rejected: score not good/bad (line 6)" in result.long_output
    assert "satisfied 4 (good on good/bad), dissatisfied 2; 6 rows read, 1 rejected" in result.long_output


def test_jsonl_export(tmp_path):
    path = tmp_path / "csat.jsonl"
    path.write_text("\n".join(json.dumps({"score": s, "created_at": "2026-10-30T08:00:00Z"}) for s in [5, 4, 4, 2])
                    + "\n")
    result = csat("--jsonl", str(path), "--min-responses", "1")
    assert result.value("csat") == 75 and result.value("responses") == 4


@pytest.mark.parametrize("args, message", [
    (["--scale", "5-1"], "argument --scale: '5-1' is not a scale such as 1-5, 1-7, 0-10 or good-bad"),
    (["--satisfied", "4-9"], "--satisfied 4-9 is not within the scale 1-5"),
    (["--satisfied", "1-5"], "--satisfied 1-5 counts the lowest answer of 1-5 as satisfied"),
    (["--satisfied", "high"], "argument --satisfied: 'high' is not a range of answers such as 4-5, 6: or 5"),
    (["--scale", "good-bad", "--satisfied", "1"], "--satisfied is for numeric scales: on good-bad, good is satisfied"),
])
def test_configuration_errors(tmp_path, args, message):
    result = csat("--csv", export(tmp_path, [5]), *args)
    assert result.code == 3
    assert result.text == f"CX CSAT UNKNOWN - {message}"


def test_significant_and_drop(tmp_path):
    # 30 of 40 (75 %, interval 59.8 .. 85.8 %) against a floor of 80: below, not significantly.
    path = export(tmp_path, [5] * 30 + [1] * 10)
    result = csat("--csv", path, "-w", "80:", "--significant")
    assert result.code == 0, result.stdout
    assert result.text == "CX CSAT OK - CSAT 75% (95% CI 59.8..85.8%, n=40) over 30d, < 80% but not significantly"
    # The previous 30 days: 38 of 40 (95 %); now 75 %: a drop of 20 points.
    rows = [f"2026-10-30T00:00:00Z,{s}" for s in [5] * 30 + [1] * 10]
    rows += [f"2026-09-20T00:00:00Z,{s}" for s in [5] * 38 + [1] * 2]
    path = tmp_path / "two.csv"
    path.write_text("date,score\n" + "\n".join(rows) + "\n")
    result = csat("--csv", str(path), "--max-drop", "10")
    assert result.code == 1
    assert result.text == ("CX CSAT WARNING - CSAT 75% (95% CI 59.8..85.8%, n=40) over 30d, dropped 20 points from "
                           "95% in the previous 30d (> 10)")
    assert result.value("csat_previous") == 95


def test_low_sample(tmp_path):
    result = csat("--csv", export(tmp_path, [5] * 12), "-w", "80:")
    assert result.code == 3
    assert result.text == ("CX CSAT UNKNOWN - only 12 responses in 30d (at least 30 needed to judge); "
                           "CSAT 100% (95% CI 75.8..100%, n=12) over 30d")


# -- the survey tools' CSAT questions, through the existing clients ----------------------------

TOKEN = "tok-Csat-9"
ENV = {"SURVEY_TOKEN": TOKEN}
JSON = {"Content-Type": "application/json"}


def api_csat(*args):
    return run_plugin("check_cx_csat", "--now", NOW, "--min-responses", "1", "--token-env", "SURVEY_TOKEN", *args,
                      env=ENV)


def test_delighted_csat_scores(site):
    # 1-5 scores: 5, 5, 4, 3, 2, 1 -> 3 of 6 satisfied.
    scores = [5, 5, 4, 3, 2, 1]
    api = site({"/v1/survey_responses.json": (200, JSON, lambda handler, body: json.dumps(
        [{"score": s, "created_at": NOW_EPOCH - 3600} for s in scores] if "page=1" in handler.path else []))})
    result = api_csat("--delighted", "--api-url", api.url)
    assert result.code == 0, result.stdout
    assert result.value("csat") == 50 and result.value("responses") == 6


def test_typeform_rating_field(site):
    items = [{"token": f"t{i}", "submitted_at": "2026-10-30T10:00:00Z",
              "answers": [{"field": {"ref": "csat"}, "number": n}]} for i, n in enumerate([5, 4, 4, 4, 1])]
    api = site({"/forms/F1/responses": (200, JSON, json.dumps({"items": items}))})
    result = api_csat("--typeform", "F1", "--field-ref", "csat", "--api-url", api.url)
    assert result.value("csat") == 80 and result.value("responses") == 5


def test_surveymonkey_rating_question_by_position(site):
    # Choices carry labels, not numbers: positions 1..5 are the scores 1..5.
    details = {"pages": [{"questions": [{"id": "Q9", "answers": {"choices": [
        {"id": f"C{n}", "text": label, "position": n} for n, label in
        enumerate(["Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy"], 1)]}}]}]}
    data = [{"date_created": "2026-10-30T10:00:00+00:00",
             "pages": [{"questions": [{"id": "Q9", "answers": [{"choice_id": c}]}]}]} for c in ["C5", "C4", "C2", "C3"]]
    api = site({"/v3/surveys/S1/details": (200, JSON, json.dumps(details)),
                "/v3/surveys/S1/responses/bulk": (200, JSON, json.dumps({"data": data, "links": {}}))})
    result = api_csat("--surveymonkey", "S1", "--question-id", "Q9", "--api-url", api.url)
    assert result.value("csat") == 50 and result.value("satisfied") == 2
