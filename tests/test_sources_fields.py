"""A field absent from every record of an answer is an API or configuration mismatch, never
customer data: for every API source, an emulator (tests/emulators.py, each following the
vendor's documentation as cited there and in tests/test_vendor_answers.py) that renames one
field the source reads gives UNKNOWN naming the field and the source, where before the records
were rejected one by one (or, for HubSpot, read as "no reply yet").

Where the API lists what exists, the source asks once and names what the account lacks:
HubSpot's properties (https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties),
Typeform's form definition (https://developer.typeform.com/create/reference/retrieve-form/),
SurveyMonkey's survey details (https://api.surveymonkey.com/v3/docs, GET /v3/surveys/{id}/details).
The Prometheus and JSON sources read the fields their options name: the same rule says which.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_plugin
from emulators import Delighted, HubSpot, Mixpanel, Pipedrive, SurveyMonkey, Typeform, Zendesk, iso

NOW = "2026-11-01T00:00:00Z"
NOW_EPOCH = 1793491200
DAY = 86400
TOKEN = "tok-Fields-Secret-31"
ENV = {"TK": TOKEN}


def answers(count=5, hours_ago=24, score=9):
    return [(NOW_EPOCH - hours_ago * 3600 - n * 60, score) for n in range(count)]


def zendesk_ratings():
    at = iso(NOW_EPOCH - DAY)
    return [{"id": n, "score": "good", "created_at": at, "updated_at": at, "ticket_id": n} for n in range(5)]


def zendesk_tickets():
    made = []
    for n in range(1, 6):
        created = iso(NOW_EPOCH - (10 + n) * 3600)
        made.append({"id": n, "status": "open", "created_at": created, "updated_at": created,
                     "metric_set": {"ticket_id": n, "created_at": created, "solved_at": None,
                                    "reply_time_in_minutes": {"calendar": 30 * n, "business": 20 * n},
                                    "full_resolution_time_in_minutes": {"calendar": None, "business": None}}})
    return made


def hubspot(kind: str, properties: dict, lacks: str, named: str):
    """A HubSpot account whose `kind` property `lacks` goes by `named`: the search leaves the
    asked name out, the properties API does not list it."""
    objects = [{"id": str(n), "properties": {(named if k == lacks else k): v for k, v in properties.items()}}
               for n in range(5)]
    known = {k: set(names) for k, names in HubSpot.DEFAULTS.items()}
    known[kind] = (known[kind] - {lacks}) | {named}
    return HubSpot(TOKEN, {kind: objects}, known=known)


def deal(n):
    when = iso(NOW_EPOCH - 3 * DAY)
    return {"id": n, "title": f"Deal {n}", "status": "lost", "value": 100, "currency": "EUR", "won_time": None,
            "lost_time": when, "close_time": when, "lost_reason": "Price", "update_time": when}


API = "--api-url"
CASES = {
    "zendesk ratings: created_at": (
        lambda: Zendesk(f"Bearer {TOKEN}", ratings=zendesk_ratings()), ("created_at", "created"),
        ["check_cx_csat", "--zendesk", "acme", "--token-env", "TK", API, "{url}", "--now", NOW],
        "Zendesk answered page 1 of the satisfaction ratings without 'created_at' in any of its 5 ratings"),
    "zendesk tickets: reply_time_in_minutes": (
        lambda: Zendesk(f"Bearer {TOKEN}", tickets=zendesk_tickets()), ("reply_time_in_minutes", "reply_minutes"),
        ["check_cx_support", "--zendesk", "acme", "--token-env", "TK", API, "{url}", "--now", NOW],
        "Zendesk answered page 1 of the ticket export without 'reply_time_in_minutes' in any of its 5 metric sets"),
    "zendesk tickets: business": (
        lambda: Zendesk(f"Bearer {TOKEN}", tickets=zendesk_tickets()), ("business", "business_hours"),
        ["check_cx_support", "--zendesk", "acme", "--token-env", "TK", API, "{url}", "--now", NOW, "--hours",
         "business"],
        "Zendesk answered page 1 of the ticket export without 'business' in any of its 5 reply_time_in_minutes "
        "objects"),
    "hubspot feedback: hs_value": (
        lambda: hubspot("feedback_submissions", {"hs_survey_type": "NPS", "hs_value": "9", "hs_survey_id": "7",
                                                 "hs_submission_timestamp": iso(NOW_EPOCH - DAY)},
                        "hs_value", "hs_response_value"), None,
        ["check_cx_nps", "--hubspot", "--token-env", "TK", API, "{url}", "--now", NOW],
        "HubSpot: no 'hs_value' among the account's feedback submissions properties (GET "
        "/crm/v3/properties/feedback_submissions), and none in the 5 feedback submissions of page 1 of the feedback "
        "submissions"),
    "hubspot tickets: time_to_close": (
        lambda: hubspot("tickets", {"createdate": iso(NOW_EPOCH - 2 * DAY), "closed_date": iso(NOW_EPOCH - DAY),
                                    "time_to_close": "86400000", "time_to_first_agent_reply": "60000",
                                    "hs_pipeline": "0"}, "time_to_close", "hs_time_to_close"), None,
        ["check_cx_support", "--hubspot", "--token-env", "TK", API, "{url}", "--now", NOW, "--metric", "resolution"],
        "HubSpot: no 'time_to_close' among the account's tickets properties (GET /crm/v3/properties/tickets), and "
        "none in the 5 tickets of page 1 of the tickets"),
    "hubspot deals: amount_in_home_currency": (
        lambda: hubspot("deals", {"dealstage": "closedlost", "closedate": iso(NOW_EPOCH - DAY), "amount": "100",
                                  "amount_in_home_currency": "100", "deal_currency_code": "EUR",
                                  "closed_lost_reason": "Price", "pipeline": "default"},
                        "amount_in_home_currency", "amount_home"), None,
        ["check_cx_churn", "--hubspot", "--token-env", "TK", API, "{url}", "--now", NOW, "--currency", "EUR"],
        "HubSpot: no 'amount_in_home_currency' among the account's deals properties (GET /crm/v3/properties/deals), "
        "and none in the 5 deals of page 1 of the deals"),
    "surveymonkey: date_created": (
        lambda: SurveyMonkey(TOKEN, answers()), ("date_created", "created"),
        ["check_cx_nps", "--surveymonkey", "S1", "--question-id", "Q1", "--token-env", "TK", API, "{url}", "--now",
         NOW],
        "SurveyMonkey answered page 1 of the responses without 'date_created' in any of its 5 responses"),
    "surveymonkey: choice_id": (
        lambda: SurveyMonkey(TOKEN, answers()), ("choice_id", "choice"),
        ["check_cx_nps", "--surveymonkey", "S1", "--question-id", "Q1", "--token-env", "TK", API, "{url}", "--now",
         NOW],
        "SurveyMonkey answered page 1 of the responses without 'choice_id' in any of its 5 answers to question Q1"),
    "delighted: score": (
        lambda: Delighted(TOKEN, answers()), ("score", "rating"),
        ["check_cx_nps", "--delighted", "--token-env", "TK", API, "{url}", "--now", NOW],
        "Delighted answered page 1 of the survey responses without 'score' in any of its 5 responses"),
    "typeform: submitted_at": (
        lambda: Typeform(TOKEN, answers()), ("submitted_at", "submitted"),
        ["check_cx_nps", "--typeform", "F1", "--field-ref", "nps", "--token-env", "TK", API, "{url}", "--now", NOW],
        "Typeform answered page 1 of the responses without 'submitted_at' in any of its 5 responses"),
    "typeform: number": (
        lambda: Typeform(TOKEN, answers()), ("number", "value"),
        ["check_cx_nps", "--typeform", "F1", "--field-ref", "nps", "--token-env", "TK", API, "{url}", "--now", NOW],
        "Typeform answered page 1 of the responses without 'number' in any of its 5 answers to field nps"),
    "typeform: the field ref": (
        lambda: Typeform(TOKEN, answers(), ref="nps_score"), None,
        ["check_cx_nps", "--typeform", "F1", "--field-ref", "nps", "--token-env", "TK", API, "{url}", "--now", NOW],
        "Typeform: no 'nps' field ref in form F1's definition, and none in the 5 responses of page 1 of the "
        "responses: a configuration mismatch (check --field-ref), not customer data"),
    "mixpanel: count": (
        lambda: Mixpanel("svc", TOKEN, [(NOW_EPOCH - 40 * DAY + n, None) for n in range(5)], now=NOW_EPOCH),
        ("count", "total"),
        ["check_cx_conversion", "--mixpanel", "1", "--funnel-id", "2", "--service-account", "svc", "--token-env",
         "TK", API, "{url}/api/query", "--now", NOW, "--no-compare"],
        "Mixpanel answer: data['2026-10-01'].steps[0] has no 'count'"),
    "pipedrive: won_time": (
        lambda: Pipedrive(TOKEN, [deal(n) for n in range(5)]), ("won_time", "won_at"),
        ["check_cx_churn", "--pipedrive", "acme", "--token-env", "TK", API, "{url}/api", "--now", NOW, "--currency",
         "EUR"],
        "Pipedrive answered page 1 of the deals without 'won_time' in any of its 5 deals"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_renamed_field_is_unknown_naming_it(emulator, case):
    made, rename, args, said = CASES[case]
    api = emulator(made(), rename)
    result = run_plugin(*[arg.replace("{url}", api.url) for arg in args], env=ENV)
    assert result.code == 3, result.stdout
    assert result.text.startswith(f"{result.text.split(' - ')[0]} - {said}"), result.text
    if "Mixpanel" not in said:             # its answer names the key it lacks, as it always did
        assert result.text.endswith("mismatch, not customer data") or result.text.endswith(
            "), not customer data"), result.text
    assert TOKEN not in result.stdout + result.stderr


def test_a_json_endpoint_field_the_options_name_is_unknown_naming_it(site):
    items = [{"score": 9, "created_at": iso(NOW_EPOCH - DAY)}] * 3
    api = site({"/nps": (200, {"Content-Type": "application/json"}, json.dumps(items))})
    result = run_plugin("check_cx_nps", "--json-url", api.url + "/nps", "--score-field", "rating", "--now", NOW)
    assert result.code == 3, result.stdout
    assert result.text == (f"CX NPS UNKNOWN - {api.url}/nps answered page 1 without 'rating' in any of its 3 items: a "
                           "configuration mismatch (--score-field and --date-field name each item's fields), not "
                           "customer data")


@pytest.mark.parametrize("plugin, args, said", [
    ("check_cx_conversion", ["--entered-path", "entered", "--converted-path", "converted", "--no-compare"],
     "--converted-path 'converted' found nothing in the answer of {url}"),
    ("check_cx_transaction", ["--success-path", "entered", "--total-path", "converted"],
     "--total-path 'converted' found nothing in the answer of {url}"),
])
def test_json_counts_name_the_path_that_found_nothing(site, plugin, args, said):
    api = site({"/counts": (200, {"Content-Type": "application/json"}, json.dumps({"entered": 10, "conv": 2}))})
    result = run_plugin(plugin, "--json-url", api.url + "/counts", *args)
    assert result.code == 3, result.stdout
    assert result.text.endswith(said.format(url=api.url + "/counts")), result.text


def test_prometheus_answer_without_its_result_names_it(site):
    body = {"status": "success", "data": {"resultType": "vector", "results": []}}
    api = site({"/api/v1/query": (200, {"Content-Type": "application/json"}, json.dumps(body))})
    result = run_plugin("check_cx_transaction", "--prometheus", api.url, "--ratio-query", "vector(1)")
    assert result.code == 3, result.stdout
    assert result.text == ("CX TRANSACTION UNKNOWN - Prometheus answer for query 'vector(1)' is malformed (result is "
                           "not a list)")
