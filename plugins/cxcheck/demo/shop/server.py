"""The running shop: its state and fault knobs served by a threaded HTTP server on a port of its
own, started and stopped as a context manager."""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer

from cxcheck.demo.shop.access_log import AccessLog
from cxcheck.demo.shop.faults import FaultKnobs
from cxcheck.demo.shop.metrics import exposition
from cxcheck.demo.shop.routes import Handler
from cxcheck.demo.shop.state import ShopState

DRAIN_SECONDS = 1.0                      # stop() waits this long at most for requests to end


class StartError(OSError):
    """The shop cannot start: its port or its access log; the message says which and why."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128             # socketserver's 5 drops connections under a parallel test
    shop: DemoShop

    def handle_error(self, request, client_address):
        if self.shop.verbose:                 # a client that went away is not news in a demo
            super().handle_error(request, client_address)


class DemoShop(ShopState):
    """The shop's state (accounts, sessions, orders, counters) and its server; with access_log,
    every request is appended to that file as nginx would log it (see access_log.py)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, faults: dict | None = None,
                 verbose: bool = False, log_size: int = 1000, access_log=None):
        self.host, self.port, self.verbose = host, port, verbose
        self._knobs = FaultKnobs()
        super().__init__(log_size, declines=self._knobs.declines)
        self.access_log = AccessLog(access_log) if access_log else None
        self.stopping = threading.Event()     # set by stop(): every fault waiting on it ends
        self._connections: set = set()
        self._connections_changed = threading.Condition()
        self._server = self._thread = None
        if faults:
            self.set_faults(faults)

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> DemoShop:
        """Serve; StartError (an OSError) when the access log cannot be opened or the port bound."""
        self.stopping.clear()
        try:
            if self.access_log:
                self.access_log.open()
        except OSError as error:
            raise StartError(f"cannot open access log {self.access_log.path}: {error.strerror}") from error
        try:
            self._server = _Server((self.host, self.port), Handler)
        except OSError as error:
            if self.access_log:
                self.access_log.close()
            raise StartError(f"cannot serve on {self.host}:{self.port}: {error.strerror or error}") from error
        self._server.shop = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"demo-shop-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop at once: wake every handler waiting on a fault, stop accepting, cut open
        connections (keep-alive ones too, or a client's pooled connection would still be served),
        and let the handlers finish, so every request is in the access log when stop() returns."""
        self.stopping.set()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._connections_changed:
            open_connections = list(self._connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=2)
        with self._connections_changed:
            self._connections_changed.wait_for(lambda: not self._connections, DRAIN_SECONDS)
        if self.access_log:
            self.access_log.close()
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        """Known once started; still answers after stop() (a test may want the refused URL)."""
        if not self.port:
            raise RuntimeError("the demo shop has no port yet: call start() first")
        return f"http://{self.host}:{self.port}"

    def track(self, conn) -> None:
        with self._connections_changed:
            self._connections.add(conn)

    def untrack(self, conn) -> None:
        with self._connections_changed:
            self._connections.discard(conn)
            self._connections_changed.notify_all()

    def reopen_access_log(self) -> None:
        """After the log was rotated by renaming it, as `nginx -s reopen` (SIGUSR1) does."""
        if self.access_log:
            self.access_log.reopen()

    # -- faults and metrics ---------------------------------------------------------------------
    @property
    def faults(self) -> dict:
        return self._knobs.snapshot()

    def set_faults(self, changes: dict) -> dict:
        """Merge knobs in (each knob is replaced whole); {"reset": true} starts from the defaults."""
        return self._knobs.set(changes)

    def metrics_text(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        return exposition(self.counters())
