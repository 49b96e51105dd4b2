"""HAR files (HTTP Archive 1.2, what a browser's DevTools "Save all as HAR" writes), read as the
requests of a journey.

Each entry becomes an Exchange; a redirect chain becomes one Hit (the request the browser made,
the response it ended at), because the journey engine follows redirects as the browser did. Only
the page requests of the journey's own site are hits: documents and the XHR/fetch calls of its
pages. Static assets, analytics, the browser's own requests (favicon, preflights), failed
requests and other hosts (unless kept) are set aside and counted by reason.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from urllib.parse import parse_qsl, urljoin, urlsplit

from cxcheck.runtime import ConfigError, Record

PAGE_TYPES = {"document", "xhr", "fetch"}
ASSET_TYPES = {"stylesheet", "script", "image", "font", "media", "manifest", "texttrack"}
ASSET_PATH = re.compile(r"\.(css|js|mjs|map|png|jpe?g|gif|svg|webp|avif|ico|woff2?|ttf|otf|eot|mp4|webm|mp3)$",
                        re.IGNORECASE)
ANALYTICS_PATH = re.compile(r"(^|/)(g/collect|collect|analytics|beacon|pixel|track(ing)?|telemetry|rum|insights"
                            r"|_vercel|cdn-cgi)(/|$|\.)", re.IGNORECASE)
REDIRECTS = {301, 302, 303, 307, 308}
MAX_TEXT = 4 * 1024 * 1024
OTHER_HOSTS = "page requests to other hosts"
SINGULAR = {"CORS preflights": "CORS preflight", "failed or cancelled requests": "failed or cancelled request",
            "analytics requests": "analytics request", "static assets": "static asset",
            "of the browser's own requests (favicon, prefetch, ...)": "of the browser's own requests (favicon, ...)",
            OTHER_HOSTS: "page request to another host"}


class HarError(ConfigError):
    """A file that is not a HAR this importer can read."""


class Exchange(Record):
    """One HAR entry: a request and its response (before any redirect is followed)."""

    _fields = ("method", "url", "status", "request_headers", "post_mime", "post_text", "post_params",
               "response_headers", "mime", "text", "kind")

    def __init__(self, method, url, status, request_headers, post_mime, post_text, post_params, response_headers,
                 mime, text, kind):
        self.method, self.url, self.status = method, url, status
        self.request_headers = request_headers          # [(name, value)] as sent
        self.post_mime, self.post_text, self.post_params = post_mime, post_text, post_params
        self.response_headers, self.mime, self.text, self.kind = response_headers, mime, text, kind

    def header(self, name: str, response: bool = False) -> str | None:
        headers = self.response_headers if response else self.request_headers
        return next((v for n, v in headers if n.lower() == name.lower()), None)

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc.lower()

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def sent_cookies(self) -> dict:
        cookies = {}
        for name, value in self.request_headers:
            if name.lower() == "cookie":
                for pair in value.split(";"):
                    key, _, item = pair.strip().partition("=")
                    if key:
                        cookies[key] = item
        return cookies

    def set_cookies(self) -> dict:
        cookies = {}
        for name, value in self.response_headers:
            if name.lower() == "set-cookie":
                for line in value.split("\n"):
                    key, _, item = line.split(";", 1)[0].strip().partition("=")
                    if key:
                        cookies[key] = item
        return cookies

    def redirect_target(self) -> tuple[str, str] | None:
        """(method, URL) of the request this response sends the browser to, if it redirects."""
        location = self.header("location", response=True)
        if self.status not in REDIRECTS or not location:
            return None
        method = self.method if self.status in (307, 308) or self.method == "HEAD" else "GET"
        return method, urljoin(self.url, location).split("#", 1)[0]


class Hit(Record):
    """A request of the journey: the first exchange of a redirect chain, and where the chain ended."""

    _fields = ("request", "final", "hops")

    def __init__(self, hops: list):
        self.hops = hops
        self.request, self.final = hops[0], hops[-1]


def _pairs(items, where: str) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        raise HarError(f"{where}: a list of name/value pairs")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise HarError(f"{where}: a list of name/value pairs")
        value = item.get("value")
        out.append((item["name"], "" if value is None else str(value)))
    return out


def _text(content: dict) -> str | None:
    text = content.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT * 2:
        return None
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
    return text


def _kind(entry: dict, method: str, url: str, mime: str) -> str:
    kind = entry.get("_resourceType")
    if isinstance(kind, str) and kind:
        return kind.lower()
    # Firefox and others write no resource type: guess it as DevTools would show it.
    if ASSET_PATH.search(urlsplit(url).path):
        return "asset"
    if "html" in mime:
        return "document"
    if "json" in mime or method != "GET":
        return "xhr"
    return "other"


def read(data, source: str) -> list[Exchange]:
    """The entries of a parsed HAR document, in the order the browser sent them."""
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) and isinstance(data.get("log"), dict) \
        else None
    if not isinstance(entries, list):
        raise HarError(f"{source}: not a HAR file (no log.entries)")
    exchanges = []
    for number, entry in enumerate(entries, 1):
        where = f"{source}: entry {number}"
        try:
            request, response = entry["request"], entry["response"]
            method, url = str(request["method"]).upper(), str(request["url"])
            status = int(response.get("status") or 0)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise HarError(f"{where}: needs request.method, request.url and response.status") from None
        if not url.startswith(("http://", "https://")):
            continue                                  # data:, blob:, chrome-extension: never cross a network
        post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
        mime = str(post.get("mimeType") or "")
        params = _pairs(post.get("params") or [], f"{where}: postData.params")
        text = post.get("text") if isinstance(post.get("text"), str) else None
        if not params and text is not None and mime.startswith("application/x-www-form-urlencoded"):
            params = parse_qsl(text, keep_blank_values=True)
        content = response.get("content") if isinstance(response.get("content"), dict) else {}
        response_mime = str(content.get("mimeType") or "").lower()
        exchanges.append(Exchange(
            method=method, url=url, status=status,
            request_headers=_pairs(request.get("headers") or [], f"{where}: request.headers"),
            post_mime=mime if post else None, post_text=text, post_params=params,
            response_headers=_pairs(response.get("headers") or [], f"{where}: response.headers"),
            mime=response_mime, text=_text(content), kind=_kind(entry, method, url, response_mime)))
        if not exchanges[-1].header("location", response=True) and response.get("redirectURL"):
            exchanges[-1].response_headers.append(("Location", str(response["redirectURL"])))
    return exchanges


def chains(exchanges: list[Exchange]) -> list[Hit]:
    """Redirect chains joined: each hit is what one request of the journey engine will do."""
    hits, waiting = [], {}                 # (method, url) a redirect points to -> its chain
    for exchange in exchanges:
        key = (exchange.method, exchange.url.split("#", 1)[0])
        chain = waiting.pop(key, None)
        if chain is None:
            chain = [exchange]
            hits.append(chain)
        else:
            chain.append(exchange)
        target = exchange.redirect_target()
        if target is not None:
            waiting[target] = chain
    return [Hit(chain) for chain in hits]


def _reason(hit: Hit, kept_hosts: set) -> str | None:
    """Why a hit is not a step of the journey, or None when it is one."""
    first = hit.request
    if first.method == "OPTIONS" or first.kind == "preflight":
        return "CORS preflights"
    if hit.final.status == 0:
        return "failed or cancelled requests"
    if first.kind in ("ping", "beacon") or ANALYTICS_PATH.search(urlsplit(first.url).path):
        return "analytics requests"
    if first.kind in ASSET_TYPES or first.kind == "asset":
        return "static assets"
    if first.kind not in PAGE_TYPES:
        return "of the browser's own requests (favicon, prefetch, ...)"
    if not _kept(first, kept_hosts):
        return OTHER_HOSTS
    return None


def _kept(exchange: Exchange, kept_hosts: set) -> bool:
    parts = urlsplit(exchange.url)
    return parts.netloc.lower() in kept_hosts or (parts.hostname or "") in kept_hosts


def page_requests(exchanges: list[Exchange], keep_hosts=()) -> tuple[list[Hit], str, Counter, set]:
    """(hits of the journey, its origin, requests set aside by reason, the other hosts seen)."""
    hits = chains(exchanges)
    first = next((h.request for h in hits if h.request.kind == "document" and h.final.status), None) \
        or next((h.request for h in hits if h.request.kind in PAGE_TYPES and h.final.status), None)
    if first is None:
        raise HarError("the recording has no page request (no document, XHR or fetch that got an answer)")
    kept = {first.host} | {h.lower() for h in keep_hosts}
    journey, dropped, others = [], Counter(), set()
    for hit in hits:
        reason = _reason(hit, kept)
        if reason is None:
            journey.append(hit)
            continue
        dropped[reason] += 1
        if reason == OTHER_HOSTS:
            others.add(hit.request.host)
    return journey, first.origin, dropped, others
