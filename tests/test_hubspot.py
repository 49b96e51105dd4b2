"""HubSpot as a source of check_cx_nps, check_cx_csat and check_cx_support, against a local
emulator (tests/emulators.py) answering as HubSpot's documentation says:

- feedback submissions (survey responses),
  https://developers.hubspot.com/docs/api/crm/feedback-submissions (read-only CRM object; NPS, CSAT
  and CES surveys; properties beyond the defaults asked for by name; its example submission carries
  hs_survey_type "CSAT", the answer in hs_value "2" and hs_response_group "PROMOTER");
- the answers' meaning, https://knowledge.hubspot.com/customer-feedback/survey-response-properties
  (CSAT 0 detractor, 1 passive, 2 promoter: negative, neutral, positive; NPS 0-10);
- CRM search, https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm and its
  limits as quoted by https://docs.aws.amazon.com/glue/latest/dg/hubspot-connector-limitations.md
  (10,000 results at most per search; filterGroups of AND-ed filters; paging.next.after);
- rate limits, https://developers.hubspot.com/changelog/2018-11-06-rate-limit-information-headers-will-be-included-in-http-responses
  (X-HubSpot-RateLimit-Daily, -Daily-Remaining, -Secondly, -Secondly-Remaining) and
  https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase (search requests per
  second per token are limited on their own); a private app token goes as Bearer.

Numbers below are computed by hand in the comments.
"""

from __future__ import annotations

import time

import pytest
from conftest import run_plugin
from emulators import HubSpot, iso

NOW = "2026-11-01T00:00:00Z"
NOW_EPOCH = 1793491200
DAY = 86400
TOKEN = "pat-na1-Secret-0042"
ENV = {"HS_TOKEN": TOKEN}


def submission(number, kind, value, days_ago=1.0, survey="7"):
    return {"id": str(number), "properties": {"hs_survey_type": kind, "hs_value": str(value), "hs_survey_id": survey,
                                              "hs_submission_timestamp": iso(NOW_EPOCH - days_ago * DAY)}}


def hs_ticket(number, created_hours_ago, reply_ms=None, close_ms=None, closed_hours_ago=None, pipeline="0"):
    created = NOW_EPOCH - created_hours_ago * 3600
    return {"id": str(number), "properties": {
        "createdate": iso(created), "hs_pipeline": pipeline,
        "closed_date": iso(NOW_EPOCH - closed_hours_ago * 3600) if closed_hours_ago is not None else None,
        "time_to_first_agent_reply": None if reply_ms is None else str(reply_ms),
        "time_to_close": None if close_ms is None else str(close_ms)}}


@pytest.fixture
def hubspot():
    started = []

    def start(**objects):
        emulator = HubSpot(TOKEN, objects).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def run(plugin, api, *args, **kw):
    return run_plugin(plugin, "--hubspot", "--token-env", "HS_TOKEN", "--api-url", api.url, "--now", NOW, *args,
                      env=ENV, **kw)


def searches(api, kind):
    return [r for r in api.requests if r[1] == f"/crm/v3/objects/{kind}/search"]


def test_nps_from_nps_submissions_only(hubspot):
    # 150 answers of 10, 60 of 8, 90 of 3 (NPS): 300 answers over two pages of 200.
    # NPS = (150 - 90) / 300 = 20; the CSAT submissions beside them are not NPS answers. Interval:
    # var = (0.5 + 0.3 - 0.2²) / 300 = 0.0025333, sd 5.0332 points, * 1.959964 = 9.865 -> 10.1 .. 29.9.
    subs = [submission(n, "NPS", 10) for n in range(150)] + [submission(200 + n, "NPS", 8) for n in range(60)]
    subs += [submission(300 + n, "NPS", 3) for n in range(90)] + [submission(500 + n, "CSAT", 2) for n in range(40)]
    api = hubspot(feedback_submissions=subs)
    result = run("check_cx_nps", api, "-w", "30:", "-c", "0:")
    assert result.code == 1, result.stdout
    assert result.text == "CX NPS WARNING - NPS 20 (95% CI 10.1..29.9, n=300) over 30d (< 30)"
    assert result.value("promoters") == 50 and result.value("detractors") == 30
    calls = searches(api, "feedback_submissions")
    assert len(calls) == 2 and {r[3] for r in calls} == {f"Bearer {TOKEN}"}


def test_search_body_filters_the_window_and_the_survey(hubspot):
    api = hubspot(feedback_submissions=[submission(1, "NPS", 9, survey="7"), submission(2, "NPS", 0, survey="8")])
    bodies = []
    original = api.search

    def spy(kind, body):
        bodies.append(body)
        return original(kind, body)

    api.search = spy
    result = run("check_cx_nps", api, "--hubspot-survey-id", "7", "--min-responses", "1")
    assert result.code == 0, result.stdout
    assert result.value("nps") == 100 and result.value("responses") == 1
    filters = bodies[0]["filterGroups"][0]["filters"]
    assert filters[0] == {"propertyName": "hs_submission_timestamp", "operator": "BETWEEN",
                          "value": str((NOW_EPOCH - 30 * DAY) * 1000), "highValue": str(NOW_EPOCH * 1000)}
    assert filters[1:] == [{"propertyName": "hs_survey_type", "operator": "EQ", "value": "NPS"},
                           {"propertyName": "hs_survey_id", "operator": "EQ", "value": "7"}]
    assert bodies[0]["limit"] == 200 and bodies[0]["sorts"][0]["direction"] == "ASCENDING"


def test_csat_counts_the_positive_answers(hubspot):
    # CSAT answers 2 (positive) x 45, 1 (neutral) x 10, 0 (negative) x 5, and one "5" off HubSpot's
    # 0-2 scale: CSAT 45 / 60 = 75 %. Wilson 95 % for 45/60: centre (0.75 + z²/120) / (1 + z²/60)
    # = 0.782012 / 1.064024 = 0.734957, half z / 1.064024 * sqrt(0.1875 / 60 + z² / 14400)
    # = 1.842031 * 0.058239 = 0.107278 -> 62.77 .. 84.22 %.
    subs = [submission(n, "CSAT", 2) for n in range(45)] + [submission(100 + n, "CSAT", 1) for n in range(10)]
    subs += [submission(200 + n, "CSAT", 0) for n in range(5)] + [submission(300, "CSAT", 5)]
    api = hubspot(feedback_submissions=subs)
    result = run("check_cx_csat", api, "-w", "70:", "-v")
    assert result.code == 0, result.stdout
    assert result.text == "CX CSAT OK - CSAT 75% (95% CI 62.8..84.2%, n=60) over 30d, floor 70%"
    assert (result.value("satisfied"), result.value("dissatisfied"), result.value("rejected")) == (45, 15, 1)
    assert "1 rejected: CSAT score out of range 0-2 (page 1 item 61)" in result.long_output
    assert "response_rate" not in result.perfdata           # HubSpot does not say what was offered


def with_strays(api, kind: str, strays: list):
    """`strays` end the first page of every search of `kind` whatever its filters: dates no search
    would match, as an account's odd data might still come."""
    original = api.search

    def search(asked, body):
        answer = original(asked, body)
        if asked == kind and not body.get("after"):
            answer["results"] += strays
        return answer

    api.search = search
    return api


def test_serial_and_future_submission_dates_are_rejected_by_their_own_reason(hubspot):
    from cxcheck.runtime.times import CLOCK_SKEW

    def odd(number, timestamp):
        made = submission(number, "NPS", 9)
        made["properties"]["hs_submission_timestamp"] = timestamp
        return made

    later, soon = time.time() + DAY, time.time() + CLOCK_SKEW / 10        # after this clock, not --now
    strays = [odd(90, "45123"), odd(91, iso(later)), odd(92, "yesterday"), odd(93, str(int(later * 1000))),
              odd(94, iso(soon))]
    api = with_strays(hubspot(feedback_submissions=[submission(n, "NPS", 9) for n in range(10)]),
                      "feedback_submissions", strays)
    result = run("check_cx_nps", api, "--min-responses", "1", "--max-rejected", "50", "-v")
    # The 10 submissions, then the strays as items 11-15 (14 in milliseconds); the one a few
    # seconds ahead is read, after --now: outside the window.
    assert (result.value("responses"), result.value("rejected")) == (10, 4), result.stdout
    assert result.long_output[-3:] == [
        "2 rejected: date in the future (page 1 item 12, page 1 item 14)",
        "1 rejected: spreadsheet serial date (format the column as dates) (page 1 item 11)",
        "1 rejected: unreadable date (page 1 item 13)"]


def test_empty_window_is_low_sample(hubspot):
    api = hubspot(feedback_submissions=[submission(1, "NPS", 9, days_ago=40)])
    result = run("check_cx_nps", api)
    assert result.code == 3
    assert result.text == "CX NPS UNKNOWN - no responses in 30d (at least 30 needed to judge)"


TICKETS = [
    hs_ticket(1, 30, reply_ms=15 * 60_000, close_ms=2 * 3600_000, closed_hours_ago=28),
    hs_ticket(2, 20, reply_ms=45 * 60_000, close_ms=8 * 3600_000, closed_hours_ago=12),
    hs_ticket(3, 10, reply_ms=2 * 3600_000),
    hs_ticket(4, 3),                                  # no reply yet: waited 3 h so far
    hs_ticket(5, 24 * 9, reply_ms=60_000),            # created 9 days ago: outside 7 d
    hs_ticket(6, 50, reply_ms=60_000, pipeline="77"),
]


def test_first_reply_from_milliseconds(hubspot):
    # Created in the last 7 d: replies 15 min, 45 min, 2 h, 1 min (ticket 6), and one waiting 3 h.
    # Sorted 60, 900, 2700, 7200, 10800 s: p90 = the 5th = 10800 s; median = the 3rd = 2700 s.
    api = hubspot(tickets=TICKETS)
    result = run("check_cx_support", api, "--min-tickets", "1", "-w", "2h", "-c", "4h")
    assert result.code == 1, result.stdout
    assert result.status == ("CX SUPPORT WARNING - first reply p90 3h > 2h, median 45m over 5 tickets created in the "
                             "last 7d, 1 still waiting | first_reply_p50=2700s;;;0 first_reply_p90=10800s;7200;14400;0 "
                             "rejected=0c;;;0 tickets=5c;;;0 waiting=1c;;;0")
    # One pipeline only: tickets 1-4 (ticket 6 is in pipeline 77). p90 of 900, 2700, 7200, 10800 = 10800.
    result = run("check_cx_support", api, "--min-tickets", "1", "--hubspot-pipeline", "0")
    assert result.value("tickets") == 4 and result.value("first_reply_p50") == 2700


def test_time_to_close_of_tickets_closed_in_the_window(hubspot):
    # Closed in the last 7 d: tickets 1 (2 h) and 2 (8 h): p90 = 28800 s, median 7200 s.
    api = hubspot(tickets=TICKETS)
    result = run("check_cx_support", api, "--metric", "resolution", "--min-tickets", "1", "-c", "1d")
    assert result.code == 0, result.stdout
    assert result.text == ("CX SUPPORT OK - resolution p90 8h, median 2h over 2 tickets solved in the last 7d, "
                           "limit 1d")
    body_sort = searches(api, "tickets")
    assert len(body_sort) == 1


def test_serial_and_future_ticket_dates_are_rejected_by_their_own_reason(hubspot):
    """createdate and closed_date: a serial number, a date beyond the clock skew, no date, each
    counted naming the date; a closed_date that is no date is a reject, not an open ticket."""
    from cxcheck.runtime.times import CLOCK_SKEW

    def odd(number, createdate=None, closed_date=None):
        made = hs_ticket(number, 5, reply_ms=60_000)
        made["properties"].update({k: v for k, v in (("createdate", createdate), ("closed_date", closed_date)) if v})
        return made

    later, soon = iso(time.time() + DAY), iso(time.time() + CLOCK_SKEW / 10)
    strays = [odd(20, createdate="45123"), odd(21, createdate=later), odd(22, createdate="yesterday"),
              odd(23, closed_date="soon"), odd(24, closed_date=later), odd(25, closed_date=soon)]
    api = with_strays(hubspot(tickets=TICKETS), "tickets", strays)
    result = run("check_cx_support", api, "--min-tickets", "1", "--max-rejected", "50", "-v")
    # The 5 tickets created in 7 d (items 1-5), the strays items 6-11: ticket 25 (closed a few
    # seconds ahead) counts, replied in 1 min: 60, 60, 900, 2700, 7200 s and one waiting 3 h;
    # nearest rank: median the 3rd, p90 the 6th.
    assert result.status == ("CX SUPPORT OK - first reply p90 3h, median 15m over 6 tickets created in the last 7d, "
                             "1 still waiting | first_reply_p50=900s;;;0 first_reply_p90=10800s;;;0 rejected=5c;;;0 "
                             "tickets=6c;;;0 waiting=1c;;;0")
    assert result.long_output[-5:] == [
        "1 rejected: spreadsheet serial creation date (format the column as dates) (page 1 item 6)",
        "1 rejected: creation date in the future (page 1 item 7)",
        "1 rejected: unreadable creation date (page 1 item 8)",
        "1 rejected: unreadable solved date (page 1 item 9)",
        "1 rejected: solved date in the future (page 1 item 10)"]


def test_business_hours_are_not_hubspots(hubspot):
    api = hubspot(tickets=TICKETS)
    result = run("check_cx_support", api, "--hours", "business")
    assert result.code == 3
    assert result.text == "CX SUPPORT UNKNOWN - HubSpot gives calendar times only: no --hours business"
    assert api.requests == []


def test_backlog_total_and_oldest(hubspot):
    # Not closed and created over 24 h ago: tickets 5 (9 days) and 6 (50 h).
    api = hubspot(tickets=TICKETS)
    result = run("check_cx_support", api, "--metric", "backlog", "-w", "1")
    assert result.code == 1, result.stdout
    assert result.text == "CX SUPPORT WARNING - 2 unsolved tickets older than 24h > 1, the oldest waiting 9d"


def test_more_than_ten_thousand_results_in_searches_from_the_last_date(hubspot):
    # 12,500 tickets, two created each minute: the first search stops at 10,000, the next starts at
    # the last createdate read and skips the one ticket already read there. Replies 1..12500 s:
    # p90 = the 11250th = 11250 s.
    many = [{"id": str(n), "properties": {"createdate": iso(NOW_EPOCH - 5 * DAY + (n // 2) * 60),
                                          "time_to_first_agent_reply": str(n * 1000), "closed_date": None,
                                          "time_to_close": None}} for n in range(1, 12501)]
    api = hubspot(tickets=many)
    result = run("check_cx_support", api)
    assert result.code == 0, result.stdout
    assert result.value("tickets") == 12500 and result.value("first_reply_p90") == 11250
    assert len(searches(api, "tickets")) == 50 + 13


def test_ten_thousand_at_one_date_stops(hubspot):
    same = iso(NOW_EPOCH - DAY)
    many = [{"id": str(n), "properties": {"createdate": same, "time_to_first_agent_reply": "1000"}}
            for n in range(10_050)]
    api = hubspot(tickets=many)
    result = run("check_cx_support", api)
    assert result.code == 3
    assert result.text == "CX SUPPORT UNKNOWN - HubSpot: more than 10000 tickets at one createdate, stopping"


def test_refused_token_is_named_and_masked(hubspot):
    api = hubspot(tickets=TICKETS)
    api.authorization = "Bearer another"
    result = run("check_cx_support", api, "-vvv")
    assert result.code == 3
    assert result.text.startswith("CX SUPPORT UNKNOWN - HubSpot rejected the private app token ($HS_TOKEN) (401): ")
    assert "Bearer ***" in result.text and TOKEN not in result.stdout + result.stderr


def test_429_and_rate_limit_headers(hubspot):
    api = hubspot(feedback_submissions=[submission(n, "NPS", 9) for n in range(250)])
    api.script = [(429, {"Retry-After": "1"}, {"status": "error", "category": "RATE_LIMITS"})]
    api.headers = {"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0",
                   "X-HubSpot-RateLimit-Interval-Milliseconds": "500", "X-HubSpot-RateLimit-Secondly": "10",
                   "X-HubSpot-RateLimit-Secondly-Remaining": "5"}
    started = time.monotonic()
    result = run("check_cx_nps", api)
    assert result.code == 0, result.stdout
    # 1 s for the 429, then the spent interval budget makes the second page wait 0.5 s.
    assert time.monotonic() - started >= 1.45
    assert len(searches(api, "feedback_submissions")) == 3


def test_server_error_repeat_cursor_and_undocumented_shape(hubspot):
    api = hubspot(tickets=TICKETS)
    api.script = [(502, {}, {"status": "error", "message": "Bad gateway"})]
    result = run("check_cx_support", api)
    assert result.text == 'CX SUPPORT UNKNOWN - HubSpot answered HTTP 502: {"status": "error", "message": "Bad gateway"}'
    many = [hs_ticket(n, 5, reply_ms=1000) for n in range(450)]
    api = hubspot(tickets=many)
    api.repeat_cursor = True
    result = run("check_cx_support", api)
    assert result.text == "CX SUPPORT UNKNOWN - HubSpot: the next-page cursor repeats ((1, '0')), stopping"
    api = hubspot(tickets=TICKETS)
    api.drop = "results"
    result = run("check_cx_support", api)
    assert result.text == ("CX SUPPORT UNKNOWN - HubSpot answered page 1 of the tickets without 'results' "
                           "(no such key, not a list): not the documented shape")


def test_endless_search_is_bounded(hubspot):
    api = hubspot(tickets=[hs_ticket(n, 5, reply_ms=1000) for n in range(3)])
    api.endless = True
    result = run("check_cx_support", api, "-t", "60", timeout=90)
    assert result.code == 3
    assert result.text == "CX SUPPORT UNKNOWN - HubSpot: more than 10000 tickets at one createdate, stopping"
