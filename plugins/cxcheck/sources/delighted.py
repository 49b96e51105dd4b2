"""Delighted: survey responses, HTTP Basic auth with the API key as user name and no password.

Read (https://app.delighted.com/docs/api/listing-survey-responses): GET /v1/survey_responses.json
with per_page (100), page (numbered from 1, until a page comes short), since and until (unix
seconds): a list of responses, each with `score` (0-10 for NPS, 1-5 for CSAT surveys) and
`created_at` (unix seconds). Authentication: https://app.delighted.com/docs/api (Basic, the key
as user name). A page whose every response lacks `score` or `created_at` is not the documented
shape (sources/fields.py).
"""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ApiSource
from cxcheck.sources.fields import Fields
from cxcheck.sources.rows import Rejects
from cxcheck.sources.scores import Scale, scored_item

PER_PAGE = 100


def unix_time(raw) -> float | None:
    """Delighted's created_at is unix seconds, nothing else (and finite: JSON can say 1e999)."""
    return _SECONDS(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None


_SECONDS = TimeParser()


class Delighted(ApiSource):
    name = "Delighted"
    option = "--delighted"
    help = "Delighted's survey responses"
    default_api = "https://api.delighted.com"

    def auth(self) -> dict:
        return self.basic_auth(self.token, "")      # the API key as Basic user name

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        client = self.client
        fields = Fields("Delighted", ("score", "created_at"), "responses")
        page = 1
        while True:
            items = client.get_json(client.url("/v1/survey_responses.json"),
                                    params={"page": page, "per_page": PER_PAGE, "since": int(since),
                                            "until": int(until) + 1}, what=f"page {page}")
            if not isinstance(items, list):
                raise client.unexpected("a list of responses")
            for index, item in enumerate(items):
                fields.saw(item)
                found = scored_item(item, "score", "created_at", unix_time, rejects,
                                    f"page {page} item {index + 1}", scale)
                if found:
                    yield found
            fields.check(f"page {page} of the survey responses")
            if len(items) < PER_PAGE:
                return
            page += 1
