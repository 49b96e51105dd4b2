"""check_cx_support on ticket exports (CSV, JSON Lines): percentiles against hand computation,
tickets still waiting, the window by creation or by solving, the backlog, duration ranges, bad
rows, and the options' errors. The help-desk APIs are in test_zendesk.py and test_hubspot.py."""

from __future__ import annotations

import json

import pytest
from conftest import run_plugin

from cxcheck.runtime import DurationRange, say_duration
from cxcheck.stats import percentile

NOW = "2026-11-01T00:00:00Z"

# created, first reply, solved (hours before NOW; None: not yet)
ROWS = [
    (50, 49.5, 40),        # reply 30 min, resolution 10 h
    (30, 29, 20),          # 1 h, 10 h
    (26, 24, None),        # 2 h, unsolved
    (20, 19.75, 2),        # 15 min, 18 h
    (10, 6, None),         # 4 h
    (3, None, None),       # waiting 3 h
    (24 * 9, 24 * 8, 24 * 7.5),   # created 9 days ago: outside a 7 d window; solved 7.5 days ago
]


def stamp(hours):
    from datetime import UTC, datetime, timedelta

    if hours is None:
        return ""
    return (datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def tickets_csv(tmp_path, rows=ROWS, header="id,created_at,first_reply_at,solved_at", extra=()):
    path = tmp_path / "tickets.csv"
    lines = [header] + [f"{n},{stamp(c)},{stamp(r)},{stamp(s)}" for n, (c, r, s) in enumerate(rows, 1)]
    path.write_text("\n".join(lines + list(extra)) + "\n")
    return str(path)


def support(*args, **kw):
    return run_plugin("check_cx_support", "--now", NOW, "--min-tickets", "1", *args, **kw)


def test_first_reply_by_hand(tmp_path):
    # Created in the last 7 d: replies 0.5, 1, 2, 0.25, 4 h and one waiting 3 h so far.
    # Sorted 900, 1800, 3600, 7200, 10800, 14400 s: p90 = the 6th (ceil 5.4) = 14400 s, median the
    # 3rd = 3600 s.
    result = support("--csv", tickets_csv(tmp_path), "-w", "3h", "-c", "6h")
    assert result.code == 1, result.stdout
    assert result.status == ("CX SUPPORT WARNING - first reply p90 4h > 3h, median 1h over 6 tickets created in the "
                             "last 7d, 1 still waiting | first_reply_p50=3600s;;;0 first_reply_p90=14400s;10800;21600;0 "
                             "rejected=0c;;;0 tickets=6c;;;0 waiting=1c;;;0")
    assert result.long_output == ["WARNING: > 3h",
                                  "1 ticket still waiting for a first reply, the longest for 3h (counted with the "
                                  "time waited so far)",
                                  "7 rows read, 0 rejected"]


def test_other_percentiles_and_ok(tmp_path):
    # p50 only: one perfdata label for it; p75 = the 5th (ceil 4.5) of six = 10800 s.
    result = support("--csv", tickets_csv(tmp_path), "--percentile", "50", "-c", "2h")
    assert result.text == ("CX SUPPORT OK - first reply p50 1h, median 1h over 6 tickets created in the last 7d, "
                           "1 still waiting, limit 2h")
    assert [k for k in result.perfdata if k.startswith("first_reply")] == ["first_reply_p50"]
    result = support("--csv", tickets_csv(tmp_path), "--percentile", "75")
    assert result.value("first_reply_p75") == 10800


def test_resolution_by_solved_and_by_created(tmp_path):
    # Solved in the last 7 d: 10 h, 10 h, 18 h: p90 = 64800 s, median 36000 s.
    result = support("--csv", tickets_csv(tmp_path), "--metric", "resolution", "-c", "1d")
    assert result.text == ("CX SUPPORT OK - resolution p90 18h, median 10h over 3 tickets solved in the last 7d, "
                           "limit 1d")
    # Created in the last 7 d: 10 h, 10 h, 18 h solved; unsolved ones count at their age: 26 h, 10 h,
    # 3 h. Sorted 3, 10, 10, 10, 18, 26 h: p90 = 26 h = 93600 s, median 10 h.
    result = support("--csv", tickets_csv(tmp_path), "--metric", "resolution", "--by", "created", "-c", "1d")
    assert result.code == 2, result.stdout
    assert result.text == ("CX SUPPORT CRITICAL - resolution p90 1d2h > 1d, median 10h over 6 tickets created in the "
                           "last 7d, 3 still waiting")


def test_first_reply_by_solved(tmp_path):
    # Solved in the last 7 d: tickets 1, 2, 4 with replies 30 min, 1 h, 15 min: p90 = 3600 s.
    result = support("--csv", tickets_csv(tmp_path), "--by", "solved")
    assert result.value("first_reply_p90") == 3600 and result.value("tickets") == 3


def test_backlog(tmp_path):
    # Unsolved, created over 24 h ago: ticket 3 (26 h). Over 2 h: tickets 3, 5 and 6.
    result = support("--csv", tickets_csv(tmp_path), "--metric", "backlog", "-w", "0", "-c", "5")
    assert result.status == ("CX SUPPORT WARNING - 1 unsolved ticket older than 24h > 0, the oldest waiting 1d2h | "
                             "backlog=1c;0;5;0 oldest_unsolved=93600s;;;0 rejected=0c;;;0")
    result = support("--csv", tickets_csv(tmp_path), "--metric", "backlog", "--older-than", "2h")
    assert result.value("backlog") == 3


def test_jsonl_export_with_other_field_names(tmp_path):
    path = tmp_path / "tickets.jsonl"
    lines = [json.dumps({"opened": stamp(c), "answered": stamp(r) or None}) for c, r, _ in ROWS[:5]]
    path.write_text("\n".join(lines + ["not json", "[1]"]) + "\n")
    result = support("--jsonl", str(path), "--created-field", "opened", "--first-reply-field", "answered",
                     "--max-rejected", "50", "-v")
    # 0.25, 0.5, 1, 2, 4 h: p90 = the 5th = 14400 s.
    assert result.value("first_reply_p90") == 14400 and result.value("rejected") == 2
    assert "1 rejected: not JSON (line 6)" in result.long_output
    assert "1 rejected: not a JSON object (line 7)" in result.long_output


def test_bad_rows_are_counted_by_reason(tmp_path):
    extra = ["8,yesterday,,", f"9,{stamp(5)},{stamp(6)},", "10,,,", f"11,{stamp(5)}"]
    result = support("--csv", tickets_csv(tmp_path, extra=extra), "--max-rejected", "50", "-v")
    assert result.value("rejected") == 4
    assert result.long_output[-4:] == ["1 rejected: unreadable creation date in column 'created_at', such as "
                                       "'yesterday' (line 9): give its format with --date-format (strptime, such as %d/%m/%Y %H:%M)",
                                       "1 rejected: first reply before creation (line 10)",
                                       "1 rejected: no creation date (line 11)",
                                       "1 rejected: missing columns (line 12)"]
    result = support("--csv", tickets_csv(tmp_path, extra=extra))
    assert result.code == 3
    assert result.text == ("CX SUPPORT UNKNOWN - 4 of 11 rows rejected (36.4% > 5%): the percentile would lie; 1 "
                           "unreadable creation date in column 'created_at', such as 'yesterday': give its format with --date-format (strptime, such as %d/%m/%Y %H:%M)")


def test_serial_and_future_dates_are_rejected_by_their_own_reason(tmp_path):
    """Each of a row's dates: a spreadsheet's serial number or a date beyond a few minutes of clock
    skew counts under the reasons the survey exports use, naming the date; a few seconds ahead pass."""
    import time

    from cxcheck.runtime.times import CLOCK_SKEW

    ahead, soon = time.time() + 86400, time.time() + CLOCK_SKEW / 10
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    extra = ["8,45123.5,,", f"9,{stamp(5)},{iso(ahead)},", f"10,{stamp(5)},,{iso(ahead)}", f"11,{stamp(5)},,45123",
             f"12,{stamp(5)},{iso(soon)},"]
    result = support("--csv", tickets_csv(tmp_path, extra=extra), "--max-rejected", "50", "-v")
    assert result.value("rejected") == 4, result.stdout
    assert result.long_output[-4:] == [
        "1 rejected: spreadsheet serial creation date (format the column as dates) (line 9)",
        "1 rejected: first reply date in the future (line 10)",
        "1 rejected: solved date in the future (line 11)",
        "1 rejected: spreadsheet serial solved date (format the column as dates) (line 12)"]


def test_low_sample_and_empty_window(tmp_path):
    path = tickets_csv(tmp_path, rows=[(24 * 20, 24 * 19, None)])
    result = run_plugin("check_cx_support", "--csv", path, "--now", NOW)
    assert result.code == 3
    assert result.status == ("CX SUPPORT UNKNOWN - no tickets created in 7d (at least 10 needed to judge the "
                             "first-reply) | first_reply_p50=U;;;0 first_reply_p90=U;;;0 rejected=0c;;;0 tickets=0c;;;0 "
                             "waiting=0c;;;0")
    result = run_plugin("check_cx_support", "--csv", path, "--now", NOW, "--low-sample-state", "ok")
    assert result.code == 0
    assert result.text == "CX SUPPORT OK - no tickets created in 7d (at least 10 needed to judge the first-reply)"


@pytest.mark.parametrize("args, message", [
    (["-w", "4 hours"], "argument -w/--warning: '4 hours' is not a range of durations (e.g. 4h, 30m:2h, @1h:2h) "
                        "or of numbers (Nagios range syntax)"),
    (["-c", "8h:4h"], "argument -c/--critical: '8h:4h' is not a range (start above its end?)"),
    (["--metric", "backlog", "-c", "8h"], "--metric backlog counts tickets: give -w/-c as numbers, not 8h"),
    (["--percentile", "120"], "argument --percentile: '120': a percentile is at most 100"),
    (["--hours", "business"], "CSV ticket export gives calendar times only: no --hours business"),
    (["--first-reply-column", "answered"], None),
])
def test_configuration_errors(tmp_path, args, message):
    result = support("--csv", tickets_csv(tmp_path), *args)
    assert result.code == 3
    if message is None:         # a column that is not there names the columns that are
        assert result.text.endswith("no column 'answered' (columns: 'id', 'created_at', 'first_reply_at', 'solved_at')")
    else:
        assert result.text == f"CX SUPPORT UNKNOWN - {message}"


def test_duration_ranges_in_seconds():
    assert [str(DurationRange(t)) for t in ("4h", "30m:2h", "@1h:2h", "~:1d", "90", "1.5h")] == \
        ["14400", "1800:7200", "@3600:7200", "~:86400", "90", "5400"]
    assert [say_duration(s) for s in (0, 45, 750, 7500, 93600, 86400)] == ["0s", "45s", "12m30s", "2h5m", "1d2h", "1d"]


def test_nearest_rank_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile(list(range(1, 11)), 90) == 9 and percentile(list(range(1, 101)), 99.5) == 100
    assert percentile([], 90) is None
