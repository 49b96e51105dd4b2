"""Typeform: a form's rating, opinion scale or NPS field, Bearer token (a personal access token).

Read (https://developer.typeform.com/responses/reference/retrieve-responses/):
- GET /forms/{form_id}/responses with page_size (at most 1000), since, until, completed=true;
  newest first, paged with `before` (the last item's `token`): each item's `submitted_at` and
  its `answers[]`, each with `field.ref` and, for rating, opinion scale and NPS fields, `number`.
- GET /forms/{form_id} (https://developer.typeform.com/create/reference/retrieve-form/):
  `fields[].ref`, and the fields of a group under `fields[].properties.fields[]`. Asked once, when
  a page of responses holds no answer to --field-ref: a ref the form has was skipped by every
  respondent of the page; one it lacks is a configuration mismatch (sources/fields.py).
A response leaves out the fields its respondent skipped: an optional question left unanswered
is counted apart (skipped), never as a reject.

Hosts: api.typeform.com, and api.eu.typeform.com for accounts that keep their responses in the
EU data center (--region eu; Typeform's own client documents that base URL,
https://github.com/Typeform/js-api-client#usage). The other region's host answers a form's
responses with an empty list, not an error: when the window holds none, the source asks for the
form's latest response and says where to look (an earlier window, or the other region).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from cxcheck.runtime.times import TimeParser, iso_time
from cxcheck.sources.base import ApiSource
from cxcheck.sources.fields import Fields
from cxcheck.sources.rows import Rejects
from cxcheck.sources.scores import Scale, scored

PAGE_SIZE = 1000
REGIONS = {"us": "https://api.typeform.com", "eu": "https://api.eu.typeform.com"}


class Typeform(ApiSource):
    name = "Typeform"
    option, metavar = "--typeform", "FORM_ID"
    help = "a Typeform form (with --field-ref)"
    default_api = REGIONS["us"]
    reports_skipped = True
    needs, needs_why = ("--field-ref",), "the survey field's ref"

    @classmethod
    def add_arguments(cls, options):
        options.add("--field-ref", metavar="REF", help="--typeform: the rating or NPS field's ref")
        options.add("--region", choices=("us", "eu"), default="us",
                    help="--typeform: where the account keeps its responses, us (api.typeform.com, the default) "
                         "or eu (api.eu.typeform.com)")

    def __init__(self, value, run):
        super().__init__(value, run)
        self.region = getattr(self.args, "region", "us") or "us"
        self.base_url = self.args.api_url or REGIONS.get(self.region, REGIONS["us"])
        self.hint = None

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        client, ref, form = self.client, self.args.field_ref, self.value
        parse_time = TimeParser()
        url = client.url(f"/forms/{form}/responses")
        params = {"page_size": PAGE_SIZE, "since": iso_time(since), "until": iso_time(until), "completed": "true"}
        items_read = Fields("Typeform", ("submitted_at",), "responses")
        answered = Fields("Typeform", (ref,), "responses", listing=self.form_refs,
                          listed=f"field ref in form {form}'s definition",
                          advice="a configuration mismatch (check --field-ref), not customer data")
        numbers = Fields("Typeform", ("number",), f"answers to field {ref}",
                         advice="a configuration mismatch (--field-ref names a field without numbers; a rating, "
                                "opinion scale or NPS field has them), not customer data")
        page = 1
        while True:
            body = client.get_json(url, params=params, what=f"page {page}")
            where = f"page {page} of the responses"
            items = client.field(body, "items", list, where)
            if page == 1 and not items:
                self.hint = self.where_to_look()
            for index, item in enumerate(items):
                place = f"page {page} item {index + 1}"
                if not isinstance(item, dict):
                    rejects.add("not a JSON object", place)
                    continue
                items_read.saw(item)
                answers = [a for a in item.get("answers") or [] if isinstance(a, dict)]
                answered.saw({(a.get("field") or {}).get("ref") if isinstance(a.get("field"), dict) else None: 1
                              for a in answers})
                answer = next((a for a in answers if isinstance(a.get("field"), dict) and a["field"].get("ref") == ref),
                              None)
                if answer is None:
                    rejects.skip(place)     # the respondent skipped the field
                    continue
                numbers.saw(answer)
                found = scored(answer.get("number"), item.get("submitted_at"), parse_time, rejects, place, scale)
                if found:
                    yield found
            items_read.check(where)
            answered.check(where)
            numbers.check(where)
            if len(items) < PAGE_SIZE or not isinstance(items[-1], dict) or not items[-1].get("token"):
                return
            client.follow(items[-1]["token"])
            params = dict(params, before=items[-1]["token"])
            page += 1

    def form_refs(self) -> set:
        """The refs of the form's fields, those inside groups included."""
        client = self.client
        body = client.get_json(client.url(f"/forms/{self.value}"), what="the form's definition")
        refs, pending = set(), list(client.field(body, "fields", list, "the form's definition"))
        while pending:
            field = pending.pop()
            if isinstance(field, dict):
                refs.add(field.get("ref"))
                properties = field.get("properties")
                inner = properties.get("fields") if isinstance(properties, dict) else None
                pending.extend(inner if isinstance(inner, list) else [])
        return refs

    def where_to_look(self) -> str:
        """Why the window is empty, as far as the API can tell: the form's latest response, or none
        at all on this host (the other region's host answers so)."""
        client, form = self.client, self.value
        body = client.get_json(client.url(f"/forms/{form}/responses"), what="the latest response",
                               params={"page_size": 1, "completed": "true"})
        items = body.get("items") if isinstance(body, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return f"the latest response to Typeform form {form} was submitted {items[0].get('submitted_at')}"
        host = urlsplit(self.base_url).netloc
        other = "us" if self.region == "eu" else "eu"
        return (f"Typeform form {form} has no responses at all on {host}; a form of an account in the {other.upper()} "
                f"data center answers empty there: try --region {other}")
