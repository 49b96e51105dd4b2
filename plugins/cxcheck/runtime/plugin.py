"""The plugin entry: parse, arm the deadline, run the check, write one result, exit.

Whatever happens, exactly one result reaches stdout: the check's, a one-line UNKNOWN for a
configuration error or a bug of ours, the timeout line, or the line naming a stop signal (SIGTERM,
SIGINT, SIGHUP, a SIGALRM not the deadline's) whenever it comes: cxcheck.startup answers those
that come while the modules are imported, this module from the parsing of options on. Nothing
reaches stderr in a normal run (Icinga 2 reads both as one stream): warnings and log records go
to the -vv debug lines or nowhere.

Run as a program, the deadline counts from the process's start, as the engine's clock does: the
interpreter's start and the imports are part of -t.
"""

from __future__ import annotations

import _signal  # signal.signal's wrapper costs an exception per call (its enum lookup)
import argparse
import logging
import os
import signal
import sys
import threading
import time
import warnings

import nagiosplugin

from cxcheck import startup
from cxcheck.runtime import processes
from cxcheck.runtime.deadline import STOP_SIGNALS, Backstop, Deadline, process_age
from cxcheck.runtime.options import HttpOptions
from cxcheck.runtime.secrets import install_masking, masker
from cxcheck.runtime.states import STATE_CODES, STATE_OBJECTS
from cxcheck.runtime.values import ConfigError, DeadlineExceeded, Record, SourceError

log = logging.getLogger("cxcheck")
PROMISE = 0.5               # seconds past -t (or a stop signal) by which the process has exited
EXIT_TIME = 0.05            # kept for the exit itself


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

    def trace(self, lines) -> None:
        """Long output for -v and above: one line per request, per attempt, per window queried."""
        if self.verbosity >= 1:
            self.longoutput.extend(lines)


def clean_text(text: str) -> str:
    """Status line text: no pipe (it starts perfdata), no line breaks. Not masked: outside text
    is masked where it enters a message (runtime.masker), the plugin's own words never are."""
    return " ".join(str(text).replace("|", "/").split())


def _line(text: str) -> str:
    return str(text).replace("|", "/")


class _LogLines(logging.Handler):
    """Log records as -vv debug lines. A record's message is ours; its arguments are outside
    text (URLs, names from pages) and are masked."""

    def __init__(self, lines):
        super().__init__()
        self.lines = lines

    def emit(self, record):
        if isinstance(record.args, tuple):
            record.args = tuple(masker.mask(a) if isinstance(a, str) else a for a in record.args)
        self.lines.append(self.format(record))


def _warning_to_log(message, category, filename, lineno, file=None, line=None):
    log.info("warning: %s: %s", category.__name__, str(message))


def _unraisable_to_log(unraisable):
    """An exception Python cannot raise (in a finaliser, a fork handler): a -vv line, not stderr."""
    log.info("ignored in %s: %s: %s", getattr(unraisable.object, "__qualname__", unraisable.object),
             type(unraisable.exc_value).__name__, masker.mask(str(unraisable.exc_value)))


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
            lines.extend(_line(line).splitlines())
    lines.extend(_line(line) for line in extra_lines)
    return "\n".join(lines) + "\n", check.exitcode


class _Output:
    """Exactly one result per run, whichever thread (main, backstop) gets there first."""

    def __init__(self):
        self._lock = threading.Lock()
        self.done = False

    def emit(self, text: str, code: int) -> bool:
        with self._lock:
            if self.done:
                return False
            self.done = True
            if sys.stdout is not None:
                try:
                    sys.stdout.write(text)
                    sys.stdout.flush()
                except (OSError, ValueError):   # the engine closed our stdout: nothing left to tell
                    pass
            startup.answered(code)
            return True


def _traceback_lines(exc: BaseException) -> list[str]:
    """-vvv: the traceback, its frames as they are (our code), each exception's text masked."""
    import traceback

    chain, seen, current = [], set(), exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    lines = []
    for error in reversed(chain):
        lines.append("Traceback (most recent call last):")
        lines.extend(line for frame in traceback.format_tb(error.__traceback__) for line in frame.rstrip().splitlines())
        lines.extend(masker.mask(line) for line in
                     "".join(traceback.format_exception_only(type(error), error)).splitlines())
    return lines


# One parser per plugin and process: parse_args() leaves a parser as it was, and a process that
# runs check after check (cxcheck worker) builds each once instead of at every check.
_parsers: dict = {}


def parser_for(build_parser) -> argparse.ArgumentParser:
    parser = _parsers.get(build_parser)
    if parser is None:
        parser = _parsers[build_parser] = build_parser()
    return parser


def run_plugin(name: str, build_parser, body, argv=None) -> int:
    """`argv` None: run as a program (the deadline counts from the process's start)."""
    started = time.monotonic() - (process_age() if argv is None else 0.0)
    startup.begin(name)
    install_masking()
    warnings.showwarning = _warning_to_log
    sys.unraisablehook = _unraisable_to_log
    if not logging.getLogger().handlers:    # no record reaches stderr by logging's last resort
        logging.getLogger().addHandler(logging.NullHandler())
    output = _Output()

    def text_of(state: str, reason, lines=()) -> str:
        return f"{name} {state.upper()} - {clean_text(reason)}\n" + "".join(_line(line) + "\n" for line in lines)

    def one_line(state: str, reason, lines=()) -> int:
        output.emit(text_of(state, reason, lines), STATE_CODES[state])
        return STATE_CODES[state]

    # Until the backstop is armed (it needs -t), a stop signal still gets its one line.
    def stopped_early(signum, frame):
        if output.emit(text_of("unknown", f"stopped by {signal.Signals(signum).name} while starting"),
                       STATE_CODES["unknown"]):
            os._exit(STATE_CODES["unknown"])

    early = {}
    if threading.current_thread() is threading.main_thread():
        early = {signum: _signal.signal(signum, stopped_early) for signum in (*STOP_SIGNALS, signal.SIGALRM)}

    try:
        args = parser_for(build_parser).parse_args(argv)
    except ConfigError as exc:
        _restore(early)
        return one_line("unknown", exc)

    verbosity = min(args.verbose, 3)
    debug_lines: list[str] = []
    if verbosity >= 2:
        handler = _LogLines(debug_lines)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if verbosity >= 3 else logging.INFO)

    run = Run(args=args, deadline=Deadline(args.timeout, start=started), verbosity=verbosity)

    def during() -> str:
        return f" while {run.activity}" if run.activity else ""

    def timed_out_line() -> str:
        return f"timed out after {args.timeout:g} s{during()}"

    def promised_end() -> float:
        """By when what the run started is ended past the deadline: the time left of the promise."""
        return max(run.deadline.end + PROMISE - EXIT_TIME, time.monotonic() + processes.END_BUDGET)

    # From the backstop's thread: if the main thread's result is out already, it exits by itself.
    # What the run started is ended (and its ends collected) in the time left of the promise.
    def hard_timeout():
        code = STATE_CODES[args.timeout_state]
        if output.emit(text_of(args.timeout_state, timed_out_line(), list(run.longoutput)), code):
            processes.end_all(promised_end())
            os._exit(code)

    def stopped(signum):
        if output.emit(text_of("unknown", f"stopped by {signum.name}{during()}", list(run.longoutput)),
                       STATE_CODES["unknown"]):
            processes.end_all(time.monotonic() + PROMISE - EXIT_TIME - 0.1)
            os._exit(STATE_CODES["unknown"])

    backstop = Backstop(run.deadline, hard_timeout, stopped)
    try:
        backstop.arm()
        check = body(run)
        check()
        backstop.disarm()
        text, code = render(name, check, run.longoutput + debug_lines)
        output.emit(text, code)
        return code
    except DeadlineExceeded:
        backstop.disarm()
        return one_line(args.timeout_state, timed_out_line(), run.longoutput + debug_lines)
    except (ConfigError, SourceError) as exc:   # the check cannot be judged: UNKNOWN, one line
        backstop.disarm()
        return one_line("unknown", exc, debug_lines)
    except Exception as exc:  # a bug of ours: still one line, the traceback only at -vvv
        backstop.disarm()
        lines = _traceback_lines(exc) if verbosity >= 3 else []
        return one_line("unknown", f"internal error: {type(exc).__name__}: {masker.mask(exc)}", lines)
    finally:
        backstop.release()
        _restore(early)
        processes.end_owned(promised_end())


def _restore(handlers: dict):
    for signum, handler in handlers.items():
        _signal.signal(signum, handler)


def exit_now(code: int):
    """The result is out: exit without the interpreter's shutdown. That shutdown would sweep every
    object the imports made (requests, urllib3, ...; ~20 ms of CPU, 10 % of a run, for nothing
    the process still needs), and it puts the default signal actions back first: a SIGTERM then
    would end the process as killed by it, not with the code the result said."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def plugin(name: str, build_parser):
    """Decorator: turns `body(run) -> nagiosplugin.Check` into a console-script main()."""

    def decorate(body):
        @nagiosplugin.guarded(verbose=0)
        def main(argv=None):
            code = run_plugin(name, build_parser, body, argv)
            if argv is None:            # run as a program, not called by other Python code
                exit_now(code)
            sys.exit(code)

        main.body = body
        main.build_parser = build_parser
        main.plugin_name = name         # the status line's name (a worker answers in it too)
        return main

    return decorate
