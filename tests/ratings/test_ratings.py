"""check_cx_ratings on exports, and --sentiment on check_cx_ratings, check_cx_nps and
check_cx_csat: English and French comments, figures computed by hand."""

from __future__ import annotations

import json

import pytest
from conftest import run_plugin

NOW = "2026-11-01T00:00:00Z"
# Current window, 10 reviews: stars 5 5 4 4 5 3 2 1 1 2, sum 32, average 3.2; 1-2 stars 4 of 10,
# 40%. Sample variance (2 x 2.2^2 + 2 x 1.2^2 + 0.2^2 + 2 x 0.8^2 + 3 x 1.8^2) / 9 = 23.6 / 9, standard
# error sqrt(23.6 / 90) = 0.5121, x 1.96 = 1.0037: interval 2.2..4.2. Comments: 4 negative of 10,
# 40%, Wilson 95% interval 16.8..68.7%; the negative ones speak of delivery (3), late (3),
# "late delivery" (2) and refund (2). Previous window: 5 reviews, 5 5 5 4 1, average 20 / 5 = 4;
# one negative comment of 5 (20%): +20 points.
ENGLISH = [
    ("2026-10-30T10:00:00Z", 5, "3.1", "Fast delivery, great quality"),
    ("2026-10-29T10:00:00Z", 5, "3.1", "Love the new app, so easy"),
    ("2026-10-28T10:00:00Z", 4, "3.1", "Works well"),
    ("2026-10-27T10:00:00Z", 4, "3.1", "Good value for the price"),
    ("2026-10-26T10:00:00Z", 5, "3.2", "Perfect, thanks"),
    ("2026-10-25T10:00:00Z", 3, "3.2", "Average"),
    ("2026-10-24T10:00:00Z", 2, "3.2", "Delivery was 9 days late"),
    ("2026-10-23T10:00:00Z", 1, "3.2", "Still no refund, late delivery again"),
    ("2026-10-22T10:00:00Z", 1, "3.2", "Late delivery and the box was damaged"),
    ("2026-10-21T10:00:00Z", 2, "3.1", "The app crashes at checkout, still no refund"),
    ("2026-09-30T10:00:00Z", 5, "3.0", "Great"),
    ("2026-09-29T10:00:00Z", 5, "3.0", "Excellent service"),
    ("2026-09-28T10:00:00Z", 5, "3.0", "Very happy"),
    ("2026-09-27T10:00:00Z", 4, "3.0", "Good"),
    ("2026-09-26T10:00:00Z", 1, "3.0", "My order never arrived"),
]
# French, 8 reviews: stars 5 5 4 5 2 1 1 3, sum 26, average 3.25; low 3 of 8, 37.5%. Comments: 4
# negative of 8, 50% (Wilson 21.5..78.5%), about livraison (3) and "livraison retard" (2), which
# says retard (2) already.
FRENCH = [
    ("2026-10-30T10:00:00Z", 5, "Super appli, livraison rapide"),
    ("2026-10-29T10:00:00Z", 5, "Rien à redire"),
    ("2026-10-28T10:00:00Z", 4, "Pas mal du tout"),
    ("2026-10-27T10:00:00Z", 5, "Nickel"),
    ("2026-10-26T10:00:00Z", 2, "Livraison avec 5 jours de retard"),
    ("2026-10-25T10:00:00Z", 1, "Toujours pas remboursé, je ne recommande pas"),
    ("2026-10-24T10:00:00Z", 1, "Colis jamais reçu, livraison catastrophique"),
    ("2026-10-23T10:00:00Z", 3, "Pas terrible, livraison en retard"),
]


def ratings(*args, **kw):
    return run_plugin("check_cx_ratings", "--now", NOW, *args, **kw)


@pytest.fixture
def english_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    lines = ["date,stars,version,comment"] + [f'{d},{s},{v},"{c}"' for d, s, v, c in ENGLISH]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def french_jsonl(tmp_path):
    path = tmp_path / "avis.jsonl"
    path.write_text("".join(json.dumps({"created_at": d, "rating": s, "app_version": "2.0", "text": c},
                                       ensure_ascii=False) + "\n" for d, s, c in FRENCH))
    return str(path)


def test_english_export_with_sentiment(english_csv):
    result = ratings("--csv", english_csv, "-w", "3.5:", "-c", "2.5:", "--warning-low-share", "50", "--sentiment",
                     "--warning-negative", "50", "--language", "en", "--min-volume", "5", "-v")
    assert result.code == 1, result.stdout
    assert result.text == ("CX RATINGS WARNING - rating 3.2 (95% CI 2.2..4.2, n=10) over 30d, 40% low (1-2 stars) "
                           "(rating < 3.5), previous 4; negative comments 40% (+20 points)")
    assert result.value("negative_share") == 40 and result.perfdata["negative_share"][1] == "50"
    assert "sentiment: 4 of 10 comments negative, 40% (95% CI 16.8..68.7%) over 30d" in result.long_output
    assert "sentiment: previous 30d: 1 of 5 negative, 20%" in result.long_output
    assert "themes of the negative comments: delivery (3), late (3), late delivery (2), refund (2), app (1)" \
        in result.long_output
    assert "most complained-about version: 3.2 (3 of the 4 low reviews; 5 reviews of it average 2.4)" \
        in result.long_output


def test_french_export_with_sentiment_in_either_language_option(french_jsonl):
    for language in ("fr", "auto"):
        result = ratings("--jsonl", french_jsonl, "--min-volume", "5", "--sentiment", "--language", language,
                         "--critical-negative", "45", "-v")
        assert result.code == 2, result.stdout
        assert result.text == ("CX RATINGS CRITICAL - rating 3.25 (95% CI 2.04..4.46, n=8) over 30d, 37.5% low "
                               "(1-2 stars); negative comments 50% (> 45%)")
        assert "sentiment: 4 of 8 comments negative, 50% (95% CI 21.5..78.5%) over 30d" in result.long_output
        assert any(line.startswith("themes of the negative comments: livraison (3), livraison retard (2), "
                                   "catastrophique (1)")
                   for line in result.long_output), result.long_output


def test_significant_negative_share_needs_the_whole_interval(french_jsonl):
    result = ratings("--jsonl", french_jsonl, "--min-volume", "5", "--sentiment", "--critical-negative", "45",
                     "--significant")
    assert result.code == 0, result.stdout           # 50% but the interval reaches down to 21.5%


def test_significant_floor_and_drop(english_csv):
    floor = ratings("--csv", english_csv, "--min-volume", "5", "-w", "3.5:", "--significant")
    assert floor.code == 0 and "rating < 3.5 but not significantly" in floor.text, floor.stdout
    drop = ratings("--csv", english_csv, "--min-volume", "5", "--max-drop", "0.5", "--significant", "-v")
    # 4 - 3.2 = 0.8 > 0.5, but the drop's interval reaches below 0.5 with these few reviews
    assert drop.code == 0 and any("not significantly" in line for line in drop.long_output), drop.stdout
    plain = ratings("--csv", english_csv, "--min-volume", "5", "--max-drop", "0.5")
    assert plain.code == 1 and "dropped 0.8 stars from 4 in the previous 30d (> 0.5)" in plain.text


def test_too_few_reviews_is_said_not_judged(english_csv):
    quiet = ratings("--csv", english_csv, "-w", "4.5:", "--min-volume", "11")
    assert quiet.code == 0 and quiet.text == ("CX RATINGS OK - only 10 reviews in 30d (at least 11 needed to "
                                              "judge); rating 3.2 not judged"), quiet.stdout
    unknown = ratings("--csv", english_csv, "-w", "4.5:", "--min-volume", "11", "--low-volume-state", "unknown")
    assert unknown.code == 3 and unknown.text == quiet.text.replace("OK", "UNKNOWN")


def test_unreadable_rows_are_counted_and_judged(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("date,stars\n" + "2026-10-30T00:00:00Z,5\n" * 9 + "2026-10-30T00:00:00Z,6\nyesterday,4\n")
    result = ratings("--csv", str(path), "--min-volume", "1", "-v")
    assert result.code == 3 and result.text.startswith("CX RATINGS UNKNOWN - 2 of 11 rows rejected (18.2% > 5%)")
    assert "1 rejected: score out of range 1-5 (item 11)" in result.long_output or \
        "1 rejected: score out of range 1-5 (line 11)" in result.long_output


def test_help_says_it_judges_trends_not_single_comments():
    for plugin in ("check_cx_ratings", "check_cx_nps", "check_cx_csat"):
        result = run_plugin(plugin, "--help")
        assert result.code == 0
        assert "judges trends over many comments, not a single comment" in " ".join(result.stdout.split())


def test_nps_and_csat_sentiment_from_exports(tmp_path):
    # NPS: 10 9 3 2 in the window (NPS 0); comments 2 negative of 3 (one answer left none): 66.7%.
    path = tmp_path / "nps.csv"
    path.write_text("date,score,feedback\n"
                    "2026-10-30T10:00:00Z,10,Great app love it\n"
                    "2026-10-29T10:00:00Z,2,Delivery was 9 days late\n"
                    "2026-10-28T10:00:00Z,3,Still no refund after 3 weeks\n"
                    "2026-10-27T10:00:00Z,9,\n"
                    "2026-09-20T10:00:00Z,9,Perfect\n")
    nps = run_plugin("check_cx_nps", "--csv", str(path), "--now", NOW, "--min-responses", "1", "--sentiment",
                     "--warning-negative", "60")
    assert nps.code == 1, nps.stdout
    assert nps.text == ("CX NPS WARNING - NPS 0 (95% CI -98..98, n=4) over 30d; negative comments 66.7% "
                        "(+66.7 points) (> 60%)")
    # CSAT in French from JSON Lines: 5 4 1 2 on 1-5, CSAT 50%; 2 negative comments of 4.
    lines = [("2026-10-30T10:00:00Z", 5, "Très bien, merci"), ("2026-10-29T10:00:00Z", 4, "Livraison rapide"),
             ("2026-10-28T10:00:00Z", 1, "Je ne recommande pas"), ("2026-10-27T10:00:00Z", 2, "Colis jamais reçu")]
    jsonl = tmp_path / "csat.jsonl"
    jsonl.write_text("".join(json.dumps({"created_at": d, "score": s, "comment": c}) + "\n" for d, s, c in lines))
    csat = run_plugin("check_cx_csat", "--jsonl", str(jsonl), "--now", NOW, "--min-responses", "1", "--sentiment",
                      "--language", "fr", "-v")
    assert csat.code == 0 and csat.value("csat") == 50 and csat.value("negative_share") == 50, csat.stdout
    assert csat.text.endswith("; negative comments 50%")
    assert "sentiment: 2 of 4 comments negative, 50% (95% CI 15..85%) over 30d" in csat.long_output


def test_sentiment_needs_comments_the_source_can_give(tmp_path):
    path = tmp_path / "nps.csv"
    path.write_text("date,score\n2026-10-30T10:00:00Z,10\n")
    no_column = run_plugin("check_cx_nps", "--csv", str(path), "--now", NOW, "--sentiment")
    assert no_column.code == 3 and "no comment column" in no_column.text and "--comment-column" in no_column.text
    api = run_plugin("check_cx_nps", "--delighted", "--token-env", "T", "--sentiment", env={"T": "x"})
    assert api.code == 3 and api.text == ("CX NPS UNKNOWN - --sentiment reads the comments of an export (--csv, "
                                          "--jsonl); Delighted gives none to cxcheck yet")
