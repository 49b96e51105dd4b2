"""The part of systemd that the packaged unit (packaging/systemd/cxcheck-worker.service) uses,
as systemd documents it, to run `cxcheck worker` in tests where no systemd runs:

- sd_notify(3): a datagram socket in $NOTIFY_SOCKET; `READY=1`, `STOPPING=1`, `FDSTORE=1` with
  descriptors (SCM_RIGHTS) and `FDNAME=`, `FDSTOREREMOVE=1` with `FDNAME=`; with
  NotifyAccess=main, only messages from the main process count (SCM_CREDENTIALS).
  https://www.freedesktop.org/software/systemd/man/sd_notify.html
- sd_listen_fds(3): the stored descriptors passed to the next start from descriptor 3 on, with
  LISTEN_FDS, LISTEN_PID (the pid of the started program) and LISTEN_FDNAMES.
  https://www.freedesktop.org/software/systemd/man/sd_listen_fds.html
- The store keeps a descriptor until it hangs up (POLLHUP/POLLERR) or is removed; it is handed
  back at the next start of a restart, and closed when the unit is stopped.
  https://systemd.io/FILE_DESCRIPTOR_STORE/ (FileDescriptorStoreMax=, systemd.service(5))
- KillMode=mixed, TimeoutStopSec=: a stop sends SIGTERM to the main process only, waits for it
  to exit (SIGKILL after the timeout), then SIGKILLs what is left of the unit.
  https://www.freedesktop.org/software/systemd/man/systemd.kill.html
"""

from __future__ import annotations

import array
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from engines import kill_session

# Puts the passed descriptors at 3, 4, ... and sets LISTEN_PID to its own pid (which the program
# it execs keeps), as systemd does between fork and exec.
SHIM = """import fcntl, os, sys
fds = [int(x) for x in sys.argv[1].split(",") if x]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
for fd in fds:
    os.close(fd)
for index, fd in enumerate(high):
    os.dup2(fd, 3 + index)
    os.close(fd)
os.environ["LISTEN_PID"] = str(os.getpid())
os.execvpe(sys.argv[2], sys.argv[2:], os.environ)
"""


class ServiceManager:
    """One service: `start`, `stop`, `restart`; `store` is its descriptor store, name -> fds."""

    def __init__(self, workdir: Path, argv: list[str], env: dict, stop_timeout: float = 30, stderr=None):
        self.argv, self.env, self.stop_timeout, self.stderr = argv, env, stop_timeout, stderr
        self.path = Path(workdir) / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.store: list[tuple[str, int]] = []
        self.proc: subprocess.Popen | None = None
        self.messages: list[str] = []
        self.refused = 0
        self.changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._closed = False
        self._reader.start()

    # -- notifications ----------------------------------------------------------------------

    def _read(self):
        space = socket.CMSG_SPACE(struct.calcsize("3i")) + socket.CMSG_SPACE(256 * 4)
        while not self._closed:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, space)
            except OSError:
                return
            fds, sender = [], None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    received = array.array("i")
                    received.frombytes(payload[:len(payload) - len(payload) % received.itemsize])
                    fds += list(received)
                elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = struct.unpack("3i", payload[:12])[0]
            self._handle(data.decode("utf-8", "replace"), fds, sender)

    def _handle(self, text: str, fds: list[int], sender: int | None):
        main = self.proc.pid if self.proc is not None else None
        with self.changed:
            if sender is None or sender != main:                # NotifyAccess=main
                self.refused += 1
                for fd in fds:
                    os.close(fd)
                return
            fields = dict(line.partition("=")[::2] for line in text.split("\n") if "=" in line)
            self.messages.append(text)
            name = fields.get("FDNAME", "stored")
            if fields.get("FDSTOREREMOVE") == "1":
                for stored_name, fd in [item for item in self.store if item[0] == name]:
                    self.store.remove((stored_name, fd))
                    os.close(fd)
            if fields.get("FDSTORE") == "1":
                self.store += [(name, fd) for fd in fds]
            else:
                for fd in fds:
                    os.close(fd)
            self.changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not any(text in m for m in self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.5))
        return True

    def _prune(self):
        """Descriptors that hung up leave the store (systemd polls them)."""
        with self.changed:
            for name, fd in list(self.store):
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                if any(event & (select.POLLHUP | select.POLLERR) for _, event in poller.poll(0)):
                    self.store.remove((name, fd))
                    os.close(fd)

    # -- the unit ---------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> subprocess.Popen:
        self._prune()
        with self.changed:
            stored = list(self.store)
            self.messages.clear()
        env = {**self.env, "NOTIFY_SOCKET": str(self.path)}
        if stored:
            env.update(LISTEN_FDS=str(len(stored)), LISTEN_FDNAMES=":".join(name for name, _ in stored))
        fds = [fd for _, fd in stored]
        self.proc = subprocess.Popen([sys.executable, "-c", SHIM, ",".join(map(str, fds)), *self.argv], env=env,
                                     pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, start_new_session=True)
        if not self.wait_for("READY=1", timeout):
            raise AssertionError(f"the service did not say READY=1 within {timeout} s")
        return self.proc

    def stop(self, flush: bool = True) -> int:
        """SIGTERM to the main process, wait, SIGKILL what is left (KillMode=mixed). The store is
        closed unless a start follows (flush=False: a restart)."""
        proc = self.proc
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        kill_session(proc.pid)
        if flush:
            with self.changed:
                for _, fd in self.store:
                    os.close(fd)
                self.store.clear()
        return code

    def restart(self, timeout: float = 60) -> int:
        code = self.stop(flush=False)
        self.start(timeout)
        return code

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        self._closed = True
        self.sock.close()
        with self.changed:
            for _, fd in self.store:
                os.close(fd)
            self.store.clear()
