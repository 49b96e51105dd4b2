"""Exports say what is wrong with their columns (issue 21 class 5, issue 27 point 8):

- a column name that two columns share (two `created_at` with different values) is ambiguous:
  UNKNOWN naming it and the columns, unless the option names one (`created_at#2`), never the
  first taken without a word; for survey, ticket and event exports alike;
- unreadable dates name their column (or JSON field), show one value and say what to give
  --date-format, in the long output and, when they make the check UNKNOWN, in the status line.
"""

from __future__ import annotations

import json

from conftest import run_plugin

NOW = "2026-11-01T00:00:00Z"
ADVICE = "give its format with --date-format"


def write(tmp_path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_two_columns_of_one_name_are_ambiguous(tmp_path):
    # The first created_at says 2026-10-30, the second (the one the survey tool meant) 2026-09-01.
    rows = ["created_at,score,created_at"] + [f"2026-10-30T10:00:00Z,{9 if n % 2 else 3},2026-09-01T10:00:00Z"
                                             for n in range(40)]
    path = write(tmp_path, "export.csv", rows)
    result = run_plugin("check_cx_nps", "--csv", path, "--now", NOW)
    assert result.code == 3, result.stdout
    assert result.text == (f"CX NPS UNKNOWN - {path}: 2 columns named 'created_at' (columns 1, 3): say which with "
                           "--date-column 'created_at#1' or 'created_at#2'")
    second = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--date-column", "created_at#2")
    assert second.code == 3 and second.text.startswith("CX NPS UNKNOWN - no responses in 30d"), second.stdout
    first = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--date-column", "Created At#1")
    assert first.code == 0 and first.value("responses") == 40, first.stdout
    # A name given outright is as ambiguous as one found by default.
    named = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--date-column", "created_at")
    assert named.code == 3 and "2 columns named 'created_at'" in named.text
    missing = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--date-column", "created_at#3")
    assert missing.text.startswith(f"CX NPS UNKNOWN - {path}: no column 'created_at#3' (columns: 'created_at', ")


def test_ticket_and_event_exports_refuse_a_shared_name_too(tmp_path):
    tickets = write(tmp_path, "tickets.csv", ["id,created_at,solved_at,solved_at",
                                              "1,2026-10-30T10:00:00Z,2026-10-30T12:00:00Z,"])
    result = run_plugin("check_cx_support", "--csv", tickets, "--now", NOW, "--metric", "resolution")
    assert result.text == (f"CX SUPPORT UNKNOWN - {tickets}: 2 columns named 'solved_at' (columns 3, 4): say which "
                           "with --solved-column 'solved_at#1' or 'solved_at#2'")
    events = write(tmp_path, "events.csv", ["customer,event,date,reason,reason", "c1,cancelled,2026-10-30,Price,Time"])
    result = run_plugin("check_cx_churn", "--events-csv", events, "--now", NOW)
    assert result.text == (f"CX CHURN UNKNOWN - {events}: 2 columns named 'reason' (columns 4, 5): say which with "
                           "--reason-column 'reason#1' or 'reason#2'")


def test_unreadable_dates_name_the_column_a_value_and_the_format(tmp_path):
    rows = ["Submitted At,Score"] + [f"{day:02d}/10/2026 14:02,{9 if day % 3 else 2}" for day in range(13, 31)]
    path = write(tmp_path, "eu.csv", rows)
    result = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "-v")
    assert result.code == 3, result.stdout
    assert result.text == ("CX NPS UNKNOWN - 18 of 18 rows rejected (100.0% > 5%): the NPS would lie; 18 unreadable "
                           f"date in column 'Submitted At', such as '13/10/2026 14:02': {ADVICE} '%d/%m/%Y %H:%M'")
    assert (f"18 rejected: unreadable date in column 'Submitted At', such as '13/10/2026 14:02' (line 2, 3, 4, 5, 6, "
            f"...): {ADVICE} '%d/%m/%Y %H:%M'") in result.long_output
    # What it says works.
    fixed = run_plugin("check_cx_nps", "--csv", path, "--now", NOW, "--date-format", "%d/%m/%Y %H:%M",
                       "--min-responses", "1")
    assert fixed.code == 0 and fixed.value("responses") == 18, fixed.stdout


def test_a_date_that_reads_both_ways_says_so(tmp_path):
    path = write(tmp_path, "us.csv", ["date,score"] + ["01/02/2026,9"] * 3)
    result = run_plugin("check_cx_nps", "--csv", path, "--now", NOW)
    assert result.text.endswith(f"such as '01/02/2026': {ADVICE} '%d/%m/%Y' (or '%m/%d/%Y': the value reads both "
                                "ways)")


def test_json_lines_tickets_and_events_name_their_field_or_column(tmp_path):
    jsonl = write(tmp_path, "answers.jsonl", [json.dumps({"score": 9, "when": "Oct 30, 2026"})] * 2)
    result = run_plugin("check_cx_nps", "--jsonl", jsonl, "--date-field", "when", "--now", NOW)
    assert result.text.endswith(f"2 unreadable date in field 'when', such as 'Oct 30, 2026': {ADVICE} '%b %d, %Y'")
    tickets = write(tmp_path, "tickets.csv", ["Opened,first_reply_at", "30.10.2026 10:00,2026-10-30T11:00:00Z"])
    result = run_plugin("check_cx_support", "--csv", tickets, "--created-column", "Opened", "--now", NOW)
    assert result.text.endswith(f"1 unreadable creation date in column 'Opened', such as '30.10.2026 10:00': {ADVICE} "
                                "'%d.%m.%Y %H:%M'")
    events = write(tmp_path, "events.csv", ["customer,event,date", "c1,subscribed,30 Oct 2026"])
    result = run_plugin("check_cx_churn", "--events-csv", events, "--now", NOW)
    assert result.text.endswith(f"1 unreadable date in column 'date', such as '30 Oct 2026': {ADVICE} '%d %b %Y'")
