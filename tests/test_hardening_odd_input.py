"""Class 5 of issue 9: odd but legal input works.

Pages declaring a charset Python does not know decode as UTF-8 with replacement; steps whose
perfdata labels would collide are refused at validation; absurd -t values give our own UNKNOWN
line; spreadsheet serial dates and rows dated in the future are rejected with their own reason
and counted, never read as 1970 or dropped silently.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from conftest import run_plugin

FORM = ('<html><form id="f" method="post" action="/login"><input type="email" name="user">'
        '<input type="password" name="pw"><button name="go" value="1">Go</button></form>'
        '<p>Caf\u00e9 \u2013 {charset}</p></html>')


@pytest.mark.parametrize("charset", ["utf8mb4", "utf-8lite", "x-unknown", "base64"])
def test_page_in_an_unknown_charset_decodes_as_utf8(site, charset):
    page = FORM.format(charset=charset).encode("utf-8") + b"\xff broken byte"
    server = site({"/login": (200, {"Content-Type": f"text/html; charset={charset}"},
                              lambda handler, body: page if handler.command == "GET" else "<p>Caf\u00e9</p>")})
    result = run_plugin("check_cx_login", "-u", server.url + "/login", "--username", "ann@example.com",
                        "--password-env", "CX_PW", "--expect-text", "Caf\u00e9", env={"CX_PW": "correct-horse"})
    assert result.code == 0, result.stdout
    assert result.status.startswith("CX LOGIN OK - logged in as a***@example.com in ")
    assert result.stderr == ""


def test_steps_whose_perfdata_labels_collide_are_refused(tmp_path):
    scenario = tmp_path / "labels.yaml"
    scenario.write_text("name: labels\nbase_url: http://127.0.0.1:9\nsteps:\n"
                        "  - name: a.b\n    get: /one\n  - name: a_b\n    get: /two\n")
    reason = f"{scenario}: step 2: name 'a_b' gives the same perfdata label (a_b) as step 'a.b': rename one"
    result = run_plugin("check_cx_checkout", "--scenario", str(scenario))
    assert result.code == 3
    assert result.stdout == f"CX CHECKOUT UNKNOWN - {reason}\n" and result.stderr == ""
    result = run_plugin("cxcheck", "scenario", "check", str(scenario))
    assert result.code == 3 and result.stdout == f"error: {reason}\n"


@pytest.mark.parametrize("value, reason", [
    ("1e10", "'1e10' must be at most 86400 seconds (a day)"),
    ("86401", "'86401' must be at most 86400 seconds (a day)"),
    ("1e400", "'1e400' must be a positive number"),
    ("nan", "'nan' must be a positive number"),
    ("0", "'0' must be a positive number"),
    ("-5", "'-5' must be a positive number"),
    ("ten", "'ten' is not a number"),
])
@pytest.mark.parametrize("plugin", ["check_cx_login", "check_cx_checkout", "check_cx_transaction", "check_cx_nps",
                                    "check_cx_conversion", "check_cx_churn"])
def test_absurd_timeouts_are_our_unknown(plugin, value, reason):
    result = run_plugin(plugin, "-t", value)
    name = plugin.removeprefix("check_cx_").upper()
    assert result.code == 3
    assert result.stdout == f"CX {name} UNKNOWN - argument -t/--timeout: {reason}\n"
    assert result.stderr == ""


def test_a_day_is_a_valid_timeout(site):
    server = site({"/login": (200, {"Content-Type": "text/html"}, FORM.format(charset="utf-8"))})
    result = run_plugin("check_cx_login", "-u", server.url + "/login", "--username", "u", "--password-env",
                        "CX_PW", "-t", "86400", env={"CX_PW": "correct-horse"})
    assert result.code == 2 and "the login page came back" in result.text


def export(tmp_path, rows: list[tuple[str, str]]) -> str:
    path = tmp_path / "export.csv"
    path.write_text("submitted_at,score\n" + "".join(f"{when},{score}\n" for when, score in rows))
    return str(path)


def test_serial_dates_and_future_rows_are_rejected_and_counted(tmp_path):
    now = datetime.now(UTC)
    recent = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    future = datetime.fromtimestamp(time.time() + 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [(recent, "9")] * 40 + [("45123", "10"), ("45123.5", "0"), (future, "0"), ("2999-01-01", "0"),
                                   ("0", "3"), ("1700000000", "10")]
    result = run_plugin("check_cx_nps", "--csv", export(tmp_path, rows), "--max-rejected", "20")
    assert result.code == 0, result.stdout
    assert result.perfdata["rejected"][0] == "5c"
    assert result.perfdata["responses"][0] == "40c"       # 1700000000 (Nov. 2023) is read, out of the window
    assert "2 rejected: spreadsheet serial date (format the column as dates) (line 42, 43)" in result.long_output
    assert "2 rejected: date in the future (line 44, 45)" in result.long_output
    assert ("1 rejected: unreadable date in column 'submitted_at', such as '0' (line 46): give its format with --date-format (strptime, such as %d/%m/%Y %H:%M)"
            in result.long_output)


def test_future_rows_from_json_lines_too(tmp_path):
    path = tmp_path / "export.jsonl"
    ok = '{"score": 10, "created_at": %d}\n' % (time.time() - 3600)
    path.write_text(ok * 40 + '{"score": 0, "created_at": %d}\n' % (time.time() + 7200)
                    + '{"score": 0, "created_at": 45123}\n')
    result = run_plugin("check_cx_nps", "--jsonl", str(path), "--max-rejected", "20")
    assert result.code == 0, result.stdout
    assert "1 rejected: date in the future (line 41)" in result.long_output
    assert "1 rejected: spreadsheet serial date (format the column as dates) (line 42)" in result.long_output
