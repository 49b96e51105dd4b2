"""check_cx_churn from exports of customer events (CSV, JSON Lines) and from HubSpot deals, the
latter against a local server that answers as HubSpot's CRM search API documents.

HubSpot documentation followed (read 2026-11):
- Search the CRM: https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm and
  .../crm/objects/deals/search-deals: POST /crm/v3/objects/deals/search (the newest reference
  also names date-versioned paths, /crm/objects/2026-03/deals/search; v3 still answers) with
  filterGroups[].filters[] {propertyName, operator (EQ, IN, BETWEEN with highValue, ...), value |
  values},
  properties, sorts, limit (at most 200), after; the answer {total, results[] {id, properties
  {...strings}, createdAt, updatedAt, archived}, paging.next.after}. At most 10,000 results per
  query (the shared HubSpot search starts a new query from the last date read past it, tested in
  test_hubspot.py); search requests are rate limited per account (4 a second in the CRM search
  changelog, 5 in the current guide).
- Deal properties: dealstage (closedwon and closedlost in the default pipeline; other pipelines
  have their own stage ids), closedate (datetime, ISO 8601 in answers, milliseconds accepted in
  filters), amount, amount_in_home_currency, deal_currency_code, closed_lost_reason, pipeline.
- Account details: GET /account-info/v3/details {portalId, timeZone, companyCurrency, ...}
  (https://developers.hubspot.com/docs/api-reference/latest/account/account-information/get-account-details).
- Private app tokens as `Authorization: Bearer`; 429 on excess with Retry-After honoured.
"""

from __future__ import annotations

import json
import random
import time

import pytest
from conftest import run_plugin
from emulators import iso

NOW = "2026-11-01T00:00:00Z"
NOW_MS = 1793491200000
DAY_MS = 86400000
TOKEN = "pat-eu1-5ecret"
JSON = {"Content-Type": "application/json"}

# Who is active when: c1..c4 before 2 Sep; c5 from 15 Sep; c1 and c2 cancel in October (the last
# 30 days), c3 in September; c6 joins and leaves within October (not at risk at its start); c7
# cancelled in August and came back on 1 Sep; c8 only upgraded (another event, left alone).
EVENTS = [
    ("c1", "subscribed", "2026-08-01T00:00:00Z", "100", ""),
    ("c2", "subscribed", "2026-08-01T00:00:00Z", "50", ""),
    ("c3", "subscribed", "2026-08-01T00:00:00Z", "30", ""),
    ("c4", "subscribed", "2026-08-01T00:00:00Z", "30", ""),
    ("c5", "subscribed", "2026-09-15T00:00:00Z", "20", ""),
    ("c1", "cancelled", "2026-10-20T00:00:00Z", "100", "Price"),
    ("c2", "Canceled", "2026-10-05T00:00:00Z", "50", "Price"),
    ("c3", "cancelled", "2026-09-10T00:00:00Z", "30", "Moved to a competitor"),
    ("c6", "subscribed", "2026-10-10T00:00:00Z", "10", ""),
    ("c6", "cancelled", "2026-10-11T00:00:00Z", "10", "Bugs"),
    ("c7", "subscribed", "2026-07-01T00:00:00Z", "40", ""),
    ("c7", "cancelled", "2026-08-15T00:00:00Z", "40", "Price"),
    ("c7", "reactivated", "2026-09-01T00:00:00Z", "40", ""),
    ("c8", "upgraded", "2026-10-12T00:00:00Z", "60", ""),
]


def write_csv(path, events, delimiter=","):
    lines = [delimiter.join(("customer_id", "event", "occurred_at", "mrr", "reason"))]
    lines += [delimiter.join(event) for event in events]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def churn(*args, env=None):
    return run_plugin("check_cx_churn", "--now", NOW, *args, env=env)


def test_events_csv_cancelled_among_the_active_at_the_start(tmp_path):
    export = write_csv(tmp_path / "events.csv", EVENTS)
    result = churn("--events-csv", export, "--date-column", "occurred_at", "--currency", "EUR", "-w", "30", "-v")
    # Last 30 days (2 Oct..1 Nov): active on 2 Oct c1, c2, c4, c5, c7 = 5; cancelled since c1, c2:
    # 2/5 = 40 %, MRR lost 150. The 30 days before (2 Sep..2 Oct): active on 2 Sep c1..c4, c7 = 5,
    # c3 cancelled: 1/5 = 20 %. c6 came and went inside October: not at risk at the start.
    assert result.status == (
        "CX CHURN WARNING - churn 40% (2 lost of 5 customers active at the start) over 30d (> 30%), "
        "lost value 150 EUR, top reason Price (2), 20% 30d earlier | base=5c;;;0 churn=40%;30;;0;100 "
        "churn_previous=20%;;;0;100 lost=2c;;;0 lost_value=150;;;0 rejected=0c;;;0")
    assert f"{export}: 7 customers; other events left alone: upgraded 1" in result.long_output
    assert "13 rows used, 0 rejected" in result.long_output


def test_the_order_of_the_rows_does_not_matter(tmp_path):
    shuffled = EVENTS[:]
    random.Random(7).shuffle(shuffled)
    first = churn("--events-csv", write_csv(tmp_path / "a.csv", EVENTS), "--currency", "EUR")
    second = churn("--events-csv", write_csv(tmp_path / "b.csv", shuffled, ";"), "--currency", "EUR")
    assert first.status == second.status and first.code == second.code == 0


def test_events_jsonl_with_named_fields_and_rejects(tmp_path):
    rows = [{"account": name, "kind": kind, "at": when, "lost_mrr": float(value), "why": reason}
            for name, kind, when, value, reason in EVENTS]
    rows += [{"account": "c9", "kind": "cancelled", "at": "yesterday"}, {"kind": "cancelled", "at": NOW}, [1, 2]]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\nnot json\n")
    result = churn("--events-jsonl", str(path), "--customer-field", "account", "--event-field", "kind",
                   "--date-field", "at", "--value-field", "lost_mrr", "--reason-field", "why", "--max-rejected", "50",
                   "-v")
    assert result.text == ("CX CHURN OK - churn 40% (2 lost of 5 customers active at the start) over 30d, "
                           "lost value 150, top reason Price (2), 20% 30d earlier")
    assert result.value("rejected") == 4
    for line in ("1 rejected: unreadable date in field 'at', such as 'yesterday' (line 15): give its format with --date-format (strptime, such as %d/%m/%Y %H:%M)",
                 "1 rejected: empty customer (line 16)",
                 "1 rejected: not a JSON object (line 17)", "1 rejected: not JSON (line 18)"):
        assert line in result.long_output


def test_events_serial_and_future_dates_are_rejected_by_their_own_reason(tmp_path):
    """A start or a cancellation dated by a spreadsheet's serial number, beyond a few minutes of
    clock skew, or unreadably: each counted under the reason the survey exports use. A date a few
    seconds ahead is read (after --now: in no window); another event's date is not read at all."""
    from cxcheck.runtime.times import CLOCK_SKEW

    later, soon = iso(time.time() + 86400), iso(time.time() + CLOCK_SKEW / 10)    # after this clock, not --now
    odd = [("c9", "cancelled", "45123.5", "10", ""), ("c9", "subscribed", later, "10", ""),
           ("c9", "cancelled", "yesterday", "10", ""), ("c10", "subscribed", soon, "10", ""),
           ("c11", "upgraded", "45123", "10", "")]
    export = write_csv(tmp_path / "events.csv", EVENTS + odd)
    result = churn("--events-csv", export, "--currency", "EUR", "--max-rejected", "50", "-v")
    # As the test above, the odd rows (lines 16-20) changing nothing but the rejects: 14 rows used
    # (13 and c10's start), 3 rejected.
    assert result.status == (
        "CX CHURN OK - churn 40% (2 lost of 5 customers active at the start) over 30d, lost value 150 EUR, "
        "top reason Price (2), 20% 30d earlier | base=5c;;;0 churn=40%;;;0;100 churn_previous=20%;;;0;100 "
        "lost=2c;;;0 lost_value=150;;;0 rejected=3c;;;0")
    assert "14 rows used, 3 rejected" in result.long_output
    assert result.long_output[-3:] == ["1 rejected: spreadsheet serial date (format the column as dates) (line 16)",
                                       "1 rejected: date in the future (line 17)",
                                       "1 rejected: unreadable date in column 'occurred_at', such as 'yesterday' "
                                       "(line 18): give its format with --date-format (strptime, such as %d/%m/%Y %H:%M)"]


def test_a_ceiling_breach_needs_the_whole_interval_with_significant(tmp_path):
    export = write_csv(tmp_path / "events.csv", EVENTS)
    result = churn("--events-csv", export, "-w", "30", "--significant")
    # 2 of 5: the Wilson 95 % interval is 11.8 %..76.9 %, reaching below 30: not significant.
    assert result.code == 0
    assert result.text == ("CX CHURN OK - churn 40% (2 lost of 5 customers active at the start) over 30d, "
                           "lost value 150, top reason Price (2), > 30% but not significantly, 20% 30d earlier")


def test_low_volume_is_said_and_not_judged(tmp_path):
    export = write_csv(tmp_path / "events.csv", EVENTS)
    result = churn("--events-csv", export, "-c", "10", "--min-volume", "20")
    assert (result.code, result.text) == (0, "CX CHURN OK - low volume: 5 customers active at the start in 30d, "
                                             "under --min-volume 20; churn 40% not judged")
    result = churn("--events-csv", export, "-c", "10", "--min-volume", "20", "--low-volume-state", "unknown")
    assert result.code == 3


def test_an_export_without_a_customer_column_names_the_option(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("who,event,date\nc1,subscribed,2026-10-01\n")
    result = churn("--events-csv", str(path))
    assert result.text == ("CX CHURN UNKNOWN - " + str(path) + ": no customer column (none named like customer, "
                           "customer_id, subscription, subscription_id, account, user, email); name it with "
                           "--customer-column (columns: 'who', 'event', 'date')")


# ------------------------------------------------------------------------------------------------
# HubSpot


def hubspot_deal(number, stage, days_before_now, amount, reason=None, home=True, currency="EUR"):
    props = {"dealstage": stage, "closedate": f"{_iso(NOW_MS - days_before_now * DAY_MS)}", "amount": str(amount),
             "deal_currency_code": currency, "closed_lost_reason": reason, "pipeline": "default",
             "hs_object_id": str(number)}
    if home:
        props["amount_in_home_currency"] = str(amount)
    return {"id": str(number), "properties": props, "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-10-31T00:00:00Z", "archived": False}


def _iso(ms):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# Last 30 days: 9 won, 3 lost (amounts 1200 + 800 in home currency; a USD deal without a home
# amount: counted, its value apart); 30 days before: 10 won, 2 lost.
HUBSPOT = ([hubspot_deal(n, "closedwon", n * 3, 5000) for n in range(1, 10)]
           + [hubspot_deal(20, "closedlost", 2, 1200, "Price"), hubspot_deal(21, "closedlost", 10, 800, "Price"),
              hubspot_deal(22, "closedlost", 12, 300, "No budget", home=False, currency="USD")]
           + [hubspot_deal(30 + n, "closedwon", 31 + n * 2, 4000) for n in range(10)]
           + [hubspot_deal(50, "closedlost", 40, 900, "Price"), hubspot_deal(51, "closedlost", 45, 100)])


def hubspot_api(site, deals=HUBSPOT, page=5, seen=None, stray=()):
    """The deals search; `stray` deals end the first page whatever the filters (dates no search
    would match: an account's odd data)."""
    def search(handler, body):
        query = json.loads(body)
        if seen is not None:
            seen.append((query, handler.headers.get("Authorization")))
        filters = {f["propertyName"] + f["operator"]: f for f in query["filterGroups"][0]["filters"]}
        low, high = int(filters["closedateBETWEEN"]["value"]), int(filters["closedateBETWEEN"]["highValue"])
        stages = filters["dealstageIN"]["values"]
        from datetime import datetime

        def ms(deal):
            return datetime.fromisoformat(deal["properties"]["closedate"].replace("Z", "+00:00")).timestamp() * 1000

        found = [d for d in deals if d["properties"]["dealstage"] in stages and low <= ms(d) <= high]
        start = int(query.get("after", "0"))
        answer = {"total": len(found), "results": found[start:start + page] + ([] if start else list(stray))}
        if start + page < len(found):
            answer["paging"] = {"next": {"after": str(start + page), "link": "https://api.hubapi.com/..."}}
        return json.dumps(answer)

    details = {"portalId": 2519445, "accountType": "STANDARD", "timeZone": "Europe/Berlin", "companyCurrency": "EUR",
               "additionalCurrencies": ["USD"], "utcOffset": "+01:00", "utcOffsetMilliseconds": 3600000}
    return site({"/crm/v3/objects/deals/search": (200, JSON, search),
                 "/account-info/v3/details": (200, JSON, json.dumps(details))})


def hubspot(api_url, *args):
    return churn("--hubspot", "--api-url", api_url, "--token-env", "HS", *args, env={"HS": TOKEN})


def test_hubspot_deals_closed_lost_among_closed(site):
    seen = []
    api = hubspot_api(site, seen=seen)
    result = hubspot(api.url, "-w", "20", "-c", "40", "--max-rise", "50", "-v")
    # 3 of 12 = 25 % (> 20); before: 2 of 12 = 16.67 %; a rise of 50 % exactly: not beyond 50.
    assert result.status == (
        "CX CHURN WARNING - churn 25% (3 lost of 12 deals closed) over 30d (> 20%), lost value 2,000 EUR, "
        "top reason Price (2), 16.67% 30d earlier | base=12c;;;0 churn=25%;20;40;0;100 "
        "churn_previous=16.67%;;;0;100 lost=3c;;;0 lost_value=2000;;;0 rejected=0c;;;0")
    assert "lost value: 2,000 EUR; in other currencies, not converted: 300 USD" in result.long_output
    queries = [query for query, _ in seen]
    assert len(queries) == 5                      # 24 deals in the two windows, 5 a page
    assert queries[0]["filterGroups"][0]["filters"] == [
        {"propertyName": "closedate", "operator": "BETWEEN", "value": str(NOW_MS - 60 * DAY_MS),
         "highValue": str(NOW_MS)},
        {"propertyName": "dealstage", "operator": "IN", "values": ["closedwon", "closedlost"]}]
    assert queries[0]["limit"] == 200 and "after" not in queries[0] and queries[1]["after"] == "5"
    assert {auth for _, auth in seen} == {f"Bearer {TOKEN}"}


def test_hubspot_custom_stages_and_pipeline(site):
    seen = []
    custom = [hubspot_deal(1, "1234567", 1, 10), hubspot_deal(2, "1234568", 2, 10, "Price")]
    api = hubspot_api(site, deals=custom, seen=seen)
    result = hubspot(api.url, "--won-stage", "1234567", "--lost-stage", "1234568", "--pipeline", "98765",
                     "--currency", "GBP", "--no-compare")
    assert result.text == ("CX CHURN OK - churn 50% (1 lost of 2 deals closed) over 30d, lost value 10 GBP, "
                           "top reason Price (1)")
    filters = seen[0][0]["filterGroups"][0]["filters"]
    assert filters[1]["values"] == ["1234567", "1234568"]
    assert filters[-1] == {"propertyName": "pipeline", "operator": "EQ", "value": "98765"}


def test_hubspot_serial_and_future_close_dates_are_rejected_by_their_own_reason(site):
    from cxcheck.runtime.times import CLOCK_SKEW

    def odd(number, closedate):
        made = hubspot_deal(number, "closedlost", 1, 100)
        made["properties"]["closedate"] = closedate
        return made

    later, soon = time.time() + 86400, time.time() + CLOCK_SKEW / 10
    stray = [odd(60, "45123"), odd(61, iso(later)), odd(62, "soon"), odd(63, iso(soon)),
             odd(64, str(int(later * 1000)))]
    result = hubspot(hubspot_api(site, page=50, stray=stray).url, "--max-rejected", "50", "--no-compare", "-v")
    # The 12 deals of the one window on the page, then the strays as items 13-17 (the last in
    # milliseconds): four rejects; the one a few seconds ahead is read (after --now: in no window).
    assert result.text == ("CX CHURN OK - churn 25% (3 lost of 12 deals closed) over 30d, lost value 2,000 EUR, "
                           "top reason Price (2)")
    assert result.value("rejected") == 4
    assert result.long_output[-3:] == [
        "2 rejected: close date in the future (page 1 item 14, page 1 item 17)",
        "1 rejected: spreadsheet serial close date (format the column as dates) (page 1 item 13)",
        "1 rejected: unreadable close date (page 1 item 15)"]


@pytest.mark.parametrize("route, body, reason", [
    ("/crm/v3/objects/deals/search", {"total": 0, "items": []},
     "HubSpot answered page 1 of the deals without 'results' (no such key, not a list): not the documented shape"),
    ("/account-info/v3/details", {"portalId": 1},
     "HubSpot answered its account details (give --currency to skip them) without 'companyCurrency' (no such key, "
     "not a string): not the documented shape"),
])
def test_hubspot_undocumented_shapes_name_the_key(site, route, body, reason):
    api = hubspot_api(site)
    api.routes[route] = (200, JSON, json.dumps(body))
    assert hubspot(api.url).text == f"CX CHURN UNKNOWN - {reason}"


def test_hubspot_token_refused_and_masked(site):
    def refuse(handler, body):
        auth = handler.headers.get("Authorization")
        return 401, JSON, json.dumps({"status": "error", "message": f"Authentication credentials not found: {auth}",
                                      "category": "INVALID_AUTHENTICATION"})

    api = site({"/account-info/v3/details": (200, JSON, refuse)})
    result = hubspot(api.url, "-vvv")
    assert result.code == 3
    assert result.text.startswith("CX CHURN UNKNOWN - HubSpot rejected the private app token ($HS) (401): ")
    assert "Bearer ***" in result.text and TOKEN not in result.stdout + result.stderr


def test_hubspot_paging_that_does_not_end_stops(site):
    api = hubspot_api(site)
    loop = json.dumps({"total": 3, "results": [], "paging": {"next": {"after": "5"}}})
    api.routes["/crm/v3/objects/deals/search"] = (200, JSON, loop)
    assert hubspot(api.url).text == "CX CHURN UNKNOWN - HubSpot: the next-page cursor repeats ((1, '5')), stopping"
