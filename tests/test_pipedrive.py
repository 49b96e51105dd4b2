"""check_cx_churn --pipedrive against a local server that answers as Pipedrive's API documents
its deals.

Documentation followed (read 2026-11):
- Deals v2, GET /api/v2/deals (developers.pipedrive.com/docs/api/v1/Deals#getDeals, and the
  generated client pipedrive/client-nodejs src/versions/v2/api/deals-api.ts): status
  open|won|lost|deleted, several comma-separated; updated_since / updated_until (RFC 3339, on
  update_time); sort_by id|update_time|add_time; limit (default 100, at most 500); cursor. The
  answer `{"success": true, "data": [...], "additional_data": {"next_cursor": ...}}`, next_cursor
  null on the last page. Deal fields (models/deal.ts): status, won_time, lost_time, close_time,
  lost_reason, value, currency, owner_id (v1: user_id), is_deleted, is_archived. "Returns data
  about all not archived deals".
- API v2 migration guide (https://pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide):
  RFC 3339 timestamps everywhere in v2; only the /api/v2/ prefix.
- Authentication: the API token in the `x-api-token` header (the clients' api_key scheme); the
  api_token query parameter is v1 usage and would put the token in URLs.
- v1 deals (GET /v1/deals, start/limit, additional_data.pagination.more_items_in_collection and
  next_start) is marked deprecated in the client: not used.
- The account's currency: GET /v1/users/me, data.default_currency (no v2 endpoint).
- Cursor-paginated endpoints: https://developers.pipedrive.com/changelog/post/introducing-2-new-cursor-paginated-codegetcode-endpoints-for-activities-and-deals-api
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import run_plugin
from emulators import iso

TOKEN = "pd-Token-9f8e7d"
JSON = {"Content-Type": "application/json"}
NOW = "2026-11-01T00:00:00Z"


def deal(number, status, when, value=1000, currency="EUR", reason=None):
    return {"id": number, "title": f"Deal {number}", "owner_id": 7, "status": status, "value": value,
            "currency": currency, "won_time": when if status == "won" else None,
            "lost_time": when if status == "lost" else None, "close_time": when, "lost_reason": reason,
            "update_time": when, "is_deleted": False, "is_archived": False}


# The last 30 days (2 Oct..1 Nov): 6 won, 4 lost (3 in EUR, 1 in USD); the 30 days before: 8 won,
# 2 lost. A lost deal of next month and an open one are not counted.
CURRENT = ([deal(n, "won", f"2026-10-{n + 2:02d}T10:00:00Z") for n in range(1, 7)]
           + [deal(11, "lost", "2026-10-05T09:00:00Z", 1000, reason="Price"),
              deal(12, "lost", "2026-10-15T09:00:00Z", 2500, reason="Price"),
              deal(13, "lost", "2026-10-20T09:00:00Z", 500, reason="Competitor"),
              deal(14, "lost", "2026-10-31T23:59:59Z", 700, "USD")])
EARLIER = ([deal(20 + n, "won", f"2026-09-{n + 5:02d}T10:00:00Z") for n in range(8)]
           + [deal(31, "lost", "2026-09-10T10:00:00Z", 300, reason="Price"),
              deal(32, "lost", "2026-10-01T10:00:00Z", 300, reason="Timing")])
OUTSIDE = [deal(40, "lost", "2026-11-02T10:00:00Z", reason="Later")]
DEALS = CURRENT + EARLIER + OUTSIDE


def query(handler) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}


def pipedrive_api(site, deals=DEALS, page_size=4, seen=None, currency="EUR"):
    """Deals in pages of `page_size` behind an opaque cursor; users/me with the account's currency."""
    def deals_page(handler, body):
        params = query(handler)
        if seen is not None:
            seen.append((params, handler.headers.get("x-api-token"), handler.path))
        if handler.headers.get("x-api-token") != TOKEN:
            return 401, JSON, json.dumps({"success": False, "error": "unauthorized access", "errorCode": 401})
        start = int(params.get("cursor", "c0")[1:])
        chunk = deals[start:start + page_size]
        following = f"c{start + page_size}" if start + page_size < len(deals) else None
        return json.dumps({"success": True, "data": chunk, "additional_data": {"next_cursor": following}})

    me = {"success": True, "data": {"id": 7, "name": "Monitor", "default_currency": currency, "locale": "en_US",
                                    "timezone_name": "Europe/Berlin"}}
    return site({"/api/v2/deals": (200, JSON, deals_page), "/api/v1/users/me": (200, JSON, json.dumps(me))})


def churn(api_url, *args):
    return run_plugin("check_cx_churn", "--pipedrive", "acme", "--api-url", api_url + "/api", "--token-env", "PD",
                      "--now", NOW, *args, env={"PD": TOKEN})


def test_lost_share_value_and_reasons_of_the_deals_closed(site):
    seen = []
    api = pipedrive_api(site, seen=seen)
    result = churn(api.url, "--window", "30d", "-w", "30", "-c", "50", "-v")
    # 4 lost of 10 closed = 40 %, above the ceiling 30; lost in EUR 1000 + 2500 + 500 = 4000, the
    # USD deal apart; the 30 days before: 2 of 10 = 20 %.
    assert result.status == (
        "CX CHURN WARNING - churn 40% (4 lost of 10 deals closed) over 30d (> 30%), lost value 4,000 EUR, "
        "top reason Price (2), 20% 30d earlier | base=10c;;;0 churn=40%;30;50;0;100 churn_previous=20%;;;0;100 "
        "lost=4c;;;0 lost_value=4000;;;0 rejected=0c;;;0")
    assert result.code == 1
    assert "lost value: 4,000 EUR; in other currencies, not converted: 700 USD" in result.long_output
    assert "lost reasons: Price 2, Competitor 1, (no reason given) 1" in result.long_output
    assert "window 2026-10-02T00:00:00Z..2026-11-01T00:00:00Z (UTC): 4 lost of 10 deals closed" in result.long_output
    pages = [params for params, _, path in seen]
    assert len(pages) == 6                       # 21 deals, 4 a page
    assert pages[0] == {"status": "won,lost", "updated_since": "2026-09-02T00:00:00Z", "limit": "500",
                        "sort_by": "update_time", "sort_direction": "asc"}
    assert [p.get("cursor") for p in pages] == [None, "c4", "c8", "c12", "c16", "c20"]
    assert all(token == TOKEN and TOKEN not in path for _, token, path in seen)


def test_a_low_volume_rise_is_not_significant(site):
    api = pipedrive_api(site)
    result = churn(api.url, "--window", "30d", "--max-rise", "50", "--significant")
    # 20 % -> 40 % is a 100 % rise, but of 10 deals each: pooled p = 6/20 = 0.3,
    # se = sqrt(0.3 * 0.7 * (1/10 + 1/10)) = 0.2049, z = 0.2 / 0.2049 = 0.98 < 1.96.
    assert result.code == 0
    assert result.text == ("CX CHURN OK - churn 40% (4 lost of 10 deals closed) over 30d, lost value 4,000 EUR, "
                           "top reason Price (2), rose 100% from 20% 30d earlier (> 50%), not significantly "
                           "(z 0.98 < 1.96)")


def test_the_account_currency_can_be_given(site):
    seen = []
    api = pipedrive_api(site, seen=seen)
    result = churn(api.url, "--currency", "USD", "--no-compare")
    assert result.code == 0
    assert result.value("lost_value") == 700
    assert "lost value: 700 USD; in other currencies, not converted: 4,000 EUR" in result.long_output


def test_unreadable_deals_are_counted_and_too_many_make_it_unknown(site):
    broken = [dict(deal(50, "lost", "x"), lost_time="last Tuesday"), dict(deal(51, "won", "x"), won_time=None),
              dict(deal(52, "open", "2026-10-10T00:00:00Z"))]
    api = pipedrive_api(site, deals=CURRENT + broken)
    result = churn(api.url, "--no-compare", "-v")
    assert result.code == 3
    assert result.text == ("CX CHURN UNKNOWN - 3 of 13 rows rejected (23.1% > 5%): the churn would lie; 2 unreadable "
                           "close date")
    assert result.long_output[-2:] == ["2 rejected: unreadable close date (page 3 item 3, page 3 item 4)",
                                       "1 rejected: not a won or lost deal (page 4 item 1)"]
    assert churn(api.url, "--no-compare", "--max-rejected", "25").code == 0


def test_serial_and_future_close_dates_are_rejected_by_their_own_reason(site):
    """won_time or lost_time: a spreadsheet's serial number, a date beyond a few minutes of clock
    skew, each under the reason every source uses; a few seconds ahead is read (after --now: in
    no window)."""
    from cxcheck.runtime.times import CLOCK_SKEW

    later, soon = iso(time.time() + 86400), iso(time.time() + CLOCK_SKEW / 10)    # after this clock, not --now
    odd = [deal(60, "won", "45123"), deal(61, "lost", later), deal(62, "won", later), deal(63, "lost", soon)]
    api = pipedrive_api(site, deals=CURRENT + odd)
    result = churn(api.url, "--no-compare", "--max-rejected", "50", "-v")
    # 10 deals closed in the window, 4 a page: the odd ones are page 3 items 3-4, page 4 items 1-2.
    assert result.status == ("CX CHURN OK - churn 40% (4 lost of 10 deals closed) over 30d, lost value 4,000 EUR, "
                             "top reason Price (2) | base=10c;;;0 churn=40%;;;0;100 lost=4c;;;0 "
                             "lost_value=4000;;;0 rejected=3c;;;0")
    assert result.long_output[-2:] == [
        "2 rejected: close date in the future (page 3 item 4, page 4 item 1)",
        "1 rejected: spreadsheet serial close date (format the column as dates) (page 3 item 3)"]


@pytest.mark.parametrize("status", [401, 403])
def test_refusals_are_unknown_and_the_token_never_shown(site, status):
    def refuse(handler, body):
        return status, JSON, json.dumps({"success": False, "error": f"token {handler.headers.get('x-api-token')} "
                                                                    "refused"})

    api = site({"/api/v1/users/me": (200, JSON, refuse), "/api/v2/deals": (200, JSON, refuse)})
    for verbosity in ([], ["-vvv"]):
        result = churn(api.url, *verbosity)
        assert result.code == 3
        assert result.text == (f'CX CHURN UNKNOWN - Pipedrive rejected the API token ($PD) ({status}): '
                               '{"success": false, "error": "token *** refused"}')
        assert TOKEN not in result.stdout + result.stderr


def test_429_retry_after_is_waited_then_beyond_the_deadline_given_up(site):
    calls = []
    api = pipedrive_api(site)
    deals_route = api.routes["/api/v2/deals"]

    def limited(handler, body):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return 429, {"Retry-After": "1"}, json.dumps({"success": False, "error": "Too many requests"})
        return deals_route[2](handler, body)

    api.routes["/api/v2/deals"] = (200, JSON, limited)
    assert churn(api.url, "--no-compare").code == 0
    assert calls[1] - calls[0] >= 0.95
    api.routes["/api/v2/deals"] = (429, {"Retry-After": "600"}, "{}")
    result = churn(api.url, "-t", "4")
    assert result.code == 3 and "Pipedrive rate limited (429), Retry-After 600 s exceeds the" in result.text
    assert result.text.endswith("(Pipedrive spends a daily token budget per company and limits bursts per 2 seconds)")


def test_a_5xx_is_unknown(site):
    api = site({"/api/v1/users/me": (500, JSON, '{"success": false, "error": "Internal server error"}')})
    result = churn(api.url)
    assert result.text == ('CX CHURN UNKNOWN - Pipedrive answered HTTP 500: '
                           '{"success": false, "error": "Internal server error"}')


def test_a_cursor_that_repeats_stops_the_paging(site):
    def forever(handler, body):
        return json.dumps({"success": True, "data": [deal(1, "won", "2026-10-10T00:00:00Z")],
                           "additional_data": {"next_cursor": "eyJpZCI6MX0"}})

    api = pipedrive_api(site)
    api.routes["/api/v2/deals"] = (200, JSON, forever)
    result = churn(api.url)
    assert result.code == 3
    assert result.text == "CX CHURN UNKNOWN - Pipedrive: the next-page cursor repeats (eyJpZCI6MX0), stopping"


@pytest.mark.parametrize("route, body, reason", [
    ("/api/v2/deals", {"success": True, "items": []}, "Pipedrive answer (page 1) has no 'data' list of deals"),
    ("/api/v1/users/me", {"success": True, "data": {"id": 7}},
     "Pipedrive answer of /v1/users/me has no data.default_currency; give --currency"),
])
def test_undocumented_shapes_name_the_key(site, route, body, reason):
    api = pipedrive_api(site)
    api.routes[route] = (200, JSON, json.dumps(body))
    result = churn(api.url)
    assert (result.code, result.text) == (3, f"CX CHURN UNKNOWN - {reason}")


def test_a_company_name_that_is_not_a_subdomain_is_refused():
    result = run_plugin("check_cx_churn", "--pipedrive", "acme.evil.example/x", "--token-env", "PD", env={"PD": TOKEN})
    assert result.text == ("CX CHURN UNKNOWN - --pipedrive 'acme.evil.example/x': the company's subdomain, as in "
                           "COMPANY.pipedrive.com")
