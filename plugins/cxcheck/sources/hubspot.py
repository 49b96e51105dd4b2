"""HubSpot: feedback submissions (NPS and CSAT surveys) and tickets, through the CRM search.

Auth: a private app's access token as Bearer. Both read POST /crm/v3/objects/{object}/search
(https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm), filtered on the
window and sorted by the date it is filtered on, 200 results a page (`paging.next.after`). A
search stops at 10,000 results: past that the reading starts a new search from the last date
read (the results already read at that date skipped), so a large account is read whole.

Fields, each a property under `results[].properties`:
- feedback submissions (https://developers.hubspot.com/docs/api/crm/feedback-submissions):
  `hs_survey_type` (NPS, CSAT), the answer `hs_value`, `hs_submission_timestamp`; the answers'
  meaning, https://knowledge.hubspot.com/customer-feedback/survey-response-properties (CSAT 0, 1,
  2: negative, neutral, positive; positive counts as satisfied);
- tickets (https://developers.hubspot.com/docs/guides/api/crm/objects/tickets and the default
  ticket properties, https://knowledge.hubspot.com/properties/hubspots-default-ticket-properties):
  `createdate`, `closed_date`, and the waits "Time to first agent reply"
  (`time_to_first_agent_reply`) and "Time to close" (`time_to_close`), in milliseconds, calendar
  time (HubSpot gives no business-hours version of them); `hs_pipeline` to filter.
HubSpot leaves a requested property it does not know out of the answer without an error, and
answers a known one without a value as null (https://developers.hubspot.com/docs/guides/api/crm/objects/deals,
the `properties` parameter). So a property absent from every result of a page is checked once
against the account's properties, GET /crm/v3/properties/{object}
(https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties,
`results[].name`): one it lacks stops the run UNKNOWN naming it (sources/fields.py), where it
would have read every ticket as "not replied yet".
"""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ApiSource, SourceError
from cxcheck.sources.fields import Fields
from cxcheck.sources.rows import Rejects, dated
from cxcheck.sources.scores import Scale, parse_score, score_problem, scored
from cxcheck.sources.tickets import duration

PAGE = 200
CAP = 10_000                        # results one search gives at most
CSAT_ANSWERS = Scale(0, 2)          # negative, neutral, positive
WAITS = {"first-reply": "time_to_first_agent_reply", "resolution": "time_to_close"}


class HubSpotTime(TimeParser):
    """A date property: ISO 8601, or milliseconds since the epoch (more digits than unix seconds
    have); otherwise read as any export's date, so a serial date or a date in the future is said."""

    def __call__(self, raw) -> float | None:
        if isinstance(raw, str) and raw.isdigit() and len(raw) > 11:
            return int(raw) / 1000.0
        return super().__call__(raw)


def ms(epoch: float) -> str:
    return str(int(epoch * 1000))


class HubSpot(ApiSource):
    name = "HubSpot"
    option = "--hubspot"
    help = "HubSpot (a private app token): feedback submissions, tickets"
    default_api = "https://api.hubapi.com"
    survey_kinds = ("NPS", "CSAT")

    @classmethod
    def add_arguments(cls, options):
        options.add("--hubspot-survey-id", metavar="ID", help="--hubspot: only this survey's submissions")
        options.add("--hubspot-pipeline", metavar="ID", help="--hubspot: only the tickets of this pipeline")

    @property
    def credential(self) -> str:
        return f"the private app token ({self.token_origin})"

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        if scale.kind not in ("NPS", "CSAT"):
            raise SourceError(f"HubSpot holds NPS and CSAT surveys, not {scale.kind or scale}")
        extra = [("hs_survey_type", "EQ", scale.kind)]
        if self.args.hubspot_survey_id:
            extra.append(("hs_survey_id", "EQ", self.args.hubspot_survey_id))
        wanted = ["hs_submission_timestamp", "hs_survey_type", "hs_value"]
        parse_time = HubSpotTime()
        for where, props in search(self.client, "feedback_submissions", "hs_submission_timestamp", since, until,
                                   extra, wanted, rejects):
            raw = props.get("hs_value")
            if scale.kind == "CSAT":
                answer = parse_score(raw, CSAT_ANSWERS)
                if answer is None:
                    rejects.add(f"CSAT {score_problem(raw, CSAT_ANSWERS)}", where)
                    continue
                raw = scale.rating(answer == CSAT_ANSWERS.high)
            found = scored(raw, props.get("hs_submission_timestamp"), parse_time, rejects, where, scale)
            if found:
                yield found

    def read_tickets(self, measure: str, hours: str, by: str, since: float, until: float, rejects: Rejects):
        key = WAITS[measure]
        sort = "createdate" if by == "created" else "closed_date"
        parse_time = HubSpotTime()
        for where, props in search(self.client, "tickets", sort, since, until, self._pipeline(),
                                   ["createdate", "closed_date", key], rejects):
            created = dated(props.get("createdate"), parse_time, rejects, where, "creation")
            if created is None:
                continue
            solved = None
            if props.get("closed_date"):        # a closed_date that is no date is a reject, not an open ticket
                solved = dated(props["closed_date"], parse_time, rejects, where, "solved")
                if solved is None:
                    continue
            try:
                seconds = duration(props.get(key), 1000)
            except (TypeError, ValueError):
                rejects.add(f"{key} not a number of milliseconds", where)
                continue
            yield created, solved, seconds

    def read_backlog(self, before: float, rejects: Rejects):
        client = self.client
        filters = [{"propertyName": "createdate", "operator": "LT", "value": ms(before)},
                   {"propertyName": "closed_date", "operator": "NOT_HAS_PROPERTY"}]
        filters += [{"propertyName": name, "operator": op, "value": value} for name, op, value in self._pipeline()]
        answer = client.post_json(client.url("/crm/v3/objects/tickets/search"), what="backlog", body={
            "filterGroups": [{"filters": filters}], "sorts": [{"propertyName": "createdate", "direction": "ASCENDING"}],
            "properties": ["createdate"], "limit": 1})
        total = client.field(answer, "total", int, "the backlog search")
        results = client.field(answer, "results", list, "the backlog search")
        first = results[0].get("properties") if results and isinstance(results[0], dict) else None
        return total, HubSpotTime()(first.get("createdate")) if isinstance(first, dict) else None, None

    def _pipeline(self) -> list:
        return [("hs_pipeline", "EQ", self.args.hubspot_pipeline)] if self.args.hubspot_pipeline else []


def search(client, kind: str, sort: str, since: float, until: float, extra: list, properties: list,
           rejects: Rejects):
    """(where, properties) of every object whose `sort` date lies in [since, until], ascending.

    Past the 10,000 results one search gives, a new search starts at the last date read; the
    objects read at that very date are skipped, and a date shared by 10,000 objects stops it."""
    url = client.url(f"/crm/v3/objects/{kind}/search")
    kind_name = kind.replace("_", " ")
    fields = Fields("HubSpot", properties, kind_name, listing=lambda: property_names(client, kind),
                    listed=f"among the account's {kind_name} properties (GET /crm/v3/properties/{kind})")
    low, skip, after, page, query = since, set(), None, 1, 1
    last, at_last = None, set()             # the latest date read, and the objects read at it
    parse_time = HubSpotTime()
    while True:
        filters = [{"propertyName": sort, "operator": "BETWEEN", "value": ms(low), "highValue": ms(until)}]
        # (name, operator, value), or a list of values for IN and NOT_IN
        filters += [{"propertyName": name, "operator": op, "values" if isinstance(value, list) else "value": value}
                    for name, op, value in extra]
        body = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": properties, "limit": PAGE}
        if after:
            body["after"] = after
        where = f"page {page} of the {kind.replace('_', ' ')}"
        answer = client.post_json(url, body, what=f"{kind.replace('_', ' ')} page {page}")
        for index, item in enumerate(client.field(answer, "results", list, where)):
            props = item.get("properties") if isinstance(item, dict) else None
            if not isinstance(props, dict):
                rejects.add("no properties", f"page {page} item {index + 1}")
                continue
            fields.saw(props)
            if item.get("id") in skip:
                continue
            value = parse_time(props.get(sort))
            if value is not None:
                if value != last:
                    last, at_last = value, set()
                at_last.add(item.get("id"))
            yield f"page {page} item {index + 1}", props
        fields.check(where)
        following = ((answer.get("paging") or {}).get("next") or {}).get("after")
        if not following:
            return
        page += 1
        if str(following).isdigit() and int(following) + PAGE > CAP:
            if last is None or last <= low:
                raise SourceError(f"HubSpot: more than {CAP} {kind.replace('_', ' ')} at one {sort}, stopping")
            low, skip, after, query = last, set(at_last), None, query + 1
            continue
        client.follow((query, following))
        after = following


def property_names(client, kind: str) -> set | None:
    """The names of the account's properties of `kind` (None when they cannot be read: a token
    without the scope that lists them)."""
    try:
        body = client.get_json(client.url(f"/crm/v3/properties/{kind}"), what=f"{kind.replace('_', ' ')} properties")
    except SourceError:
        return None
    results = body.get("results") if isinstance(body, dict) else None
    return {item.get("name") for item in results if isinstance(item, dict)} if isinstance(results, list) else None
