"""What the API sources share: one session, GET and POST with auth, rate limits honoured inside
the deadline (429 with Retry-After, and the rate-limit headers of every answer), bounded paging,
and answers that are refusals or not the documented shape turned into one-line reasons.

Credentials (the token's header, Basic auth, --header values) go to the configured host only:
requests drops Authorization on a redirect to another host but not a custom header such as
Pipedrive's x-api-token, so they travel as the session's pinned headers (pinned.Session), which
it sends only to its targets. An answer that a redirect fetched from another host, without them,
is read as the API's, but its refusal is not the token's: it says so, both hosts named."""

from __future__ import annotations

import base64
import email.utils
import time
from urllib.parse import urlsplit

from cxcheck.http import MAX_BODY, MAX_REDIRECTS, TransportError, fetch, new_session
from cxcheck.runtime import Deadline, HttpOptions, SourceError, excerpt, log, masker

MAX_PAGES = 1000
MAX_RETRIES = 3


class ApiClient:
    def __init__(self, service: str, base_url: str, http: HttpOptions, deadline: Deadline,
                 headers: dict | None = None, auth=None, on_request=None, credential: str = "the token",
                 max_requests: int = MAX_PAGES, max_body: int = MAX_BODY, max_redirects: int = MAX_REDIRECTS,
                 rate_limit: str = ""):
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.deadline = deadline
        self.max_body = max_body
        self.session = new_session(http, max_redirects=max_redirects)
        self.session.target(self.base_url)
        credentials = dict(headers or {})
        if auth:
            user, password = auth
            credentials["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        # Pinned: sent to the configured host only, never after a redirect elsewhere; --header wins.
        self.session.pinned = {**credentials, **self.session.pinned}
        self.on_request = on_request or (lambda what: None)
        self.credential = credential
        self.max_requests = max_requests
        self.requests = 0
        self.cursors: set = set()
        self.pause = None           # (seconds, why): the API said its budget is spent until then
        self.rate_limit = f" ({rate_limit})" if rate_limit else ""      # the service's limit, said on 429

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, url: str, params=None, headers=None, what: str = "responses"):
        """GET with the token, only on its host, rate limits honoured; the answer of any other
        status is returned: the caller says what it means (Prometheus reads its error bodies)."""
        return self.request("GET", url, what=what, params=params, headers=headers)

    def get_json(self, url: str, params=None, what: str = "responses", headers=None):
        """GET a JSON document; a refusal or an error status is a SourceError with its reason."""
        return self.json_of(self.get(url, params=params, headers=headers, what=what))

    def post_json(self, url: str, body: dict, what: str = "responses"):
        """POST a JSON body (a search), read a JSON document."""
        return self.json_of(self.request("POST", url, what=what, json=body))

    def request(self, method: str, url: str, what: str = "responses", **kwargs):
        if urlsplit(url).netloc != self.host:
            # A next-page link elsewhere would carry the token to another host.
            raise SourceError(f"{self.service}: refusing to follow a link to {urlsplit(url).netloc} "
                              f"(the token is for {self.host})")
        for attempt in range(MAX_RETRIES + 1):
            self.requests += 1
            if self.requests > self.max_requests:
                raise SourceError(f"{self.service}: more than {self.max_requests} requests, stopping")
            self._wait_for_budget()
            self.on_request(what)
            try:
                response = fetch(self.session, method, url, self.deadline, max_body=self.max_body, **kwargs)
            except TransportError as exc:
                raise SourceError(f"{self.service}: {exc}") from None
            self.pause = budget_spent(response.headers)
            self._same_host(response)
            if response.status != 429:
                return response
            if attempt == MAX_RETRIES:
                break
            wait = retry_after(response.headers.get("Retry-After"))
            if wait >= self.deadline.remaining:
                raise SourceError(f"{self.service} rate limited (429), Retry-After {wait:g} s exceeds "
                                  f"the {max(self.deadline.remaining, 0):.1f} s left{self.rate_limit}")
            self.deadline.sleep(wait)
            self.pause = None
        raise SourceError(f"{self.service} rate limited (429) after {MAX_RETRIES} retries{self.rate_limit}")

    def _same_host(self, response):
        """A refusal from another host (a redirect led there) refused no credentials: they stay
        on the configured host. Say so rather than blame the token."""
        if response.status in (401, 403, 407) and self.session.pinned and not self.session.is_target(response.url):
            elsewhere = urlsplit(response.url).netloc
            raise SourceError(f"{self.service}: {self.host} redirected to {masker.mask(elsewhere)}, which answered "
                              f"HTTP {response.status}; {self.credential} is sent to {self.host} only (point the "
                              "check at the API's own host)")

    def json_of(self, response):
        if response.status in (401, 403):
            raise SourceError(f"{self.service} rejected {self.credential} ({response.status}): {snippet(response)}")
        if response.status >= 400:
            raise SourceError(f"{self.service} answered HTTP {response.status}: {snippet(response)}")
        try:
            return response.json()
        except TransportError as exc:
            raise SourceError(f"{self.service}: {exc}") from None

    def _wait_for_budget(self):
        """Respect the rate-limit headers of the last answer: wait for the budget's reset when it
        is spent (inside the deadline), rather than earn a 429."""
        if self.pause is None:
            return
        wait, why = self.pause
        self.pause = None
        if wait >= self.deadline.remaining:
            raise SourceError(f"{self.service}: rate limit budget spent ({why}), its reset in {wait:g} s "
                              f"exceeds the {max(self.deadline.remaining, 0):.1f} s left")
        log.info("%s: %s, waiting %.1f s", self.service, why, wait)
        self.deadline.sleep(wait)

    def follow(self, cursor) -> None:
        """Note the next page's cursor or URL; one seen before would page forever."""
        if cursor in self.cursors:
            raise SourceError(f"{self.service}: the next-page cursor repeats ({shorten(str(cursor), 60)}), stopping")
        self.cursors.add(cursor)

    def unexpected(self, expected: str) -> SourceError:
        return SourceError(f"{self.service} answered JSON that is not {expected}")

    def field(self, body, key: str, kind: type, where: str):
        """body[key] when it is of the documented kind; else a SourceError naming the missing key."""
        value = body.get(key) if isinstance(body, dict) else None
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            found = "no JSON object" if not isinstance(body, dict) else \
                "no such key" if key not in body else f"a {type(body[key]).__name__}"
            raise SourceError(f"{self.service} answered {where} without {key!r} ({found}, not a "
                              f"{KIND_NAMES.get(kind, kind.__name__)}): not the documented shape")
        return value

    def close(self):
        self.session.close()


KIND_NAMES = {list: "list", dict: "JSON object", str: "string", bool: "boolean", int: "number"}


def budget_spent(headers) -> tuple[float, str] | None:
    """(seconds to wait, which header said so) when an answer's rate-limit headers say the budget
    is spent: the IETF draft's RateLimit-Remaining/-Reset (Zendesk), X-RateLimit-Remaining with
    X-RateLimit-Reset (Pipedrive: seconds left in its 2-second window; a reset past a billion is
    read as a unix time, as other APIs send it), HubSpot's per-interval
    X-HubSpot-RateLimit-Remaining with -Interval-Milliseconds, its -Secondly-Remaining. Without a
    reset time, nothing: the 429 and its Retry-After will say how long."""
    get = headers.get
    if get("ratelimit-remaining") == "0" and get("ratelimit-reset"):
        return _seconds(get("ratelimit-reset")), "RateLimit-Remaining: 0"
    if get("x-ratelimit-remaining") == "0" and get("x-ratelimit-reset"):
        return _until(get("x-ratelimit-reset")), "X-RateLimit-Remaining: 0"
    if get("x-hubspot-ratelimit-remaining") == "0" and get("x-hubspot-ratelimit-interval-milliseconds"):
        return _seconds(get("x-hubspot-ratelimit-interval-milliseconds"), 1000), "X-HubSpot-RateLimit-Remaining: 0"
    if get("x-hubspot-ratelimit-secondly-remaining") == "0":
        return 1.0, "X-HubSpot-RateLimit-Secondly-Remaining: 0"
    return None


def _seconds(text: str, per: float = 1.0) -> float:
    try:
        value = float(text) / per
    except ValueError:
        return 1.0
    return min(max(value, 0.0), 3600.0) if value == value else 1.0


def _until(text: str) -> float:
    """Seconds to a reset given in seconds, or as a unix time (past a billion)."""
    try:
        value = float(text)
    except ValueError:
        return 1.0
    return _seconds(str(value - time.time())) if value > 1e9 else _seconds(text)


def retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header: a number, or an HTTP date; 1 s when absent."""
    if not value:
        return 1.0
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(when.timestamp() - time.time(), 0.0)


def snippet(response, size: int = 120) -> str:
    return shorten(response.text, size) or "empty body"


def shorten(text: str, size: int = 120) -> str:
    """One line of at most `size` characters, masked before the cut."""
    return excerpt(text, size)
