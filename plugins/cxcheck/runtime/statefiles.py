"""Files a run leaves for later (a log's position for the next run, a failed page's screenshot for
people), in directories only the running user controls.

Whoever can write the directory a state file is in can put a symbolic link in the file's place,
to any file the check's user may write, and the next run writes through it. So:
- a directory is created if missing (0700, or the mode asked); one that exists must be a real
  directory (not a symbolic link) owned by the running user and writable by nobody else;
- it is then used only through a descriptor opened on it (O_NOFOLLOW): renaming it, or a
  directory above it, after the check changes nothing;
- a state file is opened with O_NOFOLLOW and must be a regular file of the running user,
  writable by nobody else, with no other name (a hard link);
- a file is replaced whole: written under a temporary name in the same directory, flushed, then
  renamed over the old one. A reader never sees half a file, and nothing is written through a link.
What is refused is a ConfigError: UNKNOWN, one line naming the path and what is wrong with it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import stat

import nagiosplugin

from cxcheck.runtime.values import ConfigError

MAX_STATE = 1 << 20         # bytes: a state file holds positions, not data
LOCK_TRIES = 20             # another run replaced the file while this one waited for its lock
O_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _refuse(what: str, path: str, reason: str) -> ConfigError:
    return ConfigError(f"refusing {what} {path}: {reason}")


def _checked(info: os.stat_result, what: str, path: str, kind) -> None:
    """Refuse what another user wrote or could write: wrong type, owner, mode or a second name."""
    if not kind(info.st_mode):
        raise _refuse(what, path, f"it is not {'a directory' if kind is stat.S_ISDIR else 'a regular file'}")
    me = os.geteuid()
    if info.st_uid != me:
        raise _refuse(what, path, f"it belongs to {user_name(info.st_uid)}, not to {user_name(me)} "
                                  "(the user the check runs as)")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _refuse(what, path, f"its group or others may write to it (mode {stat.S_IMODE(info.st_mode):04o})")
    if kind is stat.S_ISREG and info.st_nlink > 1:
        raise _refuse(what, path, f"it has {info.st_nlink} names (hard links)")


def _link_error(exc: OSError, what: str, path: str, dir_fd: int | None = None) -> ConfigError:
    """The error of an O_NOFOLLOW open: a symbolic link said as such, the rest as they are."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        try:
            name = path if dir_fd is None else os.path.basename(path)
            if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                return _refuse(what, path, "it is a symbolic link")
        except OSError:
            pass
    return ConfigError(f"cannot open {what} {path}: {exc.strerror or exc}")


class PrivateDirectory:
    """A directory of the running user's that nobody else may write, used through a descriptor."""

    def __init__(self, path: str, what: str = "state directory", mode: int | None = 0o700):
        """`mode`: made with that mode if missing; None: it must exist."""
        self.path, self.what, self.fd = path, what, None
        if mode is not None:
            try:
                os.makedirs(path, mode=mode)
            except FileExistsError:
                pass
            except OSError as exc:
                raise ConfigError(f"cannot create {what} {path}: {exc.strerror or exc}") from None
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise _link_error(exc, what, path) from None
        try:
            info = os.fstat(self.fd)
            _checked(info, what, path, stat.S_ISDIR)
            if os.geteuid() != 0 and info.st_mode & (stat.S_IWUSR | stat.S_IXUSR) != stat.S_IWUSR | stat.S_IXUSR:
                raise ConfigError(f"{what} {path}: not writable (mode {stat.S_IMODE(info.st_mode):04o})")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> PrivateDirectory:
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def names(self) -> list[str]:
        return os.listdir(self.fd)

    def lstat(self, name: str) -> os.stat_result:
        return os.stat(name, dir_fd=self.fd, follow_symlinks=False)

    def remove(self, name: str) -> None:
        os.unlink(name, dir_fd=self.fd)

    def write(self, name: str, data: bytes, mode: int = 0o600) -> str:
        """`name` replaced whole by `data` (temporary file, flushed, renamed). Returns its path."""
        temporary = f".{name}.{secrets.token_hex(6)}.part"
        fd = os.open(temporary, O_NEW, mode, dir_fd=self.fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            try:
                os.unlink(temporary, dir_fd=self.fd)
            except OSError:
                pass
            raise
        try:
            os.fsync(self.fd)           # the rename itself, on file systems that need it
        except OSError:
            pass
        return os.path.join(self.path, name)


class StateFile(nagiosplugin.Cookie):
    """nagiosplugin's Cookie (a dict kept as JSON between runs, locked while in use), on a file
    checked as the module says, replaced whole by commit(). As Cookie's, open() raises ValueError
    for content it cannot read, with the file open: the run starts afresh and commits over it."""

    def __init__(self, path: str):
        super().__init__(os.path.abspath(path))
        self.directory: PrivateDirectory | None = None
        self.name = os.path.basename(self.path)

    def open(self):
        self.directory = PrivateDirectory(os.path.dirname(self.path))
        try:
            self.fobj = self._locked()
            self._remove_leftovers()
            self.data = self._load()
        except ValueError:
            self.data = {}
            raise
        except BaseException:
            self.close()
            raise
        return self

    def _locked(self):
        for _ in range(LOCK_TRIES):
            try:
                fd = os.open(self.name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
                             | os.O_NOCTTY, 0o600, dir_fd=self.directory.fd)
            except OSError as exc:
                raise _link_error(exc, "state file", self.path, self.directory.fd) from None
            try:
                info = os.fstat(fd)
                _checked(info, "state file", self.path, stat.S_ISREG)
                fcntl.flock(fd, fcntl.LOCK_EX)      # the deadline's alarm ends a wait that lasts
                try:
                    now = self.directory.lstat(self.name)
                except FileNotFoundError:
                    now = None
                if now is not None and (now.st_ino, now.st_dev) == (info.st_ino, info.st_dev):
                    return os.fdopen(fd, "rb")
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)                # replaced while this run waited: open the new one
        raise ConfigError(f"cannot lock state file {self.path}: it keeps being replaced")

    def _remove_leftovers(self):
        """Temporary files of this state file that a run ended mid-commit left (the hard timeout
        exits at once). This run holds the lock: no other is writing one now."""
        for name in self.directory.names():
            if name.startswith(f".{self.name}.") and name.endswith(".part"):
                try:
                    self.directory.remove(name)
                except OSError:
                    pass

    def _load(self) -> dict:
        raw = self.fobj.read(MAX_STATE + 1)
        if len(raw) > MAX_STATE:
            raise ValueError(f"larger than {MAX_STATE} bytes")
        if not raw.strip():
            return {}
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("format error: cookie does not contain dict")
        return data

    def commit(self):
        if self.fobj is None:
            raise OSError(errno.EBADF, "the state file is not open")
        self.directory.write(self.name, (json.dumps(self.data) + "\n").encode())

    def close(self):
        super().close()
        if self.directory is not None:
            self.directory.close()
            self.directory = None
