"""Connections to the core's query handler socket: one per routing key, each registered, read,
written, and reconnected with backoff when the core closes it (every reload and restart)."""

from __future__ import annotations

import socket
import time

from cxcheck.worker.protocol import MessageReader, ProtocolError, register_request

FIRST_RETRY = 0.2       # seconds before the first reconnection; doubled on each failure
SEND_TIMEOUT = 10.0     # a core that takes nothing for this long is gone
STABLE = 10.0           # a registration that lasted this long resets the backoff
CLOSE_WAIT = 2.0        # after our shutdown, how long the core's end of file is waited for
MAX_REPLY = 4096


class ConnectionLost(Exception):
    """The connection is gone or unusable; the message says why."""


class Connection:
    """One registration: the socket, whether the core said OK, and when to try again."""

    def __init__(self, path: str, key: str, name: str, max_jobs: int, max_backoff: float = 10.0):
        self.path, self.key, self.name, self.max_jobs = path, key, name, max_jobs
        self.max_backoff = max_backoff
        self.sock: socket.socket | None = None
        self.registered = False
        self.generation = 0                 # which connection a job came on: results go back on it only
        self.retry_at = 0.0
        self.delay = FIRST_RETRY
        self.up_since: float | None = None
        self.closing = False                # our side is shut: only the core's end of file is awaited
        self.shut_at = 0.0
        self._reply = bytearray()
        self._reader = MessageReader()

    def __repr__(self):
        return f"Connection({self.key!r}, registered={self.registered})"

    @property
    def due(self) -> bool:
        return self.sock is None and time.monotonic() >= self.retry_at

    def open(self):
        """Connect and send the registration; ConnectionLost if the socket is not there yet."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(SEND_TIMEOUT)
        try:
            sock.connect(self.path)
            sock.sendall(register_request(self.name, self.key, self.max_jobs))
        except OSError as exc:
            sock.close()
            self._retry_later()
            raise ConnectionLost(f"cannot connect to {self.path}: {exc.strerror or exc}") from None
        self.sock = sock
        self.generation += 1
        self._reply.clear()
        self._reader = MessageReader()

    def adopt(self, sock: socket.socket, partial: bytes = b""):
        """A connection a previous worker registered (and left the start of a message on)."""
        sock.settimeout(SEND_TIMEOUT)
        self.sock = sock
        self.generation += 1
        self.registered, self.closing = True, False
        self.up_since = time.monotonic()
        self._reply.clear()
        self._reader = MessageReader()
        self._reader.feed(partial)

    @property
    def partial(self) -> bytes:
        """The start of a message not complete yet."""
        return self._reader.pending

    def shutdown(self):
        """No more results from us: the core reads its end of file and stops sending jobs here."""
        self.closing, self.shut_at = True, time.monotonic()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def receive(self) -> list[dict[str, str]]:
        """What the core sent: the registration's answer first, then jobs. ConnectionLost when it
        closed, refused the registration or sent something unreadable."""
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, BlockingIOError, InterruptedError):
            return []
        except OSError as exc:
            raise ConnectionLost(f"read failed: {exc.strerror or exc}") from None
        if not data:
            raise ConnectionLost("closed by the core")
        if not self.registered:
            self._reply += data
            end = self._reply.find(b"\0")
            if end < 0:
                if len(self._reply) > MAX_REPLY:
                    raise ConnectionLost("no answer to the registration")
                return []
            answer = bytes(self._reply[:end])
            if answer != b"OK":
                raise ConnectionLost(f"registration refused: {answer[:200].decode('utf-8', 'replace')!r}")
            self.registered = True
            self.up_since = time.monotonic()
            data = bytes(self._reply[end + 1:])     # the first job may come in the same read
            self._reply.clear()
        try:
            return self._reader.feed(data)
        except ProtocolError as exc:
            raise ConnectionLost(str(exc)) from None

    def send(self, message: bytes):
        if self.sock is None:
            raise ConnectionLost("not connected")
        try:
            self.sock.sendall(message)
        except OSError as exc:
            raise ConnectionLost(f"write failed: {exc.strerror or exc}") from None

    def close(self):
        """Drop the socket and schedule the next attempt (backoff unless the registration held)."""
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        stable = self.up_since is not None and time.monotonic() - self.up_since >= STABLE
        if stable:
            self.delay = FIRST_RETRY
        self.registered = self.closing = False
        self.up_since = None
        self._retry_later()

    def _retry_later(self):
        self.retry_at = time.monotonic() + self.delay
        self.delay = min(self.delay * 2, self.max_backoff)
