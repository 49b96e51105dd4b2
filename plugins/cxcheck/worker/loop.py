"""The worker's one thread: an event loop over the core's sockets, the children's pipes and a
signal pipe, so forking is safe (no other thread holds a lock) and nothing blocks for long.

Stopping (SIGTERM, SIGINT) loses no check. With the service manager's descriptor store
(--fd-store, handover.py) the worker starts nothing new, answers what it started, and leaves the
connections and the jobs it read to the next worker. Without it, it answers everything the core
sends until a connection has nothing in flight, then shuts that connection (the core runs what
comes next itself); a job the core sends in the instant between is named in the log. A second
signal, or the end of --drain, stops at once: what was not answered is handed over (with the
store) or left to the core's orphan check (without), never answered with a killed child's result."""

from __future__ import annotations

import os
import selectors
import signal
import time
import traceback

from cxcheck.worker import handover
from cxcheck.worker.core import CLOSE_WAIT, Connection, ConnectionLost
from cxcheck.worker.dispatch import Dispatcher
from cxcheck.worker.log import Log
from cxcheck.worker.protocol import ProtocolError, parse_job


class Worker:
    def __init__(self, socket_path: str, plugins: dict, keys: dict[str, str], name: str, max_children: int,
                 log: Log, max_backoff: float = 10.0, drain: float = 0.0, jobs_per_child: int = 1,
                 notifier: handover.Notifier | None = None):
        self.socket_path, self.keys, self.log = socket_path, keys, log
        self.connections = {key: Connection(socket_path, key, f"{name}:{key}", max_children, max_backoff)
                            for key in keys}
        self.selector = selectors.DefaultSelector()
        self.dispatcher = Dispatcher(plugins, max_children, log, self._watch, self._unwatch, jobs_per_child)
        self.drain = drain
        self.notifier = notifier or handover.Notifier({})
        self.stop_at: float | None = None
        self.all_up = False
        self.failing = False
        self.late = 0                   # jobs that came on a connection after we shut it
        log.core = self._to_core

    # -- the loop ---------------------------------------------------------------------------

    def run(self, passed: dict[str, list[int]] | None = None) -> int:
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)     # a full pipe wakes the loop all the same
        signal.signal(signal.SIGCHLD, lambda *_: None)          # only to wake the loop
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, lambda *_: self.log.info("SIGHUP: nothing to reload, going on"))
        self._watch(wake_r, lambda: self._drain_pipe(wake_r))
        self._adopt(passed or {})
        self.notifier.send("READY=1")
        try:
            while not self._done():
                if self.stop_at is None:
                    self._connect_due()
                for key, _ in self.selector.select(self._timeout()):
                    self._guarded(key.data)
                self._reap()
                self._guarded(self.dispatcher.expire)
                if self.stop_at is not None:
                    self._guarded(self._shut_idle)
        finally:
            signal.set_wakeup_fd(-1)
            self._end()
            self.dispatcher.kill_all()
            self._reap(block=True)
            for conn in self.connections.values():
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
        if time.monotonic() >= self.stop_at:
            return True
        if self.notifier.fd_store:
            return not self.dispatcher.busy
        return all(conn.sock is None for conn in self.connections.values()) and not self.dispatcher.busy

    def _timeout(self) -> float:
        times = [c.retry_at for c in self.connections.values() if c.sock is None and self.stop_at is None]
        deadline = self.dispatcher.next_deadline()
        times += [deadline] if deadline is not None else []
        times += [self.stop_at] if self.stop_at is not None else []
        times += [c.shut_at + CLOSE_WAIT for c in self.connections.values() if c.sock is not None and c.closing]
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
        """The first signal stops taking work (up to --drain seconds to answer what was taken);
        a second one stops at once."""
        name = signal.Signals(signum).name
        taken = sum(self.dispatcher.in_flight(conn) for conn in self.connections.values())
        if self.stop_at is None and self.drain > 0:
            self.stop_at = time.monotonic() + self.drain
            self.notifier.send("STOPPING=1")
            if self.notifier.fd_store:
                self.dispatcher.holding = True
                self.log.info(f"{name}: answering the {taken} jobs in flight (at most {self.drain:g} s), then "
                              "handing the connections and the jobs that come meanwhile to the next worker")
            else:
                self.log.info(f"{name}: answering the {taken} jobs in flight and every job that comes until "
                              f"each connection is idle (at most {self.drain:g} s), then closing it: the core "
                              "runs what comes next itself")
        else:
            self.stop_at = time.monotonic()
            self.log.info(f"{name}: stopping")

    def _shut_idle(self):
        """Without the store: shut each connection that has nothing in flight."""
        if self.notifier.fd_store:
            return
        for conn in self.connections.values():
            if conn.sock is None:
                continue
            if conn.registered and not conn.closing and not self.dispatcher.in_flight(conn):
                conn.shutdown()
            elif not conn.registered or (conn.closing and time.monotonic() - conn.shut_at > CLOSE_WAIT):
                self._unwatch(conn.sock)
                conn.close()

    def _end(self):
        """Leave what is not answered to the next worker (with the store), or say it is lost."""
        tasks = self.dispatcher.hand_over()
        if self.notifier.fd_store:
            state = {}
            for conn in self.connections.values():
                if conn.sock is not None and conn.registered:
                    jobs = [(t.job.fields, t.deadline - time.monotonic()) for t in tasks
                            if t.conn is conn and t.generation == conn.generation]
                    state[conn.key] = (conn.partial, jobs)
            count = handover.save_state(self.notifier, state)
            self.log.info(f"handed {count} jobs and {len(state)} connections to the next worker")
            return
        for conn in self.connections.values():
            if conn.sock is not None and conn.registered and not conn.closing:
                conn.shutdown()
        lost = len(tasks) + self.late
        if lost:
            self.log.info(f"{lost} jobs not answered: the core runs them again after its orphan check "
                          f"({len(tasks)} cut by the end of the drain, {self.late} sent after a connection was shut)")

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

    def _adopt(self, passed: dict[str, list[int]]):
        """Take the connections (and the jobs) a previous worker left in the store."""
        import socket

        saved = handover.load_state(passed.pop(handover.STATE, []))
        self.notifier.forget(handover.STATE)
        names = {handover.fd_name(key): conn for key, conn in self.connections.items()}
        jobs = 0
        for name, fds in passed.items():
            for fd in fds:
                conn = names.get(name)
                sock = socket.socket(fileno=fd)
                if conn is None or conn.sock is not None:
                    self.log.info(f"a stored connection this worker does not serve ({name}): closed")
                    self.notifier.forget(name)
                    sock.close()
                    continue
                partial, pending = saved.get(conn.key, (b"", []))
                conn.adopt(sock, partial)
                self._watch(conn.sock, lambda conn=conn: self._receive(conn))
                for fields, left in pending:
                    self._submit(conn, fields, time.monotonic() + left)
                jobs += len(pending)
        if passed:
            self.log.info(f"took over {sum(c.sock is not None for c in self.connections.values())} connections "
                          f"and {jobs} jobs from the previous worker")

    def _connect_due(self):
        for conn in self.connections.values():
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
        was_registered = conn.registered
        try:
            messages = conn.receive()
        except ConnectionLost as exc:
            return self._lost(conn, exc)
        if conn.registered and not was_registered:
            self.notifier.store(handover.fd_name(conn.key), conn.sock.fileno())
        if conn.registered and not self.all_up and all(c.registered for c in self.connections.values()):
            self.all_up, self.failing = True, False
            names = sorted(set(self.keys.values()))
            self.log.info(f"registered with the core at {self.socket_path}: {', '.join(names)} "
                          f"({len(self.connections)} routing keys, up to {self.dispatcher.max_children} "
                          f"checks at a time, pid {os.getpid()})")
        for fields in messages:
            if conn.closing:
                self.late += 1
                self.log.info(f"job {fields.get('job_id', '?')} came after the connection for {conn.key} was "
                              "shut: the core runs it again after its orphan check")
                continue
            self._submit(conn, fields)
        return None

    def _submit(self, conn: Connection, fields: dict, deadline: float | None = None):
        try:
            job = parse_job(fields)
        except ProtocolError as exc:
            self.log.info(f"ignored a message from the core: {exc}")
            return
        self.dispatcher.submit(conn, job, self.keys[conn.key], deadline)

    def _lost(self, conn: Connection, exc: Exception):
        self._unwatch(conn.sock)
        was_up, closing = conn.registered, conn.closing
        conn.close()
        if closing:
            self.log.debug(f"connection for {conn.key} closed by the core after ours")
            return
        self.notifier.forget(handover.fd_name(conn.key))
        if self.all_up or not was_up:
            self.log.info(f"connection for {conn.key} lost ({exc}); reconnecting")
        else:
            self.log.debug(f"connection for {conn.key} lost ({exc})")
        self.all_up = False

    def _to_core(self, message: bytes, conn: Connection | None = None):
        candidates = [conn] if conn is not None else []
        candidates += list(self.connections.values())
        for candidate in candidates:
            if candidate.registered and not candidate.closing:
                try:
                    candidate.send(message)
                    return
                except ConnectionLost:
                    continue
