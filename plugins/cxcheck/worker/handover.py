"""The connections to the core, kept open across a restart in the service manager's file
descriptor store (systemd: FileDescriptorStoreMax=, sd_notify(3) FDSTORE=1, sd_listen_fds(3)).

Why: Nagios 4 keeps nothing for a worker that goes away. Its jobs are handed to the core's own
workers under new ids (base/workers.c, fo_reassign_wproc_job) whose results it then drops ("Job
with id N doesn't exist"), and each check waits for the orphan check, 12 minutes later. A
connection that stays open loses nothing: the core goes on sending on it, and the next worker
reads and answers.

- Each registered connection's socket is stored under `cxcheck-<hash of its routing key>`.
- On SIGTERM the worker starts no new job; it reads what the core still sends, answers the jobs
  it had started, then stores a memfd `cxcheck-state`: the jobs read and not run, the ones cut
  short by the end of --drain, and the bytes of a message not complete yet, per connection.
- The next worker takes the sockets back (LISTEN_FDS, LISTEN_FDNAMES), runs those jobs first and
  answers them on the same connections; it removes the state from the store.
"""

from __future__ import annotations

import array
import base64
import hashlib
import json
import os
import socket
import time

LISTEN_FDS_START = 3
STATE = "cxcheck-state"


def fd_name(key: str) -> str:
    """The store's name of a routing key's connection (names are short ASCII without ':')."""
    return "cxcheck-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]


class Notifier:
    """Messages to the service manager on $NOTIFY_SOCKET (nothing when there is none)."""

    def __init__(self, environ=None):
        environ = os.environ if environ is None else environ
        path = environ.get("NOTIFY_SOCKET", "")
        self.address = ("\0" + path[1:]) if path.startswith("@") else path
        self.fd_store = False

    @property
    def present(self) -> bool:
        return bool(self.address)

    def send(self, text: str, fds=()) -> bool:
        if not self.address:
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.connect(self.address)
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
            sock.sendmsg([text.encode("utf-8", "replace")], ancillary)
            return True
        except OSError:
            return False
        finally:
            sock.close()

    def store(self, name: str, fd: int):
        """Keep `fd` in the store under `name` (what was stored under it before, gone)."""
        if self.fd_store:
            self.send(f"FDSTOREREMOVE=1\nFDNAME={name}")
            self.send(f"FDSTORE=1\nFDNAME={name}", [fd])

    def forget(self, name: str):
        if self.fd_store:
            self.send(f"FDSTOREREMOVE=1\nFDNAME={name}")


def listen_fds(environ=None) -> dict[str, list[int]]:
    """The descriptors the service manager passed to this process: name -> fds. The variables
    that say so are removed (the checks must not see them)."""
    environ = os.environ if environ is None else environ
    try:
        pid, count = int(environ.get("LISTEN_PID", "0")), int(environ.get("LISTEN_FDS", "0"))
    except ValueError:
        pid, count = 0, 0
    names = environ.get("LISTEN_FDNAMES", "").split(":")
    for variable in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(variable, None)
    if pid != os.getpid() or count <= 0:
        return {}
    passed: dict[str, list[int]] = {}
    for index in range(count):
        fd = LISTEN_FDS_START + index
        os.set_inheritable(fd, False)
        passed.setdefault(names[index] if index < len(names) else "unknown", []).append(fd)
    return passed


# ---------------------------------------------------------------------------------------------
# What the stopping worker leaves the next one


def save_state(notifier: Notifier, connections: dict[str, tuple[bytes, list[tuple[dict, float]]]]) -> int:
    """Store `key -> (bytes of an incomplete message, [(job fields, seconds left)])` as the state
    memfd; returns the number of jobs in it."""
    now = time.time()
    state = {key: {"partial": base64.b64encode(partial).decode("ascii"),
                   "jobs": [{"fields": fields, "deadline": now + left} for fields, left in jobs]}
             for key, (partial, jobs) in connections.items() if partial or jobs}
    notifier.forget(STATE)
    if state:
        fd = os.memfd_create(STATE)
        try:
            os.write(fd, json.dumps(state).encode("utf-8", "surrogateescape"))
            notifier.send(f"FDSTORE=1\nFDNAME={STATE}", [fd])
        finally:
            os.close(fd)
    return sum(len(jobs) for _, jobs in connections.values())


def load_state(fds: list[int]) -> dict[str, tuple[bytes, list[tuple[dict, float]]]]:
    """The state a stopping worker stored: key -> (partial bytes, [(job fields, seconds left)])."""
    loaded: dict[str, tuple[bytes, list]] = {}
    now = time.time()
    for fd in fds:
        try:
            size = os.fstat(fd).st_size
            raw = os.pread(fd, size, 0) if size else b""
            state = json.loads(raw.decode("utf-8", "surrogateescape")) if raw else {}
        except (OSError, ValueError):
            state = {}
        finally:
            os.close(fd)
        for key, saved in state.items():
            partial, jobs = loaded.setdefault(key, (b"", []))
            jobs += [(job["fields"], job["deadline"] - now) for job in saved.get("jobs", [])]
            loaded[key] = (partial + base64.b64decode(saved.get("partial", "")), jobs)
    return loaded
