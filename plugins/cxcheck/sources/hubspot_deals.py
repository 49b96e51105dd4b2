"""HubSpot deals closed won and closed lost, from the CRM search API:
`POST /crm/v3/objects/deals/search` with a filter on `dealstage` (closedwon, closedlost in the
default pipeline; --won-stage/--lost-stage for other pipelines' stage ids) and `closedate` within
the windows, 200 a page, paged by `paging.next.after`; HubSpot's search stops at 10,000 results.
The lost value is `amount_in_home_currency` (the account's company currency, from
`GET /account-info/v3/details`), or `amount` when the deal has no home-currency amount and is in
that currency. `closed_lost_reason` gives the reasons. Private-app token as Bearer.
"""

from __future__ import annotations

from cxcheck.sources.base import ApiSource, SourceError
from cxcheck.sources.churn import DealWindows, number
from cxcheck.sources.pipedrive import add_deal_arguments
from cxcheck.sources.responses import Rejects, TimeParser

PAGE = 200
SEARCH_CAP = 10_000
PROPERTIES = ["dealstage", "closedate", "amount", "amount_in_home_currency", "deal_currency_code",
              "closed_lost_reason", "pipeline"]


class HubSpotDeals(ApiSource):
    name = "HubSpot"
    option, metavar = "--hubspot-deals", None
    help = "HubSpot deals closed won and closed lost (private app token: --token-env/--token-file)"
    default_api = "https://api.hubapi.com"
    rate_limit = "HubSpot's search endpoints allow 5 requests a second per account"

    @classmethod
    def add_arguments(cls, options):
        add_deal_arguments(options)
        options.add("--won-stage", action="append", metavar="STAGE_ID",
                    help="--hubspot-deals: a stage that means won, repeatable (default closedwon)")
        options.add("--lost-stage", action="append", metavar="STAGE_ID",
                    help="--hubspot-deals: a stage that means lost, repeatable (default closedlost)")

    def account_currency(self) -> str:
        client = self.client
        body = client.get_json(client.url("/account-info/v3/details"), what="the account's currency")
        currency = body.get("companyCurrency") if isinstance(body, dict) else None
        if not isinstance(currency, str) or not currency:
            raise SourceError("HubSpot answer of /account-info/v3/details has no companyCurrency; give --currency")
        return currency

    def read_churn(self, windows, rejects: Rejects):
        client, args = self.client, self.args
        won, lost = args.won_stage or ["closedwon"], args.lost_stage or ["closedlost"]
        currency = args.currency or self.account_currency()
        deals = DealWindows(windows, "deals closed", f"HubSpot deals in stages {', '.join(won + lost)}, values in "
                            f"{currency}", currency)
        filters = [{"propertyName": "dealstage", "operator": "IN", "values": won + lost},
                   {"propertyName": "closedate", "operator": "GT", "value": str(int(deals.oldest * 1000))},
                   {"propertyName": "closedate", "operator": "LTE", "value": str(int(deals.newest * 1000))}]
        if args.pipeline:
            filters.append({"propertyName": "pipeline", "operator": "EQ", "value": args.pipeline})
        query = {"filterGroups": [{"filters": filters}], "properties": PROPERTIES, "limit": PAGE,
                 "sorts": [{"propertyName": "closedate", "direction": "ASCENDING"}]}
        parse_time, page, self.rows = TimeParser(), 1, 0
        while True:
            body = client.post_json(client.url("/crm/v3/objects/deals/search"), query, what=f"deals page {page}")
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise SourceError(f"HubSpot answer (page {page}) has no 'results' list of deals")
            if isinstance(body.get("total"), int) and body["total"] > SEARCH_CAP:
                raise SourceError(f"HubSpot found {body['total']} deals, more than its search gives ({SEARCH_CAP}): "
                                  "shorten --window")
            for index, deal in enumerate(body["results"]):
                where = f"page {page} item {index + 1}"
                props = deal.get("properties") if isinstance(deal, dict) else None
                if not isinstance(props, dict):
                    rejects.add("no 'properties'", where)
                    continue
                stage = props.get("dealstage")
                if stage not in won and stage not in lost:
                    rejects.add("stage neither won nor lost", where)
                    continue
                closed = parse_time(props.get("closedate"))
                if closed is None:
                    rejects.add("unreadable closedate", where)
                    continue
                value, deal_currency = number(props.get("amount_in_home_currency")), currency
                if value is None:
                    value, deal_currency = number(props.get("amount")), props.get("deal_currency_code") or currency
                self.rows += 1
                deals.add(stage in won, closed, value, deal_currency, props.get("closed_lost_reason"))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return deals.tallies
            client.follow(after)
            query["after"] = after
            page += 1
