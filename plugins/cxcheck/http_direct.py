"""The wire for the common case: HTTP/1.1 straight through http.client.

A check's requests are few and go to one or two hosts; urllib3's pool, retry and response layers
cost most of their CPU (three login requests: ~2 ms through urllib3, ~0.5 ms through http.client
with cookies carried by hand; /work/tools/http_cost.py, bench/bench_worker.py). So a request with
no proxy, a body in memory and an encoding we decode goes out on a kept-alive http.client
connection; anything else still goes to urllib3 (NotingAdapter). Only the wire changes: requests'
Session keeps preparing requests, following redirects, carrying cookies and dropping credentials
across hosts, and failures are requests' own exceptions, worded by http.describe_error.
"""

from __future__ import annotations

import email.parser
import http.client
import os
import re
import select
import ssl
import types
import zlib
from urllib.parse import urlsplit

import requests.certs
import requests.exceptions as rex
from requests.utils import select_proxy

from cxcheck.http_contact import NotingAdapter, note_contact

ENCODINGS = {"gzip", "x-gzip", "deflate", "identity"}     # what the wire below decodes
IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}


_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")       # what the email parser takes for a header's name


def read_head(fp) -> http.client.HTTPMessage:
    """http.client.parse_headers for the usual head (a `Name: value` a line, no folding, no stray
    CR): the same message for a twentieth of the CPU (its email parser is ~50 us of a ~60 us
    response). Any other head goes to the email parser, as http.client gives it."""
    lines = http.client._read_headers(fp)
    message = http.client.HTTPMessage()
    for line in lines[:-1]:
        text = line.decode("iso-8859-1")
        name, colon, value = text.partition(":")
        if not colon or not _NAME.fullmatch(name) or "\r" in text[:-2] or "\n" in text[:-1]:
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(b"".join(lines).decode("iso-8859-1"))
        message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))
    message.set_payload("")
    return message


class _Response(http.client.HTTPResponse):
    # http.client's own begin(), its code unchanged, reading the head with read_head.
    begin = types.FunctionType(http.client.HTTPResponse.begin.__code__,
                               {**vars(http.client), "parse_headers": read_head}, "begin")


class _Connection(http.client.HTTPConnection):
    response_class = _Response

    def connect(self):
        note_contact()
        super().connect()


class _TLSConnection(http.client.HTTPSConnection):
    response_class = _Response

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


class _Decoder:
    """gzip (every member) or deflate (zlib-wrapped or raw), never more than `limit` bytes out
    of one call: a small compressed body cannot blow up in memory before the body cap sees it."""

    def __init__(self, coding: str):
        self.coding = coding
        self.tail = b""
        self._raw_deflate = False
        self._members = 0
        self._new()

    def _new(self):
        if self.coding == "deflate":
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)
        else:
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        data = self.tail + data
        try:
            out = self._inflater.decompress(data, limit)
        except zlib.error:
            if self._members:                   # bytes after a whole gzip body: ignored, as urllib3 does
                self.tail = b""
                return b""
            if self.coding != "deflate" or self._raw_deflate or self._started:
                raise
            self._raw_deflate = True            # some servers send deflate without its zlib header
            self._new()
            out = self._inflater.decompress(data, limit)
        self._started = True
        self.tail = self._inflater.unconsumed_tail
        if self._inflater.eof and self._inflater.unused_data and self.coding != "deflate":
            rest = self._inflater.unused_data
            self._members += 1
            self._new()
            self.tail = rest                    # the next gzip member
        return out


class _Body:
    """The raw response requests' Response reads (the part of urllib3's HTTPResponse it uses)."""

    def __init__(self, adapter, key, conn, response, request):
        self._adapter, self._key, self._conn = adapter, key, conn
        self._response, self._request = response, request
        self.status, self.reason, self.version = response.status, response.reason, response.version
        headers, names = {}, {}
        for name, value in response.msg.items():        # repeated headers joined, as urllib3 does
            name = names.setdefault(name.lower(), name)
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        codings = [c.strip().lower() for c in response.msg.get("Content-Encoding", "").split(",") if c.strip()]
        self._decoders = [_Decoder(c) for c in reversed(codings) if c != "identity"]
        self._done = False

    def stream(self, amt: int = 65536, decode_content: bool = True):
        while True:
            chunk = self.read(amt, decode_content)
            if not chunk:
                return
            yield chunk

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        if self._done:
            return b""
        amt = amt or 65536
        while True:
            pending = decode_content and self._decoders and any(d.tail for d in self._decoders)
            data = b"" if pending else self._read_wire(amt)
            if not data and not pending:
                self._done = True
                return b""
            if not (decode_content and self._decoders):
                return data
            for decoder in self._decoders:
                try:
                    data = decoder.feed(data, amt)
                except zlib.error as exc:
                    raise rex.ContentDecodingError(f"Received response with content-encoding: "
                                                   f"{decoder.coding}, but failed to decode it: {exc}",
                                                   request=self._request) from None
            if data:
                return data

    def _read_wire(self, amt: int) -> bytes:
        try:
            return self._response.read(amt)
        except TimeoutError:
            self.close()
            raise rex.ReadTimeout("Read timed out.", request=self._request) from None
        except (http.client.IncompleteRead, http.client.HTTPException, OSError) as exc:
            self.close()
            raise rex.ChunkedEncodingError(f"Connection broken: {exc!r}", request=self._request) from None

    def release_conn(self):
        """A fully read answer gives its connection back for the next request."""
        if self._conn is None:
            return
        if self._response.isclosed() and not self._response.will_close:
            self._adapter.keep(self._key, self._conn)
        else:
            self._conn.close()
        self._conn = None

    def close(self):
        self._response.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


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
        body = _Body(self, key, conn, response, request)
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
