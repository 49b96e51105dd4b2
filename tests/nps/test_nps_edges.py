"""check_cx_nps at its edges: every score boundary, exports that used to trip the reader, memory
on files without line breaks, --significant for floors and drops, timeouts while reading, the
other survey APIs' refusals, and what a CSV run imports."""

from __future__ import annotations

import email.utils
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import Reference, past_the_imports, plugin_env, run_plugin, run_until
from hypothesis import given, settings
from hypothesis import strategies as st

from cxcheck.sources.base import SourceError
from cxcheck.sources.rows import Rejects
from cxcheck.sources.survey_exports import read_csv

NOW = "2026-11-01T00:00:00Z"
PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
TOKEN = "tok-Edge-456"
JSON = {"Content-Type": "application/json"}


def write(tmp_path, text: str, name: str = "nps.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def nps(path, *args, **kw):
    return run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--min-responses", "1", *args, **kw)


# -- values against hand computation ------------------------------------------------------------

@pytest.mark.parametrize("score, expected", [(0, -100), (5, -100), (6, -100), (7, 0), (8, 0), (9, 100), (10, 100)])
def test_one_response_on_each_side_of_the_boundaries(tmp_path, score, expected):
    result = nps(write(tmp_path, f"date,score\n2026-10-30T12:00:00Z,{score}\n"))
    assert result.code == 0, result.stdout
    assert result.value("nps") == expected and result.value("responses") == 1
    # One answer has no spread under the normal approximation: the interval is the point.
    assert result.value("nps_low") == result.value("nps_high") == expected


def test_negative_nps_by_hand(tmp_path):
    # 0 0 0 7 8 9: p = 1/6, d = 3/6, NPS = -33.33; var = (4/6 - (2/6)^2) / 6 = 0.09259,
    # sd = 30.43 points, 95 %: +-59.64 -> -92.97 .. 26.31.
    rows = "".join(f"2026-10-30T12:00:00Z,{s}\n" for s in (0, 0, 0, 7, 8, 9))
    result = nps(write(tmp_path, "date,score\n" + rows))
    assert result.value("nps") == pytest.approx(-33.33)
    assert result.value("nps_low") == pytest.approx(-92.97, abs=0.01)
    assert result.value("nps_high") == pytest.approx(26.31, abs=0.01)
    assert (result.value("promoters"), result.value("passives"), result.value("detractors")) == \
        pytest.approx((16.67, 33.33, 50.0), abs=0.01)
    assert "NPS -33.3 (95% CI -93..26.3, n=6)" in result.text


# -- exports -------------------------------------------------------------------------------------

def test_delimiter_inside_a_quoted_question_does_not_win(tmp_path):
    path = write(tmp_path, 'Date;"How likely, from 0 to 10, are you to recommend us?"\n'
                           '2026-10-30;10\n2026-10-30;"9"\n')
    result = nps(path, "--score-column", "how likely, from 0 to 10, are you to recommend us?")
    assert result.code == 0, result.stdout
    assert result.value("responses") == 2 and result.value("nps") == 100


def test_header_name_spanning_lines_and_exact_names_first(tmp_path):
    path = write(tmp_path, '"Comment\nabout the score",NPS,Date\n"fine, thanks",9,2026-10-30\n"meh",3,2026-10-30\n'
                           '"bad",x,2026-10-30\n')
    result = nps(path, "--max-rejected", "50")
    assert result.code == 0, result.stdout
    assert result.value("responses") == 2 and result.value("nps") == 0
    assert "1 rejected: score not a whole number (line 5)" in result.long_output   # the header took 2


def test_no_score_column_names_the_columns(tmp_path):
    result = nps(write(tmp_path, "when,how\n2026-10-30,9\n"))
    assert result.code == 3
    assert result.text.endswith("name it with --score-column (columns: 'when', 'how')")


@pytest.mark.parametrize("cell", ["²", "9" * 400, "1e999", "9999-99-99", "2026-13-01T00:00:00Z", "yesterday"])
def test_odd_dates_are_rejected_not_crashes(tmp_path, cell):
    result = nps(write(tmp_path, f"date,score\n{cell},9\n2026-10-30,9\n"), "--max-rejected", "60")
    assert result.code == 0, result.stdout
    assert result.value("rejected") == 1 and result.value("responses") == 1


def test_jsonl_non_finite_values_are_rejected(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"score": Infinity, "created_at": "2026-10-30T00:00:00Z"}\n'
                    '{"score": NaN, "created_at": "2026-10-30T00:00:00Z"}\n'
                    '{"score": 9, "created_at": ' + "9" * 400 + '}\n'
                    '{"score": 9, "created_at": 1e999}\n'
                    '{"score": 10, "created_at": "2026-10-30T00:00:00Z"}\n')
    result = run_plugin("check_cx_nps", "--jsonl", str(path), "--now", NOW, "--min-responses", "1",
                        "--max-rejected", "90")
    assert result.code == 0, result.stdout
    assert result.value("rejected") == 4 and result.value("responses") == 1


def test_file_without_line_breaks_is_refused_cleanly(tmp_path):
    path = tmp_path / "blob.csv"
    path.write_bytes(b"x" * (3 * 1024 * 1024))
    result = nps(str(path))
    assert result.code == 3
    assert result.text == f"CX NPS UNKNOWN - {path}: the first line is longer than 1024 KB, not the header of an export"


def test_a_huge_line_costs_bounded_memory(tmp_path):
    # 40 MB on one line after a good header: read a bounded piece at a time, refused by the field limit.
    path = tmp_path / "huge.csv"
    with open(path, "w") as out:
        out.write("date,score\n2026-10-30,9\n")
        for _ in range(40):
            out.write("a" * (1024 * 1024))
        out.write("\n2026-10-30,9\n")
    probe = tmp_path / "probe.py"
    # VmHWM is this process image's own peak (ru_maxrss would carry pytest's size over the fork);
    # main(argv) ends by SystemExit, so the finally runs.
    probe.write_text(
        "import sys\n"
        "from cxcheck.checks.nps import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "finally:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "    sys.stderr.write('maxrss_kb=%s\\n' % hwm)\n")
    proc = subprocess.run([sys.executable, str(probe), "--csv", str(path), "--now", NOW], capture_output=True,
                          text=True, env=plugin_env(), timeout=60)
    assert proc.returncode == 3, proc.stdout
    assert "line 3: field larger than field limit" in proc.stdout
    peak = int(proc.stderr.split("maxrss_kb=")[1].split()[0])
    assert peak < 60 * 1024, f"peak {peak} KB"


TOKENS = st.sampled_from(["", " ", "9", "10", "11", "-1", "9.0", "9,5", "x", "²", "٣", "NaN", "inf", "1e999",
                          "2026-10-30", "2026-10-30T12:00:00Z", "2026-10-30T12:00:00+14:00", "1793350000",
                          "9" * 40, '"', '""', '"a,b"', "\r", "\n", "\x00", "\ufeff", ";", "\t"])
CELLS = st.one_of(TOKENS, st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(header=st.sampled_from(["date,score", "Score;Date", "score\tcreated_at", '"date","score"']),
       rows=st.lists(st.lists(CELLS, min_size=0, max_size=4), max_size=12),
       newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_csv_reader_any_plausible_export(tmp_path_factory, header, rows, newline):
    """Exports that look right but hold anything in the cells: rows or a clean error, never a crash."""
    delimiter = ";" if ";" in header else "\t" if "\t" in header else ","
    text = header + newline + newline.join(delimiter.join(row) for row in rows) + newline
    path = tmp_path_factory.mktemp("csv") / "export.csv"
    path.write_text(text, encoding="utf-8", newline="")
    rejects = Rejects()
    try:
        rows_read = list(read_csv(str(path), rejects))
    except SourceError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)
        return
    for when, score in rows_read:
        assert 0 <= score <= 10 and math.isfinite(when)
    assert rejects.count == sum(n for n, _ in rejects.reasons.values())


# -- statistics that do not cry wolf ------------------------------------------------------------

def test_significant_says_when_the_point_is_below_but_the_interval_is_not(tmp_path):
    # p = 0.4, d = 0.2, n = 40: var = (0.6 - 0.04) / 40 = 0.014, sd 11.83 points, 95 %: +-23.19.
    path = write(tmp_path, "date,score\n" + "2026-10-30,10\n" * 16 + "2026-10-30,8\n" * 16 + "2026-10-30,3\n" * 8)
    result = nps(path, "-w", "30:", "-c", "0:", "--significant")
    assert result.code == 0
    assert result.text == "CX NPS OK - NPS 20 (95% CI -3.2..43.2, n=40) over 30d, < 30 but not significantly"


def test_low_sample_state_ok_still_says_so(tmp_path):
    path = write(tmp_path, "date,score\n2026-10-30,9\n2026-10-30,3\n")
    result = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "-w", "30:", "--low-sample-state", "ok")
    assert result.code == 0
    assert result.text.startswith("CX NPS OK - only 2 responses in 30d (at least 30 needed to judge); NPS 0 ")


def _two_windows(tmp_path, current, previous):
    rows = [f"2026-10-25T12:00:00Z,{s}" for s in current] + [f"2026-10-10T12:00:00Z,{s}" for s in previous]
    return write(tmp_path, "date,score\n" + "\n".join(rows) + "\n")


def test_drop_with_significance(tmp_path):
    # Previous 14 days: 40 promoters, NPS 100, sd 0. Current: 20 promoters, 20 detractors, NPS 0,
    # sd = 100 * sqrt(1 / 40) = 15.81; the drop of 100 has a 95 % interval down to 100 - 1.96 * 15.81 = 69.0.
    path = _two_windows(tmp_path, [10] * 20 + [0] * 20, [10] * 40)
    args = ("--window", "14d", "--significant", "--min-responses", "30")
    result = nps(path, *args, "--max-drop", "60")
    assert result.code == 1, result.stdout
    assert result.text.endswith("dropped 100 points from 100 in the previous 14d (> 60), "
                                "significantly: at least 69 at 95%")
    result = nps(path, *args, "--max-drop", "80")
    assert result.code == 0, result.stdout
    assert ("dropped 100 points from 100 in the previous 14d (> 80), not significantly: "
            "at 95% the drop may be as small as 69") in result.long_output
    assert result.value("nps_previous") == 100
    # Without --significant the point estimates decide.
    assert nps(path, "--window", "14d", "--min-responses", "30", "--max-drop", "80").code == 1


def test_previous_window_too_small_to_compare(tmp_path):
    path = _two_windows(tmp_path, [10] * 30, [0] * 5)
    result = nps(path, "--window", "14d", "--min-responses", "30", "--max-drop", "5")
    assert result.code == 0
    assert "previous 14d: 5 responses, too few to compare (at least 30)" in result.long_output


# -- the deadline while reading -----------------------------------------------------------------

@pytest.mark.parametrize("module, option, rows, name", [
    ("nps", "--csv", "date,score\n2026-10-30,9\n", "NPS"),
    ("support", "--csv", "created_at,first_reply_at\n2026-10-30,2026-10-31\n", "SUPPORT"),
    ("churn", "--events-csv", "customer,event,date\nc1,subscribed,2026-10-30\n", "CHURN"),
])
def test_timeout_while_reading_a_stalled_stdin(module, option, rows, name):
    def stalled(seconds):
        reference = Reference(f"cxcheck.checks.{module}", seconds)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", f"cxcheck.checks.{module}", option, "-", "-t", str(seconds)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=plugin_env())
        try:
            proc.stdin.write(rows)
            proc.stdin.flush()            # ... and the writer never finishes
            proc.wait(timeout=15)         # the output is one short line: no pipe fills up meanwhile
            elapsed = time.monotonic() - started
            out = proc.stdout.read()
        finally:
            proc.kill()
            proc.stdin.close()
            proc.stdout.close()
            proc.stderr.close()
        return SimpleNamespace(code=proc.returncode, text=out.splitlines()[0] if out else "", elapsed=elapsed,
                               reference=reference.elapsed(), stdout=out)

    # -t 1 on a busy machine may end during the interpreter's imports, before stdin is read: longer.
    run, seconds = run_until(past_the_imports, stalled, deadlines=(1, 2, 4))
    assert run.code == 2
    assert run.text == f"CX {name} CRITICAL - timed out after {seconds} s while reading standard input"
    assert run.elapsed < run.reference + 1


# -- the other APIs' refusals -------------------------------------------------------------------

def api(*args, **kw):
    return run_plugin("check_cx_nps", "--now", NOW, "--min-responses", "1", "--token-env", "SURVEY_TOKEN", *args,
                      env={"SURVEY_TOKEN": TOKEN}, **kw)


def test_surveymonkey_401(site):
    server = site({"/v3/surveys/S1/details": (401, JSON, '{"error": {"message": "invalid token"}}')})
    result = api("--surveymonkey", "S1", "--question-id", "Q1", "--api-url", server.url)
    assert result.code == 3
    assert result.text.startswith("CX NPS UNKNOWN - SurveyMonkey rejected the token (401)")
    assert TOKEN not in result.stdout


def test_typeform_403_and_503(site):
    server = site({"/forms/F1/responses": (403, JSON, '{"code": "FORBIDDEN"}')})
    result = api("--typeform", "F1", "--field-ref", "nps", "--api-url", server.url)
    assert result.code == 3 and result.text.startswith("CX NPS UNKNOWN - Typeform rejected the token (403)")
    server = site({"/forms/F1/responses": (503, {"Content-Type": "text/html"}, "<h1>upstream\nbusy</h1>")})
    result = api("--typeform", "F1", "--field-ref", "nps", "--api-url", server.url)
    assert result.code == 3
    assert result.text == "CX NPS UNKNOWN - Typeform answered HTTP 503: <h1>upstream busy</h1>"


def test_retry_after_as_an_http_date(site):
    calls = []

    def answer(handler, body):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return 429, {"Retry-After": email.utils.formatdate(time.time() + 2, usegmt=True)}, "slow down"
        return 200, JSON, json.dumps({"items": [{"token": "t1", "submitted_at": "2026-10-30T10:00:00Z",
                                                  "answers": [{"field": {"ref": "nps"}, "number": 10}]}]})

    server = site({"/forms/F1/responses": (200, JSON, answer)})
    result = api("--typeform", "F1", "--field-ref", "nps", "--api-url", server.url, "-t", "10")
    assert result.code == 0, result.stdout
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9
    assert result.value("nps") == 100


def test_json_url_bad_jmespath_is_a_usage_error():
    result = run_plugin("check_cx_nps", "--json-url", "http://127.0.0.1:9/nps", "--items", "result.items[")
    assert result.code == 3
    assert result.text.startswith("CX NPS UNKNOWN - --items 'result.items[' is not a JMESPath expression: ")


# -- import cost ---------------------------------------------------------------------------------

def test_csv_run_with_x_importtime_stays_light(tmp_path):
    path = write(tmp_path, "date,score\n2026-10-30,9\n")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cxcheck.checks.nps", "--csv", path,
                           "--now", NOW, "--min-responses", "1"], capture_output=True, text=True,
                          env=plugin_env({"PYTHONPATH": str(PLUGINS)}), timeout=60)
    assert proc.returncode == 0, proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert {"cxcheck.sources.survey_exports", "csv"} <= imported
    heavy = {"requests", "urllib3", "jmespath", "yaml", "cxcheck.http", "cxcheck.sources.apiclient",
             "cxcheck.sources.promql", "cxcheck.journey"}
    assert not heavy & imported, heavy & imported
