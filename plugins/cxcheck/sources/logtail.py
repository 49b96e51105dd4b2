"""The lines a log gained since the last run, across rotation, its position kept in a state file
(runtime.statefiles: nagiosplugin's Cookie, a JSON file locked while in use, in a directory only
the check's user may write, replaced whole once the run has read).

nagiosplugin's LogTail (1.4) keeps {inode, pos} per log path in a Cookie, and alone it cannot
give every line exactly once:
- renamed rotation (logrotate's default: the log moved to access.log.1, a new file created): a
  new inode, so LogTail reads the new file from 0, and the lines the server wrote to the old
  file after the last run (until it reopened its log) are never read;
- copytruncate (copied to access.log.1, then truncated in place): the same inode; once the new
  content has grown past the old position, LogTail seeks there, skipping the new file's start
  and reading from the middle of a line; the lines written before the copy are never read;
- a last line still being written is read without its newline and the position moves past it:
  half a line now, the other half as junk next run;
- a file without newlines (a binary written over the log) is read as one line into memory.

So this module keeps LogTail's entry (the log's absolute path -> inode and pos) and adds what
those cases need: the device, the line number, a checksum of the file's first bytes (up to 256)
and of the bytes just before the position (up to 64). Then:
- same inode, as long as before, both checksums match: continue at the position;
- same inode but shorter, or the checksums differ (truncated, rewritten, or an inode reused):
  the rest is read from the rotated copy whose checksums match (access.log.1, access.log-2026…),
  then the log from 0; a log that was empty has nothing to recognise it by: a rotated copy
  written after the last run (newer than the state file) says it was copy-truncated since;
- another inode: the rest of the old file, found by inode among the rotated names, then the log
  from 0; rotated files written after it (two rotations between runs) in between, whole;
- only complete lines are read from the log itself; the position stays before a line being
  written. The last line of a rotated file is complete as it will ever be and is read.
Rotated names are the log's name followed by . or - and a digit; compressed ones are not read.
One log, one way of rotating it (renamed or copytruncate), as logrotate is configured.
Lost for every reader: what copytruncate's writer adds between the copy and the truncation, and
(renamed) what the server writes to the old file after a run has read it and before the server
reopens its log: logrotate signals it right after the rename, a window of milliseconds.
"""

from __future__ import annotations

import os
import re
import stat
import time
import zlib

from cxcheck.runtime import SourceError

BLOCK = 1 << 20
MAX_LINE = 64 * 1024
HEAD = 256
MARK = 64
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip")
VERSION = 1


class Segment:
    """A stretch of one file to read: from `start` to its end (or, for the log itself, to its last newline)."""

    def __init__(self, path: str, handle, start: int, line: int, final: bool, skip: bool = False):
        self.path, self.handle, self.start, self.line, self.final, self.skip = path, handle, start, line, final, skip
        self.pos = start


def _checksum(handle, start: int, length: int) -> int:
    handle.seek(start)
    return zlib.crc32(handle.read(length))


def _readable(path: str):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise unreadable(path, exc) from None


def unreadable(path: str, exc: OSError) -> SourceError:
    user = ""
    if isinstance(exc, PermissionError):
        import pwd

        user = f" (the check runs as {pwd.getpwuid(os.geteuid()).pw_name})"
    return SourceError(f"cannot read {path}: {exc.strerror or exc}{user}")


class LogTail:
    """Use as a context manager: `blocks()` yields (bytes of complete lines, line number before
    them); leaving without an exception saves the position reached. `notes` say what the output
    must tell (first run, state reset, rotation found or not)."""

    def __init__(self, path: str, state_file: str, stop=lambda: False, on_overlong=None):
        self.path = os.path.abspath(path)
        self.state_file = state_file
        self.stop = stop                        # asked before each block: end the run here?
        self.on_overlong = on_overlong          # called with the line number of a line over MAX_LINE
        self.notes: list[str] = []
        self.segments: list[Segment] = []
        self.since: float | None = None         # when the last run read
        self.unread = 0                         # bytes left for the next run (the deadline came)
        self.cookie = None
        self.current: Segment | None = None
        self.reading: Segment | None = None
        self.saved_at = 0

    # -- opening -------------------------------------------------------------------------------

    def __enter__(self):
        from cxcheck.runtime.statefiles import StateFile

        try:
            if not stat.S_ISREG(os.stat(self.path).st_mode):
                raise SourceError(f"cannot read {self.path}: not a regular file")
        except OSError as exc:
            raise unreadable(self.path, exc) from None
        handle = _readable(self.path)
        try:
            self.stat = os.fstat(handle.fileno())
            self.cookie = StateFile(self.state_file)
            try:
                self.cookie.open()
            except ValueError as exc:            # unreadable content: this run starts afresh, saves over it
                self.notes.append(f"state file {self.state_file} was corrupt ({_short(exc)}) and is reset: "
                                  "read the log from its start")
            except OSError as exc:
                raise SourceError(f"cannot open state file {self.state_file}: {exc.strerror or exc}") from None
            if self.cookie.fobj is not None:     # when the last run saved, on the file system's clock
                self.saved_at = os.fstat(self.cookie.fobj.fileno()).st_mtime_ns
            self._plan(handle, self._saved())
        except BaseException:
            handle.close()
            self._close_all()
            raise
        return self

    def _saved(self) -> dict | None:
        if self.cookie.fobj is None:
            return None
        entry = self.cookie.get(self.path)
        keys = ("inode", "dev", "pos", "line", "head", "head_size", "mark", "time")
        if entry is None:
            others = [key for key in self.cookie if key.startswith("/")]
            if others:
                self.notes.append(f"state file {self.state_file} holds no position for {self.path} (it has "
                                  f"{', '.join(others[:2])}): read the log from its start")
            elif not self.notes:
                self.notes.append("first run: read the log from its start")
            return None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), (int, float)) for k in keys):
            self.notes.append(f"state file {self.state_file}: the entry for {self.path} is not understood: "
                              "read the log from its start")
            return None
        self.since = entry["time"]
        return entry

    def _plan(self, handle, saved: dict | None) -> None:
        info = self.stat
        if saved is None:
            self.current = Segment(self.path, handle, 0, 0, final=False)
            self.segments = [self.current]
            return
        same_inode = (info.st_ino, info.st_dev) == (saved["inode"], saved["dev"])
        if same_inode and info.st_size >= saved["pos"] and self._continues(handle, saved):
            # An empty log has nothing to recognise it by: a copy written since the last run says
            # it was copy-truncated since, and all that copy is new.
            copies = [] if saved["pos"] else [c for c in self._candidates(info) if c[2].st_mtime_ns > self.saved_at]
            if not copies:
                self.current = Segment(self.path, handle, saved["pos"], saved["line"], final=False,
                                       skip=bool(saved.get("skip")))
                self.segments = [self.current]
                return
            older = [Segment(path, _readable(path), 0, 0, final=True) for _, path, _ in reversed(copies)]
            self._said_rotated(older, "truncated in place (copytruncate)")
        else:
            older = self._rotated(saved, info, by_inode=not same_inode)
        self.current = Segment(self.path, handle, 0, 0, final=False)
        self.segments = [*older, self.current]

    def _continues(self, handle, saved: dict) -> bool:
        pos = saved["pos"]
        return (_checksum(handle, 0, saved["head_size"]) == saved["head"]
                and _checksum(handle, max(0, pos - MARK), min(pos, MARK)) == saved["mark"])

    def _rotated(self, saved: dict, log, by_inode: bool) -> list[Segment]:
        """The rest of the file read last time, under its rotated name, and the files rotated after it."""
        how = "rotated (renamed)" if by_inode else "truncated in place (copytruncate)"
        candidates = self._candidates(log)
        # The file itself (renamed) first, then copies, newest first: the latest copy is the one.
        # By content, not by inode alone: an inode is reused, and a copy-truncated log may have been
        # renamed since.
        same = [c for c in candidates if (c[2].st_ino, c[2].st_dev) == (saved["inode"], saved["dev"])]
        found = None
        for newness, path, other in same + [c for c in candidates if c not in same]:
            if other.st_size < saved["pos"]:
                continue
            try:
                with open(path, "rb") as probe:
                    if self._continues(probe, saved):
                        found = newness, path
                        break
            except OSError:
                continue
        if found is None:
            self.notes.append(f"log {how} since the last run; the file read last time was not found under a rotated "
                              "name (compressed or deleted?): lines written to it after the last run are not counted")
            return []
        newness, path = found
        segments = [Segment(path, _readable(path), saved["pos"], saved["line"], final=True,
                            skip=bool(saved.get("skip")))]
        # Rotated again since (two rotations between runs): those files, oldest first, whole.
        for _newness, newer, _ in sorted((c for c in candidates if c[0][0] == newness[0] and c[0] > newness),
                                         key=lambda c: c[0]):
            segments.append(Segment(newer, _readable(newer), 0, 0, final=True))
        self._said_rotated(segments, how)
        return segments

    def _said_rotated(self, segments: list[Segment], how: str) -> None:
        names = ", ".join(os.path.basename(s.path) for s in segments)
        self.notes.append(f"log {how} since the last run: read the rest of {names}, then the new log")

    def _candidates(self, log) -> list[tuple]:
        """(newness, path, stat) of the rotated files beside the log, newest first."""
        candidates = []
        for path in rotated_names(self.path):
            try:
                other = os.stat(path)
            except OSError:
                continue
            if (other.st_ino, other.st_dev) != (log.st_ino, log.st_dev):
                candidates.append((self._newness(path), path, other))
        return sorted(candidates, key=lambda c: c[0], reverse=True)

    def _newness(self, path: str) -> tuple:
        """Orders rotated names, newer higher: access.log.1 is newer than access.log.2, and
        access.log-20261121 newer than access.log-20261120 (dates: more than 4 digits)."""
        suffix = os.path.basename(path)[len(os.path.basename(self.path)) + 1:]
        if suffix.isdigit() and len(suffix) <= 4:
            return 0, -int(suffix)
        return 1, suffix


    # -- reading -------------------------------------------------------------------------------

    def blocks(self):
        for segment in self.segments:
            self.reading = segment
            yield from self._read(segment)
            if self.unread:
                return

    def _read(self, segment: Segment):
        handle = segment.handle
        handle.seek(segment.start)
        pending = b""
        while True:
            if self.stop():
                self.unread = os.fstat(handle.fileno()).st_size - segment.pos
                for later in self.segments[self.segments.index(segment) + 1:]:
                    self.unread += os.fstat(later.handle.fileno()).st_size
                return
            data = handle.read(BLOCK)
            if not data:
                break
            if segment.skip:                     # inside a line longer than MAX_LINE: to its end
                cut = data.find(b"\n")
                if cut < 0:
                    segment.pos += len(data)
                    continue
                segment.skip = False
                segment.pos += cut + 1
                data = data[cut + 1:]
            buffer = pending + data if pending else data
            cut = buffer.rfind(b"\n")
            if cut >= 0:
                block, pending = buffer[:cut + 1], buffer[cut + 1:]
                yield block, segment.line
                segment.line += block.count(b"\n")
                segment.pos += len(block)
            else:
                pending = buffer
            if len(pending) > MAX_LINE:          # no line is that long: skip it to its end
                segment.line += 1
                if self.on_overlong:
                    self.on_overlong(segment.line)
                segment.pos += len(pending)
                segment.skip, pending = True, b""
        if pending and segment.final:            # a rotated file's last line will not grow any more
            yield pending + b"\n", segment.line
            segment.line += 1
            segment.pos += len(pending)

    # -- saving --------------------------------------------------------------------------------

    def __exit__(self, exc_type, exc, traceback):
        try:
            if exc_type is None and self.cookie is not None and self.cookie.fobj is not None:
                self._save()
        finally:
            self._close_all()

    def _save(self) -> None:
        # Where reading stopped: the log, or (the deadline came) a rotated file not read to its end,
        # which the next run finds again by its inode.
        segment = self.reading if self.unread else self.current
        handle, pos = segment.handle, segment.pos
        identity = os.fstat(handle.fileno())
        head_size = min(HEAD, pos)
        self.cookie[self.path] = {
            "inode": identity.st_ino, "dev": identity.st_dev, "pos": pos, "line": segment.line,
            "head": _checksum(handle, 0, head_size), "head_size": head_size,
            "mark": _checksum(handle, max(0, pos - MARK), min(pos, MARK)),
            "skip": segment.skip, "time": time.time(), "version": VERSION,
        }
        try:
            self.cookie.commit()
        except OSError as exc:
            raise SourceError(f"cannot write state file {self.state_file}: {exc.strerror or exc}") from None

    def _close_all(self) -> None:
        for segment in self.segments:
            segment.handle.close()
        if self.cookie is not None:
            self.cookie.close()

    @property
    def read_bytes(self) -> int:
        return sum(segment.pos - segment.start for segment in self.segments)


def rotated_names(log: str) -> list[str]:
    """The log's rotated files beside it that can be read: access.log.1, access.log-20261120."""
    folder, base = os.path.split(os.path.abspath(log))
    pattern = re.compile(re.escape(base) + r"[.-]\d[\w.-]*")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, name) for name in names if pattern.fullmatch(name) and not name.endswith(COMPRESSED)]


def _short(exc: Exception) -> str:
    text = " ".join(str(exc.args[0] if exc.args else exc).split())
    return text if len(text) <= 80 else text[:77] + "..."
