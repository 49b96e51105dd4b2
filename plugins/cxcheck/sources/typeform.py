"""Typeform: GET /forms/{id}/responses, Bearer token, newest first, paged with `before`."""

from __future__ import annotations

from cxcheck.sources.apiclient import ApiClient
from cxcheck.sources.responses import Rejects, TimeParser, iso_time, record

DEFAULT_API = "https://api.typeform.com"
PAGE_SIZE = 1000


def read(client: ApiClient, rejects: Rejects, form_id: str, field_ref: str, since: float, until: float):
    parse_time = TimeParser()
    params = {"page_size": PAGE_SIZE, "since": iso_time(since), "until": iso_time(until), "completed": "true"}
    page = 1
    while True:
        body = client.get_json(client.url(f"/forms/{form_id}/responses"), params=params, what=f"page {page}")
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise client.unexpected("an object with items")
        for index, item in enumerate(items):
            where = f"page {page} item {index + 1}"
            answers = item.get("answers") if isinstance(item, dict) else None
            answer = next((a for a in answers or [] if isinstance(a, dict)
                           and (a.get("field") or {}).get("ref") == field_ref), None)
            if answer is None:
                rejects.add(f"no answer to field {field_ref}", where)
                continue
            found = record(answer.get("number"), item.get("submitted_at"), parse_time, rejects, where)
            if found:
                yield found
        if len(items) < PAGE_SIZE or not isinstance(items[-1], dict) or not items[-1].get("token"):
            return
        params = dict(params, before=items[-1]["token"])
        page += 1
