"""The Nagios 4 worker protocol, as Nagios Core 4.4.6 speaks it on its query handler socket
(base/workers.c, lib/worker.c, lib/runcmd.c): pure functions, no I/O.

- Registration: `@wproc register name=N;max_jobs=K;plugin=P` and a NUL; the core answers `OK`
  and a NUL, then sends jobs on the same connection.
- Messages both ways: `key=value` pairs, each ended by a NUL, the message by \\1\\0\\0\\0. A value
  is split from its key at the first `=`; it may hold newlines, never a NUL.
- A job: job_id, type, command (macros expanded, not split), timeout, and env (`NAME=value`
  lines) when the core passes environment macros.
- A result: the job's keys back (env left out), wait_status, start and stop (sec.usec), runtime,
  exited_ok, error_code (62, ETIME, means "timed out"), outerr, outstd.
"""

from __future__ import annotations

from cxcheck.runtime import Record

MESSAGE_END = b"\x01\x00\x00\x00"
ETIME = 62                  # the core reads error_code=62 as "the plugin timed out"
DEFAULT_TIMEOUT = 60        # the core's own worker gives a job without a timeout this much
ECHOED = ("job_id", "type", "command", "timeout")
# Bytes the core's command splitter hands to /bin/sh when they are not quoted.
SHELL_SPECIALS = set("|<>&;()*?")


class ProtocolError(Exception):
    """The core said something this worker cannot follow: the connection is dropped."""


class CommandError(Exception):
    """A command line that cannot be split into arguments (an unbalanced quote)."""


def register_request(name: str, plugin: str, max_jobs: int) -> bytes:
    """The registration for one plugin key. One key a connection: a connection registered with
    two plugin= keys crashes Nagios 4.4.6 when it closes. No pid=: the core SIGKILLs a
    registered pid at every reload."""
    for value in (name, plugin):
        if not value or any(c in value for c in ";\0 \n"):
            raise ValueError(f"cannot register {value!r}: a name or plugin key with ';', a space or a NUL")
    return f"@wproc register name={name};max_jobs={max_jobs};plugin={plugin}\0".encode("utf-8", "surrogateescape")


def encode(pairs) -> bytes:
    """One message from (key, value) pairs; values are str or bytes, NULs cut as the core does."""
    out = bytearray()
    for key, value in pairs:
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        out += key.encode("ascii") + b"=" + value.split(b"\0", 1)[0] + b"\0"
    return bytes(out + MESSAGE_END)


def log_message(text: str) -> bytes:
    """A line for the core's log (nagios.log shows `wproc: NAME: text`)."""
    line = " ".join(text.split()) or "-"
    return b"log=" + line.encode("utf-8", "replace").replace(b"\0", b"") + b"\0" + MESSAGE_END


class MessageReader:
    """Splits what the core sends into messages: {key: value} with str values."""

    def __init__(self, limit: int = 4 * 1024 * 1024):
        self.limit = limit
        self._buffer = bytearray()

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)

    def feed(self, data: bytes) -> list[dict[str, str]]:
        self._buffer += data
        messages = []
        while True:
            end = self._buffer.find(MESSAGE_END)
            if end < 0:
                break
            raw = bytes(self._buffer[:end])
            del self._buffer[:end + len(MESSAGE_END)]
            messages.append(parse_pairs(raw))
        if len(self._buffer) > self.limit:
            raise ProtocolError(f"a message of more than {self.limit} bytes without its end marker")
        return messages


def parse_pairs(raw: bytes) -> dict[str, str]:
    fields = {}
    for pair in raw.split(b"\0"):
        if not pair:
            continue
        key, sep, value = pair.partition(b"=")
        if not sep:
            raise ProtocolError(f"a pair without '=': {pair[:60]!r}")
        fields[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
    return fields


class Job(Record):
    """One job from the core; `fields` are its keys as received (echoed back in the result)."""

    _fields = ("fields", "job_id", "command", "timeout", "env")

    def __init__(self, fields: dict, job_id: str, command: str, timeout: float, env: dict):
        self.fields, self.job_id, self.command, self.timeout, self.env = fields, job_id, command, timeout, env


def parse_job(fields: dict[str, str]) -> Job:
    """A Job; ProtocolError when it has no job_id (nothing could be answered)."""
    job_id = fields.get("job_id", "")
    if not job_id.strip().lstrip("-").isdigit():
        raise ProtocolError(f"a job without a job_id: keys {sorted(fields)}")
    try:
        timeout = int(fields.get("timeout") or 0)
    except ValueError:
        timeout = 0
    return Job(fields, job_id, fields.get("command", ""), timeout if timeout > 0 else DEFAULT_TIMEOUT,
               parse_env(fields.get("env", "")))


def parse_env(text: str) -> dict[str, str]:
    """`NAME=value` lines; a line without `=` continues the previous value (a macro with a
    newline in it, such as $LONGSERVICEOUTPUT$)."""
    env, last = {}, None
    for line in text.split("\n"):
        name, sep, value = line.partition("=")
        if sep and name and "\0" not in name:
            env[name] = value
            last = name
        elif last is not None and line:
            env[last] += "\n" + line
    return env


def timeval(seconds: float) -> str:
    whole, micro = divmod(round(seconds * 1_000_000), 1_000_000)
    return f"{whole}.{micro:06d}"


def encode_result(job: Job, wait_status: int, start: float, stop: float, outstd: bytes, outerr: bytes,
                  error_code: int | None = None) -> bytes:
    """The answer to `job`. Without error_code the plugin ran to its end (wait_status says how);
    with one it did not (ETIME: timed out, the core applies its own timeout state)."""
    pairs = [(key, job.fields[key]) for key in ECHOED if key in job.fields]
    pairs += [("wait_status", str(wait_status)), ("start", timeval(start)), ("stop", timeval(stop)),
              ("runtime", f"{max(stop - start, 0):f}")]
    pairs += [("exited_ok", "1")] if error_code is None else [("exited_ok", "0"), ("error_code", str(error_code))]
    pairs += [("outerr", outerr), ("outstd", outstd)]
    return encode(pairs)


def split_command(command: str) -> tuple[list[str], bool]:
    """(argv, needs_shell) by the rules of the core's own worker (lib/runcmd.c): words split at
    unquoted blanks, '...' literal, "..." with \\ escaping " \\ $ `, an unquoted \\ escaping any
    byte. needs_shell when the core would run it through /bin/sh: redirection, pipes, job
    control, parentheses, globs, $ or ` outside single quotes. CommandError for an unbalanced
    quote or an empty command."""
    argv, word, in_word, quote, needs_shell = [], [], False, None, False
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if quote == "'":
            if c == "'":
                quote = None
            else:
                word.append(c)
        elif quote == '"':
            if c == '"':
                quote = None
            elif c == "\\" and i + 1 < n and command[i + 1] in '"\\$`':
                i += 1
                word.append(command[i])
            else:
                needs_shell |= c in "$`"
                word.append(c)
        elif c in " \t\r\n":
            if in_word:
                argv.append("".join(word))
                word, in_word = [], False
        else:
            in_word = True
            if c in "'\"":
                quote = c
            elif c == "\\":
                if i + 1 < n:
                    i += 1
                    word.append(command[i])
            else:
                needs_shell |= c in SHELL_SPECIALS or c in "$`"
                word.append(c)
        i += 1
    if quote:
        raise CommandError(f"unbalanced {'single' if quote == chr(39) else 'double'} quote")
    if in_word:
        argv.append("".join(word))
    if not argv:
        raise CommandError("empty command")
    return argv, needs_shell
