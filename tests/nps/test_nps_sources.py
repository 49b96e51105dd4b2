"""check_cx_nps against local servers that answer as the survey APIs document: several pages,
the auth header they receive checked, and the refusals an API gives."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import run_plugin

NOW = "2026-11-01T00:00:00Z"
NOW_EPOCH = 1793491200          # 2026-11-01T00:00:00Z
TOKEN = "tok-Secret-123"
ENV = {"SURVEY_TOKEN": TOKEN}
JSON = {"Content-Type": "application/json"}


def query(handler) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}


def nps(*args, **kw):
    return run_plugin("check_cx_nps", "--now", NOW, "--min-responses", "1", "--token-env", "SURVEY_TOKEN",
                      *args, env=ENV, **kw)


def test_delighted_pages_and_basic_auth(site):
    scores = [10] * 150 + [0] * 50           # two pages of 100, NPS 50
    seen = []

    def responses(handler, body):
        seen.append((handler.headers.get("Authorization"), query(handler)))
        page = int(query(handler)["page"])
        chunk = scores[(page - 1) * 100:page * 100]
        return json.dumps([{"id": i, "score": s, "created_at": NOW_EPOCH - 3600 - i} for i, s in enumerate(chunk)])

    api = site({"/v1/survey_responses.json": (200, JSON, responses)})
    result = nps("--delighted", "--api-url", api.url)
    assert result.code == 0, result.stdout
    assert result.value("nps") == 50 and result.value("responses") == 200
    expected = "Basic " + base64.b64encode(f"{TOKEN}:".encode()).decode()
    assert [auth for auth, _ in seen] == [expected] * 3       # pages 1, 2 and the empty page 3
    assert seen[0][1]["per_page"] == "100" and int(seen[0][1]["since"]) == NOW_EPOCH - 30 * 86400
    assert TOKEN not in result.stdout


def test_surveymonkey_choices_pages_and_bearer(site):
    details = {"pages": [{"questions": [{"id": "Q1", "answers": {"choices": [
        {"id": f"C{n}", "text": str(n), "position": n + 1} for n in range(11)]}}]}]}
    auths = []

    def bulk(handler, body):
        auths.append(handler.headers.get("Authorization"))
        page = int(query(handler).get("page", "1"))
        answers = ["C10", "C9"] if page == 1 else ["C0"]
        data = [{"date_created": "2026-10-30T10:00:00+00:00",
                 "pages": [{"questions": [{"id": "Q1", "answers": [{"choice_id": c}]}]}]} for c in answers]
        links = {"next": f"{api.url}/v3/surveys/S1/responses/bulk?page=2&per_page=100"} if page == 1 else {}
        return json.dumps({"data": data, "links": links})

    api = site({"/v3/surveys/S1/details": (200, JSON, json.dumps(details)),
                "/v3/surveys/S1/responses/bulk": (200, JSON, bulk)})
    result = nps("--surveymonkey", "S1", "--question-id", "Q1", "--api-url", api.url)
    assert result.code == 0, result.stdout
    assert result.value("responses") == 3 and result.value("nps") == pytest.approx(33.33)
    assert auths == [f"Bearer {TOKEN}"] * 2


def test_surveymonkey_serial_and_future_dates_are_rejected_by_their_own_reason(site):
    """date_created as a serial number, beyond the clock skew, not a date: each its own reason; a
    few seconds ahead of this clock is no reject (after --now: outside the window)."""
    from cxcheck.runtime.times import CLOCK_SKEW

    details = {"pages": [{"questions": [{"id": "Q1", "answers": {"choices": [
        {"id": f"C{n}", "text": str(n), "position": n + 1} for n in range(11)]}}]}]}
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
    dates = ["2026-10-30T10:00:00+00:00", "45123", stamp(time.time() + 86400), "last week",
             stamp(time.time() + CLOCK_SKEW / 10)]
    data = [{"date_created": when, "pages": [{"questions": [{"id": "Q1", "answers": [{"choice_id": "C10"}]}]}]}
            for when in dates]
    api = site({"/v3/surveys/S1/details": (200, JSON, json.dumps(details)),
                "/v3/surveys/S1/responses/bulk": (200, JSON, json.dumps({"data": data, "links": {}}))})
    result = nps("--surveymonkey", "S1", "--question-id", "Q1", "--api-url", api.url, "--max-rejected", "80", "-v")
    assert result.value("rejected") == 3 and result.value("responses") == 1, result.stdout
    assert result.long_output[-3:] == [
        "1 rejected: spreadsheet serial date (format the column as dates) (page 1 item 2)",
        "1 rejected: date in the future (page 1 item 3)",
        "1 rejected: unreadable date (page 1 item 4)"]


def test_surveymonkey_refuses_to_send_the_token_elsewhere(site):
    details = {"pages": [{"questions": [{"id": "Q1", "answers": {"choices": [{"id": "C9", "text": "9"}]}}]}]}
    bulk = json.dumps({"data": [], "links": {"next": "http://127.0.0.2:9/steal"}})
    api = site({"/v3/surveys/S1/details": (200, JSON, json.dumps(details)),
                "/v3/surveys/S1/responses/bulk": (200, JSON, bulk)})
    result = nps("--surveymonkey", "S1", "--question-id", "Q1", "--api-url", api.url)
    assert result.code == 3 and "refusing to follow a link to 127.0.0.2:9" in result.text


def test_typeform_pages_with_before_token(site):
    seen = []

    def responses(handler, body):
        params = query(handler)
        seen.append(params)
        assert handler.headers.get("Authorization") == f"Bearer {TOKEN}"
        size = int(params["page_size"])
        if "before" not in params:
            items = [{"token": f"t{i}", "submitted_at": "2026-10-30T10:00:00Z",
                      "answers": [{"field": {"ref": "nps"}, "number": 9}]} for i in range(size)]
        else:
            items = [{"token": "last", "submitted_at": "2026-10-29T10:00:00Z",
                      "answers": [{"field": {"ref": "other"}, "number": 1}, {"field": {"ref": "nps"}, "number": 3}]}]
        return json.dumps({"total_items": size + 1, "items": items})

    api = site({"/forms/F1/responses": (200, JSON, responses)})
    result = nps("--typeform", "F1", "--field-ref", "nps", "--api-url", api.url)
    assert result.code == 0, result.stdout
    assert result.value("responses") == 1001
    assert seen[0]["page_size"] == "1000" and seen[1]["before"] == "t999"


def test_json_url_with_items_and_next(site):
    def page(handler, body):
        number = int(query(handler).get("p", "1"))
        items = [{"rating": 10, "when": "2026-10-30T00:00:00Z"}] * 3 if number == 1 else \
            [{"rating": 6, "when": "2026-10-30T00:00:00Z"}]
        return json.dumps({"result": {"items": items, "next": "/nps?p=2" if number == 1 else None}})

    api = site({"/nps": (200, JSON, page)})
    result = nps("--json-url", api.url + "/nps", "--items", "result.items", "--next", "result.next",
                 "--score-field", "rating", "--date-field", "when")
    assert result.code == 0, result.stdout
    assert result.value("responses") == 4 and result.value("nps") == 50


@pytest.mark.parametrize("status, message", [
    (401, "Delighted rejected the token (401)"),
    (500, "Delighted answered HTTP 500: {\"error\": \"internal trouble\"}"),
])
def test_api_errors_are_unknown(site, status, message):
    api = site({"/v1/survey_responses.json": (status, JSON, '{"error": "internal trouble"}'
                                              if status == 500 else '{"error": "bad key"}')})
    result = nps("--delighted", "--api-url", api.url)
    assert result.code == 3
    assert message in result.text
    assert TOKEN not in result.stdout


def test_429_retry_after_is_honoured(site):
    calls = []

    def answer(handler, body):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return 429, {"Retry-After": "1"}, "slow down"
        return 200, JSON, "[]"

    api = site({"/v1/survey_responses.json": (200, JSON, answer)})
    result = nps("--delighted", "--api-url", api.url, "--low-sample-state", "ok")
    assert result.code == 0, result.stdout
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95


def test_429_beyond_the_deadline_gives_up_at_once(site):
    api = site({"/v1/survey_responses.json": (429, {"Retry-After": "120"}, "slow down")})
    result = nps("--delighted", "--api-url", api.url, "-t", "5")
    assert result.code == 3
    assert "rate limited (429), Retry-After 120 s exceeds the" in result.text
    assert result.elapsed < 3
