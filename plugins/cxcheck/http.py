"""HTTP transport shared by the journey engine and the data sources.

One requests.Session per journey or source; every request gets min(its own timeout, time left),
bodies are read up to a cap, and every transport failure becomes a TransportError whose message
is one line a monitoring administrator can act on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from cxcheck.runtime import DeadlineExceeded, Deadline, HttpOptions, log

MAX_BODY = 4 * 1024 * 1024
MAX_REDIRECTS = 10
CHUNK = 64 * 1024


class TransportError(Exception):
    """The request did not complete: refused, unresolvable, TLS, reset, timed out, too big."""


@dataclass
class Hop:
    method: str
    url: str
    status: int


@dataclass
class Response:
    method: str
    url: str                      # final URL, after redirects
    status: int
    headers: dict
    body: bytes
    encoding: str | None
    elapsed: float                # request sent to body fully read, redirects included
    hops: list = field(default_factory=list)   # one per request made, redirects included
    _text: str | None = None
    _json: object = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.body.decode(self.encoding or "utf-8", errors="replace")
        return self._text

    def json(self):
        if self._json is None:
            import json
            try:
                self._json = json.loads(self.body or b"null")
            except ValueError as exc:
                raise TransportError(f"response of {self.url} is not JSON: {exc}") from None
        return self._json

    @property
    def redirects(self) -> int:
        return len(self.hops) - 1


def new_session(options: HttpOptions, max_redirects: int = MAX_REDIRECTS) -> requests.Session:
    session = requests.Session()
    # Environment proxies and netrc must not change what a check measures behind the admin's back.
    session.trust_env = False
    session.verify = options.verify
    session.cert = options.cert
    if options.proxy:
        session.proxies = {"http": options.proxy, "https": options.proxy}
    session.headers.update(options.headers)
    session.max_redirects = max_redirects
    return session


def _encoding(resp: requests.Response) -> str | None:
    if resp.encoding:
        return resp.encoding
    content_type = resp.headers.get("content-type", "")
    if "json" in content_type or "html" in content_type or content_type.startswith("text/"):
        return "utf-8"
    return None


def _read_body(resp: requests.Response, deadline: Deadline, max_body: int) -> bytes:
    length = resp.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_body:
        raise TransportError(f"{resp.url} answered {int(length)} bytes, over the {max_body} byte cap")
    chunks, size = [], 0
    for chunk in resp.iter_content(CHUNK):
        size += len(chunk)
        if size > max_body:
            raise TransportError(f"{resp.url} answered more than the {max_body} byte cap")
        chunks.append(chunk)
        deadline.check()
    return b"".join(chunks)


def describe_error(exc: Exception, url: str) -> str:
    """One line for a requests exception: what failed, not a traceback."""
    parts = urlsplit(url)
    where = parts.netloc or url
    text = str(exc)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return f"{url}: too many redirects (more than {MAX_REDIRECTS}), a redirect loop?"
    if isinstance(exc, requests.exceptions.SSLError):
        lowered = text.lower()
        for marker, reason in (
            ("self-signed certificate", "self-signed certificate"),
            ("self signed certificate", "self-signed certificate"),
            ("certificate has expired", "certificate has expired"),
            ("hostname mismatch", "certificate does not match the host name"),
            ("unable to get local issuer", "certificate issuer unknown"),
            ("certificate verify failed", "certificate verify failed"),
        ):
            if marker in lowered:
                return f"TLS error with {where}: {reason} (use --ca-file to trust it, or --insecure)"
        return f"TLS error with {where}: {_innermost(text)}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection to {where} within the timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"{where} did not answer within the timeout"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return f"connection to {where} broken mid-body ({_innermost(text)})"
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = text.lower()
        if "name or service not known" in lowered or "nodename nor servname" in lowered \
                or "failed to resolve" in lowered or "name resolution" in lowered \
                or "no address associated" in lowered:
            return f"cannot resolve host name {parts.hostname}"
        if "connection refused" in lowered:
            return f"connection refused by {where}"
        if "reset by peer" in lowered or "connection aborted" in lowered or "remotedisconnected" in lowered:
            return f"connection to {where} reset ({_innermost(text)})"
        return f"cannot connect to {where}: {_innermost(text)}"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return f"invalid URL {url!r}: {text}"
    return f"{where}: {type(exc).__name__}: {_innermost(text)}"


def _innermost(text: str) -> str:
    """urllib3 nests reasons in parentheses and quotes; the last clause is the useful one."""
    text = text.strip().rstrip(")'\"")
    for sep in ("] ", ": "):
        if sep in text:
            text = text.rsplit(sep, 1)[-1]
    return text.strip("('\" ") or "unknown error"


def fetch(session: requests.Session, method: str, url: str, deadline: Deadline, *,
          timeout: float | None = None, max_body: int = MAX_BODY, **kwargs) -> Response:
    """Send one request (following redirects) and read its body, within the deadline."""
    limit = deadline.timeout(timeout)
    started = time.perf_counter()
    try:
        resp = session.request(method, url, timeout=limit, stream=True, **kwargs)
        try:
            body = _read_body(resp, deadline, max_body) if method.upper() != "HEAD" else b""
        finally:
            resp.close()
    except requests.exceptions.Timeout as exc:
        if deadline.remaining <= 0.01:
            raise DeadlineExceeded() from None
        raise TransportError(describe_error(exc, url)) from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(describe_error(exc, url)) from None
    elapsed = time.perf_counter() - started
    hops = [Hop(r.request.method, r.url, r.status_code) for r in resp.history]
    hops.append(Hop(resp.request.method, resp.url, resp.status_code))
    log.info("%s %s -> %s in %.3f s", method.upper(), url, resp.status_code, elapsed)
    return Response(method=method.upper(), url=resp.url, status=resp.status_code,
                    headers=resp.headers, body=body, encoding=_encoding(resp),
                    elapsed=elapsed, hops=hops)
