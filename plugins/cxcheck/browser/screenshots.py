"""Screenshots of failed runs: what the customer saw, kept in a bounded rotation, in a directory
only the check's user may write (runtime.statefiles: a link planted there is refused, never
written through)."""

from __future__ import annotations

import os
import re
import time

from cxcheck.runtime import ConfigError
from cxcheck.runtime.statefiles import PrivateDirectory

PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
WHAT = "--screenshot-dir"


def _opened(directory: str) -> PrivateDirectory:
    if not os.path.lexists(directory):
        raise ConfigError(f"{WHAT} {directory}: no such directory")
    return PrivateDirectory(directory, WHAT, mode=None)


def check_directory(directory: str) -> str:
    """Refuse, before any browser starts, a directory the run could not (or must not) write to."""
    _opened(directory).close()
    return directory


def save(directory: str, prefix: str, png: bytes, keep: int = 20) -> str:
    """DIR/PREFIX-YYYYmmddTHHMMSS-N.png, written whole (temporary name, then rename), and the
    oldest PREFIX-*.png beyond `keep` removed. Returns the path."""
    if not PREFIX.match(prefix):
        prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", prefix)[:80] or "page"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    with _opened(directory) as folder:
        try:
            taken = set(folder.names())
            name = next(f"{prefix}-{stamp}-{n}.png" for n in range(1, 1000) if f"{prefix}-{stamp}-{n}.png" not in taken)
            path = folder.write(name, png, 0o640)
        except (OSError, StopIteration) as exc:
            raise ConfigError(f"{WHAT} {directory}: {getattr(exc, 'strerror', None) or 'no free name'}") from None
        _rotate(folder, prefix, keep)
    return path


def _rotate(folder: PrivateDirectory, prefix: str, keep: int):
    pattern = re.compile(re.escape(prefix) + r"-\d{8}T\d{6}-\d+\.png$")
    shots = []
    for name in folder.names():
        if pattern.match(name):
            try:
                shots.append((folder.lstat(name).st_mtime, name))
            except OSError:
                pass
    for _, name in sorted(shots)[:max(len(shots) - keep, 0)]:
        try:
            folder.remove(name)
        except OSError:
            pass
