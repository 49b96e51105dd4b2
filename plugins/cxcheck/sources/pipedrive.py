"""Pipedrive: deals won and lost.

Read: API v2 `GET /api/v2/deals?status=won,lost&updated_since=...`
(https://developers.pipedrive.com/docs/api/v1/Deals#getDeals, v2 section; the v2 migration guide
https://pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide: RFC 3339 times), cursor paging
(`additional_data.next_cursor`, null on the last page; at most 500 a page). A deal closed in a
window was updated at or after its close, so `updated_since` the oldest window's start misses
none. Per deal: `status`, placed by `won_time` or `lost_time`, its `value` in its own `currency`,
`lost_reason`. The account's currency is the user's `data.default_currency` from
`GET /api/v1/users/me` (no v2 equivalent), unless --currency names it. A page whose every deal
lacks one of status, won_time, lost_time, value or currency is not the documented shape
(sources/fields.py). Archived deals are not listed by this endpoint (Pipedrive lists them apart).

The API token goes in the `x-api-token` header (https://pipedrive.readme.io/docs/core-api-concepts-authentication),
never in the URL, and to the configured host only (apiclient). Rate limits
(https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting): every answer carries
x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-reset (seconds left in the 2-second
window); with none remaining the next request waits for the reset (apiclient.budget_spent), and a
429's Retry-After is honoured; the daily token budget, once spent, answers 429 until midnight.
"""

from __future__ import annotations

import re

from cxcheck.runtime.times import TimeParser, iso_time
from cxcheck.sources.base import ApiSource, SourceError
from cxcheck.sources.churn import DealWindows, number
from cxcheck.sources.fields import Fields
from cxcheck.sources.rows import Rejects, dated

PAGE = 500
COMPANY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")


def add_deal_arguments(options) -> None:
    """Options every CRM deals source shares."""
    options.add("--currency", metavar="CODE",
                help="the account's currency, for the lost value (default: as the account says: Pipedrive's "
                     "default currency, HubSpot's company currency)")
    options.add("--pipeline", metavar="ID", help="deals sources: only deals of this pipeline")


class Pipedrive(ApiSource):
    name = "Pipedrive"
    option, metavar = "--pipedrive", "COMPANY"
    help = "Pipedrive deals won and lost (COMPANY as in COMPANY.pipedrive.com; API token: --token-env/--token-file)"
    rate_limit = "Pipedrive spends a daily token budget per company and limits bursts per 2 seconds"
    add_arguments = staticmethod(add_deal_arguments)
    value_form = COMPANY, "the company's subdomain, as in COMPANY.pipedrive.com"

    def __init__(self, value, run):
        super().__init__(value, run)
        self.base_url = self.args.api_url or f"https://{value}.pipedrive.com/api"
        self.rows = 0

    @property
    def credential(self) -> str:
        return f"the API token ({self.token_origin})"

    def auth(self) -> dict:
        return {"headers": {"x-api-token": self.token}}

    def account_currency(self) -> str:
        client = self.client
        body = client.get_json(client.url("/v1/users/me"), what="the account's currency")
        currency = ((body or {}).get("data") or {}).get("default_currency") if isinstance(body, dict) else None
        if not isinstance(currency, str) or not currency:
            raise SourceError("Pipedrive answer of /v1/users/me has no data.default_currency; give --currency")
        return currency

    def read_churn(self, windows, rejects: Rejects):
        client, args = self.client, self.args
        currency = args.currency or self.account_currency()
        deals = DealWindows(windows, "deals closed", f"Pipedrive deals won or lost, values in {currency}", currency)
        parse_time = TimeParser()
        params = {"status": "won,lost", "updated_since": iso_time(deals.oldest), "limit": PAGE,
                  "sort_by": "update_time", "sort_direction": "asc"}
        if args.pipeline:
            params["pipeline_id"] = args.pipeline
        fields = Fields("Pipedrive", ("status", "won_time", "lost_time", "value", "currency"), "deals")
        page = 1
        while True:
            body = client.get_json(client.url("/v2/deals"), params=params, what=f"deals page {page}")
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"Pipedrive answer (page {page}) has no 'data' list of deals")
            for index, deal in enumerate(body["data"]):
                fields.saw(deal)
                where = f"page {page} item {index + 1}"
                status = deal.get("status") if isinstance(deal, dict) else None
                if status not in ("won", "lost"):
                    rejects.add("not a won or lost deal", where)
                    continue
                closed = dated(deal.get(f"{status}_time"), parse_time, rejects, where, "close")
                if closed is None:
                    continue
                self.rows += 1
                deals.add(status == "won", closed, number(deal.get("value")), deal.get("currency") or "",
                          deal.get("lost_reason"))
            fields.check(f"page {page} of the deals")
            cursor = (body.get("additional_data") or {}).get("next_cursor")
            if not cursor:
                return deals.tallies
            client.follow(cursor)
            params["cursor"] = cursor
            page += 1
