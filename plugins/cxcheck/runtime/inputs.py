"""Local files and standard input, read with a size cap and inside the deadline.

A path may name anything: /dev/zero (endless), a FIFO nobody writes (opening it blocks),
/proc/self/mem (reading fails), a directory, or `-` with standard input closed. Each gives a
one-line error of the caller's kind (ConfigError or SourceError: UNKNOWN), never a hang past -t,
a memory error or a traceback. Blocking calls are ended by the run's SIGALRM backstop: a deadline
that passes before the input could be opened or read whole is the input's fault, not the target's.
"""

from __future__ import annotations

import io
import os
import stat
import sys

from cxcheck.runtime.values import ConfigError, DeadlineExceeded

KIB, MIB = 1024, 1024 * 1024


def size_text(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // KIB} KiB"


class _Capped(io.RawIOBase):
    """A file descriptor that refuses to yield more than `limit` bytes."""

    def __init__(self, fd: int, limit: int, refuse):
        self._file = io.FileIO(fd, "rb", closefd=True)
        self._left = limit
        self._refuse = refuse

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self._file.readinto(buffer)
        if count:
            self._left -= count
            if self._left < 0:
                raise self._refuse()
        return count

    def close(self):
        self._file.close()
        super().close()


def open_input(path: str, what: str, limit: int, error=ConfigError) -> io.BufferedReader:
    """`path` (`-`: standard input) opened for reading at most `limit` bytes; reading more raises
    `error`. Opening a FIFO that no one writes is an `error` once the deadline passes. Messages
    name `what` (a password file, a scenario), then the path."""
    where = _subject(what, path)
    try:
        if path == "-":
            if sys.stdin is None:       # closed when the process started: fd 0 may be anything now
                raise error(f"cannot read {where}: it is closed")
            fd = os.dup(sys.stdin.fileno())
        else:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise error(f"cannot read {where}: {exc.strerror or exc}") from None
    except DeadlineExceeded:
        raise error(f"cannot read {where}: nothing opened it for writing within the deadline "
                    "(a FIFO without a writer?)") from None
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise error(f"cannot read {where}: Is a directory")
        raw = _Capped(fd, limit, lambda: error(f"{where} is larger than {size_text(limit)}"))
    except BaseException:
        os.close(fd)
        raise
    return io.BufferedReader(raw, buffer_size=64 * KIB)


def read_text(path: str, limit: int, what: str, error=ConfigError) -> str:
    """The whole of a small UTF-8 file (a secret, a scenario), at most `limit` bytes."""
    handle = open_input(path, what, limit, error)
    where = _subject(what, path)
    try:
        data = handle.read()
    except OSError as exc:
        raise error(f"cannot read {where}: {exc.strerror or exc}") from None
    except DeadlineExceeded:
        raise error(f"cannot read {where}: it did not end within the deadline") from None
    finally:
        handle.close()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"cannot read {where}: not UTF-8 text") from None


def input_name(path: str) -> str:
    """How messages name an input given on the command line: `-` is standard input."""
    return "standard input" if path == "-" else path


def _subject(what: str, path: str) -> str:
    return " ".join(part for part in (what, input_name(path)) if part)
