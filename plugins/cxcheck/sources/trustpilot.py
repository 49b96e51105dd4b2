"""Trustpilot: a business unit's public reviews, GET /v1/business-units/{id}/reviews with the
API key in the apikey header, newest first (orderBy createdat.desc), perPage up to 100, numbered
pages. Reviews of a company carry no app version."""

from __future__ import annotations

import re

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ApiSource
from cxcheck.sources.reviews import ReviewSource, review
from cxcheck.sources.rows import Rejects

PER_PAGE = 100
UNIT = re.compile(r"^[0-9a-fA-F]{24}$")


class Trustpilot(ReviewSource, ApiSource):
    name = "Trustpilot"
    option, metavar = "--trustpilot", "BUSINESS_UNIT_ID"
    help = "a business unit's reviews on Trustpilot (the API key as --token-env/--token-file)"
    default_api = "https://api.trustpilot.com"
    versions = False
    value_form = UNIT, "the business unit id, 24 hexadecimal digits (find it with the API's business-units/find)"

    def auth(self) -> dict:
        return {"headers": {"apikey": self.token}}

    def read_reviews(self, since: float, until: float, rejects: Rejects):
        client, parse_time = self.client, TimeParser()
        url = client.url(f"/v1/business-units/{self.value}/reviews")
        page = 1
        while True:
            body = client.get_json(url, params={"perPage": PER_PAGE, "page": page, "orderBy": "createdat.desc"},
                                   what=f"reviews page {page}")
            items = client.field(body, "reviews", list, f"reviews page {page}")
            oldest = None
            for index, item in enumerate(items):
                where = f"page {page} review {index + 1}"
                if not isinstance(item, dict):
                    rejects.add("not a JSON object", where)
                    continue
                found = review(item.get("stars"), item.get("createdAt"), parse_time, rejects, where, None,
                               item.get("title"), item.get("text"))
                if found:
                    oldest = found.when if oldest is None else min(oldest, found.when)
                    yield found
            if len(items) < PER_PAGE or (oldest is not None and oldest <= since):
                return
            page += 1
