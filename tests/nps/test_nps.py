"""check_cx_nps on exports: values against hand computation, real-world CSV shapes, junk rows,
and the statistics that decide the state."""

from __future__ import annotations

import math

import pytest
from conftest import run_plugin
from hypothesis import given, settings
from hypothesis import strategies as st

from cxcheck.sources.base import SourceError
from cxcheck.sources.rows import Rejects
from cxcheck.sources.survey_exports import read_csv
from cxcheck.stats import Tally

NOW = "2026-11-01T00:00:00Z"


def export(tmp_path, scores, *, days_ago=1, header="date,score", delimiter=",", name="nps.csv", extra=()):
    rows = [header] + [f"2026-10-{31 - days_ago:02d}T12:00:00Z{delimiter}{s}" for s in scores] + list(extra)
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def nps(path, *args):
    return run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--min-responses", "1", *args)


@pytest.mark.parametrize("scores, expected", [
    ([0, 3, 6, 7, 9], -40.0),              # 1 promoter, 3 detractors of 5
    ([7, 8, 7, 8], 0.0),                   # all passives
    ([6, 7, 8, 9], 0.0),                   # the boundaries: 6 detracts, 7-8 pass, 9 promotes
    ([9, 10, 10], 100.0),
    ([5], -100.0),                         # one response
    ([10] * 6 + [0] * 2 + [8] * 2, 40.0),
])
def test_values_match_hand_computation(tmp_path, scores, expected):
    result = nps(export(tmp_path, scores))
    assert result.code == 0, result.stdout
    assert result.value("nps") == pytest.approx(expected)
    n = len(scores)
    promoters = sum(s >= 9 for s in scores) / n
    detractors = sum(s <= 6 for s in scores) / n
    assert result.value("promoters") == pytest.approx(round(100 * promoters, 2))
    assert result.value("detractors") == pytest.approx(round(100 * detractors, 2))
    assert result.value("passives") == pytest.approx(round(100 * (1 - promoters - detractors), 2))
    assert result.value("responses") == n
    spread = 1.959964 * 100 * math.sqrt((promoters + detractors - (promoters - detractors) ** 2) / n)
    assert result.value("nps_low") == pytest.approx(max(expected - spread, -100), abs=0.01)
    assert result.value("nps_high") == pytest.approx(min(expected + spread, 100), abs=0.01)


def test_interval_formula():
    tally = Tally(promoters=50, passives=30, detractors=20)
    low, high = tally.interval(0.95)
    assert tally.nps == 30
    # var = (0.5 + 0.2 - 0.3^2) / 100 = 0.0061 -> sd 7.81 points -> +-15.31 at 95 %
    assert (low, high) == pytest.approx((30 - 15.308, 30 + 15.308), abs=0.01)


def test_perfdata_shape(tmp_path):
    result = nps(export(tmp_path, [9, 9, 5]), "-w", "30:", "-c", "0:")
    perf = result.perfdata
    assert perf["nps"] == ("33.33", "30:", "0:", "-100", "100")
    assert perf["responses"][0] == "3c" and perf["rejected"][0] == "0c"
    assert perf["promoters"][0].endswith("%")
    assert set(perf) == {"nps", "nps_low", "nps_high", "promoters", "passives", "detractors", "responses",
                         "rejected"}


def test_floors(tmp_path):
    path = export(tmp_path, [9] * 4 + [0] * 6)       # NPS -20
    assert nps(path, "-w", "30:", "-c", "-50:").code == 1
    result = nps(path, "-w", "30:", "-c", "0:")
    assert result.code == 2
    assert result.text.startswith("CX NPS CRITICAL - NPS -20 (95% CI ") and "over 30d (< 0)" in result.text
    assert nps(path, "-w", "-30:").code == 0


def test_significant_only_when_the_whole_interval_is_below(tmp_path):
    # 40 answers, NPS 20: the interval (about +-27) reaches above a floor of 30 -> OK with --significant.
    path = export(tmp_path, [10] * 16 + [8] * 16 + [3] * 8)
    assert nps(path, "-w", "30:").code == 1
    result = nps(path, "-w", "30:", "--significant")
    assert result.code == 0, result.stdout
    # 400 answers of the same mix: the interval (about +-8.4) lies below 30 -> WARNING.
    path = export(tmp_path, [10] * 160 + [8] * 160 + [3] * 80, name="big.csv")
    result = nps(path, "-w", "30:", "--significant")
    assert result.code == 1 and "(significantly < 30)" in result.text


def test_low_sample(tmp_path):
    path = export(tmp_path, [0] * 10)
    result = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "-c", "0:")
    assert result.code == 3
    assert result.text.startswith("CX NPS UNKNOWN - only 10 responses in 30d (at least 30 needed to judge)")
    result = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "-c", "0:", "--low-sample-state", "ok")
    assert result.code == 0


def test_window_and_previous_window(tmp_path):
    rows = [f"2026-10-{d:02d}T08:00:00Z,10" for d in range(20, 31)] * 4      # recent: promoters
    rows += [f"2026-10-{d:02d}T08:00:00Z,0" for d in range(10, 17)] * 6       # 15-21 days ago: detractors
    path = tmp_path / "w.csv"
    path.write_text("date,score\n" + "\n".join(rows) + "\n")
    week = run_plugin("check_cx_nps", "--csv", str(path), "--now", NOW, "--window", "14d", "--min-responses", "1")
    assert week.value("nps") == 100 and week.value("responses") == 44
    month = run_plugin("check_cx_nps", "--csv", str(path), "--now", NOW, "--window", "4w", "--min-responses", "1")
    assert month.value("responses") == 86
    # The other way round: the last two weeks dropped from the two before.
    rows = [f"2026-10-{d:02d}T08:00:00Z,0" for d in range(20, 31)] * 4
    rows += [f"2026-10-{d:02d}T08:00:00Z,10" for d in range(5, 16)] * 4
    path.write_text("date,score\n" + "\n".join(rows) + "\n")
    result = run_plugin("check_cx_nps", "--csv", str(path), "--now", NOW, "--window", "14d", "--max-drop", "10",
                        "--min-responses", "1")
    assert result.code == 1
    assert result.value("nps_previous") == 100
    assert "dropped 200 points from 100 in the previous 14d (> 10)" in result.text


def test_real_export_shapes(tmp_path):
    # BOM, semicolons, CRLF, quoted fields with the delimiter and a line break, headers in other case.
    text = ('\ufeff"Response ID";"Submitted At";"How LIKELY (0-10)";"Comment"\r\n'
            '1;2026-10-30T10:00:00+02:00;10;"great; fast"\r\n'
            '2;2026-10-30 11:00:00;9;"two\r\nlines"\r\n'
            '3;1793350000;3;""\r\n')
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("utf-8"))
    result = run_plugin("check_cx_nps", "--csv", str(path), "--now", NOW, "--score-column", "how likely (0-10)",
                        "--min-responses", "1")
    assert result.code == 0, result.stdout
    assert result.value("responses") == 3 and result.value("nps") == pytest.approx(33.33)
    tabbed = tmp_path / "tab.tsv"
    tabbed.write_text("Rating\tCreated_At\n8\t2026-10-30\n")
    assert run_plugin("check_cx_nps", "--csv", str(tabbed), "--now", NOW, "--min-responses", "1").value("passives") == 100


def test_date_formats(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("date,score\n30/10/2026 10:00,10\n2026-10-30,0\n31.10.2026,9\n")
    result = run_plugin("check_cx_nps", "--csv", str(path), "--now", NOW, "--min-responses", "1",
                        "--date-format", "%d/%m/%Y %H:%M", "--date-format", "%d.%m.%Y")
    assert result.code == 0 and result.value("responses") == 3


def test_junk_rows_are_counted_and_named(tmp_path):
    good = [9] * 97
    path = export(tmp_path, good, extra=["2026-10-30,", "2026-10-30,abc", "not a date,9", "2026-10-30,11"])
    result = nps(path, "--max-rejected", "10")
    assert result.code == 0
    assert result.value("rejected") == 4 and result.value("responses") == 97
    long_output = "\n".join(result.long_output)
    assert "1 rejected: empty score (line 99)" in long_output
    assert "1 rejected: score not a whole number (line 100)" in long_output
    assert ("1 rejected: unreadable date in column 'date', such as 'not a date' (line 101): give its format with --date-format (strptime, such as %d/%m/%Y %H:%M)") in long_output
    assert "1 rejected: score out of range 0-10 (line 102)" in long_output
    strict = nps(path)                   # 4 of 101 = 3.96 % -> under the default 5 %
    assert strict.code == 0
    result = nps(path, "--max-rejected", "2")
    assert result.code == 3
    assert result.text == "CX NPS UNKNOWN - 4 of 101 rows rejected (4.0% > 2%): the NPS would lie; 1 empty score"


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = nps(str(empty))
    assert result.code == 3 and result.text == f"CX NPS UNKNOWN - {empty}: empty file, no header line"
    header_only = tmp_path / "header.csv"
    header_only.write_text("date,score\n")
    result = nps(str(header_only))
    assert result.code == 3 and result.text == "CX NPS UNKNOWN - no responses in 30d (at least 1 needed to judge)"
    missing = tmp_path / "missing.csv"
    result = nps(str(missing))
    assert result.code == 3 and result.text == f"CX NPS UNKNOWN - cannot read {missing}: No such file or directory"
    result = nps(export(tmp_path, [9], header="when,how"))
    assert result.code == 3 and "no score column" in result.text and "--score-column" in result.text


def test_stdin(tmp_path):
    result = run_plugin("check_cx_nps", "--csv", "-", "--now", NOW, "--min-responses", "1",
                        stdin="date,score\n2026-10-30,10\n2026-10-30,0\n")
    assert result.code == 0 and result.value("nps") == 0


def test_usage_errors():
    assert run_plugin("check_cx_nps").text == ("CX NPS UNKNOWN - give a source: --csv, --jsonl, --json-url, "
                                               "--surveymonkey, --delighted, --typeform or --hubspot")
    result = run_plugin("check_cx_nps", "--csv", "x", "--window", "30 days")
    assert result.code == 3 and "'30 days' is not a duration" in result.text
    result = run_plugin("check_cx_nps", "--csv", "x", "--jsonl", "y")
    assert result.code == 3 and "not allowed with argument" in result.text
    result = run_plugin("check_cx_nps", "--delighted")
    assert result.code == 3 and "needs a token" in result.text


def test_jsonl(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"score": 10, "created_at": "2026-10-30T00:00:00Z"}\n\n{"score": 2, "created_at": 1793350000}\n'
                    'garbage\n')
    result = run_plugin("check_cx_nps", "--jsonl", str(path), "--now", NOW, "--min-responses", "1",
                        "--max-rejected", "50")
    assert result.code == 0 and result.value("nps") == 0 and result.value("rejected") == 1


def test_csv_run_imports_no_network_or_yaml(tmp_path):
    path = export(tmp_path, [9, 9])
    result = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--min-responses", "1",
                        env={"PYTHONPROFILEIMPORTTIME": "1"})
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "cxcheck.sources.survey_exports" in imported
    for module in ("requests", "yaml", "jmespath", "cxcheck.http", "cxcheck.sources.apiclient",
                   "cxcheck.sources.promql"):
        assert module not in imported


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_csv_reader_any_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("csv") / "any.csv"
    path.write_bytes(raw)
    rejects = Rejects()
    try:
        rows = list(read_csv(str(path), rejects))
    except SourceError as exc:
        assert "\n" not in str(exc)
        return
    for when, score in rows:
        assert 0 <= score <= 10 and isinstance(when, float)
