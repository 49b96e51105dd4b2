"""What the survey API sources share: one session, GET with auth, rate limits honoured inside
the deadline, and answers that are refusals turned into one-line reasons."""

from __future__ import annotations

import email.utils
import time
from urllib.parse import urlsplit

from cxcheck.http import MAX_BODY, MAX_REDIRECTS, TransportError, fetch, new_session
from cxcheck.runtime import Deadline, HttpOptions, SourceError, masker

MAX_PAGES = 1000
MAX_RETRIES = 3


class ApiClient:
    def __init__(self, service: str, base_url: str, http: HttpOptions, deadline: Deadline,
                 headers: dict | None = None, auth=None, on_request=None, max_body: int = MAX_BODY,
                 max_redirects: int = MAX_REDIRECTS):
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.deadline = deadline
        self.max_body = max_body
        self.session = new_session(http, max_redirects=max_redirects)
        self.session.headers.update(headers or {})
        self.session.auth = auth
        self.on_request = on_request or (lambda what: None)
        self.requests = 0
        self.cursors: set = set()

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, url: str, params=None, headers=None, what: str = "responses"):
        """GET with the token, only on its host; 429 waits for Retry-After when the deadline allows.
        The answer of any other status is returned: the caller says what it means."""
        if urlsplit(url).netloc != self.host:
            # A next-page link elsewhere would carry the token to another host.
            raise SourceError(f"{self.service}: refusing to follow a link to {urlsplit(url).netloc} "
                              f"(the token is for {self.host})")
        for attempt in range(MAX_RETRIES + 1):
            self.requests += 1
            if self.requests > MAX_PAGES:
                raise SourceError(f"{self.service}: more than {MAX_PAGES} requests, stopping")
            self.on_request(what)
            try:
                response = fetch(self.session, "GET", url, self.deadline, params=params, headers=headers,
                                 max_body=self.max_body)
            except TransportError as exc:
                raise SourceError(f"{self.service}: {exc}") from None
            if response.status != 429:
                return response
            if attempt == MAX_RETRIES:
                break
            wait = retry_after(response.headers.get("Retry-After"))
            if wait >= self.deadline.remaining:
                raise SourceError(f"{self.service} rate limited (429), Retry-After {wait:g} s exceeds "
                                  f"the {max(self.deadline.remaining, 0):.1f} s left")
            self.deadline.sleep(wait)
        raise SourceError(f"{self.service} rate limited (429) after {MAX_RETRIES} retries")

    def get_json(self, url: str, params=None, what: str = "responses", headers=None):
        """GET a JSON document; a refusal or an error status is a SourceError with its reason."""
        response = self.get(url, params=params, headers=headers, what=what)
        if response.status in (401, 403):
            raise SourceError(f"{self.service} rejected the token ({response.status}): {snippet(response)}")
        if response.status >= 400:
            raise SourceError(f"{self.service} answered HTTP {response.status}: {snippet(response)}")
        try:
            return response.json()
        except TransportError as exc:
            raise SourceError(f"{self.service}: {exc}") from None

    def follow(self, cursor) -> None:
        """Note the next page's cursor or URL; one seen before would page forever."""
        if cursor in self.cursors:
            raise SourceError(f"{self.service}: the next-page cursor repeats ({shorten(str(cursor), 60)}), stopping")
        self.cursors.add(cursor)

    def unexpected(self, expected: str) -> SourceError:
        return SourceError(f"{self.service} answered JSON that is not {expected}")

    def close(self):
        self.session.close()


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
    """One line of at most `size` characters, masked before the cut (a cut secret is no longer
    recognisable to the masker)."""
    text = " ".join(masker.mask(text).split())
    return (text[:size] + "...") if len(text) > size else text
