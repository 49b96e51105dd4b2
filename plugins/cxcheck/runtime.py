"""What every cxcheck plugin shares: options, the run's deadline, secret masking and the exit.

A plugin module defines its parser (built on `Parser`) and a body that returns a
nagiosplugin.Check; `plugin()` turns the body into a console-script main() that never breaks
the monitoring-plugin protocol: one status line, perfdata, long output, exit 0-3, no traceback
unless -vvv, and an exit by the deadline even inside a blocking read.

Heavy modules (requests, yaml, jmespath) are imported where used, never here: every check run
pays for this module's imports.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import signal
import sys
import time
import traceback
from urllib.parse import quote, quote_plus

import nagiosplugin

from cxcheck import __version__

STATE_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
STATE_NAMES = {code: name.upper() for name, code in STATE_CODES.items()}
STATE_OBJECTS = {
    "ok": nagiosplugin.Ok,
    "warning": nagiosplugin.Warn,
    "critical": nagiosplugin.Critical,
    "unknown": nagiosplugin.Unknown,
}

# The soft alarm at the deadline lets the check unwind and report the steps that finished;
# the hard one, this much later, exits whatever the code is doing.
HARD_MARGIN = 0.25
MASK = "***"
log = logging.getLogger("cxcheck")


class Record:
    """What @dataclass gave our small value classes (repr, == over the fields in order), without
    importing dataclasses (and inspect, ast, dis with it) and generating code for every class at
    every plugin start: ~5 ms, then ~0.4 ms a class. A subclass lists its fields in `_fields` and
    writes its __init__."""

    __slots__ = ()
    _fields: tuple = ()
    __hash__ = None                     # as a mutable dataclass: == but no hash

    def __repr__(self):
        return f"{type(self).__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields)})"

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, n) for n in self._fields) == tuple(getattr(other, n) for n in other._fields)


class ConfigError(Exception):
    """A usage or configuration problem: UNKNOWN with a one-line reason."""


class DeadlineExceeded(BaseException):
    """The run's deadline (-t) passed.

    A BaseException so that libraries' `except Exception` cannot swallow it.
    """


# ---------------------------------------------------------------------------------------------
# Secrets


class Masker:
    """Replaces every registered secret by *** in whatever the plugin writes."""

    def __init__(self):
        self._secrets: list[str] = []

    def register(self, secret: str | None) -> str | None:
        if secret:
            # A secret also travels URL-encoded (form bodies, query strings, echoed pages).
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                if form not in self._secrets:
                    self._secrets.append(form)
            self._secrets.sort(key=len, reverse=True)
        return secret

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __bool__(self):
        return bool(self._secrets)


masker = Masker()


class MaskingStream:
    """A text stream that masks secrets before they reach the real one."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(masker.mask(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def install_masking():
    if not isinstance(sys.stdout, MaskingStream):
        sys.stdout = MaskingStream(sys.stdout)
    if not isinstance(sys.stderr, MaskingStream):
        sys.stderr = MaskingStream(sys.stderr)


def mask_identity(identity: str) -> str:
    """shopper@example.com -> s***@example.com: enough to recognise the account, not to reuse it."""
    if not identity:
        return identity
    local, at, domain = identity.partition("@")
    return (local[:1] + MASK + at + domain) if at else (identity[:1] + MASK)


def read_secret(env: str | None = None, path: str | None = None, what: str = "secret") -> str | None:
    """The value of a --*-env NAME or --*-file PATH option, registered with the masker."""
    if env and path:
        raise ConfigError(f"give the {what} by environment variable or by file, not both")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{what}: environment variable {env} is not set")
        return masker.register(value)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"cannot read {what} file {path}: not UTF-8 text") from None
        return masker.register(value)
    return None


# ---------------------------------------------------------------------------------------------
# Deadline


class Deadline:
    """One deadline over the whole run, computed once from -t."""

    def __init__(self, seconds: float, start: float | None = None):
        self.seconds = seconds
        self.start = time.monotonic() if start is None else start
        self.end = self.start + seconds

    @property
    def remaining(self) -> float:
        return self.end - time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def check(self):
        if self.remaining <= 0:
            raise DeadlineExceeded()

    def timeout(self, own: float | None = None) -> float:
        """The timeout for one operation: its own, cut to what is left of the run."""
        left = self.remaining
        if left <= 0:
            raise DeadlineExceeded()
        return left if own is None else min(own, left)

    def sleep(self, seconds: float):
        """Sleep, but never past the deadline (then DeadlineExceeded)."""
        if seconds >= self.remaining:
            time.sleep(max(self.remaining, 0))
            raise DeadlineExceeded()
        time.sleep(max(seconds, 0))


class Backstop:
    """SIGALRM at the deadline raises DeadlineExceeded in the main thread, even inside a read
    that a per-socket-operation timeout never ends (a server dripping a byte a second); if the
    code does not unwind within HARD_MARGIN, `on_hard_timeout` writes the result and exits."""

    def __init__(self, deadline: Deadline, on_hard_timeout):
        self.deadline = deadline
        self.on_hard_timeout = on_hard_timeout
        self._fired = False

    def arm(self):
        if not hasattr(signal, "setitimer"):
            return
        signal.signal(signal.SIGALRM, self._alarm)
        signal.setitimer(signal.ITIMER_REAL, max(self.deadline.remaining, 0.001))

    def disarm(self):
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def _alarm(self, signum, frame):
        if self._fired:
            self.on_hard_timeout()
            return
        self._fired = True
        signal.setitimer(signal.ITIMER_REAL, HARD_MARGIN)
        raise DeadlineExceeded()


# ---------------------------------------------------------------------------------------------
# Options


def nagios_range(text: str) -> str:
    try:
        nagiosplugin.Range(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Nagios range (e.g. 5, 10:, ~:2, @3:7)")
    return text


def _finite(text: str, low: float, low_allowed: bool, wanted: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value >= low if low_allowed else value > low) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be {wanted}")
    return value


def positive_float(text: str) -> float:
    return _finite(text, 0, False, "a positive number")


def non_negative_float(text: str) -> float:
    return _finite(text, 0, True, "zero or more")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a header of the form 'Name: value'")
    return name.strip(), value.strip()


def name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form NAME=VALUE")
    return name, value


def add_http_arguments(http):
    """TLS, proxy and header options; on a plugin's parser and on `cxcheck scenario check`."""
    http.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    http.add_argument("--ca-file", metavar="PATH", help="CA bundle to verify the server against")
    http.add_argument("--client-cert", metavar="PATH", help="client certificate (PEM) for mutual TLS")
    http.add_argument("--client-key", metavar="PATH", help="private key of --client-cert")
    http.add_argument("--proxy", metavar="URL", help="HTTP(S) proxy for every request (default: none, "
                                                     "environment proxies are ignored)")
    http.add_argument("--user-agent", metavar="TEXT", default=f"cxcheck/{__version__}",
                      help="User-Agent header (default cxcheck/VERSION)")
    http.add_argument("--header", type=header, action="append", default=[], metavar="'NAME: VALUE'",
                      help="extra request header, repeatable")
    return http


class Parser(argparse.ArgumentParser):
    """argparse with the options every plugin shares; errors become ConfigError (UNKNOWN)."""

    def __init__(self, prog: str, description: str, examples: str, timeout: float = 10.0,
                 metric_help: str = "the main metric"):
        super().__init__(
            prog=prog, description=description, add_help=False,
            epilog="examples:\n" + examples.strip("\n"),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # Negative ranges (-c -10:, -w -5:5) are values, not options: NPS floors go below zero.
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)(:(-?(\d+\.?\d*|\.\d+))?)?$")
        common = self.add_argument_group("common options")
        common.add_argument("-h", "--help", action="help", help="show this help and exit")
        common.add_argument("-V", "--version", action="version", version=f"{prog} (cxcheck) {__version__}")
        common.add_argument("-w", "--warning", type=nagios_range, metavar="RANGE",
                            help=f"warning range for {metric_help} (Nagios range syntax)")
        common.add_argument("-c", "--critical", type=nagios_range, metavar="RANGE",
                            help=f"critical range for {metric_help} (Nagios range syntax)")
        common.add_argument("-t", "--timeout", type=positive_float, default=timeout, metavar="SECONDS",
                            help=f"deadline for the whole run, in seconds, fractions allowed (default {timeout:g})")
        common.add_argument("--timeout-state", choices=list(STATE_CODES), default="critical",
                            help="state when the deadline passes (default critical)")
        common.add_argument("-v", "--verbose", action="count", default=0,
                            help="more detail: -v one line per request, -vv debug, -vvv tracebacks")

    def add_http_options(self):
        return add_http_arguments(self.add_argument_group("HTTP and TLS"))

    def add_secret(self, name: str, what: str, group=None):
        """--NAME-env VAR and --NAME-file PATH: secrets never have to sit on argv."""
        target = group or self
        target.add_argument(f"--{name}-env", metavar="VAR", help=f"environment variable holding the {what}")
        target.add_argument(f"--{name}-file", metavar="PATH", help=f"file holding the {what}")

    def error(self, message):
        raise ConfigError(message)


class HttpOptions(Record):
    """Transport settings taken from the shared HTTP options."""

    _fields = ("verify", "cert", "proxy", "headers")

    def __init__(self, verify: bool | str = True, cert: tuple[str, str] | str | None = None,
                 proxy: str | None = None, headers: dict | None = None):
        self.verify, self.cert, self.proxy = verify, cert, proxy
        self.headers = {} if headers is None else headers

    @classmethod
    def from_args(cls, args) -> "HttpOptions":
        for path in (args.ca_file, args.client_cert, args.client_key):
            if path and not os.access(path, os.R_OK):
                raise ConfigError(f"cannot read {path}")
        if args.client_key and not args.client_cert:
            raise ConfigError("--client-key needs --client-cert")
        headers = {"User-Agent": args.user_agent}
        headers.update(dict(args.header))
        cert = (args.client_cert, args.client_key) if args.client_key else args.client_cert
        verify = False if args.insecure else (args.ca_file or True)
        return cls(verify=verify, cert=cert, proxy=args.proxy, headers=headers)


# ---------------------------------------------------------------------------------------------
# Metrics shared by the checks


def perf_label(text: str) -> str:
    """A perfdata label that graphs can key on: lower case, [a-z0-9_]."""
    label = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return label or "unnamed"


class MaybeContext(nagiosplugin.ScalarContext):
    """A ScalarContext whose metric may be None (perfdata U: a step that did not run, a value
    with no data) and whose ranges may be absent: only a range that was given is judged (an
    absent one is not nagiosplugin's default 0:, which would flag every negative value)."""

    def __init__(self, name, warning=None, critical=None, **kwargs):
        super().__init__(name, warning, critical, **kwargs)
        self.judged = (warning is not None, critical is not None)
        # As given: nagiosplugin prints the range 0: as nothing, which perfdata reads as no threshold.
        self.texts = (str(warning) if warning is not None else None, str(critical) if critical is not None else None)

    def evaluate(self, metric, resource):
        if metric.value is not None:
            for state, bound in self.given():
                if not bound.match(metric.value):
                    return self.result_cls(state, bound.violation, metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        value, uom = ("U", "") if metric.value is None else (metric.value, metric.uom)
        return nagiosplugin.Performance(metric.name, value, uom, *self.texts, metric.min, metric.max)

    def given(self):
        """(state, range) for each range that was given, critical first."""
        return [(state, bound) for state, bound, judged in ((nagiosplugin.Critical, self.critical, self.judged[1]),
                                                            (nagiosplugin.Warn, self.warning, self.judged[0]))
                if judged]


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


# ---------------------------------------------------------------------------------------------
# The run


class Run(Record):
    """What a plugin body gets: its options, the deadline, and what it is doing now."""

    _fields = ("args", "deadline", "verbosity", "activity", "longoutput")

    def __init__(self, args: argparse.Namespace, deadline: Deadline, verbosity: int, activity: str = "",
                 longoutput: list | None = None):
        self.args, self.deadline, self.verbosity, self.activity = args, deadline, verbosity, activity
        self.longoutput = [] if longoutput is None else longoutput

    def state(self, name: str):
        return STATE_OBJECTS[name]

    @property
    def timeout_state(self):
        return STATE_OBJECTS[self.args.timeout_state]

    def http_options(self) -> HttpOptions:
        return HttpOptions.from_args(self.args)


def clean_text(text: str) -> str:
    """Status line text: no pipe (it starts perfdata), no line breaks."""
    return " ".join(masker.mask(str(text)).replace("|", "/").split())


class _LogLines(logging.Handler):
    def __init__(self, lines):
        super().__init__()
        self.lines = lines

    def emit(self, record):
        self.lines.append(masker.mask(self.format(record)))


def render(name: str, check: nagiosplugin.Check, extra_lines=()) -> tuple[str, int]:
    state = check.state
    summary = clean_text(check.summary_str)
    status = f"{name} {str(state).upper()}" + (f" - {summary}" if summary else "")
    perfdata = " ".join(clean_text(p) for p in check.perfdata if p)
    if perfdata:
        status += " | " + perfdata
    lines = [status]
    verbose = check.verbose_str
    for line in (verbose if isinstance(verbose, (list, tuple)) else [verbose]):
        if line:
            lines.extend(masker.mask(str(line)).replace("|", "/").splitlines())
    lines.extend(line.replace("|", "/") for line in extra_lines)
    return "\n".join(lines) + "\n", check.exitcode


def _write(text: str):
    sys.stdout.write(text)
    sys.stdout.flush()


def run_plugin(name: str, build_parser, body, argv=None) -> int:
    started = time.monotonic()
    install_masking()
    verbosity = 0

    def one_line(state: str, reason: str, lines=()) -> int:
        text = f"{name} {state.upper()} - {clean_text(reason)}\n"
        text += "".join(masker.mask(line).replace("|", "/") + "\n" for line in lines)
        _write(text)
        return STATE_CODES[state]

    try:
        args = build_parser().parse_args(argv)
    except ConfigError as exc:
        return one_line("unknown", exc)

    verbosity = min(args.verbose, 3)
    debug_lines: list[str] = []
    if verbosity >= 2:
        handler = _LogLines(debug_lines)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if verbosity >= 3 else logging.INFO)

    deadline = Deadline(args.timeout, start=started)
    run = Run(args=args, deadline=deadline, verbosity=verbosity)

    def timed_out_line() -> str:
        during = f" while {run.activity}" if run.activity else ""
        return f"timed out after {args.timeout:g} s{during}"

    def hard_timeout():
        code = one_line(args.timeout_state, timed_out_line(), run.longoutput)
        os._exit(code)

    backstop = Backstop(deadline, hard_timeout)
    backstop.arm()
    try:
        check = body(run)
        check()
        backstop.disarm()
        text, code = render(name, check, run.longoutput + debug_lines)
        _write(text)
        return code
    except DeadlineExceeded:
        backstop.disarm()
        return one_line(args.timeout_state, timed_out_line(), run.longoutput + debug_lines)
    except ConfigError as exc:
        backstop.disarm()
        return one_line("unknown", exc, debug_lines)
    except Exception as exc:  # a bug of ours: still one line, the traceback only at -vvv
        backstop.disarm()
        lines = traceback.format_exc().splitlines() if verbosity >= 3 else []
        return one_line("unknown", f"internal error: {type(exc).__name__}: {exc}", lines)


def plugin(name: str, build_parser):
    """Decorator: turns `body(run) -> nagiosplugin.Check` into a console-script main()."""

    def decorate(body):
        @nagiosplugin.guarded(verbose=0)
        def main(argv=None):
            code = run_plugin(name, build_parser, body, argv)
            # The result is out. At exit the interpreter's collector would sweep every object the
            # imports made (requests, urllib3, ...): ~20 ms of CPU, 10 % of a run, for nothing the
            # process still needs. Frozen objects are left to the exit (refcounts still free them).
            if argv is None:            # run as a program, not called by other Python code
                gc.freeze()
            sys.exit(code)

        main.body = body
        main.build_parser = build_parser
        return main

    return decorate
