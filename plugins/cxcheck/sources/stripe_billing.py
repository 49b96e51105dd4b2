"""Stripe subscriptions, for check_cx_revenue: the Stripe source (its key, its client, its paging)
reading GET /v1/subscriptions?status=all (https://docs.stripe.com/api/subscriptions/list; by
default a list leaves the cancelled ones out, and churn needs them).

Each object is read by stripe_subscriptions. The account's currency is --currency, else the only currency
of the subscriptions, else `default_currency` of GET /v1/account
(https://docs.stripe.com/api/accounts/retrieve).
"""

from __future__ import annotations

from cxcheck.sources.fields import Fields
from cxcheck.sources.stripe import Stripe
from cxcheck.sources.stripe_subscriptions import subscriptions
from cxcheck.sources.subscription_exports import add_export_arguments


class StripeBilling(Stripe):
    help = "Stripe's API: subscriptions (secret or restricted key: --token-env/--token-file)"
    permissions = "Subscriptions"

    @classmethod
    def add_arguments(cls, options):
        add_export_arguments(options)       # --currency, declared once for all subscription sources

    def account_currency(self) -> str:
        body = self.answer("/v1/account", {}, "the account's currency")
        return self.client.field(body, "default_currency", str, "/v1/account (give --currency to skip it)")

    def read_subscriptions(self, rejects) -> list:
        fields = Fields("Stripe", ("id", "customer", "status", "items"), "subscriptions")
        listed = self.listing("/v1/subscriptions", {"status": "all"}, "subscriptions", fields)
        named = ((f"subscription {raw.get('id') or n}" if isinstance(raw, dict) else f"item {n}", raw)
                 for n, raw in enumerate(listed, 1))
        found = subscriptions(named, rejects)
        self.rows = len(found)
        return found
