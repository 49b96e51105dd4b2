"""Screenshots of failed runs: what the customer saw, kept in a bounded rotation."""

from __future__ import annotations

import os
import re
import time

from cxcheck.runtime import ConfigError

PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


def check_directory(directory: str) -> str:
    """Refuse, before any browser starts, a directory the run could not write to."""
    if not os.path.isdir(directory):
        raise ConfigError(f"--screenshot-dir {directory}: no such directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"--screenshot-dir {directory}: not writable")
    return directory


def save(directory: str, prefix: str, png: bytes, keep: int = 20) -> str:
    """DIR/PREFIX-YYYYmmddTHHMMSS-N.png, written whole (temporary name, then rename), and the
    oldest PREFIX-*.png beyond `keep` removed. Returns the path."""
    check_directory(directory)
    if not PREFIX.match(prefix):
        prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", prefix)[:80] or "page"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for number in range(1, 1000):
        path = os.path.join(directory, f"{prefix}-{stamp}-{number}.png")
        if not os.path.exists(path):
            break
    partial = f"{path}.part"
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as out:
            out.write(png)
        os.replace(partial, path)
    except OSError as exc:
        raise ConfigError(f"--screenshot-dir {directory}: {exc.strerror}") from None
    _rotate(directory, prefix, keep)
    return path


def _rotate(directory: str, prefix: str, keep: int):
    pattern = re.compile(re.escape(prefix) + r"-\d{8}T\d{6}-\d+\.png$")
    shots = sorted((os.path.getmtime(os.path.join(directory, name)), name)
                   for name in os.listdir(directory) if pattern.match(name))
    for _, name in shots[:max(len(shots) - keep, 0)]:
        try:
            os.remove(os.path.join(directory, name))
        except OSError:
            pass
