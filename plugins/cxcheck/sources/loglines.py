"""Counting an access log's lines: each line read through its LogFormat, kept or left out by the
filters and the window, its response time counted by value, a server error apart; a line that
does not read counted in Rejects by reason, with its line number."""

from __future__ import annotations

import re

from cxcheck.sources.accesslog import BUILT_IN, DECIMAL, LogFormat, TimestampParser
from cxcheck.sources.base import ConfigError


class Filters:
    """Which requests count: --path-regex (searched in the path as logged), --method,
    --exclude-status (codes and classes such as 4xx)."""

    def __init__(self, path_regex: str | None = None, methods=(), excluded=()):
        try:
            self.path = re.compile(path_regex.encode()) if path_regex else None
        except re.error as exc:
            raise ConfigError(f"--path-regex {path_regex!r}: {exc}") from None
        self.methods = {method.upper().encode() for method in methods}
        self.excluded: set[bytes] = set()
        for spec in excluded:
            for code in spec.split(","):
                code = code.strip().lower()
                if re.fullmatch(r"[1-5]xx", code):
                    self.excluded.update(f"{code[0]}{n:02d}".encode() for n in range(100))
                elif re.fullmatch(r"[1-5]\d\d", code):
                    self.excluded.add(code.encode())
                elif code:
                    raise ConfigError(f"--exclude-status {spec!r}: codes such as 404 or classes such as 4xx")

    def __bool__(self):
        return bool(self.path or self.methods or self.excluded)


class LineCounter:
    """Reads blocks of complete lines through a log format: response times counted by their raw
    bytes (a log has few distinct values), failed (5xx) apart; lines that do not read are counted
    in `rejects` by reason, requests the filters leave out or outside the window in `skipped`.

    A block goes through findall() of a multi-line regex capturing only what is needed, counted
    by collections.Counter: both in C, ~1 us a line. When a block has a line that does not read,
    findall() finds fewer rows than lines, and that block is read again line by line to say which
    line and why."""

    def __init__(self, log_format: LogFormat, filters: Filters, rejects, window: tuple[float, float] | None = None):
        self.format, self.filters, self.rejects, self.window = log_format, filters, rejects, window
        request = log_format.request.group if log_format.request else None
        path = log_format.path.group if log_format.path else (request + "p" if request else None)
        method = log_format.method.group if log_format.method else (request + "m" if request else None)
        if filters.path and path is None:
            raise ConfigError(f"--path-regex: the log format {log_format.label!r} has no request or path field")
        if filters.methods and method is None:
            raise ConfigError(f"--method: the log format {log_format.label!r} has no request or method field")
        if window and log_format.timestamp is None:
            raise ConfigError(f"--window: the log format {log_format.label!r} has no timestamp field "
                              "($time_local, $time_iso8601, $msec, %t, %{sec}t)")
        self.timestamp = TimestampParser(log_format.timestamp) if log_format.timestamp else None
        wanted = {"status": log_format.status.group, "time": log_format.time.group}
        if filters.methods:
            wanted["method"] = method
        if filters.path:
            wanted["path"] = path
        if window:
            wanted["timestamp"] = log_format.timestamp.group
        self.wanted = wanted
        self.block_regex, order = log_format.capturing(list(wanted.values()))
        position = {group: index for index, group in enumerate(order)}
        self.at = {role: position[group] for role, group in wanted.items()}
        self.ok: dict[bytes, int] = {}        # raw response time -> lines
        self.failed: dict[bytes, int] = {}
        self.skipped = 0
        self.lines = 0
        self.suggestion: str | None = None     # another built-in format the first rejected line reads as

    def feed(self, block: bytes, number: int) -> int:
        """Count the lines of `block` (complete lines, each ending in a newline); `number` is the
        line number before the block's first. Returns the number of its last line."""
        from collections import Counter

        count = block.count(b"\n")
        self.lines += count
        rows = self.block_regex.findall(block)
        if len(rows) != count:
            self._feed_lines(block, number)
            return number + count
        at = self.at
        status_at, time_at = at["status"], at["time"]
        if not self.filters and not self.window:
            ok, failed = self.ok, self.failed
            for row, n in Counter(rows).items():
                raw = row[time_at]
                counts = failed if row[status_at][0] == 53 else ok      # b"5": a server error
                counts[raw] = counts.get(raw, 0) + n
        else:
            for row, n in Counter(rows).items():
                self._count(row[status_at], row[time_at], {role: row[i] for role, i in at.items()}, n, number)
        return number + count

    def _feed_lines(self, block: bytes, number: int) -> None:
        match = self.format.regex.match
        lines = block.split(b"\n")
        lines.pop()
        for line in lines:
            number += 1
            found = match(line)
            if found is None:
                self._unmatched(line, number)
                continue
            self._count(found.group(self.wanted["status"]), found.group(self.wanted["time"]),
                        {role: found.group(group) for role, group in self.wanted.items()}, 1, number)

    def _count(self, status: bytes, raw: bytes, fields: dict, n: int, number: int) -> None:
        filters = self.filters
        if filters:
            if status in filters.excluded or (filters.methods and fields["method"] not in filters.methods):
                self.skipped += n
                return
            if filters.path and (not fields["path"] or filters.path.search(fields["path"]) is None):
                self.skipped += n
                return
        if self.window:
            when = self.timestamp(fields["timestamp"])
            if when is None:
                for _ in range(n):
                    self.rejects.add("unreadable timestamp", number)
                return
            if not self.window[0] < when <= self.window[1]:
                self.skipped += n
                return
        counts = self.failed if status[0] == 53 else self.ok
        counts[raw] = counts.get(raw, 0) + n

    def _unmatched(self, line: bytes, number: int) -> None:
        """Why a line does not read: said by reason; nginx's several upstream times still count."""
        if not line.strip():
            self.rejects.add("empty line", number)
            return
        if b"\0" in line or not _is_text(line):
            self.rejects.add("binary junk", number)
            return
        found = self.format.lenient.match(line)
        if found is not None:
            raw = found.group(self.format.time.group).strip()
            if raw in (b"", b"-"):
                self.rejects.add(f"no response time ({self.format.time.name} is '{raw.decode()}')", number)
                return
            parts = re.split(rb"\s*[,:]\s*", raw)
            if len(parts) > 1 and all(re.fullmatch(DECIMAL, part) for part in parts):
                # Several upstreams tried (",") or an internal redirect (":"): the time is their sum.
                total = sum(float(part) for part in parts)
                fields = {role: found.group(group) for role, group in self.wanted.items()}
                self._count(fields["status"], b"%.3f" % total, fields, 1, number)
                return
        self.rejects.add(f"not in the log format ({self.format.label})", number)
        if self.suggestion is None:
            self.suggestion = ""
            for name, (text, _label) in BUILT_IN.items():
                if text != self.format.text and LogFormat(text).regex.match(line):
                    self.suggestion = name
                    break

    def response_times(self, times) -> None:
        """Add the counted lines to a latency.ResponseTimes and forget them."""
        scale = self.format.time.scale
        for counts, failed in ((self.ok, False), (self.failed, True)):
            for raw, count in counts.items():
                times.add(float(raw) if scale == 1 else int(raw) / scale, count, failed)
            counts.clear()


def _is_text(line: bytes) -> bool:
    try:
        text = line.decode()
    except UnicodeDecodeError:
        return False
    return text.isprintable() or all(ch.isprintable() or ch in "\t\r" for ch in text)
