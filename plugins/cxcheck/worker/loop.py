"""The worker's one thread: an event loop over the core's sockets, the children's pipes and a
signal pipe, so forking is safe (no other thread holds a lock) and nothing blocks for long."""

from __future__ import annotations

import os
import selectors
import signal
import sys
import time
import traceback

from cxcheck.worker.core import Connection, ConnectionLost
from cxcheck.worker.dispatch import Dispatcher
from cxcheck.worker.protocol import ProtocolError, log_message, parse_job


class Log:
    """Lines to stderr (the journal under systemd); the important ones also to the core's log,
    where nagios.log shows them as `wproc: NAME: text`. -v: a line per job on stderr; -vv: in
    the core's log too; -vvv: debugging detail on stderr."""

    def __init__(self, verbosity: int = 0, stream=None):
        self.verbosity = verbosity
        self.stream = stream if stream is not None else sys.stderr
        self.core = None                # set by the worker: sends one message to the core

    def info(self, text: str):
        self._write(text, to_core=True)

    def job(self, text: str):
        if self.verbosity >= 1:
            self._write(text, to_core=self.verbosity >= 2)

    def debug(self, text: str):
        if self.verbosity >= 3:
            self._write(text, to_core=False)

    def _write(self, text: str, to_core: bool):
        try:
            self.stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} cxcheck worker: {text}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass
        if to_core and self.core is not None:
            self.core(log_message(text))


class Worker:
    def __init__(self, socket_path: str, plugins: dict, keys: dict[str, str], name: str, max_children: int,
                 log: Log, max_backoff: float = 10.0, drain: float = 0.0, jobs_per_child: int = 1):
        self.socket_path, self.keys, self.log = socket_path, keys, log
        self.connections = [Connection(socket_path, key, f"{name}:{key}", max_children, max_backoff)
                            for key in keys]
        self.selector = selectors.DefaultSelector()
        self.dispatcher = Dispatcher(plugins, max_children, log, self._watch, self._unwatch, jobs_per_child)
        self.drain = drain
        self.stop_at: float | None = None
        self.all_up = False
        self.failing = False
        log.core = self._to_core

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)     # a full pipe wakes the loop all the same
        signal.signal(signal.SIGCHLD, lambda *_: None)          # only to wake the loop
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, lambda *_: self.log.info("SIGHUP: nothing to reload, going on"))
        self._watch(wake_r, lambda: self._drain_pipe(wake_r))
        try:
            while not self._done():
                if self.stop_at is None:
                    self._connect_due()
                for key, _ in self.selector.select(self._timeout()):
                    self._guarded(key.data)
                self._reap()
                self._guarded(self.dispatcher.expire)
        finally:
            signal.set_wakeup_fd(-1)
            self.dispatcher.kill_all()
            self._reap(block=True)
            for conn in self.connections:
                if conn.sock is not None:
                    self._unwatch(conn.sock)
                    conn.close()
            self.selector.close()
            os.close(wake_r)
            os.close(wake_w)
        self.log.info(f"stopped after {self.dispatcher.finished} jobs")
        return 0

    def _done(self) -> bool:
        if self.stop_at is None:
            return False
        return not self.dispatcher.busy or time.monotonic() >= self.stop_at

    def _timeout(self) -> float:
        times = [c.retry_at for c in self.connections if c.sock is None and self.stop_at is None]
        deadline = self.dispatcher.next_deadline()
        times += [deadline] if deadline is not None else []
        times += [self.stop_at] if self.stop_at is not None else []
        if not times:
            return 60.0
        return min(max(min(times) - time.monotonic(), 0.0), 60.0)

    def _guarded(self, callback):
        """A bug in handling one event must not stop the worker: log it, go on."""
        try:
            callback()
        except Exception as exc:
            self.log.info(f"internal error, going on: {type(exc).__name__}: {exc}")
            self.log.debug(traceback.format_exc())

    def _stop(self, signum, frame):
        """The first signal lets the jobs in flight finish (up to --drain seconds: the core loses a
        job whose worker goes away for minutes); a second one stops at once."""
        name = signal.Signals(signum).name
        if self.stop_at is None and self.drain > 0 and self.dispatcher.busy:
            self.stop_at = time.monotonic() + self.drain
            self.log.info(f"{name}: stopping once the jobs in flight are answered (at most {self.drain:g} s)")
        else:
            self.stop_at = time.monotonic()
            self.log.info(f"{name}: stopping")

    def _watch(self, fileobj, callback):
        self.selector.register(fileobj, selectors.EVENT_READ, callback)

    def _unwatch(self, fileobj):
        try:
            self.selector.unregister(fileobj)
        except (KeyError, ValueError):
            pass

    @staticmethod
    def _drain_pipe(fd: int):
        try:
            while os.read(fd, 512):
                pass
        except OSError:
            pass

    def _reap(self, block: bool = False):
        while True:
            try:
                pid, status, usage = os.wait4(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._guarded(lambda pid=pid, status=status, usage=usage: self.dispatcher.reaped(pid, status, usage))

    # -- the core ---------------------------------------------------------------------------

    def _connect_due(self):
        for conn in self.connections:
            if not conn.due:
                continue
            try:
                conn.open()
            except ConnectionLost as exc:
                if not self.failing:
                    self.failing = True
                    self.log.info(f"{exc}; retrying (backoff up to {conn.max_backoff:g} s)")
                continue
            self._watch(conn.sock, lambda conn=conn: self._receive(conn))

    def _receive(self, conn: Connection):
        try:
            messages = conn.receive()
        except ConnectionLost as exc:
            return self._lost(conn, exc)
        if conn.registered and not self.all_up and all(c.registered for c in self.connections):
            self.all_up, self.failing = True, False
            names = sorted(set(self.keys.values()))
            self.log.info(f"registered with the core at {self.socket_path}: {', '.join(names)} "
                          f"({len(self.connections)} routing keys, up to {self.dispatcher.max_children} "
                          f"checks at a time, pid {os.getpid()})")
        for fields in messages:
            try:
                job = parse_job(fields)
            except ProtocolError as exc:
                self.log.info(f"ignored a message from the core: {exc}")
                continue
            self.dispatcher.submit(conn, job, self.keys[conn.key])
        return None

    def _lost(self, conn: Connection, exc: Exception):
        self._unwatch(conn.sock)
        was_up = conn.registered
        conn.close()
        if self.all_up or not was_up:
            self.log.info(f"connection for {conn.key} lost ({exc}); reconnecting")
        else:
            self.log.debug(f"connection for {conn.key} lost ({exc})")
        self.all_up = False

    def _to_core(self, message: bytes):
        for conn in self.connections:
            if conn.registered:
                try:
                    conn.send(message)
                    return
                except ConnectionLost:
                    continue
