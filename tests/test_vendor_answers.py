"""Issue 20's six cases: the SaaS sources read what the vendors' APIs really answer, each against
an emulator (tests/emulators.py) that follows the vendor's page:

1. HubSpot tickets' first reply is the property `time_to_first_agent_reply` (milliseconds), and
   HubSpot leaves a requested property it does not know out of the answer without an error:
   https://knowledge.hubspot.com/properties/hubspots-default-ticket-properties ("Time to first
   agent reply", "Time to close"), https://developers.hubspot.com/docs/guides/api/crm/objects/tickets,
   the `properties` parameter in https://developers.hubspot.com/docs/guides/api/crm/objects/deals
   ("If a requested property isn't defined, it won't be included in the response"), and the
   properties API https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties.
2. A skipped optional question is left out of the response, SurveyMonkey
   (https://api.surveymonkey.com/v3/docs, responses/bulk: pages[].questions[] of the questions
   answered) and Typeform (https://developer.typeform.com/responses/reference/retrieve-responses/:
   answers[] of the fields answered): counted apart, never as rejects.
3. Zendesk's reply_time_in_minutes is {calendar, business}
   (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/), read from the
   incremental ticket export with include=metric_sets
   (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/):
   with --now in the past, a reply that came after it had not come then.
4. Mixpanel's funnels query counts completions past to_date, up to the conversion window
   (`length`, https://docs.mixpanel.com/reference/funnels-query; the UI's default window is 30
   days, https://docs.mixpanel.com/docs/reports/funnels/funnels-conversion-criteria).
5. Typeform accounts in the EU data center are served by https://api.eu.typeform.com (Typeform's
   client, https://github.com/Typeform/js-api-client#usage); the other host answers an empty
   list, not an error.
6. Pipedrive's x-ratelimit-limit, -remaining and -reset (seconds left in the 2-second window),
   https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting.

Numbers below are computed by hand in the comments.
"""

from __future__ import annotations

import pytest
from conftest import run_plugin
from emulators import HubSpot, Mixpanel, Pipedrive, SurveyMonkey, Typeform, Zendesk, basic, epoch, iso

NOW = "2026-11-01T00:00:00Z"
NOW_EPOCH = 1793491200
DAY = 86400
TOKEN = "tok-Vendor-Secret-77"
ENV = {"TK": TOKEN}


# 1. HubSpot ------------------------------------------------------------------------------------

def hs_ticket(number, created_hours_ago, reply_ms=None, closed_hours_ago=None, name="time_to_first_agent_reply"):
    return {"id": str(number), "properties": {
        "createdate": iso(NOW_EPOCH - created_hours_ago * 3600), "hs_pipeline": "0",
        "closed_date": None if closed_hours_ago is None else iso(NOW_EPOCH - closed_hours_ago * 3600),
        name: None if reply_ms is None else str(reply_ms), "time_to_close": None}}


def test_hubspot_first_reply_is_time_to_first_agent_reply(emulator):
    # Replies 20 min, 1 h, 2 h, 20 h, 30 h (closed ones among them) and one open ticket waiting 10 h:
    # sorted 1200, 3600, 7200, 36000, 72000, 108000 s; p90 = the 6th (ceil 5.4) = 30 h, median
    # the 3rd = 2 h. Under the property name HubSpot does not know, all six read as waiting.
    tickets = [hs_ticket(1, 100, 20 * 60_000, closed_hours_ago=90), hs_ticket(2, 90, 3600_000, closed_hours_ago=80),
               hs_ticket(3, 80, 2 * 3600_000), hs_ticket(4, 70, 20 * 3600_000), hs_ticket(5, 60, 30 * 3600_000),
               hs_ticket(6, 10)]
    api = emulator(HubSpot(TOKEN, {"tickets": tickets}))
    result = run_plugin("check_cx_support", "--hubspot", "--token-env", "TK", "--api-url", api.url, "--now", NOW,
                        "--min-tickets", "1", "-w", "1d", env=ENV)
    assert result.code == 1, result.stdout
    assert result.text == ("CX SUPPORT WARNING - first reply p90 1d6h > 1d, median 2h over 6 tickets created in the "
                           "last 7d, 1 still waiting")
    searched = [r for r in api.requests if r[1] == "/crm/v3/objects/tickets/search"]
    assert searched and not [r for r in api.requests if r[1].startswith("/crm/v3/properties")]


def test_hubspot_property_the_account_lacks_is_unknown_naming_it(emulator):
    # An account (or an API version) where the first reply is under another name: the search leaves
    # time_to_first_agent_reply out of every ticket; the properties API, asked once, does not list it.
    tickets = [hs_ticket(n, 10 + n, 60_000 * n, name="first_reply_time") for n in range(1, 6)]
    known = {kind: set(names) for kind, names in HubSpot.DEFAULTS.items()}
    known["tickets"] = (known["tickets"] - {"time_to_first_agent_reply"}) | {"first_reply_time"}
    api = emulator(HubSpot(TOKEN, {"tickets": tickets}, known=known))
    result = run_plugin("check_cx_support", "--hubspot", "--token-env", "TK", "--api-url", api.url, "--now", NOW,
                        "--min-tickets", "1", env=ENV)
    assert result.code == 3, result.stdout
    assert result.text == ("CX SUPPORT UNKNOWN - HubSpot: no 'time_to_first_agent_reply' among the account's "
                           "tickets properties (GET /crm/v3/properties/tickets), and none in the 5 tickets of page 1 "
                           "of the tickets: an API or configuration mismatch, not customer data")
    assert [r[1] for r in api.requests].count("/crm/v3/properties/tickets") == 1


# 2. Skipped optional questions -----------------------------------------------------------------

def spread(scores, skipped: int, hours_ago: float = 24):
    """(time, score) for the scores, then `skipped` respondents who skipped the question."""
    return [(NOW_EPOCH - hours_ago * 3600 - n * 60, score) for n, score in enumerate(list(scores) + [None] * skipped)]


def test_surveymonkey_skips_are_counted_apart(emulator):
    # 88 answers (40 promoters 10, 28 passives 8, 20 detractors 3) and 12 who skipped the
    # optional question: NPS (40 - 20) / 88 = 22.7; 12 % skipped is no reject.
    api = emulator(SurveyMonkey(TOKEN, spread([10] * 40 + [8] * 28 + [3] * 20, skipped=12)))
    result = run_plugin("check_cx_nps", "--surveymonkey", "S1", "--question-id", "Q1", "--token-env", "TK",
                        "--api-url", api.url, "--now", NOW, "-v", env=ENV)
    assert result.code == 0, result.stdout
    assert result.value("nps") == pytest.approx(22.73, abs=0.01)
    assert (result.value("responses"), result.value("rejected"), result.value("skipped")) == (88, 0, 12)
    assert result.perfdata["skipped"] == ("12c", "", "", "0", "")
    assert result.long_output[0].endswith("; 88 rows read, 0 rejected, 12 skipped the question")
    # The skipped ones are the oldest: the first items of the page, oldest first.
    assert ("12 skipped the question (optional, left unanswered: neither read nor rejected) (page 1 item 1, "
            "page 1 item 2, page 1 item 3, page 1 item 4, page 1 item 5, ...)") in result.long_output


def test_typeform_skips_are_counted_apart(emulator):
    # 45 answers of 9 and 10 and 5 of 6 (NPS (45 - 5) / 50 = 80), 7 who skipped: 12 % skipped.
    # var = (0.9 + 0.1 - 0.8²) / 50 = 0.0072, sd 8.485 points, * 1.959964 = 16.63: 63.4 .. 96.6.
    api = emulator(Typeform(TOKEN, spread([9] * 20 + [10] * 25 + [6] * 5, skipped=7)))
    result = run_plugin("check_cx_nps", "--typeform", "F1", "--field-ref", "nps", "--token-env", "TK",
                        "--api-url", api.url, "--now", NOW, "-v", env=ENV)
    assert result.code == 0, result.stdout
    assert result.text == "CX NPS OK - NPS 80 (95% CI 63.4..96.6, n=50) over 30d"
    assert (result.value("rejected"), result.value("skipped")) == (0, 7)
    assert "7 skipped the question (optional, left unanswered: neither read nor rejected)" in result.stdout
    # Every respondent of the page skipped it: the form definition, asked once, knows the ref.
    api = emulator(Typeform(TOKEN, spread([], skipped=3)))
    result = run_plugin("check_cx_nps", "--typeform", "F1", "--field-ref", "nps", "--token-env", "TK",
                        "--api-url", api.url, "--now", NOW, env=ENV)
    assert result.text == "CX NPS UNKNOWN - no responses in 30d (at least 30 needed to judge)"
    assert result.value("skipped") == 3
    assert [r[1] for r in api.requests].count("/forms/F1") == 1


# 3. Zendesk business hours with --now in the past ----------------------------------------------

def zd_ticket(number, created, replied, business_minutes):
    return {"id": number, "status": "open", "created_at": iso(epoch(created)), "updated_at": iso(epoch(replied)),
            "metric_set": {"ticket_id": number, "created_at": iso(epoch(created)), "solved_at": None,
                           "reply_time_in_minutes": {"calendar": round((epoch(replied) - epoch(created)) / 60),
                                                     "business": business_minutes},
                           "full_resolution_time_in_minutes": {"calendar": None, "business": None}}}


def test_zendesk_business_reply_after_now_had_not_come(emulator):
    # Business hours 9-18 on weekdays. --now is Saturday 31 October at noon.
    # Ticket 1: Friday 17:00, answered Monday 10:00: 60 + 60 business minutes, but after --now:
    # still waiting then (business minutes added to 17:00 would place the reply on Friday 19:00).
    # Ticket 2: Thursday 10:00, answered 11:30 (90 business minutes). Ticket 3: Wednesday 16:00,
    # answered Thursday 10:00 (120 + 60 = 180). Waits 5400 and 10800 s: median 5400, p90 10800.
    tickets = [zd_ticket(1, "2026-10-30T17:00:00Z", "2026-11-02T10:00:00Z", 120),
               zd_ticket(2, "2026-10-29T10:00:00Z", "2026-10-29T11:30:00Z", 90),
               zd_ticket(3, "2026-10-28T16:00:00Z", "2026-10-29T10:00:00Z", 180)]
    api = emulator(Zendesk(f"Bearer {TOKEN}", tickets=tickets))
    result = run_plugin("check_cx_support", "--zendesk", "acme", "--token-env", "TK", "--api-url", api.url,
                        "--now", "2026-10-31T12:00:00Z", "--hours", "business", "--min-tickets", "1", env=ENV)
    assert result.code == 0, result.stdout
    assert (result.value("tickets"), result.value("waiting")) == (2, 1)
    assert (result.value("first_reply_p50"), result.value("first_reply_p90")) == (5400, 10800)
    # Once the reply has come (--now Monday noon), it counts: 5400, 7200, 10800 s.
    result = run_plugin("check_cx_support", "--zendesk", "acme", "--token-env", "TK", "--api-url", api.url,
                        "--now", "2026-11-02T12:00:00Z", "--hours", "business", "--min-tickets", "1", env=ENV)
    assert (result.value("tickets"), result.value("waiting"), result.value("first_reply_p50")) == (3, 0, 7200)


# 4. Mixpanel: only days whose conversion window has passed -------------------------------------

def customers(first_day: float, days: int, per_day: int = 200):
    """`per_day` customers a day from `first_day`; one in 20 converts, 1 h to 4 days 1 h later."""
    made = []
    for day in range(days):
        for n in range(per_day):
            delay = (n // 20 % 5) * DAY + 3600 if n % 20 == 0 else None
            made.append((first_day + day * DAY + n * 300, delay))
    return made


def test_mixpanel_compares_mature_days_only(emulator):
    # Steady 5 % conversion, each conversion 1 h to 4 d 1 h after entry. Read at --now 15 November
    # noon, yesterday would hold only the conversions of its first hours (and a week before, all):
    # a drop made by maturity alone. With a 5-day conversion window the days read are 9 November
    # (ended 10 November 00:00, five days before the 15th at noon is 10 November noon) and 2
    # November: 10 of 200 each, 5 %, no drop.
    now = epoch("2026-11-15T12:00:00Z")
    api = emulator(Mixpanel("svc.user", TOKEN, customers(epoch("2026-09-01T00:00:00Z"), 90), now=now))
    result = run_plugin("check_cx_conversion", "--mixpanel", "12345", "--funnel-id", "7509", "--service-account",
                        "svc.user", "--token-env", "TK", "--api-url", api.url + "/api/query", "--now", iso(now),
                        "--conversion-window", "5d", "--max-drop", "20", "-v", env=ENV)
    assert result.code == 0, result.stdout
    assert result.text == "CX CONVERSION OK - conversion 5% (10 of 200 entered) over 1d, 5% 7d earlier"
    assert ("Mixpanel funnel 7509: dates 2026-11-09..2026-11-09 in UTC (the project's time zone), whole days whose "
            "5d conversion window (sent as length 5 day) had passed by --now: later days are still converting"
            ) in result.long_output
    queries = [r[2] for r in api.requests]
    assert [(q["from_date"], q["length"], q["length_unit"]) for q in queries] == [
        ("2026-11-09", "5", "day"), ("2026-11-02", "5", "day")]


def test_mixpanel_yesterday_alone_would_show_a_drop_made_by_maturity(emulator):
    # The same account read as before issue 20 did (yesterday against a week before, the saved
    # 30-day window): the emulator's own answer for 14 November holds the conversions that came
    # within a day and an hour of entry by --now, 4 of 200, against 10 of 200 a week before: a
    # 60 % drop made by maturity alone. This is what the conversion window prevents.
    now = epoch("2026-11-15T12:00:00Z")
    api = Mixpanel("svc.user", TOKEN, customers(epoch("2026-09-01T00:00:00Z"), 90), now=now)
    counts = [api.route("GET", "/api/query/funnels", {"from_date": day, "to_date": day}, None)["data"][day]["steps"]
              for day in ("2026-11-14", "2026-11-07")]
    assert [[step["count"] for step in steps] for steps in counts] == [[200, 4], [200, 10]]


def test_mixpanel_more_converted_than_entered_is_a_clear_unknown(site):
    import json

    body = {"data": {"2026-10-31": {"steps": [{"count": 100, "event": "Checkout"}, {"count": 120, "event": "Pay"}]}}}
    api = site({"/api/query/funnels": (200, {"Content-Type": "application/json"}, json.dumps(body))})
    result = run_plugin("check_cx_conversion", "--mixpanel", "12345", "--funnel-id", "7509", "--service-account",
                        "svc.user", "--token-env", "TK", "--api-url", api.url + "/api/query", "--now",
                        "2026-12-01T00:00:00Z", "--no-compare", env=ENV)
    assert result.code == 3, result.stdout
    assert result.text == ("CX CONVERSION UNKNOWN - Mixpanel answer: step 2 (Pay) counts 120, more than the 100 of "
                           "the step before: not a funnel's counts")
    assert result.stderr == "" and "Traceback" not in result.stdout


# 5. Typeform regions and an empty answer -------------------------------------------------------

def test_typeform_region_eu_chooses_the_eu_host(monkeypatch):
    from cxcheck import runtime
    from cxcheck.checks import nps
    from cxcheck.sources.registry import open_source

    monkeypatch.setenv("TK", TOKEN)
    for region, host in (("eu", "https://api.eu.typeform.com"), ("us", "https://api.typeform.com")):
        args = nps.build_parser().parse_args(["--typeform", "F1", "--field-ref", "nps", "--token-env", "TK",
                                              "--region", region])
        assert open_source(runtime.Run(args, runtime.Deadline(5), 0), "responses", "NPS").base_url == host


def test_typeform_empty_host_says_where_to_look(emulator):
    # The EU account's form asked of the US host: an empty list, no error.
    api = emulator(Typeform(TOKEN, spread([9] * 40, skipped=0), holds=False))
    result = run_plugin("check_cx_nps", "--typeform", "F1", "--field-ref", "nps", "--token-env", "TK",
                        "--api-url", api.url, "--now", NOW, env=ENV)
    assert result.code == 3, result.stdout
    assert result.text == (f"CX NPS UNKNOWN - no responses in 30d (at least 30 needed to judge); Typeform form F1 "
                           f"has no responses at all on {api.url[7:]}; a form of an account in the EU data center "
                           "answers empty there: try --region eu")
    # A form whose responses are older than the window: the latest one is named.
    api = emulator(Typeform(TOKEN, spread([9] * 40, skipped=0, hours_ago=24 * 40)))
    result = run_plugin("check_cx_nps", "--typeform", "F1", "--field-ref", "nps", "--token-env", "TK",
                        "--api-url", api.url, "--now", NOW, env=ENV)
    assert result.text == ("CX NPS UNKNOWN - no responses in 30d (at least 30 needed to judge); the latest response "
                           "to Typeform form F1 was submitted 2026-09-22T00:00:00Z")


# 6. Pipedrive's rate-limit headers -------------------------------------------------------------

def test_pipedrive_waits_for_its_window_when_none_remain(emulator):
    # 2 requests a 1-second window: users/me and the first page of deals spend it, the second page
    # waits for x-ratelimit-reset instead of earning a 429. 1100 lost deals in 3 pages of 500.
    deals = [{"id": n, "status": "lost", "value": 100, "currency": "EUR", "won_time": None,
              "lost_time": iso(NOW_EPOCH - 3 * DAY), "close_time": iso(NOW_EPOCH - 3 * DAY), "lost_reason": "Price",
              "update_time": iso(NOW_EPOCH - 3 * DAY), "title": f"Deal {n}"} for n in range(1100)]
    api = emulator(Pipedrive(TOKEN, deals, limit=2, window=1.0))
    result = run_plugin("check_cx_churn", "--pipedrive", "acme", "--token-env", "TK", "--api-url", api.url + "/api",
                        "--now", NOW, "--no-compare", "-vv", env=ENV)
    assert result.code == 0, result.stdout
    assert result.value("lost") == 1100
    assert api.refused == 0, result.stdout
    assert "X-RateLimit-Remaining: 0, waiting" in result.stdout
    assert [r[1] for r in api.requests] == ["/api/v1/users/me"] + ["/api/v2/deals"] * 3


def test_the_emulators_own_credentials_are_checked(emulator):
    # The emulators refuse what the vendor would: a wrong token is a 401 that names the token.
    api = emulator(SurveyMonkey("another-token", spread([9] * 3, skipped=0)))
    result = run_plugin("check_cx_nps", "--surveymonkey", "S1", "--question-id", "Q1", "--token-env", "TK",
                        "--api-url", api.url, "--now", NOW, env=ENV)
    assert result.text.startswith("CX NPS UNKNOWN - SurveyMonkey rejected the token (401)")
    assert basic("a", "b").startswith("Basic ")
