"""Web server access logs: a log format, in the server's own syntax, compiled into one regular
expression with named fields; and the lines of a log read through it.

nginx formats name their fields (`$status`, `$request_time`); Apache's are directives (`%>s`,
`%D`), named by their directive. Each field matches what the server writes there, so a line of
another format is rejected, not misread: nginx writes `$request_time` with a decimal point
(`0.123`, seconds), Apache writes `%D` as whole microseconds, and the regular expression covers
the whole line. Lines are bytes: a log is not always valid UTF-8 (escaped request lines, junk).

Built-in formats (`--log-format NAME`): nginx's and Apache's `combined` with the response time
appended. Any other: `--log-format '<the log_format or LogFormat string>'`.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime

from cxcheck.sources.base import ConfigError

COMBINED_NGINX = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                  '"$http_referer" "$http_user_agent"')
COMBINED_APACHE = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
BUILT_IN = {
    "nginx": (COMBINED_NGINX + " $request_time", "nginx combined + $request_time"),
    "nginx-upstream": (COMBINED_NGINX + " $upstream_response_time", "nginx combined + $upstream_response_time"),
    "apache": (COMBINED_APACHE + " %D", "Apache combined + %D"),
    "apache-seconds": (COMBINED_APACHE + " %T", "Apache combined + %T"),
}

# Possessive (*+): a field ends where its closing quote is; backtracking into it finds nothing.
QUOTED = rb'[^"\\\n]*+(?:\\.[^"\\\n]*+)*+'
NUMBER = rb"\d+"
DECIMAL = rb"\d+\.\d+"
TIME_LOCAL = rb"\d\d/[A-Z][a-z][a-z]/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
MONTHS = {name.encode(): number for number, name in enumerate(calendar.month_abbr) if name}
# A request line: method, target, protocol; anything else (a 400's "-", escaped junk) still reads.
REQUEST = rb'(?P<method>[^\s"\\]*+)(?: (?P<path>[^\s"\\]*+))?' + QUOTED

# What a field is for: role -> (pattern, scale). Response times: scale = units per second.
NGINX_FIELDS = {
    "status": ("status", rb"\d{3}", None),
    "request": ("request", REQUEST, None),
    "request_method": ("method", rb"[A-Z]+", None),
    "request_uri": ("path", rb"\S+", None),
    "uri": ("path", rb"\S+", None),
    "time_local": ("timestamp", TIME_LOCAL, "local"),
    "time_iso8601": ("timestamp", rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d|Z)", "iso"),
    "msec": ("timestamp", DECIMAL, 1),
    "request_time": ("time", DECIMAL, 1),
    "upstream_response_time": ("time", DECIMAL, 1),
    "upstream_header_time": ("time", DECIMAL, 1),
    "upstream_connect_time": ("time", DECIMAL, 1),
}
APACHE_FIELDS = {
    "%s": ("status", rb"\d{3}", None),
    "%>s": ("status", rb"\d{3}", None),
    "%r": ("request", REQUEST, None),
    "%m": ("method", rb"[A-Z]+", None),
    "%U": ("path", rb"\S+", None),
    "%t": ("timestamp", rb"\[" + TIME_LOCAL + rb"\]", "local"),
    "%{sec}t": ("timestamp", NUMBER, 1),
    "%{msec}t": ("timestamp", NUMBER, 1000),
    "%{usec}t": ("timestamp", NUMBER, 1_000_000),
    "%D": ("time", NUMBER, 1_000_000),
    "%{us}T": ("time", NUMBER, 1_000_000),
    "%{ms}T": ("time", NUMBER, 1000),
    "%T": ("time", NUMBER, 1),
    "%{s}T": ("time", NUMBER, 1),
}
# When a format has several response times and --time-field does not say: the first of these.
TIME_PREFERENCE = ("request_time", "upstream_response_time", "%D", "%{us}T", "%{ms}T", "%T", "%{s}T")
NGINX_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
APACHE_DIRECTIVE = re.compile(r"%(?:!?\d+(?:,\d+)*)?([<>]?)(\{[^}]*\})?([a-zA-Z%])")


class Field:
    """One field of a format: its name as the format writes it, its role, its group in the regex."""

    __slots__ = ("name", "role", "group", "scale")

    def __init__(self, name: str, role: str | None, group: str, scale):
        self.name, self.role, self.group, self.scale = name, role, group, scale


class LogFormat:
    """A log format compiled: `regex` (bytes, whole line), the fields by name, and the fields
    with a role (`time`, `status`, `request`, `method`, `path`, `timestamp`)."""

    def __init__(self, text: str, label: str | None = None, time_field: str | None = None):
        self.text = text
        self.label = label or text
        self.style = "nginx" if NGINX_VARIABLE.search(text) else "apache" if "%" in text else None
        if self.style is None:
            raise ConfigError(f"--log-format {text!r}: no field in it (nginx $variables or Apache %directives), "
                              f"and not one of {', '.join(BUILT_IN)}")
        self.fields: list[Field] = []
        self.pattern = self._compile(text) + rb"[ \r]*"
        self.regex = re.compile(self.pattern + rb"\Z")
        self.lenient = re.compile(self._compile(text, lenient=True) + rb"[ \r]*\Z")
        self.time = self._pick_time(time_field)
        self.status = self._role("status")
        self.request = self._role("request")
        self.method = self._role("method")
        self.path = self._role("path")
        self.timestamp = self._role("timestamp")
        if self.status is None:
            raise ConfigError(f"--log-format {self.label!r} has no status field ($status or %>s): "
                              "5xx answers count as frustrated, the check needs it")

    @classmethod
    def named(cls, name_or_text: str, time_field: str | None = None) -> LogFormat:
        if name_or_text in BUILT_IN:
            text, label = BUILT_IN[name_or_text]
            return cls(text, label, time_field)
        return cls(name_or_text, None, time_field)

    def _compile(self, text: str, lenient: bool = False) -> bytes:
        directive = NGINX_VARIABLE if self.style == "nginx" else APACHE_DIRECTIVE
        out, at, seen = [], 0, set()
        for match in directive.finditer(text):
            group = f"f{len(seen)}"
            out.append(re.escape(text[at:match.start()].encode()))
            at = match.end()
            if self.style == "nginx":
                name = match.group(1) or match.group(2)
                role, pattern, scale = NGINX_FIELDS.get(name, (None, None, None))
            else:
                if match.group(3) == "%":
                    out.append(b"%")
                    continue
                name = "%" + match.group(1) + (match.group(2) or "") + match.group(3)
                role, pattern, scale = APACHE_FIELDS.get(name, (None, None, None))
                if role is None and match.group(1):        # %<s, %>s: status either way
                    role, pattern, scale = APACHE_FIELDS.get("%" + (match.group(2) or "") + match.group(3),
                                                             (None, None, None))
            quoted = text[match.end():match.end() + 1] == '"' and text[match.start() - 1:match.start()] == '"'
            if pattern is None:
                pattern = QUOTED if quoted else rb"\S*"
            if lenient and role == "time":
                pattern = QUOTED if quoted else rb'[^"]*?'
            if name in seen:                            # a field written twice is matched, captured once
                out.append(b"(?:" + pattern.replace(b"?P<", b"?P<x" + str(len(out)).encode()) + b")")
                continue
            seen.add(name)
            if not lenient:
                self.fields.append(Field(name, role, group, scale))
            if role == "request":                      # its method and path groups, once per regex
                pattern = pattern.replace(b"?P<method>", b"?P<" + group.encode() + b"m>")
                pattern = pattern.replace(b"?P<path>", b"?P<" + group.encode() + b"p>")
            out.append(b"(?P<" + group.encode() + b">" + pattern + b")")
        out.append(re.escape(text[at:].encode()))
        return b"".join(out)

    def capturing(self, groups: list[str]):
        """The format as a multi-line regex for findall() over a block of lines, capturing only
        these groups, and their names in the order findall() gives them."""
        wanted = {group.encode() for group in groups}
        pattern = re.sub(rb"\(\?P<(\w+)>", lambda m: m.group(0) if m.group(1) in wanted else b"(?:", self.pattern)
        regex = re.compile(b"^" + pattern + b"$", re.M)
        return regex, sorted(groups, key=regex.groupindex.__getitem__)

    def _role(self, role: str) -> Field | None:
        return next((field for field in self.fields if field.role == role), None)

    def _pick_time(self, wanted: str | None) -> Field:
        times = [field for field in self.fields if field.role == "time"]
        if wanted:
            wanted_names = {wanted, wanted.lstrip("$")}
            found = next((field for field in self.fields if field.name in wanted_names), None)
            if found is None:
                raise ConfigError(f"--time-field {wanted!r} is not a field of the log format "
                                  f"(fields: {', '.join(f.name for f in self.fields)})")
            if found.role != "time":
                raise ConfigError(f"--time-field {wanted!r} is not a response time; known ones: "
                                  f"{', '.join(TIME_PREFERENCE)}")
            return found
        if not times:
            raise ConfigError(f"--log-format {self.label!r} has no response time field (nginx $request_time or "
                              "$upstream_response_time, Apache %D or %T)")
        return min(times, key=lambda field: TIME_PREFERENCE.index(field.name))

    def describe(self) -> str:
        unit = {1: "s", 1000: "ms", 1_000_000: "us"}[self.time.scale]
        return f"{self.label} (response time {self.time.name}, in {unit})"


# -- timestamps ------------------------------------------------------------------------------

class TimestampParser:
    """Unix seconds of a timestamp field's raw bytes; None when unreadable. Consecutive lines
    share their second: the last answer is kept."""

    def __init__(self, field: Field):
        self.kind = field.scale
        self.last_raw, self.last = None, None

    def __call__(self, raw: bytes) -> float | None:
        if raw == self.last_raw:
            return self.last
        try:
            if self.kind == "local":
                value = parse_time_local(raw.strip(b"[]"))
            elif self.kind == "iso":
                value = datetime.fromisoformat(raw.decode()).timestamp()
            else:
                value = int(raw) / self.kind if self.kind != 1 else float(raw)
        except (ValueError, KeyError, OverflowError):
            value = None
        self.last_raw, self.last = raw, value
        return value


def parse_time_local(raw: bytes) -> float:
    """10/Oct/2000:13:55:36 -0700 (nginx $time_local, Apache %t) as unix seconds."""
    day, month, year = int(raw[0:2]), MONTHS[raw[3:6]], int(raw[7:11])
    hour, minute, second = int(raw[12:14]), int(raw[15:17]), int(raw[18:20])
    sign = -1 if raw[21:22] == b"-" else 1
    offset = sign * (int(raw[22:24]) * 3600 + int(raw[24:26]) * 60)
    if not (1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(raw)
    return calendar.timegm((year, month, day, hour, minute, second)) - offset


# -- reading lines -----------------------------------------------------------------------------

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
