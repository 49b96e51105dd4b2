"""HTTP transport shared by the journey engine and the data sources.

One requests.Session per journey or source; every request gets min(its own timeout, time left),
bodies are read up to a cap, and every transport failure becomes a TransportError whose message
is one line a monitoring administrator can act on, with outside text (URLs, exception texts)
masked. Headers the administrator gives (--header) go only to the hosts the check targets.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from cxcheck.http_contact import first_contact
from cxcheck.http_direct import DirectAdapter
from cxcheck.pinned import CREDENTIAL_HEADERS, Session, origin, register_credentials
from cxcheck.runtime import Deadline, DeadlineExceeded, HttpOptions, Record, SourceError, log, masker

MAX_BODY = 4 * 1024 * 1024

MAX_REDIRECTS = 10
CHUNK = 64 * 1024


class TransportError(Exception):
    """The request did not complete: refused, unresolvable, TLS, reset, timed out, too big."""


class Hop(Record):
    _fields = ("method", "url", "status")

    def __init__(self, method: str, url: str, status: int):
        self.method, self.url, self.status = method, url, status


class Response(Record):
    _fields = ("method", "url", "status", "headers", "body", "encoding", "elapsed", "hops", "_text", "_json")

    def __init__(self, method: str, url: str, status: int, headers: dict, body: bytes, encoding: str | None,
                 elapsed: float, hops: list | None = None, _text: str | None = None, _json: object = None):
        self.method = method
        self.url = url                # final URL, after redirects
        self.status = status
        self.headers = headers
        self.body = body
        self.encoding = encoding
        self.elapsed = elapsed        # request on the network to body fully read, redirects included
        self.hops = [] if hops is None else hops     # one per request made, redirects included
        self._text = _text
        self._json = _json

    @property
    def text(self) -> str:
        if self._text is None:
            try:
                self._text = self.body.decode(self.encoding or "utf-8", errors="replace")
            except LookupError:         # a charset Python does not know (utf8mb4, utf-8lite): UTF-8
                self._text = self.body.decode("utf-8", errors="replace")
        return self._text

    def json(self):
        if self._json is None:
            import json
            try:
                self._json = json.loads(self.body or b"null")
            except ValueError as exc:
                raise TransportError(f"response of {masker.mask(self.url)} is not JSON: {exc}") from None
            except RecursionError:
                # Not the site failing a customer: a document we cannot judge (UNKNOWN).
                raise SourceError(f"response of {masker.mask(self.url)} is JSON nested too deeply "
                                  "to read") from None
        return self._json


def new_session(options: HttpOptions, max_redirects: int = MAX_REDIRECTS) -> Session:
    session = Session()
    session.mount("https://", DirectAdapter())
    session.mount("http://", DirectAdapter())
    # Environment proxies and netrc must not change what a check measures behind the admin's back.
    session.trust_env = False
    session.verify = options.verify
    session.cert = options.cert
    if options.verify is False:
        # Asked for: not worth a warning on stderr at every run (nothing goes to stderr).
        import warnings

        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
    if options.proxy:
        session.proxies = {"http": options.proxy, "https": options.proxy}
    for name, value in options.headers.items():
        if name.lower() == "user-agent":
            session.headers[name] = value
        else:
            session.pinned[name] = value
            if name.lower() in CREDENTIAL_HEADERS:
                register_credentials(name, value)
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
        raise TransportError(f"{masker.mask(resp.url)} answered {int(length)} bytes, over the {max_body} byte cap")
    chunks, size = [], 0
    for chunk in resp.iter_content(CHUNK):
        size += len(chunk)
        if size > max_body:
            raise TransportError(f"{masker.mask(resp.url)} answered more than the {max_body} byte cap")
        chunks.append(chunk)
        deadline.check()
    return b"".join(chunks)


TLS_REASONS = (
    # (what OpenSSL says, what we say, whether a CA file could fix it)
    ("ip address mismatch", "the certificate is not valid for IP address {host}", False),
    ("hostname mismatch", "the certificate does not match the host name {host}", False),
    ("self-signed certificate", "self-signed certificate", True),
    ("self signed certificate", "self-signed certificate", True),
    ("certificate has expired", "certificate has expired", False),
    ("certificate is not yet valid", "certificate is not yet valid", False),
    ("unable to get local issuer", "certificate issuer unknown", True),
    ("certificate verify failed", "certificate verify failed", True),
    # Alerts the server sends about ours (mutual TLS).
    ("alert certificate required", "the server asks for a client certificate (--client-cert)", False),
    ("alert unknown ca", "the server does not trust the client certificate (--client-cert)", False),
    ("alert bad certificate", "the server refused the client certificate (--client-cert)", False),
    # What OpenSSL says of an answer that is not TLS at all: a plain-HTTP port asked for https://.
    ("wrong version number", "the server does not speak TLS on this port (plain HTTP? then the URL is http://)",
     False),
    ("packet length too long", "the server does not speak TLS on this port (plain HTTP? then the URL is http://)",
     False),
)


def describe_error(exc: Exception, url: str, ca_file: str | None = None) -> str:
    """One line for a requests exception: what failed, not a traceback. The URL, the host and
    the exception's text are outside text: masked before anything cuts them. The URL is the one
    that failed: after a redirect, not the one first asked for."""
    failed = getattr(getattr(exc, "request", None), "url", None)
    url = failed if isinstance(failed, str) and failed else url
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    host = parts.hostname or ""
    try:
        where = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        where = host
    where, shown_url, text = masker.mask(where or url), masker.mask(url), masker.mask(str(exc))
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return f"{shown_url}: too many redirects (more than {MAX_REDIRECTS}), a redirect loop?"
    if isinstance(exc, requests.exceptions.SSLError):
        lowered = text.lower()
        for marker, reason, ca_fixes in TLS_REASONS:
            if marker in lowered:
                reason = reason.format(host=masker.mask(host))
                if ca_fixes:
                    reason += (f" (not trusted by --ca-file {ca_file})" if ca_file
                               else " (use --ca-file to trust it, or --insecure)")
                return f"TLS error with {where}: {reason}"
        return f"TLS error with {where}: {_innermost(text)}"
    if isinstance(exc, requests.exceptions.ProxyError):
        return f"the proxy (--proxy) failed on the way to {where}: {_innermost(text)}"
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
            return f"cannot resolve host name {masker.mask(host)}"
        if "connection refused" in lowered:
            return f"connection refused by {where}"
        if "reset by peer" in lowered or "connection aborted" in lowered or "remotedisconnected" in lowered:
            return f"connection to {where} reset ({_innermost(text)})"
        return f"cannot connect to {where}: {_innermost(text)}"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return f"invalid URL {shown_url!r}: {text}"
    return f"{where}: {type(exc).__name__}: {_innermost(text)}"


def _innermost(text: str) -> str:
    """urllib3 nests reasons in parentheses and quotes; the last clause is the useful one. The
    C source line OpenSSL errors end with (_ssl.c:1006) is not, and no parenthesis is left open."""
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text).strip().rstrip(")'\"")
    for sep in ("] ", ": "):
        if sep in text:
            text = text.rsplit(sep, 1)[-1]
    text = text.strip("('\" ")
    while text.count("(") > text.count(")"):       # an exception's repr cut open: its innermost argument
        text = text[text.rindex("(") + 1:].strip("('\" ")
    return text or "unknown error"


def _ca_file(session) -> str | None:
    return session.verify if isinstance(session.verify, str) else None


def _prepare(session: requests.Session, method: str, url: str, kwargs: dict) -> tuple:
    """What Session.request does before sending (requests' "prepared requests" recipe): build the
    request with the session's headers, cookies and auth, and the settings to send it with."""
    send = {"allow_redirects": kwargs.pop("allow_redirects", True)}
    proxies = kwargs.pop("proxies", None) or {}
    verify, cert = kwargs.pop("verify", None), kwargs.pop("cert", None)
    data, params = kwargs.pop("data", None), kwargs.pop("params", None)
    request = requests.Request(method=method.upper(), url=url, data=data or {}, params=params or {}, **kwargs)
    prepared = session.prepare_request(request)
    own = {name.lower() for name in (kwargs.get("headers") or {})}
    if isinstance(session, Session):
        if not session.targets:
            session.target(prepared.url)        # the check's URL: the first one fetched
        session.pin(prepared, own)
        session._sending = (own, origin(prepared.url))
    send.update(session.merge_environment_settings(prepared.url, proxies, True, verify, cert))
    return prepared, send


def fetch(session: requests.Session, method: str, url: str, deadline: Deadline, *,
          timeout: float | None = None, max_body: int = MAX_BODY, **kwargs) -> Response:
    """Send one request (following redirects) and read its body, within the deadline.

    `elapsed` runs from the request reaching the network (see above) to the body's last byte,
    redirects included: building the request is our time, not the site's, and is left out, as
    curl's time_total leaves out curl's own setup.
    """
    limit = deadline.timeout(timeout)
    try:
        prepared, send = _prepare(session, method, url, kwargs)
        first_contact.at = None
        started = time.perf_counter()
        resp = session.send(prepared, timeout=limit, **send)
        try:
            body = _read_body(resp, deadline, max_body) if method.upper() != "HEAD" else b""
            # From the first request's contact with the network (a connection of another kind,
            # e.g. through a SOCKS proxy, notes none: from handing the request over, then).
            elapsed = time.perf_counter() - (first_contact.at or started)
        finally:
            resp.close()
    except requests.exceptions.Timeout as exc:
        if deadline.remaining <= 0.01:
            raise DeadlineExceeded() from None
        raise TransportError(describe_error(exc, url, _ca_file(session))) from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(describe_error(exc, url, _ca_file(session))) from None
    except ValueError as exc:   # urllib's parser on a Location such as http://[...
        raise TransportError(f"{masker.mask(url)}: a redirect to an invalid URL ({masker.mask(exc)})") from None
    hops = [Hop(r.request.method, r.url, r.status_code) for r in resp.history]
    hops.append(Hop(resp.request.method, resp.url, resp.status_code))
    log.info(f"{method.upper()} %s -> {resp.status_code} in {elapsed:.3f} s", url)     # args: outside text
    return Response(method=method.upper(), url=resp.url, status=resp.status_code,
                    headers=resp.headers, body=body, encoding=_encoding(resp),
                    elapsed=elapsed, hops=hops)
