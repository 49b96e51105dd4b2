"""Pipedrive: deals won and lost, from API v2 `GET /api/v2/deals?status=won,lost&updated_since=...`
(cursor paging: `additional_data.next_cursor`, null on the last page; at most 500 a page). A deal
closed in a window was updated at or after its close, so `updated_since` the oldest window's start
misses none; each is placed by `won_time` or `lost_time` (RFC 3339 in v2). Its `value` is in its
own `currency`; the account's currency is the user's `default_currency` from `GET /api/v1/users/me`
(no v2 equivalent), unless --currency names it. The API token goes in the `x-api-token` header,
never in the URL. Archived deals are not listed by this endpoint (Pipedrive lists them apart).
"""

from __future__ import annotations

import re

from cxcheck.runtime.times import TimeParser, iso_time
from cxcheck.sources.base import ApiSource, ConfigError, SourceError
from cxcheck.sources.churn import DealWindows, number
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

    def __init__(self, value, run):
        super().__init__(value, run)
        if not COMPANY.match(value):
            raise ConfigError(f"--pipedrive {value!r}: the company's subdomain, as in COMPANY.pipedrive.com")
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
        page = 1
        while True:
            body = client.get_json(client.url("/v2/deals"), params=params, what=f"deals page {page}")
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"Pipedrive answer (page {page}) has no 'data' list of deals")
            for index, deal in enumerate(body["data"]):
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
            cursor = (body.get("additional_data") or {}).get("next_cursor")
            if not cursor:
                return deals.tallies
            client.follow(cursor)
            params["cursor"] = cursor
            page += 1
