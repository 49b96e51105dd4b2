"""HubSpot deals closed won and closed lost, for check_cx_churn: the HubSpot source (its token,
its client, its CRM search paged past the 10,000-result cap, a property the account lacks named)
reading `deals` (https://developers.hubspot.com/docs/guides/api/crm/objects/deals) whose
`dealstage` is a won or a lost stage (closedwon, closedlost in the default pipeline;
--won-stage/--lost-stage for other pipelines' stage ids) and whose `closedate` lies in the
windows. Properties (https://knowledge.hubspot.com/properties/hubspots-default-deal-properties):
the lost value is `amount_in_home_currency` (the account's company currency, `companyCurrency`
of GET /account-info/v3/details, https://developers.hubspot.com/docs/api/settings/account-information-api),
or `amount` with `deal_currency_code` when a deal has no home-currency amount; `closed_lost_reason`
gives the reasons; `pipeline` filters.
"""

from __future__ import annotations

from cxcheck.sources.base import SourceError
from cxcheck.sources.churn import DealWindows, number
from cxcheck.sources.hubspot import HubSpot, HubSpotTime, search
from cxcheck.sources.pipedrive import add_deal_arguments
from cxcheck.sources.rows import Rejects, dated

PROPERTIES = ["dealstage", "closedate", "amount", "amount_in_home_currency", "deal_currency_code",
              "closed_lost_reason", "pipeline"]


class HubSpotDeals(HubSpot):
    help = "HubSpot deals closed won and closed lost (private app token: --token-env/--token-file)"
    rate_limit = "HubSpot's search endpoints allow 5 requests a second per account"

    @classmethod
    def add_arguments(cls, options):
        add_deal_arguments(options)
        options.add("--won-stage", action="append", metavar="STAGE_ID",
                    help="--hubspot: a deal stage that means won, repeatable (default closedwon)")
        options.add("--lost-stage", action="append", metavar="STAGE_ID",
                    help="--hubspot: a deal stage that means lost, repeatable (default closedlost)")

    def account_currency(self) -> str:
        client = self.client
        body = client.get_json(client.url("/account-info/v3/details"), what="the account's currency")
        return client.field(body, "companyCurrency", str, "its account details (give --currency to skip them)")

    def read_churn(self, windows, rejects: Rejects):
        args = self.args
        won, lost = args.won_stage or ["closedwon"], args.lost_stage or ["closedlost"]
        currency = args.currency or self.account_currency()
        deals = DealWindows(windows, "deals closed", f"HubSpot deals in stages {', '.join(won + lost)}, values in "
                            f"{currency}", currency)
        extra = [("dealstage", "IN", won + lost)]
        if args.pipeline:
            extra.append(("pipeline", "EQ", args.pipeline))
        self.rows, parse_time = 0, HubSpotTime()
        for where, props in search(self.client, "deals", "closedate", deals.oldest, deals.newest, extra, PROPERTIES,
                                   rejects):
            stage = props.get("dealstage")
            if stage not in won and stage not in lost:
                rejects.add("stage neither won nor lost", where)
                continue
            closed = dated(props.get("closedate"), parse_time, rejects, where, "close")
            if closed is None:
                continue
            value, deal_currency = number(props.get("amount_in_home_currency")), currency
            if value is None:
                value, deal_currency = number(props.get("amount")), props.get("deal_currency_code") or currency
            self.rows += 1
            deals.add(stage in won, closed, value, deal_currency, props.get("closed_lost_reason"))
        return deals.tallies


__all__ = ["HubSpotDeals", "SourceError"]
