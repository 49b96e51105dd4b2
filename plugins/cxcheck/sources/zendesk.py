"""Zendesk Support: satisfaction ratings (CSAT), ticket metrics, the backlog.

Auth (https://support.zendesk.com/hc/en-us/articles/4408831452954): an agent's API token as
Basic `EMAIL/token:TOKEN` (--zendesk-email), or an OAuth token as Bearer.

Fields read, by page:
- ratings, GET /api/v2/satisfaction_ratings between start_time and end_time
  (https://developer.zendesk.com/api-reference/ticketing/ticket-management/satisfaction_ratings/),
  cursor paging (https://developer.zendesk.com/api-reference/introduction/pagination/: page[size]
  100, meta.has_more, links.next): each rating's `score` (good, bad, offered, unoffered) and
  `created_at`. Good and bad go on the check's scale (the top satisfied answer, the lowest other
  one), offered-but-unanswered ones count apart (the response rate).
- ticket metrics, from the incremental ticket export with their metric sets,
  GET /api/v2/incremental/tickets/cursor.json?start_time=...&include=metric_sets
  (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/:
  `tickets`, `after_url`, `after_cursor`, `end_of_stream`), rather than GET /api/v2/ticket_metrics:
  the latter has no time filter, so a large account would page its whole history (100 items a
  page) on every check, while the export starts at the window (1000 tickets a page; 10 requests a
  minute, so a window of up to ~10,000 updated tickets reads within a minute). Each ticket's `id`
  and `created_at`; its metric set (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/)
  `ticket_id`, `solved_at` and `reply_time_in_minutes` or `full_resolution_time_in_minutes`, each
  `{calendar, business}`. In business hours the calendar minutes still say when the reply came:
  one after --now had not come by then (business minutes added to the creation time would place
  a reply of Monday morning on Friday evening).
- backlog, GET /api/v2/search/count (`count`) and the oldest by GET /api/v2/search.json
  (`results[].created_at`), https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/.
A field absent from every record of a page is not the documented shape (sources/fields.py).
"""

from __future__ import annotations

import re

from cxcheck.runtime import excerpt
from cxcheck.runtime.times import TimeParser, iso_time
from cxcheck.sources.base import ApiSource
from cxcheck.sources.fields import Fields
from cxcheck.sources.rows import Rejects, dated
from cxcheck.sources.scores import UNANSWERED, Scale
from cxcheck.sources.tickets import duration

SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$", re.I)
PAGE_SIZE = 100
EXPORT_PAGE = 1000
MEASURED = {"first-reply": "reply_time_in_minutes", "resolution": "full_resolution_time_in_minutes"}


class Zendesk(ApiSource):
    name = "Zendesk"
    option, metavar = "--zendesk", "SUBDOMAIN"
    help = "a Zendesk account, SUBDOMAIN.zendesk.com (with --zendesk-email for an API token)"
    survey_kinds = ("CSAT",)            # good/bad ratings: no NPS
    reports_unanswered = True
    business_hours = True
    max_requests = 2000         # 200,000 ratings at 100 a page
    value_form = SUBDOMAIN, "the account's subdomain, as in SUBDOMAIN.zendesk.com"

    @classmethod
    def add_arguments(cls, options):
        options.add("--zendesk-email", metavar="EMAIL",
                    help="--zendesk: the agent whose API token --token-env/--token-file holds (sent as "
                         "EMAIL/token); without it the token is an OAuth access token")

    def __init__(self, value, run):
        self.default_api = f"https://{value.lower()}.zendesk.com"
        super().__init__(value, run)
        self.email = self.args.zendesk_email

    def auth(self) -> dict:
        if self.email:
            return self.basic_auth(f"{self.email}/token", self.token)
        return super().auth()

    @property
    def credential(self) -> str:
        who = f"API token of {self.email}" if self.email else "OAuth token"
        return f"the {who} ({self.token_origin})"

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        good, bad = scale.rating(True), scale.rating(False)
        client, parse_time = self.client, TimeParser()
        url = client.url("/api/v2/satisfaction_ratings")
        params = {"page[size]": PAGE_SIZE, "start_time": int(since), "end_time": int(until) + 1}
        fields = Fields("Zendesk", ("score", "created_at"), "ratings")
        page = 1
        while url:
            where = f"page {page} of the satisfaction ratings"
            body = client.get_json(url, params=params, what=f"satisfaction ratings page {page}")
            for index, item in enumerate(client.field(body, "satisfaction_ratings", list, where)):
                fields.saw(item)
                found = _rating(item, parse_time, good, bad, rejects, f"page {page} item {index + 1}")
                if found:
                    yield found
            fields.check(where)
            url, params = _next_page(client, body, where), None
            page += 1

    def read_tickets(self, measure: str, hours: str, by: str, since: float, until: float, rejects: Rejects):
        client, parse_time = self.client, TimeParser()
        key = MEASURED[measure]
        url = client.url("/api/v2/incremental/tickets/cursor.json")
        params = {"start_time": int(since), "include": "metric_sets", "exclude_deleted": "true",
                  "per_page": EXPORT_PAGE}
        fields = (Fields("Zendesk", ("id", "created_at"), "tickets"),
                  Fields("Zendesk", ("solved_at", key), "metric sets"),
                  Fields("Zendesk", ("calendar", hours), f"{key} objects"))
        page = 1
        while True:
            where = f"page {page} of the ticket export"
            body = client.get_json(url, params=params, what=f"ticket export page {page}")
            tickets = client.field(body, "tickets", list, where)
            sideloaded = {m.get("ticket_id"): m for m in body.get("metric_sets") or [] if isinstance(m, dict)}
            for index, ticket in enumerate(tickets):
                found = _ticket(ticket, sideloaded, key, hours, until, parse_time, rejects,
                                f"page {page} ticket {index + 1}", fields)
                if found:
                    yield found
            for checked in fields:
                checked.check(where)
            if client.field(body, "end_of_stream", bool, where):
                return
            url, params = client.field(body, "after_url", str, where), None
            client.follow(body.get("after_cursor") or url)
            page += 1

    def read_backlog(self, before: float, rejects: Rejects):
        client = self.client
        query = f"type:ticket status<solved created<{iso_time(before)}"
        body = client.get_json(client.url("/api/v2/search/count"), params={"query": query}, what="backlog count")
        count = client.field(body, "count", int, "the search count")
        oldest = None
        if count:
            body = client.get_json(client.url("/api/v2/search.json"), what="oldest unsolved ticket",
                                   params={"query": query, "sort_by": "created_at", "sort_order": "asc",
                                           "per_page": 1})
            results = client.field(body, "results", list, "the search")
            oldest = TimeParser()(results[0].get("created_at")) if results and isinstance(results[0], dict) else None
        return count, oldest, None


def _rating(item, parse_time, good: int, bad: int, rejects: Rejects, where):
    """(time, score) of one satisfaction rating; None for one never offered or unreadable."""
    if not isinstance(item, dict):
        rejects.add("not a JSON object", where)
        return None
    score = item.get("score")
    if score == "unoffered":
        return None
    points = {"good": good, "bad": bad, "offered": UNANSWERED}.get(score)
    if points is None:
        rejects.add(f"score not good, bad or offered ({excerpt(str(score), 20)})", where)
        return None
    when = dated(item.get("created_at"), parse_time, rejects, where)
    return None if when is None else (when, points)


def _next_page(client, body, where: str):
    """The next page's URL: cursor paging (meta.has_more, links.next), or offset paging's next_page."""
    if "meta" in body:
        if not client.field(body, "meta", dict, where).get("has_more"):
            return None
        url = client.field(body.get("links") if isinstance(body.get("links"), dict) else {}, "next", str,
                            f"{where} (links)")
    else:
        url = body.get("next_page")
        if not url:
            return None
    client.follow(url)
    return url


def _ticket(ticket, sideloaded: dict, key: str, hours: str, until: float, parse_time, rejects: Rejects, where,
            fields=None):
    """(created, solved, seconds) of one exported ticket and its metric set; the wait None when
    it ended after `until` (it had not ended then)."""
    if not isinstance(ticket, dict):
        rejects.add("not a JSON object", where)
        return None
    tickets, metric_sets, waits = fields or (None, None, None)
    if tickets:
        tickets.saw(ticket)
    metrics = ticket.get("metric_set") or sideloaded.get(ticket.get("id"))
    if not isinstance(metrics, dict):
        rejects.add("no metric set", where)
        return None
    if metric_sets:
        metric_sets.saw(metrics)
        waits.saw(metrics.get(key))
    created = dated(ticket.get("created_at") or metrics.get("created_at"), parse_time, rejects, where, "creation")
    if created is None:
        return None
    solved = None
    if metrics.get("solved_at"):
        solved = dated(metrics["solved_at"], parse_time, rejects, where, "solved")
        if solved is None:
            return None
    minutes = metrics.get(key)
    try:
        seconds = duration(minutes.get(hours) if isinstance(minutes, dict) else minutes, 1 / 60)
        elapsed = duration(minutes.get("calendar"), 1 / 60) if isinstance(minutes, dict) else seconds
    except (TypeError, ValueError):
        rejects.add(f"{key}.{hours} not a number of minutes", where)
        return None
    if seconds is not None and elapsed is not None and created + elapsed > until:
        seconds = None              # it came after `until`: not yet, then
    return created, solved, seconds
