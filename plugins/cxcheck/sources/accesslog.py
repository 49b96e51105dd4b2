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
