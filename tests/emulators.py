"""Local emulators of the APIs cxcheck reads (Zendesk, HubSpot, SurveyMonkey, Typeform,
Delighted, Pipedrive, Mixpanel), on 127.0.0.1, as their documentation describes them (the pages
are cited in each class and in the test modules that use them: tests/test_zendesk.py,
tests/test_hubspot.py, tests/test_vendor_answers.py, tests/test_sources_fields.py): paging,
auth, and the faults a test asks for. Also used by bench/bench_support.py.

Faults: `script` answers the next requests with canned (status, headers, body) before the API's
own answers; `headers` go with every answer (rate-limit headers); `endless` pages forever with
fresh cursors; `repeat_cursor` hands out the same cursor again; `drop` removes a key from answers;
`rename` = (old, new) renames a key wherever it stands in an answer (an API that moved a field).
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class ApiEmulator:
    """A JSON API on 127.0.0.1: subclasses answer `route(method, path, query, body)`; the
    credential is the `auth_header` the API reads (Authorization unless it says otherwise)."""

    auth_header = "Authorization"

    def __init__(self, authorization: str):
        self.authorization = authorization
        self.rename: tuple | None = None
        self.requests: list[tuple] = []          # (method, path, query, Authorization)
        self.script: list[tuple] = []
        self.headers: dict = {}
        self.endless = self.repeat_cursor = False
        self.drop: str | None = None
        self.delay = 0.0                         # seconds before each answer
        self.lock = threading.Lock()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one segment, sent at once: else Nagle and the peer's delayed ACK
            # hold every answer 40 ms, and a thousand pages take a minute.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                auth = self.headers.get(emulator.auth_header)
                with emulator.lock:
                    emulator.requests.append((self.command, parts.path, query, auth))
                    canned = emulator.script.pop(0) if emulator.script else None
                if emulator.delay:
                    time.sleep(emulator.delay)
                if canned is not None:
                    status, headers, body = canned
                elif not emulator.authorized(auth):
                    # As some APIs do, the refusal quotes what it got: masking must hold even then.
                    status, headers, body = 401, {}, {"error": "Couldn't authenticate you", "received": auth}
                else:
                    try:
                        status, headers, body = 200, {}, emulator.route(self.command, parts.path, query,
                                                                        decoded(raw, self.headers))
                    except ApiError as exc:
                        status, headers, body = exc.status, {}, getattr(exc, "body", None) or {"error": str(exc)}
                        if isinstance(exc, RateLimited):
                            headers = {"Retry-After": f"{max(exc.reset, 0.05):.2f}"}
                    if isinstance(body, dict) and emulator.drop:
                        body.pop(emulator.drop, None)
                    if emulator.rename:
                        body = renamed(body, *emulator.rename)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**emulator.headers, **headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def authorized(self, auth: str | None) -> bool:
        """Is this header's value the credential? Exact by default; a signed token is verified."""
        return auth == self.authorization

    def route(self, method: str, path: str, query: dict, body):
        raise ApiError(404, f"no route {method} {path}")

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.requests]


def renamed(value, old: str, new: str):
    """A JSON value with every object key `old` renamed `new`, however deep."""
    if isinstance(value, dict):
        return {(new if key == old else key): renamed(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [renamed(item, old, new) for item in value]
    return value


def decoded(raw: bytes, headers):
    """A request's body: JSON, or a form (OAuth token requests) as a dict of its first values."""
    if not raw:
        return None
    if (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    return json.loads(raw)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Zendesk(ApiEmulator):
    """Satisfaction ratings (cursor paging), the incremental ticket export with metric sets, and
    search counts. `ratings`: dicts with score and created_at (a rating whose created_at is not a
    date to filter on says where the window places it in `listed_at`, not sent); `tickets`: dicts
    with id, status, created_at, updated_at and metric_set (inline, or sideloaded as metric_sets
    when `sideload`)."""

    def __init__(self, authorization: str, ratings=(), tickets=(), sideload: bool = False):
        super().__init__(authorization)
        listed = lambda r: epoch(r.get("listed_at") or r["created_at"])
        self.ratings = [{k: v for k, v in r.items() if k != "listed_at"} for r in sorted(ratings, key=listed)]
        self.tickets = sorted(tickets, key=lambda t: epoch(t["updated_at"]))
        # Sorted times beside the items: a window is a bisection, not a scan (bench: 100,000 items).
        self.rated = sorted(map(listed, ratings))
        self.updated = [epoch(t["updated_at"]) for t in self.tickets]
        self.sideload = sideload
        self.issued = 0

    def route(self, method, path, query, body):
        if path == "/api/v2/satisfaction_ratings":
            return self.satisfaction_ratings(query)
        if path == "/api/v2/incremental/tickets/cursor.json":
            return self.ticket_export(query)
        if path == "/api/v2/search/count":
            return {"count": len(self.unsolved(query["query"]))}
        if path == "/api/v2/search.json":
            found = sorted(self.unsolved(query["query"]), key=lambda t: t["created_at"])
            return {"results": found[:int(query.get("per_page", 100))], "count": len(found), "next_page": None}
        return super().route(method, path, query, body)

    def cursor(self, position: int, at: int) -> str:
        """The cursor of the page at `position`; with repeat_cursor, the one of the page just read."""
        self.issued += 1
        token = f"{at}.again" if self.repeat_cursor else f"{position}.{self.issued}"
        return base64.urlsafe_b64encode(token.encode()).decode()

    @staticmethod
    def position(cursor: str) -> int:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(".")[0] or 0)

    def satisfaction_ratings(self, query):
        size = int(query.get("page[size]", 100))
        if size > 100:
            raise ApiError(400, "page[size] must be at most 100")
        start, end = int(query.get("start_time", 0)), int(query.get("end_time", 2 ** 40))
        chosen = self.ratings[bisect.bisect_left(self.rated, start):bisect.bisect_left(self.rated, end)]
        at = self.position(query["page[after]"]) if "page[after]" in query else 0
        page = chosen[at:at + size]
        more = self.endless or at + size < len(chosen)
        after = self.cursor(at + size if not self.endless else at, at)
        link = f"{self.url}/api/v2/satisfaction_ratings?" + urlencode(
            {"page[size]": size, "start_time": start, "end_time": end, "page[after]": after})
        return {"satisfaction_ratings": page, "meta": {"has_more": more, "after_cursor": after, "before_cursor": None},
                "links": {"next": link if more else None, "prev": None}}

    def ticket_export(self, query):
        size = int(query.get("per_page", 1000))
        if size > 1000:
            raise ApiError(400, "per_page must be at most 1000")
        if "cursor" in query:
            at, start = self.position(query["cursor"]), 0
        else:
            at, start = 0, int(query["start_time"])
        chosen = self.tickets[bisect.bisect_left(self.updated, start):]
        page = chosen[at:at + size]
        done = at + size >= len(chosen) and not self.endless
        after = self.cursor(at + size if not self.endless else at, at)
        tickets = [{k: v for k, v in t.items() if k != "metric_set" or not self.sideload} for t in page]
        body = {"tickets": tickets, "after_cursor": after, "before_cursor": None, "end_of_stream": done,
                "after_url": f"{self.url}/api/v2/incremental/tickets/cursor.json?cursor={after}", "before_url": None}
        if self.sideload:
            body["metric_sets"] = [dict(t["metric_set"], ticket_id=t["id"]) for t in page if t.get("metric_set")]
        return body

    def unsolved(self, text: str):
        terms = dict(term.split("<", 1) for term in text.split() if "<" in term)
        assert "type:ticket" in text.split() and terms.get("status") == "solved", text
        before = epoch(terms["created"])
        return [t for t in self.tickets if t["status"] in ("new", "open", "pending", "hold")
                and epoch(t["created_at"]) < before]


class HubSpot(ApiEmulator):
    """CRM search on feedback_submissions, tickets and deals: filterGroups (OR of AND-ed filters),
    one sort, limit at most 200, after as an offset, and the 10,000-result cap of a search. A
    requested property the account has comes back, as null when the object has no value; one it
    does not have is left out, without an error. GET /crm/v3/properties/{object} lists the
    account's properties: the defaults below and those the objects carry, or `known` when given
    (a test renames a property there and in the objects)."""

    CAP = 10_000
    DATES = {"hs_submission_timestamp", "hs_createdate", "createdate", "closed_date", "closedate"}
    DEFAULTS = {
        "tickets": {"createdate", "closed_date", "time_to_first_agent_reply", "time_to_close", "hs_pipeline",
                    "hs_pipeline_stage", "subject", "hs_object_id", "hs_lastmodifieddate", "first_agent_reply_date"},
        "feedback_submissions": {"hs_submission_timestamp", "hs_survey_type", "hs_value", "hs_survey_id",
                                 "hs_response_group", "hs_createdate", "hs_object_id"},
        "deals": {"dealstage", "closedate", "amount", "amount_in_home_currency", "deal_currency_code",
                  "closed_lost_reason", "pipeline", "dealname", "createdate", "hs_object_id"},
    }

    def __init__(self, token: str, objects: dict | None = None, known: dict | None = None):
        super().__init__(f"Bearer {token}")
        self.objects = objects or {}            # "tickets" / "feedback_submissions" -> [{"id", "properties"}]
        self.indexes: dict = {}
        self.known = known or {kind: names | {key for o in self.objects.get(kind, []) for key in o["properties"]}
                               for kind, names in self.DEFAULTS.items()}
        self.currency = "EUR"

    def route(self, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 5 and parts[:3] == ["crm", "v3", "objects"] and parts[4] == "search":
            return self.search(parts[3], body or {})
        if method == "GET" and len(parts) == 4 and parts[:3] == ["crm", "v3", "properties"]:
            return {"results": [{"name": name, "label": name.replace("_", " ").capitalize(), "type": "string",
                                 "fieldType": "text", "groupName": parts[3], "hidden": False}
                                for name in sorted(self.known.get(parts[3], ()))]}
        if method == "GET" and path == "/account-info/v3/details":
            return {"portalId": 62515, "timeZone": "Europe/Paris", "companyCurrency": self.currency,
                    "utcOffset": "+01:00", "utcOffsetMilliseconds": 3600000}
        return super().route(method, path, query, body)

    def search(self, kind: str, body: dict):
        limit, after = int(body.get("limit", 10)), int(body.get("after") or 0)
        if limit > 200:
            raise ApiError(400, "limit must be at most 200")
        if after + limit > self.CAP:
            raise ApiError(400, f"search results are capped at {self.CAP}")
        found = self.candidates(kind, body)
        page = found[after:after + limit]
        wanted = [name for name in body.get("properties") or [] if name in self.known.get(kind, ())]
        results = [{"id": o["id"], "properties": {k: o["properties"].get(k) for k in wanted},
                    "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "archived": False}
                   for o in page]
        more = self.endless or after + limit < len(found)
        answer = {"total": len(found), "results": results}
        if more:
            answer["paging"] = {"next": {"after": str(after if self.repeat_cursor else after + limit)}}
        return answer

    def candidates(self, kind: str, body: dict) -> list:
        """The matching objects in the asked order. One group whose first filter is a BETWEEN on
        the (ascending) sort property: a bisection of the presorted objects, then the other filters."""
        groups, sorts = body.get("filterGroups") or [], body.get("sorts") or []
        objects = self.objects.get(kind, [])
        first = groups[0]["filters"][0] if len(groups) == 1 and groups[0].get("filters") else {}
        if len(sorts) == 1 and sorts[0].get("direction", "ASCENDING") == "ASCENDING" and \
                first.get("operator") == "BETWEEN" and first.get("propertyName") == sorts[0]["propertyName"]:
            ordered, keys = self.index(kind, first["propertyName"])
            chosen = ordered[bisect.bisect_left(keys, float(first["value"])):
                             bisect.bisect_right(keys, float(first["highValue"]))]
            rest = groups[0]["filters"][1:]
            return [o for o in chosen if all(self.test(o["properties"], f) for f in rest)] if rest else chosen
        found = [o for o in objects if self.matches(o["properties"], groups)]
        for sort in reversed(sorts):
            name = sort["propertyName"]
            found.sort(key=lambda o: self.value(o["properties"], name) or 0, reverse=sort.get("direction") == "DESCENDING")
        return found

    def index(self, kind: str, name: str):
        cached = self.indexes.get((kind, name))
        if cached is None:
            valued = [(self.value(o["properties"], name), o) for o in self.objects.get(kind, [])]
            valued = sorted(((v, o) for v, o in valued if v is not None), key=lambda pair: pair[0])
            cached = self.indexes[(kind, name)] = ([o for _, o in valued], [v for v, _ in valued])
        return cached

    def value(self, properties: dict, name: str):
        raw = properties.get(name)
        if raw in (None, ""):
            return None
        return epoch(raw) * 1000 if name in self.DATES else raw

    def matches(self, properties: dict, groups) -> bool:
        if not groups:
            return True
        return any(all(self.test(properties, f) for f in group.get("filters", [])) for group in groups)

    def test(self, properties: dict, flt: dict) -> bool:
        value, op = self.value(properties, flt["propertyName"]), flt["operator"]
        if op == "HAS_PROPERTY":
            return value is not None
        if op == "NOT_HAS_PROPERTY":
            return value is None
        if value is None:
            return False
        if op in ("IN", "NOT_IN"):
            return (value in flt["values"]) == (op == "IN")
        number = isinstance(value, float)
        wanted = float(flt["value"]) if number else flt["value"]
        if op == "EQ":
            return value == wanted
        if op == "BETWEEN":
            return wanted <= value <= float(flt["highValue"])
        return {"GT": value > wanted, "GTE": value >= wanted, "LT": value < wanted, "LTE": value <= wanted}[op]


class SurveyMonkey(ApiEmulator):
    """SurveyMonkey v3 (https://api.surveymonkey.com/v3/docs): GET /v3/surveys/{id}/details (pages,
    questions, answers.choices with id, text, position) and GET /v3/surveys/{id}/responses/bulk
    (per_page at most 100, page, start_created_at/end_created_at; data, per_page, page, total,
    links.self and links.next while more). `responses`: (unix time, score or None); None is a
    respondent who skipped the NPS question, which the response then leaves out; every response
    also answers an open question first."""

    def __init__(self, token: str, responses=(), survey: str = "S1", question: str = "Q1"):
        super().__init__(f"Bearer {token}")
        self.survey, self.question = survey, question
        self.responses = sorted(responses, key=lambda r: r[0])

    def route(self, method, path, query, body):
        if path == f"/v3/surveys/{self.survey}/details":
            return {"id": self.survey, "title": "How are we doing?", "question_count": 2, "pages": [
                {"id": "P1", "position": 1, "questions": [
                    {"id": "Q0", "family": "open_ended", "subtype": "single", "headings": [{"heading": "Your name?"}]},
                    {"id": self.question, "family": "matrix", "subtype": "rating", "position": 2,
                     "headings": [{"heading": "How likely are you to recommend us?"}],
                     "answers": {"rows": [{"id": "R1", "text": "", "position": 1}],
                                 "choices": [{"id": f"C{n}", "text": str(n), "position": n + 1} for n in range(11)]}}]}]}
        if path == f"/v3/surveys/{self.survey}/responses/bulk":
            size, number = int(query.get("per_page", 50)), int(query.get("page", 1))
            if size > 100:
                raise ApiError(400, "per_page must be at most 100")
            start = epoch(query["start_created_at"]) if "start_created_at" in query else 0
            end = epoch(query["end_created_at"]) if "end_created_at" in query else 2 ** 40
            chosen = [r for r in self.responses if start <= r[0] <= end]
            page = chosen[(number - 1) * size:number * size]
            links = {"self": f"{self.url}{path}?page={number}&per_page={size}"}
            if number * size < len(chosen):
                links["next"] = f"{self.url}{path}?" + urlencode({**query, "page": number + 1})
            return {"data": [self.response(n + (number - 1) * size, *r) for n, r in enumerate(page)],
                    "per_page": size, "page": number, "total": len(chosen), "links": links}
        return super().route(method, path, query, body)

    def response(self, number: int, when: float, score):
        questions = [{"id": "Q0", "answers": [{"text": f"respondent {number}"}]}]
        if score is not None:
            questions.append({"id": self.question, "answers": [{"choice_id": f"C{score}", "row_id": "R1"}]})
        stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        return {"id": str(1000 + number), "survey_id": self.survey, "collector_id": "K1", "response_status": "completed",
                "date_created": stamp, "date_modified": stamp, "total_time": 40,
                "href": f"{self.url}/v3/surveys/{self.survey}/responses/{1000 + number}",
                "pages": [{"id": "P1", "questions": questions}]}


class Typeform(ApiEmulator):
    """Typeform (https://developer.typeform.com/responses/reference/retrieve-responses/ and
    .../create/reference/retrieve-form/): GET /forms/{id}/responses (page_size at most 1000,
    since/until, before = a response token, completed; newest first; total_items, page_count,
    items with token, submitted_at and answers[] of field.ref, type and, for numbers, number) and
    GET /forms/{id} (fields[] with ref and type). `responses`: (unix time, number or None); None
    is a respondent who skipped the field, which the response then leaves out. `forms` lists the
    forms this host holds: another region's host answers any other form's responses empty."""

    def __init__(self, token: str, responses=(), form: str = "F1", ref: str = "nps", holds: bool = True):
        super().__init__(f"Bearer {token}")
        self.form, self.ref, self.holds = form, ref, holds
        self.responses = sorted(responses, key=lambda r: -r[0])          # newest first

    def route(self, method, path, query, body):
        if path == f"/forms/{self.form}/responses":
            size = int(query.get("page_size", 25))
            if size > 1000:
                raise ApiError(400, "page_size must be at most 1000")
            since = epoch(query["since"]) if "since" in query else 0
            until = epoch(query["until"]) if "until" in query else 2 ** 40
            chosen = [(n, r) for n, r in enumerate(self.responses) if since <= r[0] <= until] if self.holds else []
            if "before" in query:
                cut = int(query["before"][1:])
                chosen = [(n, r) for n, r in chosen if n > cut]
            page = chosen[:size]
            return {"total_items": len(chosen), "page_count": -(-len(chosen) // size),
                    "items": [self.item(n, *r) for n, r in page]}
        if path == f"/forms/{self.form}" and self.holds:
            return {"id": self.form, "title": "NPS", "type": "form", "fields": [
                {"id": "f1", "ref": "name", "type": "short_text", "title": "Your name?"},
                {"id": "g1", "ref": "about", "type": "group", "title": "About us", "properties": {"fields": [
                    {"id": "f2", "ref": self.ref, "type": "opinion_scale", "title": "How likely...?",
                     "properties": {"steps": 11, "start_at_one": False}}]}}]}
        return super().route(method, path, query, body)

    def item(self, number: int, when: float, score):
        answers = [{"field": {"id": "f1", "type": "short_text", "ref": "name"}, "type": "text", "text": f"r{number}"}]
        if score is not None:
            answers.append({"field": {"id": "f2", "type": "opinion_scale", "ref": self.ref}, "type": "number",
                            "number": score})
        return {"landing_id": f"l{number}", "token": f"t{number}", "response_id": f"t{number}",
                "landed_at": iso(when - 60), "submitted_at": iso(when), "metadata": {"platform": "other"},
                "answers": answers, "calculated": {"score": 0}}


class Delighted(ApiEmulator):
    """Delighted (https://app.delighted.com/docs/api/listing-survey-responses): GET
    /v1/survey_responses.json (per_page at most 100, page from 1, since and until in unix seconds,
    oldest first), Basic auth with the API key as user name. `responses`: (unix time, score)."""

    def __init__(self, key: str, responses=()):
        super().__init__(basic(key, ""))
        self.responses = sorted(responses, key=lambda r: r[0])

    def route(self, method, path, query, body):
        if path == "/v1/survey_responses.json":
            size, number = int(query.get("per_page", 20)), int(query.get("page", 1))
            if size > 100:
                raise ApiError(400, "per_page must be at most 100")
            since, until = int(query.get("since", 0)), int(query.get("until", 2 ** 40))
            chosen = [r for r in self.responses if since <= r[0] <= until]
            return [{"id": str(number * size + n), "person": f"p{n}", "survey_type": "nps", "score": score,
                     "comment": None, "permalink": "https://delighted.com/r/x", "created_at": int(when),
                     "updated_at": int(when), "person_properties": {}, "notes": [], "tags": [],
                     "additional_answers": []}
                    for n, (when, score) in enumerate(chosen[(number - 1) * size:number * size])]
        return super().route(method, path, query, body)


class Pipedrive(ApiEmulator):
    """Pipedrive (https://developers.pipedrive.com/docs/api/v1/Deals#getDeals, v2; rate limits
    https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting): GET /api/v2/deals (status
    comma-separated, updated_since, limit at most 500, cursor; data, additional_data.next_cursor)
    and GET /api/v1/users/me (data.default_currency); the x-api-token header. Every answer
    carries x-ratelimit-limit, -remaining and -reset (seconds left in the `window`); a request
    once none remain in the window is refused 429 with Retry-After, and counted in `refused`."""

    auth_header = "x-api-token"

    def __init__(self, token: str, deals=(), limit: int = 40, window: float = 2.0, currency: str = "EUR"):
        super().__init__(token)
        self.deals, self.currency = list(deals), currency
        self.limit, self.window = limit, window
        self.started, self.used, self.refused = 0.0, 0, 0

    def budget(self):
        """(remaining, seconds to the reset) once this request is counted; None when refused."""
        now = time.monotonic()
        if now - self.started >= self.window:
            self.started, self.used = now, 0
        reset = max(self.window - (now - self.started), 0.0)
        if self.used >= self.limit:
            self.refused += 1
            return None, reset
        self.used += 1
        return self.limit - self.used, reset

    def route(self, method, path, query, body):
        with self.lock:
            remaining, reset = self.budget()
        limits = {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": str(remaining or 0),
                  "x-ratelimit-reset": f"{max(reset, 0.05):.2f}"}
        self.headers = limits
        if remaining is None:
            raise RateLimited(reset)
        if path == "/api/v1/users/me":
            return {"success": True, "data": {"id": 7, "name": "Monitor", "default_currency": self.currency}}
        if path == "/api/v2/deals":
            limit = int(query.get("limit", 100))
            if limit > 500:
                raise ApiError(400, "limit must be at most 500")
            statuses = set(query.get("status", "open").split(","))
            since = epoch(query["updated_since"]) if "updated_since" in query else 0
            chosen = [d for d in self.deals if d["status"] in statuses and epoch(d["update_time"]) >= since]
            at = int(query.get("cursor", "c0")[1:])
            following = f"c{at + limit}" if at + limit < len(chosen) else None
            return {"success": True, "data": chosen[at:at + limit], "additional_data": {"next_cursor": following}}
        return super().route(method, path, query, body)


class RateLimited(ApiError):
    def __init__(self, reset: float):
        super().__init__(429, "Request over limit")
        self.reset = reset


class Mixpanel(ApiEmulator):
    """Mixpanel's funnels query (https://docs.mixpanel.com/reference/funnels-query): GET
    /api/query/funnels with project_id, funnel_id, from_date, to_date (inclusive, the project's
    time zone: UTC here), interval (days a bucket), length and length_unit (the conversion window,
    default the saved funnel's: `saved_length` seconds). Completions are counted past to_date, up
    to the conversion window after entry and up to `now` (the emulator's clock: the test's --now).
    `customers`: (entered at, seconds to convert or None)."""

    UNITS = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}

    def __init__(self, user: str, secret: str, customers=(), now: float = 0.0, saved_length: float = 30 * 86400):
        super().__init__(basic(user, secret))
        self.customers, self.now, self.saved_length = list(customers), now, saved_length

    def route(self, method, path, query, body):
        if path != "/api/query/funnels":
            return super().route(method, path, query, body)
        length = int(query["length"]) * self.UNITS[query.get("length_unit", "day")] if "length" in query \
            else self.saved_length
        first, last = epoch(query["from_date"] + "T00:00:00Z"), epoch(query["to_date"] + "T00:00:00Z") + 86400
        interval = int(query.get("interval", 1)) * 86400
        data = {}
        for start in range(int(first), int(last), interval):
            end = min(start + interval, last)
            entered = [(t, d) for t, d in self.customers if start <= t < end]
            converted = sum(1 for t, d in entered if d is not None and d <= length and t + d <= self.now)
            day = iso(start)[:10]
            steps = [{"count": len(entered), "event": "Checkout started", "goal": "Checkout started",
                      "step_conv_ratio": 1, "overall_conv_ratio": 1, "avg_time": None},
                     {"count": converted, "event": "Purchase", "goal": "Purchase", "avg_time": 3600,
                      "step_conv_ratio": converted / len(entered) if entered else 0,
                      "overall_conv_ratio": converted / len(entered) if entered else 0}]
            data[day] = {"steps": steps, "analysis": {"completion": converted, "starting_amount": len(entered),
                                                      "steps": 2, "worst": 1}}
        return {"meta": {"dates": sorted(data)}, "data": data}
