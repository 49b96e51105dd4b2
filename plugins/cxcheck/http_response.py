"""What the direct wire (http_direct.py) reads back: the response's head and its body.

The head is http.client's own, read without the email parser for the usual case; the body is
handed to requests as the raw response it reads (the part of urllib3's HTTPResponse it uses),
gzip and deflate decoded within a bound so that the body cap sees every 64 KB.
"""

from __future__ import annotations

import email.parser
import http.client
import re
import types
import zlib

import requests.exceptions as rex

ENCODINGS = {"gzip", "x-gzip", "deflate", "identity"}     # what RawBody decodes
_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")       # what the email parser takes for a header's name


def read_head(fp) -> http.client.HTTPMessage:
    """http.client.parse_headers for the usual head (a `Name: value` a line, no folding, no stray
    CR): the same message, ~2 us of CPU against the email parser's ~50 us for a 9-line head.
    Any other head goes to the email parser, as http.client gives it."""
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


class WireResponse(http.client.HTTPResponse):
    # http.client's own begin(), its code unchanged, reading the head with read_head.
    begin = types.FunctionType(http.client.HTTPResponse.begin.__code__,
                               {**vars(http.client), "parse_headers": read_head}, "begin")


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


class RawBody:
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
