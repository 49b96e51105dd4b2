"""Typeform: GET /forms/{id}/responses, Bearer token, newest first, paged with `before`."""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser, iso_time
from cxcheck.sources.base import ApiSource, ConfigError
from cxcheck.sources.rows import Rejects
from cxcheck.sources.scores import Scale, scored

PAGE_SIZE = 1000


class Typeform(ApiSource):
    name = "Typeform"
    option, metavar = "--typeform", "FORM_ID"
    help = "a Typeform form (with --field-ref)"
    default_api = "https://api.typeform.com"

    @classmethod
    def add_arguments(cls, options):
        options.add("--field-ref", metavar="REF", help="--typeform: the rating or NPS field's ref")

    def __init__(self, value, run):
        super().__init__(value, run)
        if not self.args.field_ref:
            raise ConfigError("--typeform needs --field-ref (the survey field's ref)")

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        client, field_ref = self.client, self.args.field_ref
        parse_time = TimeParser()
        params = {"page_size": PAGE_SIZE, "since": iso_time(since), "until": iso_time(until), "completed": "true"}
        page = 1
        while True:
            body = client.get_json(client.url(f"/forms/{self.value}/responses"), params=params, what=f"page {page}")
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
                found = scored(answer.get("number"), item.get("submitted_at"), parse_time, rejects, where, scale)
                if found:
                    yield found
            if len(items) < PAGE_SIZE or not isinstance(items[-1], dict) or not items[-1].get("token"):
                return
            client.follow(items[-1]["token"])
            params = dict(params, before=items[-1]["token"])
            page += 1
