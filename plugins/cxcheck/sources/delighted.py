"""Delighted: GET /v1/survey_responses.json, Basic auth with the API key, numbered pages."""

from __future__ import annotations

from cxcheck.sources.apiclient import ApiClient
from cxcheck.sources.responses import Rejects, TimeParser, item_record

DEFAULT_API = "https://api.delighted.com"
PER_PAGE = 100


def unix_time(raw) -> float | None:
    """Delighted's created_at is unix seconds, nothing else (and finite: JSON can say 1e999)."""
    return _SECONDS(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None


_SECONDS = TimeParser()


def read(client: ApiClient, rejects: Rejects, since: float, until: float):
    page = 1
    while True:
        items = client.get_json(client.url("/v1/survey_responses.json"),
                                params={"page": page, "per_page": PER_PAGE, "since": int(since),
                                        "until": int(until) + 1}, what=f"page {page}")
        if not isinstance(items, list):
            raise client.unexpected("a list of responses")
        for index, item in enumerate(items):
            where = f"page {page} item {index + 1}"
            found = item_record(item, "score", "created_at", unix_time, rejects, where)
            if found:
                yield found
        if len(items) < PER_PAGE:
            return
        page += 1

