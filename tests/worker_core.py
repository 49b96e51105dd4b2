"""The core's side of the Nagios 4 worker protocol on a private UNIX socket, as Nagios 4.4.6
speaks it (base/workers.c): accepts `@wproc register` requests, answers `OK\\0`, sends jobs and
reads results. Written from the protocol's facts, not from cxcheck.worker.protocol, so the two
check each other. Also starts `cxcheck worker` against it. Used by the worker tests and bench/."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
END = b"\x01\x00\x00\x00"


class CoreConnection:
    """One registered worker connection: its registration's fields and the results read so far."""

    def __init__(self, sock: socket.socket, registration: dict[str, str]):
        self.sock, self.registration = sock, registration
        self.buffer = b""
        self.messages: list[dict[str, bytes]] = []

    @property
    def plugin(self) -> str:
        return self.registration.get("plugin", "")

    def send_job(self, job_id: int, command: str, timeout: int = 60, env: dict | None = None, kind: int = 0):
        pairs = [f"job_id={job_id}", f"type={kind}", f"command={command}", f"timeout={timeout}"]
        if env:
            pairs.append("env=" + "".join(f"{k}={v}\n" for k, v in env.items()))
        self.sock.sendall(b"".join(p.encode() + b"\0" for p in pairs) + END)

    def pump(self, wait: float) -> bool:
        """Read what arrives within `wait` seconds; False once the worker closed the connection."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1 << 20)
        except (TimeoutError, BlockingIOError):
            return True
        except OSError:
            data = b""
        if not data:
            return False
        self.buffer += data
        while END in self.buffer:
            raw, self.buffer = self.buffer.split(END, 1)
            fields = {}
            for pair in raw.split(b"\0"):
                if pair:
                    key, _, value = pair.partition(b"=")
                    fields[key.decode()] = value
            self.messages.append(fields)
        return True

    def result(self, job_id: int, timeout: float = 60) -> dict[str, bytes]:
        """The result of job `job_id` (log= lines are kept in self.messages too)."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages:
                if message.get("job_id") == str(job_id).encode():
                    self.messages.remove(message)
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no result for job {job_id} on {self.plugin} after {timeout} s")
            if not self.pump(min(left, 0.5)):
                raise AssertionError(f"the worker closed {self.plugin} before answering job {job_id}")

    def logs(self) -> list[str]:
        return [m["log"].decode("utf-8", "replace") for m in self.messages if "log" in m]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class FakeCore:
    """A listening query handler socket that takes worker registrations."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.server.listen(64)
        self.connections: dict[str, CoreConnection] = {}

    def accept(self, count: int, timeout: float = 30) -> dict[str, CoreConnection]:
        """Take `count` registrations; plugin key -> connection."""
        deadline = time.monotonic() + timeout
        for _ in range(count):
            self.server.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                sock, _ = self.server.accept()
            except TimeoutError:
                raise AssertionError(f"only {len(self.connections)} registrations in {timeout} s") from None
            request = b""
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            while not request.endswith(b"\0"):
                chunk = sock.recv(1)
                if not chunk:
                    break
                request += chunk
            text = request.rstrip(b"\0").decode()
            assert text.startswith("@wproc register "), text
            fields = dict(item.partition("=")[::2] for item in text[len("@wproc register "):].split(";"))
            sock.sendall(b"OK\0")
            self.connections[fields["plugin"]] = CoreConnection(sock, fields)
        return self.connections

    def drop_all(self):
        """What a reload does to the workers: every connection closed."""
        for conn in self.connections.values():
            conn.close()
        self.connections = {}

    def close_shut(self, timeout: float, running=lambda: True):
        """Close each connection once the worker has shut its end (its end of file read), as the
        core does; the stopping worker waits for that (CLOSE_WAIT) before it closes its own."""
        waiting = [conn for conn in self.connections.values() if conn.sock.fileno() != -1]
        deadline = time.monotonic() + timeout
        while waiting and running() and time.monotonic() < deadline:
            ready, _, _ = select.select([conn.sock for conn in waiting], [], [], 0.1)
            for conn in [conn for conn in waiting if conn.sock in ready]:
                if not conn.pump(0):
                    conn.close()
                    waiting.remove(conn)

    def close(self):
        self.drop_all()
        self.server.close()


def start_worker(socket_path: Path, plugin_dir: Path, *args: str, env: dict | None = None,
                 stderr=None, python: str = sys.executable, **popen) -> subprocess.Popen:
    """`cxcheck worker` from this checkout, in its own session (stop it with engines.stop_process)."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONPATH": str(PLUGINS),
                "HOME": os.environ.get("HOME", "/root")}
    full_env.update(env or {})
    return subprocess.Popen([python, "-m", "cxcheck.cli", "worker", "--query-socket", str(socket_path),
                             "--plugin-dir", str(plugin_dir), *args], env=full_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=stderr if stderr is not None else subprocess.DEVNULL,
                            start_new_session=True, **popen)


class WorkerAgainstCore:
    """`cxcheck worker` registered with a FakeCore, both in `workdir`; jobs routed as the core
    routes them (the command's first word whole, then its basename)."""

    def __init__(self, workdir: Path, plugin_dir: Path, keys: int, *args: str, env: dict | None = None):
        self.core = FakeCore(workdir / "nagios.qh")
        self.stderr_path = workdir / "worker.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = start_worker(self.core.path, plugin_dir, *args, env=env, stderr=self._stderr)
        self.keys = keys
        self.next_id = 0
        try:
            self.core.accept(keys)
        except BaseException:
            self.stop()
            raise

    def connection(self, command: str) -> CoreConnection:
        first = command.split(" ", 1)[0]
        conns = self.core.connections
        return conns.get(first) or conns[os.path.basename(first)]

    def send(self, command: str, env: dict | None = None, timeout: int = 60) -> tuple[CoreConnection, int]:
        conn = self.connection(command)
        self.next_id += 1
        conn.send_job(self.next_id, command, timeout=timeout, env=env)
        return conn, self.next_id

    def job(self, command: str, env: dict | None = None, timeout: int = 60, wait: float = 90) -> dict[str, bytes]:
        conn, job_id = self.send(command, env, timeout)
        return conn.result(job_id, wait)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 15):
        from engines import stop_process

        try:
            if self.proc.poll() is None:
                self.proc.terminate()
                self.core.close_shut(timeout, running=lambda: self.proc.poll() is None)
            stop_process(self.proc, timeout)
        finally:
            self._stderr.close()
            self.core.close()
