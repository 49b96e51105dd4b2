"""One check in one forked child: the parent's imports are already in memory, the child's fds 1
and 2 are pipes back to the parent, and it leaves by os._exit with the plugin's exit code, as
the process run of the same command would."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
import traceback

# What a result carries of each stream at most: the core reads a worker through a 1 MiB buffer,
# and a message that does not fit never arrives. The rest is read and dropped.
OUTPUT_CAP = 256 * 1024
CHUNK = 65536


class Child:
    """A running check: its pid, its two pipes and what came through them so far."""

    __slots__ = ("pid", "fds", "output", "start", "started", "dropped")

    def __init__(self, pid: int, out_fd: int, err_fd: int):
        self.pid = pid
        self.fds = {out_fd: 1, err_fd: 2}               # fd -> which stream
        self.output = {1: bytearray(), 2: bytearray()}
        self.start = time.time()                        # wall clock, for the result's start/stop
        self.started = time.monotonic()
        self.dropped = 0

    def read(self, fd: int) -> bool:
        """Read what is there; False at end of file (the fd is then closed)."""
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        return self._take(fd, data)

    def drain(self):
        """After the child is reaped: take what its pipes still hold, without waiting for an end
        of file a grandchild could keep away (the core's own worker does the same)."""
        for fd in list(self.fds):
            while fd in self.fds:
                try:
                    data = os.read(fd, CHUNK)
                except OSError:         # BlockingIOError included: nothing more now
                    data = b""
                self._take(fd, data)

    def _take(self, fd: int, data: bytes) -> bool:
        if not data:
            os.close(fd)
            del self.fds[fd]
            return False
        buffer = self.output[self.fds[fd]]
        room = max(OUTPUT_CAP - len(buffer), 0)
        buffer += data[:room]
        self.dropped += len(data) - len(data[:room])
        return True

    def close(self):
        for fd in list(self.fds):
            os.close(fd)
        self.fds.clear()


def spawn(main, argv: list[str], env: dict[str, str], shell_command: str | None = None) -> Child:
    """Fork a child that runs main(argv[1:]) (or `/bin/sh -c shell_command`). OSError if the
    fork or the pipes fail: the caller answers the job, the worker goes on."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    flush_stdio()
    try:
        pid = os.fork()
    except OSError:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    if pid == 0:                                    # the child: never returns
        _run_child(main, argv, env, out_w, err_w, shell_command)
    os.close(out_w)
    os.close(err_w)
    try:
        os.setpgid(pid, pid)                        # also done in the child: whichever runs first
    except OSError:
        pass
    for fd in (out_r, err_r):
        os.set_blocking(fd, False)
    return Child(pid, out_r, err_r)


def flush_stdio():
    """Before a fork: nothing the parent buffered may come out of a child."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def _run_child(main, argv, env, out_w, err_w, shell_command):
    code = 1
    try:
        detach(out_w, err_w)
        os.environ.update(env)
        if shell_command is not None:
            os.execve("/bin/sh", ["/bin/sh", "-c", shell_command], dict(os.environ))
        code = run_main(main, argv)
    except BaseException:           # anything above went wrong: say it where the core reads stderr
        try:
            os.write(2, traceback.format_exc().encode("utf-8", "replace"))
        except BaseException:
            pass
    finally:
        os._exit(code)


def detach(out_w: int, err_w: int, keep: int | None = None):
    """In a new child: its own process group (a timeout kills whatever it started), stdin from
    /dev/null, fds 1 and 2 the pipes, every other fd of the parent closed (the core's sockets,
    other children's pipes) but `keep`, the parent's signal handling undone."""
    os.setpgid(0, 0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    if keep is None:
        os.closerange(3, 1 << 16)
    else:
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 16)
    _reset_signals()


def _reset_signals():
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGALRM, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _stream(fd: int, like) -> io.TextIOWrapper:
    """A fresh text stream on fd, with the encoding a process started like the worker gets."""
    encoding = getattr(like, "encoding", None) or "utf-8"
    errors = getattr(like, "errors", None) or "strict"
    return io.TextIOWrapper(io.BufferedWriter(io.FileIO(fd, "w", closefd=False)), encoding=encoding,
                            errors=errors)


def run_main(main, argv) -> int:
    """main(argv[1:]) as the interpreter would run it: its SystemExit's code is the exit code,
    an escaping exception a traceback on stderr and 1."""
    sys.stdout = sys.__stdout__ = _stream(1, sys.__stdout__)
    sys.stderr = sys.__stderr__ = _stream(2, sys.__stderr__)
    sys.argv = list(argv)
    code = 0
    try:
        main(list(argv[1:]))
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return code


def _exit_code(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1
