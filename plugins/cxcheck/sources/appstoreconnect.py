"""App Store Connect: GET /v1/apps/{id}/customerReviews, newest first, 200 a page, links.next,
authorised by an ES256 JSON Web Token made from the team's API key (.p8, --token-file) with its
key id and issuer id. Every review of every territory (or one, --territory), not only the 500 the
public feed keeps; no app version on a review (the API does not give it)."""

from __future__ import annotations

import re

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ApiSource, ConfigError
from cxcheck.sources.reviews import ReviewSource, review
from cxcheck.sources.rows import Rejects

LIMIT = 200
TERRITORY = re.compile(r"^[A-Z]{3}$")


class AppStoreConnect(ReviewSource, ApiSource):
    name = "App Store Connect"
    option, metavar = "--app-store-connect", "APP_ID"
    help = "an app's reviews through App Store Connect (with --key-id, --issuer-id, the .p8 key as --token-file)"
    default_api = "https://api.appstoreconnect.apple.com"
    rate_limit = "App Store Connect gives each key an hourly budget, its X-Rate-Limit header"
    versions = False
    key_file = True                 # the .p8 key: several lines
    value_form = re.compile(r"^[0-9]+$"), "the app's numeric Apple ID"
    needs = ("--key-id", "--issuer-id")
    needs_why = "App Store Connect, Users and Access, Integrations; the .p8 key as --token-file"

    @classmethod
    def add_arguments(cls, options):
        options.add("--key-id", metavar="ID", help="--app-store-connect: the API key's id")
        options.add("--issuer-id", metavar="UUID", help="--app-store-connect: the team's issuer id")
        options.add("--territory", metavar="ISO3",
                    help="--app-store-connect: only reviews of one territory, such as FRA (default: all)")

    def __init__(self, value, run):
        super().__init__(value, run)
        args = self.args
        if args.territory and not TERRITORY.match(args.territory):
            raise ConfigError(f"--territory {args.territory!r}: three capital letters, such as FRA or USA")

    @property
    def credential(self) -> str:
        return f"the key {self.args.key_id} (a token signed with {self.token_origin})"

    def auth(self) -> dict:
        from cxcheck.sources.storetokens import app_store_connect_token

        token = app_store_connect_token(self.token, self.args.key_id, self.args.issuer_id)
        return {"headers": {"Authorization": f"Bearer {token}"}}

    def read_reviews(self, since: float, until: float, rejects: Rejects):
        client, parse_time = self.client, TimeParser()
        params = {"sort": "-createdDate", "limit": LIMIT}
        if self.args.territory:
            params["filter[territory]"] = self.args.territory
        url, page = client.url(f"/v1/apps/{self.value}/customerReviews"), 1
        while url:
            body = client.get_json(url, params=params if page == 1 else None, what=f"reviews page {page}")
            data = client.field(body, "data", list, f"reviews page {page}")
            oldest = None
            for index, item in enumerate(data):
                where = f"page {page} item {index + 1}"
                attributes = item.get("attributes") if isinstance(item, dict) else None
                if not isinstance(attributes, dict):
                    rejects.add("no attributes", where)
                    continue
                found = review(attributes.get("rating"), attributes.get("createdDate"), parse_time, rejects, where,
                               None, attributes.get("title"), attributes.get("body"))
                if found:
                    oldest = found.when if oldest is None else min(oldest, found.when)
                    yield found
            links = body.get("links") if isinstance(body.get("links"), dict) else {}
            url = links.get("next") if isinstance(links.get("next"), str) else None
            if oldest is not None and oldest <= since:
                return
            if url:
                client.follow(url)
            page += 1
