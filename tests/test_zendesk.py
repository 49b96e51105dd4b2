"""Zendesk as a source of check_cx_csat and check_cx_support, against a local emulator
(tests/emulators.py) that answers as Zendesk's documentation says:

- satisfaction ratings, https://developer.zendesk.com/api-reference/ticketing/ticket-management/satisfaction_ratings/
  (score filters offered/unoffered/received/good/bad..., start_time/end_time unix; cursor and offset
  paging; the page notes these endpoints are the *legacy* CSAT feature, beside CSAT survey responses);
- pagination, https://developer.zendesk.com/api-reference/introduction/pagination/ (page[size] at
  most 100, meta.has_more, meta.after_cursor, links.next) and
  https://developer.zendesk.com/documentation/api-basics/pagination/paginating-through-lists
  (offset paging past 10,000 records answers 400 since August 2023);
- ticket metrics, https://developer.zendesk.com/rest_api/docs/core/ticket_metrics
  (reply_time_in_minutes, full_resolution_time_in_minutes as {calendar, business});
- incremental exports, https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
  (cursor export: after_url, after_cursor, end_of_stream; 10 requests a minute) and
  https://support.zendesk.com/hc/en-us/community/posts/4984355661466-Ticket-metrics-incremental
  (include=metric_sets sideloads the ticket metrics on the export);
- rate limits, https://developer.zendesk.com/api-reference/introduction/rate-limits (429 with
  Retry-After; X-Rate-Limit-Remaining) and
  https://developer.zendesk.com/documentation/api-basics/best-practices/best-practices-for-avoiding-rate-limiting
  (list endpoints also send ratelimit-limit, ratelimit-remaining, ratelimit-reset);
- API token auth, https://support.zendesk.com/hc/en-us/articles/4408831452954
  (Authorization: Basic base64 of email_address/token:api_token; OAuth as Bearer).

Numbers below are computed by hand in the comments.
"""

from __future__ import annotations

import base64
import time

import pytest
from conftest import run_plugin
from emulators import Zendesk, basic, iso

NOW = "2026-11-01T00:00:00Z"
NOW_EPOCH = 1793491200
DAY = 86400
TOKEN = "zd-Secret-Token-42"
EMAIL = "agent@example.com"
ENV = {"ZD_TOKEN": TOKEN}
AUTH = basic(f"{EMAIL}/token", TOKEN)
ENCODED = AUTH.split()[1]


def ratings(good=0, bad=0, offered=0, unoffered=0, days_ago=1):
    at = iso(NOW_EPOCH - days_ago * DAY)
    return [{"id": i, "score": score, "created_at": at, "updated_at": at, "ticket_id": i}
            for i, score in enumerate(["good"] * good + ["bad"] * bad + ["offered"] * offered
                                      + ["unoffered"] * unoffered)]


def csat(api, *args, env=ENV, **kw):
    return run_plugin("check_cx_csat", "--zendesk", "acme", "--zendesk-email", EMAIL, "--token-env", "ZD_TOKEN",
                      "--api-url", api.url, "--now", NOW, *args, env=env, **kw)


@pytest.fixture
def zendesk():
    started = []

    def start(**data):
        emulator = Zendesk(data.pop("authorization", AUTH), **data).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def test_csat_from_good_and_bad_ratings_with_response_rate(zendesk):
    # 120 good, 40 bad: CSAT 120/160 = 75 %. Offered, not answered: 60, so 160 of 220 answered:
    # 72.73 %. Unoffered ratings count nowhere. Wilson at 95 % (z = 1.959964, z² = 3.841459) for
    # 120/160: centre (0.75 + z²/320) / (1 + z²/160) = 0.762005 / 1.024009 = 0.744139, half
    # z / 1.024009 * sqrt(0.75 * 0.25 / 160 + z² / (4 * 160²)) = 0.066562 -> 67.76 .. 81.07 %.
    api = zendesk(ratings=ratings(good=120, bad=40, offered=60, unoffered=10))
    result = csat(api, "-w", "80:", "-c", "60:")
    assert result.code == 1, result.stdout
    assert result.text == "CX CSAT WARNING - CSAT 75% (95% CI 67.8..81.1%, n=160) over 30d (< 80%)"
    perf = result.perfdata
    assert perf["csat"] == ("75%", "80:", "60:", "0", "100")
    assert perf["csat_low"][0] == "67.76%" and perf["csat_high"][0] == "81.07%"
    assert (perf["satisfied"][0], perf["dissatisfied"][0], perf["responses"][0]) == ("120c", "40c", "160c")
    assert perf["response_rate"] == ("72.73%", "", "", "0", "100")
    assert perf["rejected"][0] == "0c"
    assert "response rate 72.7%: 160 answered of 220 surveys offered in 30d" in result.long_output
    # 230 ratings at 100 a page: three pages, each with the agent's email/token credentials.
    ratings_requests = [r for r in api.requests if r[1] == "/api/v2/satisfaction_ratings"]
    assert [auth for *_, auth in ratings_requests] == [AUTH] * 3
    first = ratings_requests[0][2]
    assert first["page[size]"] == "100" and int(first["start_time"]) == NOW_EPOCH - 30 * DAY
    assert "page[after]" in ratings_requests[1][2]


def test_oauth_token_goes_as_bearer(zendesk):
    # 3 of 4: Wilson centre (0.75 + z²/8) / (1 + z²/4) = 0.627527, half 0.326886 -> 30.06 .. 95.44 %.
    api = zendesk(authorization=f"Bearer {TOKEN}", ratings=ratings(good=3, bad=1))
    result = run_plugin("check_cx_csat", "--zendesk", "acme", "--token-env", "ZD_TOKEN", "--api-url", api.url,
                        "--now", NOW, "--min-responses", "1", env=ENV)
    assert result.code == 0, result.stdout
    assert result.text == "CX CSAT OK - CSAT 75% (95% CI 30.1..95.4%, n=4) over 30d"


def test_good_bad_on_another_scale_and_a_bad_score(zendesk):
    # On 1-7 with 6-7 satisfied, good sits on 7 and bad on 1: the share is the same, 2 of 3.
    api = zendesk(ratings=ratings(good=2, bad=1) + [{"id": 99, "score": "meh", "created_at": iso(NOW_EPOCH - DAY)}])
    result = csat(api, "--scale", "1-7", "--satisfied", "6-7", "--min-responses", "1", "--max-rejected", "50", "-v")
    assert result.code == 0, result.stdout
    assert result.value("csat") == pytest.approx(66.67) and result.value("rejected") == 1
    assert "1 rejected: score not good, bad or offered (meh) (page 1 item 4)" in result.long_output


def test_the_nps_is_not_made_of_good_and_bad(zendesk):
    # check_cx_nps does not offer Zendesk; a scale without satisfied answers refuses good/bad too.
    result = run_plugin("check_cx_nps", "--zendesk", "acme", "--token-env", "ZD_TOKEN", env=ENV)
    assert result.code == 3
    assert result.text.startswith("CX NPS UNKNOWN - unrecognized arguments: --zendesk acme")
    from cxcheck.sources.base import SourceError
    from cxcheck.sources.scores import NPS_SCALE

    with pytest.raises(SourceError, match="good/bad ratings have no place on a 0-10 NPS: they make a CSAT"):
        NPS_SCALE.rating(True)


def test_empty_window_is_the_low_sample_state(zendesk):
    api = zendesk(ratings=ratings(good=5, days_ago=45))          # only in the previous window
    result = csat(api, "-w", "80:")
    assert result.code == 3
    assert result.status == ("CX CSAT UNKNOWN - no responses in 30d (at least 30 needed to judge) | csat=U;80:;;0;100 "
                             "csat_high=U;;;0;100 csat_low=U;;;0;100 dissatisfied=0c;;;0 rejected=0c;;;0 "
                             "response_rate=U;;;0;100 responses=0c;;;0 satisfied=0c;;;0")


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_named_and_masked(zendesk, status):
    api = zendesk(ratings=ratings(good=1))
    if status == 403:
        api.script = [(403, {}, {"error": "Forbidden", "description": f"agent {EMAIL} lacks access", "auth": AUTH})]
    else:
        api.authorization = basic(f"{EMAIL}/token", "another")     # ours is refused, and echoed back
    result = csat(api, "-vvv")
    assert result.code == 3
    assert result.text.startswith(f"CX CSAT UNKNOWN - Zendesk rejected the API token of {EMAIL} ($ZD_TOKEN) "
                                  f"({status}): ")
    assert "Basic ***" in result.text
    for secret in (TOKEN, ENCODED):
        assert secret not in result.stdout + result.stderr


def test_token_from_a_file_is_named_by_its_path(zendesk, tmp_path):
    secret = tmp_path / "zendesk.token"
    secret.write_text(TOKEN + "\n")
    api = zendesk(authorization="Bearer nothing-matches")
    result = run_plugin("check_cx_support", "--zendesk", "acme", "--token-file", str(secret), "--api-url", api.url,
                        "--now", NOW)
    assert result.code == 3
    assert result.text.startswith(f"CX SUPPORT UNKNOWN - Zendesk rejected the OAuth token ({secret}) (401): ")
    assert TOKEN not in result.stdout


def test_429_waits_for_retry_after(zendesk):
    api = zendesk(ratings=ratings(good=40))
    api.script = [(429, {"Retry-After": "1"}, {"error": "TooManyRequests"})]
    result = csat(api)
    assert result.code == 0, result.stdout
    times = [r for r in api.requests if r[1] == "/api/v2/satisfaction_ratings"]
    assert len(times) == 2


def test_429_beyond_the_deadline_gives_up_at_once(zendesk):
    api = zendesk(ratings=ratings(good=40))
    api.script = [(429, {"Retry-After": "300"}, {"error": "TooManyRequests"})]
    started = time.monotonic()
    result = csat(api, "-t", "5")
    assert result.code == 3
    assert "Zendesk rate limited (429), Retry-After 300 s exceeds the" in result.text
    assert time.monotonic() - started < 4


def test_spent_rate_limit_budget_waits_for_its_reset(zendesk):
    # ratelimit-remaining: 0 with ratelimit-reset: 1 on every answer: each next page waits 1 s.
    api = zendesk(ratings=ratings(good=150))
    api.headers = {"ratelimit-limit": "700", "ratelimit-remaining": "0", "ratelimit-reset": "1",
                   "X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "0"}
    started = time.monotonic()
    result = csat(api)
    assert result.code == 0, result.stdout
    assert time.monotonic() - started >= 0.95          # two pages, one wait between them
    api.headers["ratelimit-reset"] = "120"
    result = csat(api, "-t", "5")
    assert result.code == 3
    assert "Zendesk: rate limit budget spent (RateLimit-Remaining: 0), its reset in 120 s exceeds the" in result.text


def test_server_error_is_unknown(zendesk):
    api = zendesk(ratings=ratings(good=1))
    api.script = [(503, {}, b"<html>upstream unavailable</html>")] * 4
    result = csat(api)
    assert result.code == 3
    assert result.text == "CX CSAT UNKNOWN - Zendesk answered HTTP 503: <html>upstream unavailable</html>"


def test_endless_pages_stop_at_the_request_bound(zendesk):
    api = zendesk(ratings=ratings(good=1))
    api.endless = True
    result = csat(api, "-t", "120", timeout=150)
    assert result.code == 3
    assert result.text == "CX CSAT UNKNOWN - Zendesk: more than 2000 requests, stopping"


def test_endless_pages_stop_at_the_deadline(zendesk):
    api = zendesk(ratings=ratings(good=1))
    api.endless = True
    api.delay = 0.01        # the deadline, not the request bound, must end it, however fast the machine
    result = csat(api, "-t", "1.5", "--timeout-state", "unknown")
    assert result.code == 3
    assert result.text.startswith("CX CSAT UNKNOWN - timed out after 1.5 s while reading Zendesk satisfaction "
                                  "ratings page ")


def test_a_repeating_cursor_stops(zendesk):
    api = zendesk(ratings=ratings(good=250))
    api.repeat_cursor = True
    result = csat(api)
    assert result.code == 3
    assert result.text.startswith("CX CSAT UNKNOWN - Zendesk: the next-page cursor repeats (")


def test_undocumented_shape_names_the_missing_key(zendesk):
    api = zendesk(ratings=ratings(good=1))
    api.drop = "satisfaction_ratings"
    result = csat(api)
    assert result.code == 3
    assert result.text == ("CX CSAT UNKNOWN - Zendesk answered page 1 of the satisfaction ratings without "
                           "'satisfaction_ratings' (no such key, not a list): not the documented shape")


def test_serial_and_future_rating_dates_are_rejected_by_their_own_reason(zendesk):
    """An undocumented created_at: a bare serial number, a date beyond a few minutes of clock skew,
    no date at all: each under the reason the exports use. A date a few seconds ahead of this
    clock is no reject (here after --now, so outside the window)."""
    from cxcheck.runtime.times import CLOCK_SKEW

    def odd(number, created_at):
        return {"id": number, "score": "good", "created_at": created_at, "listed_at": iso(NOW_EPOCH - DAY)}

    api = zendesk(ratings=ratings(good=3, bad=1) + [odd(90, "45123"), odd(91, iso(time.time() + 86400)),
                                                    odd(92, "yesterday"), odd(93, iso(time.time() + CLOCK_SKEW / 10))])
    result = csat(api, "--min-responses", "1", "--max-rejected", "50", "-v")
    assert result.value("rejected") == 3 and result.value("responses") == 4, result.stdout
    assert result.long_output[-3:] == [
        "1 rejected: spreadsheet serial date (format the column as dates) (page 1 item 5)",
        "1 rejected: date in the future (page 1 item 6)",
        "1 rejected: unreadable date (page 1 item 7)"]


# -- tickets: check_cx_support --------------------------------------------------------------------

def ticket(number, created_hours_ago, reply_minutes=None, resolution_minutes=None, business=None, status="open",
           solved_hours_ago=None):
    created = NOW_EPOCH - created_hours_ago * 3600
    solved = None if solved_hours_ago is None else NOW_EPOCH - solved_hours_ago * 3600
    business = business or {}
    return {"id": number, "status": "solved" if solved else status, "created_at": iso(created),
            "updated_at": iso(solved or created + 60),
            "metric_set": {"ticket_id": number, "created_at": iso(created), "solved_at": solved and iso(solved),
                           "reply_time_in_minutes": {"calendar": reply_minutes,
                                                     "business": business.get("reply", reply_minutes)},
                           "full_resolution_time_in_minutes": {"calendar": resolution_minutes,
                                                               "business": business.get("resolution")}}}


TICKETS = [
    ticket(1, 30, reply_minutes=10, resolution_minutes=120, solved_hours_ago=28, business={"resolution": 60}),
    ticket(2, 29, reply_minutes=30, resolution_minutes=600, solved_hours_ago=19, business={"resolution": 240}),
    ticket(3, 28, reply_minutes=60, business={"reply": 45}),
    ticket(4, 27, reply_minutes=90),
    ticket(5, 26, reply_minutes=240, business={"reply": 120}),
    ticket(6, 5),                                   # no reply yet: waited 5 h so far
    ticket(7, 10 * 24, reply_minutes=5),            # created 10 days ago: outside a 7d window
]


def support(api, *args, **kw):
    return run_plugin("check_cx_support", "--zendesk", "acme", "--zendesk-email", EMAIL, "--token-env", "ZD_TOKEN",
                      "--api-url", api.url, "--now", NOW, "--min-tickets", "1", *args, env=ENV, **kw)


@pytest.mark.parametrize("sideload", [False, True])
def test_first_reply_percentiles_by_hand(zendesk, sideload):
    # Created in the last 7 d: replies 10, 30, 60, 90, 240 min and one waiting 5 h (300 min).
    # Sorted 600 s, 1800, 3600, 5400, 14400, 18000: p90 = the ceil(0.9 * 6) = 6th = 18000 s (5h),
    # median = the 3rd = 3600 s.
    api = zendesk(tickets=TICKETS, sideload=sideload)
    result = support(api, "-w", "4h", "-c", "8h")
    assert result.code == 1, result.stdout
    assert result.status == ("CX SUPPORT WARNING - first reply p90 5h > 4h, median 1h over 6 tickets created in the "
                             "last 7d, 1 still waiting | first_reply_p50=3600s;;;0 "
                             "first_reply_p90=18000s;14400;28800;0 rejected=0c;;;0 tickets=6c;;;0 waiting=1c;;;0")
    assert "1 ticket still waiting for a first reply, the longest for 5h (counted with the time waited so far)" \
        in result.long_output
    export = [r for r in api.requests if r[1] == "/api/v2/incremental/tickets/cursor.json"][0][2]
    assert export["include"] == "metric_sets" and int(export["start_time"]) == NOW_EPOCH - 7 * DAY
    assert export["per_page"] == "1000" and export["exclude_deleted"] == "true"


def test_first_reply_in_business_hours(zendesk):
    # Business minutes 10, 30, 45, 90, 120; the waiting ticket has no business time yet: left out.
    # Sorted 600, 1800, 2700, 5400, 7200: p75 = the 4th = 5400 s; median the 3rd = 2700 s.
    api = zendesk(tickets=TICKETS)
    result = support(api, "--hours", "business", "--percentile", "75", "-w", "2h")
    assert result.code == 0, result.stdout
    assert result.text == ("CX SUPPORT OK - first reply (business hours) p75 1h30m, median 45m over 5 tickets "
                           "created in the last 7d, 1 still waiting, limit 2h")
    assert result.perfdata["first_reply_p75"] == ("5400s", "7200", "", "0", "")
    assert any("not counted: their business hours are known only once the wait ends" in line
               for line in result.long_output)


def test_resolution_of_tickets_solved_in_the_window(zendesk):
    # Solved in the last 7 d: tickets 1 (120 min) and 2 (600 min). p90 = the 2nd = 36000 s.
    api = zendesk(tickets=TICKETS)
    result = support(api, "--metric", "resolution", "-w", "8h", "-c", "1d")
    assert result.code == 1, result.stdout
    assert result.text == ("CX SUPPORT WARNING - resolution p90 10h > 8h, median 2h over 2 tickets solved in the "
                           "last 7d")
    assert result.value("resolution_p90") == 36000 and result.value("resolution_p50") == 7200


def test_serial_and_future_ticket_dates_are_rejected_by_their_own_reason(zendesk):
    """The creation and the solving date of an exported ticket: a serial number, a date beyond the
    clock skew, a solved_at that is no date (it was dropped as unsolved before), each counted."""
    from cxcheck.runtime.times import CLOCK_SKEW

    def odd(number, created_at=None, solved_at=None):
        made = ticket(number, 20, reply_minutes=30)
        if created_at:
            made["created_at"] = made["metric_set"]["created_at"] = created_at
        if solved_at:
            made["status"], made["metric_set"]["solved_at"] = "solved", solved_at
        return made

    api = zendesk(tickets=[*TICKETS, odd(20, created_at="45123"), odd(21, created_at=iso(time.time() + 86400)),
                           odd(22, solved_at="soon"), odd(23, solved_at=iso(time.time() + 86400)),
                           odd(24, solved_at=iso(time.time() + CLOCK_SKEW / 10))])
    result = support(api, "--max-rejected", "50", "-v")
    # The export lists by update: the odd tickets (updated 20 h ago) come 5th to 9th.
    assert result.value("rejected") == 4 and result.value("tickets") == 7, result.stdout
    assert result.long_output[-4:] == [
        "1 rejected: spreadsheet serial creation date (format the column as dates) (page 1 ticket 5)",
        "1 rejected: creation date in the future (page 1 ticket 6)",
        "1 rejected: unreadable solved date (page 1 ticket 7)",
        "1 rejected: solved date in the future (page 1 ticket 8)"]


def test_export_pages_until_end_of_stream(zendesk):
    # 2,500 tickets at 1,000 a page: three pages; replies of 1..2500 minutes, p90 = the 2250th.
    many = [ticket(n, 48, reply_minutes=n) for n in range(1, 2501)]
    api = zendesk(tickets=many)
    result = support(api, "--window", "7d")
    assert result.code == 0, result.stdout
    assert result.value("first_reply_p90") == 2250 * 60 and result.value("tickets") == 2500
    assert api.paths().count("/api/v2/incremental/tickets/cursor.json") == 3


def test_export_without_end_of_stream_names_the_key(zendesk):
    api = zendesk(tickets=TICKETS)
    api.drop = "end_of_stream"
    result = support(api)
    assert result.code == 3
    assert result.text == ("CX SUPPORT UNKNOWN - Zendesk answered page 1 of the ticket export without "
                           "'end_of_stream' (no such key, not a boolean): not the documented shape")


def test_backlog_counts_unsolved_tickets_older_than(zendesk):
    # Unsolved and created more than 24 h ago: tickets 3, 4, 5 (28, 27, 26 h) and 7 (10 days).
    api = zendesk(tickets=TICKETS)
    result = support(api, "--metric", "backlog", "--older-than", "24h", "-w", "3", "-c", "10")
    assert result.code == 1, result.stdout
    assert result.status == ("CX SUPPORT WARNING - 4 unsolved tickets older than 24h > 3, the oldest waiting 10d | "
                             "backlog=4c;3;10;0 oldest_unsolved=864000s;;;0 rejected=0c;;;0")
    count = [q for _, path, q, _ in api.requests if path == "/api/v2/search/count"][0]
    assert count["query"] == "type:ticket status<solved created<2026-10-31T00:00:00Z"


def test_support_low_sample_and_encoded_credentials_masked(zendesk):
    api = zendesk(tickets=TICKETS[:1])
    result = support(api, "--min-tickets", "10", "-vv")
    assert result.code == 3
    assert result.text == ("CX SUPPORT UNKNOWN - only 1 ticket created in 7d (at least 10 needed to judge the "
                           "first-reply); first reply p90 10m, median 10m over 1 ticket created in the last 7d")
    assert ENCODED not in result.stdout and base64.b64decode(ENCODED).decode() not in result.stdout
