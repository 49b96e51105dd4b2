"""Local emulators of the help-desk APIs cxcheck reads (Zendesk, HubSpot), on 127.0.0.1, as their
documentation describes them (pages cited in tests/test_zendesk.py and tests/test_hubspot.py):
paging, auth, and the faults a test asks for. Also used by bench/bench_support.py.

Faults: `script` answers the next requests with canned (status, headers, body) before the API's
own answers; `headers` go with every answer (rate-limit headers); `endless` pages forever with
fresh cursors; `repeat_cursor` hands out the same cursor again; `drop` removes a key from answers.
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
    """A JSON API on 127.0.0.1: subclasses answer `route(method, path, query, body)`."""

    def __init__(self, authorization: str):
        self.authorization = authorization
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
                        status, headers, body = exc.status, {}, {"error": str(exc)}
                    if isinstance(body, dict) and emulator.drop:
                        body.pop(emulator.drop, None)
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

    auth_header = "Authorization"               # the header that carries the credential (Trustpilot: apikey)

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
    """CRM search on feedback_submissions and tickets: filterGroups (OR of AND-ed filters), one
    sort, limit at most 200, after as an offset, and the 10,000-result cap of a search."""

    CAP = 10_000
    DATES = {"hs_submission_timestamp", "hs_createdate", "createdate", "closed_date"}

    def __init__(self, token: str, objects: dict | None = None):
        super().__init__(f"Bearer {token}")
        self.objects = objects or {}            # "tickets" / "feedback_submissions" -> [{"id", "properties"}]
        self.indexes: dict = {}

    def route(self, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 5 and parts[:3] == ["crm", "v3", "objects"] and parts[4] == "search":
            return self.search(parts[3], body or {})
        return super().route(method, path, query, body)

    def search(self, kind: str, body: dict):
        limit, after = int(body.get("limit", 10)), int(body.get("after") or 0)
        if limit > 200:
            raise ApiError(400, "limit must be at most 200")
        if after + limit > self.CAP:
            raise ApiError(400, f"search results are capped at {self.CAP}")
        found = self.candidates(kind, body)
        page = found[after:after + limit]
        wanted = body.get("properties") or []
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
        number = isinstance(value, float)
        wanted = float(flt["value"]) if number else flt["value"]
        if op == "EQ":
            return value == wanted
        if op == "BETWEEN":
            return wanted <= value <= float(flt["highValue"])
        return {"GT": value > wanted, "GTE": value >= wanted, "LT": value < wanted, "LTE": value <= wanted}[op]
