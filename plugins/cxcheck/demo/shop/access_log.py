"""The shop's access log, as nginx writes it: the `combined` format with `$request_time` appended,

    log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                     '"$http_referer" "$http_user_agent" $request_time';

so what reads a real shop's log (check_cx_apdex) can be tested on this one. As in nginx, the line
is written when the request ends (the time is that moment, local time), `$request_time` is the
seconds since the request line was read with millisecond resolution, a request the shop never
answered (the client or stop() ended it first) is logged as 499, and `"`, `\\` and bytes outside
printable ASCII in logged values are written as \\xHH.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NO_ANSWER = 499                      # nginx's "client closed request"


def escape(value: str | None) -> str:
    """A logged value as nginx escapes it; missing or empty is "-". http.server decodes request
    lines and headers as Latin-1, so encoding back gives the bytes the client sent."""
    if not value:
        return "-"
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02X}"
                   for b in value.encode("latin-1", "replace"))


def time_local(when: float) -> str:
    """nginx's $time_local, e.g. 28/Nov/2026:21:43:21 +0000 (English month whatever the locale)."""
    t = datetime.fromtimestamp(when).astimezone()
    return f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S %z}"


def combined_line(remote_addr: str, when: float, request: str, status: int, body_bytes: int,
                  referer: str | None, user_agent: str | None, request_time: float) -> str:
    return (f'{remote_addr} - - [{time_local(when)}] "{escape(request)}" {status} {body_bytes} '
            f'"{escape(referer)}" "{escape(user_agent)}" {request_time:.3f}\n')


class CountingWriter:
    """The handler's socket writer, counting what went out ($body_bytes_sent is the difference
    between the count after the headers and at the end)."""

    def __init__(self, raw):
        self.raw, self.written = raw, 0

    def write(self, data) -> int:
        sent = self.raw.write(data)
        self.written += len(memoryview(data))
        return sent

    def flush(self):
        self.raw.flush()

    def close(self):
        self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed


class AccessLog:
    """An append-only file written one whole line per write(2) under a lock: lines never mix and
    a reader never finds a line half-written by a buffer flush. reopen() is nginx's `-s reopen`
    for a log rotated by renaming; a copy-and-truncate rotation needs nothing (O_APPEND)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._fd = None
        self._failed = False                  # said once on stderr; serving goes on, as nginx's does

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def open(self) -> None:
        with self._lock:
            if self._fd is None:
                self._fd = self._open()

    def reopen(self) -> None:
        fd = self._open()                     # a failure keeps the old file in use
        with self._lock:
            old, self._fd = self._fd, fd
        if old is not None:
            os.close(old)

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def write(self, line: str) -> None:
        """Lines of requests that end after close() are dropped."""
        data = memoryview(line.encode("ascii", "replace"))
        with self._lock:
            try:
                while self._fd is not None and data:
                    data = data[os.write(self._fd, data):]
            except OSError as error:
                if not self._failed:
                    print(f"demo shop: cannot write access log {self.path}: {error.strerror}", file=sys.stderr)
                self._failed = True
