"""The wire for the common case: HTTP/1.1 straight through http.client.

A check's requests are few and go to one or two hosts, and urllib3's pool, retry and response
layers cost much of their CPU (a login's three requests: 1.25 ms through urllib3, 0.81 ms here;
bench/bench_http_wire.py). So a request with no proxy, a body in memory and an encoding
http_response decodes goes out on a kept-alive http.client connection; anything else still goes
to urllib3 (NotingAdapter). Only the wire changes: requests'
Session keeps preparing requests, following redirects, carrying cookies and dropping credentials
across hosts, and failures are requests' own exceptions, worded by http.describe_error.
"""

from __future__ import annotations

import http.client
import os
import select
import ssl
from urllib.parse import urlsplit

import requests.certs
import requests.exceptions as rex
from requests.utils import select_proxy

from cxcheck.http_contact import NotingAdapter, note_contact
from cxcheck.http_response import ENCODINGS, RawBody, WireResponse

IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}


class _Connection(http.client.HTTPConnection):
    response_class = WireResponse

    def connect(self):
        note_contact()
        super().connect()


class _TLSConnection(http.client.HTTPSConnection):
    response_class = WireResponse

    def connect(self):
        note_contact()
        super().connect()


def _tls_context(verify, cert) -> ssl.SSLContext:
    """As requests verifies: its CA bundle, or --ca-file (a file or a directory), or nothing."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    else:
        where = requests.certs.where() if verify is True else verify
        if os.path.isdir(where):
            context = ssl.create_default_context(capath=where)
        else:
            context = ssl.create_default_context(cafile=where)
    if cert:
        certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
        context.load_cert_chain(certfile, keyfile)
    return context


def _decodable(request) -> bool:
    wanted = request.headers.get("Accept-Encoding") or "identity"
    return all(part.split(";")[0].strip().lower() in ENCODINGS for part in wanted.split(","))


def _direct(request, parts, timeout, proxies) -> bool:
    """Whether the request is one the direct wire sends: no proxy, a body in memory, an
    encoding it decodes."""
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not (proxies and select_proxy(request.url, proxies))
            and isinstance(request.body, (bytes, str, type(None))) and _decodable(request)
            and isinstance(timeout, (int, float, tuple, type(None))))


class DirectAdapter(NotingAdapter):
    """requests' transport adapter: http.client for the common case, urllib3 for the rest."""

    def __init__(self):
        super().__init__()
        self._idle: dict[tuple, http.client.HTTPConnection] = {}
        self._contexts: dict[tuple, ssl.SSLContext] = {}

    def keep(self, key, conn):
        old = self._idle.pop(key, None)
        if old is not None:
            old.close()
        self._idle[key] = conn

    def close(self):
        for conn in self._idle.values():
            conn.close()
        self._idle.clear()
        super().close()

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        if not _direct(request, parts, timeout, proxies):
            return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        connect_limit, read_limit = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port, verify if parts.scheme == "https" else None, cert)
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        conn = self._idle.pop(key, None)
        if conn is not None and _dropped(conn):
            conn.close()
            conn = None
        reused = conn is not None
        if conn is None:
            conn = self._connect(key, connect_limit, request)
        try:
            response = self._exchange(conn, request, body, read_limit, reused)
        except _Stale:
            conn.close()
            conn = self._connect(key, connect_limit, request)
            response = self._exchange(conn, request, body, read_limit, False)
        body = RawBody(self, key, conn, response, request)
        resp = self.build_response(request, body)
        # requests reads Set-Cookie from raw._original_response.msg: into the session's jar from
        # here on, not into this Response's own jar (which nothing here reads) as well.
        body._original_response = response
        if not stream:
            resp.content        # noqa: B018 (read now, as requests does unless streaming)
        return resp

    def _connect(self, key, limit, request) -> http.client.HTTPConnection:
        scheme, host, port, verify, cert = key
        try:
            if scheme == "https":
                if (verify, cert) not in self._contexts:
                    self._contexts[(verify, cert)] = _tls_context(verify, cert)
                conn = _TLSConnection(host, port, timeout=limit, context=self._contexts[(verify, cert)])
            else:
                conn = _Connection(host, port, timeout=limit)
            conn.connect()
        except TimeoutError:
            raise rex.ConnectTimeout(f"Connection to {host} timed out. (connect timeout={limit})",
                                     request=request) from None
        except ssl.SSLError as exc:
            raise rex.SSLError(str(exc), request=request) from None
        except OSError as exc:
            raise rex.ConnectionError(f"Failed to establish a new connection: {exc}", request=request) from None
        return conn

    def _exchange(self, conn, request, body, limit, reused) -> http.client.HTTPResponse:
        try:
            conn.sock.settimeout(limit)
            if reused:
                note_contact()          # a kept-alive connection: from writing the request
            conn.request(request.method, request.path_url, body, dict(request.headers))
            return conn.getresponse()
        except TimeoutError:
            conn.close()
            raise rex.ReadTimeout(f"Read timed out. (read timeout={limit})", request=request) from None
        except ssl.SSLError as exc:
            conn.close()
            raise rex.SSLError(str(exc), request=request) from None
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            conn.close()
            if reused and request.method in IDEMPOTENT:
                raise _Stale() from None        # the server closed it as we reused it: once more, afresh
            raise rex.ConnectionError(f"('Connection aborted.', {exc!r})", request=request) from None
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            raise rex.ConnectionError(f"('Connection aborted.', {exc!r})", request=request) from None


class _Stale(Exception):
    pass


def _dropped(conn) -> bool:
    """A kept-alive connection the server closed (or wrote to) while it waited."""
    if conn.sock is None:
        return True
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(0))
