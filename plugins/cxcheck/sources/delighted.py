"""Delighted: GET /v1/survey_responses.json, Basic auth with the API key, numbered pages."""

from __future__ import annotations

from cxcheck.sources.apiclient import ApiClient
from cxcheck.sources.responses import Rejects, parse_score, score_problem

DEFAULT_API = "https://api.delighted.com"
PER_PAGE = 100


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
            raw = item.get("score") if isinstance(item, dict) else None
            score = parse_score(raw)
            if score is None:
                rejects.add(score_problem(raw), where)
                continue
            created = item.get("created_at")
            if not isinstance(created, (int, float)) or isinstance(created, bool):
                rejects.add("unreadable date", where)
                continue
            yield float(created), score
        if len(items) < PER_PAGE:
            return
        page += 1

