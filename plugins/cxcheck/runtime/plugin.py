"""The plugin entry: parse, arm the deadline, run the check, write one result, exit."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
import traceback

import nagiosplugin

from cxcheck.runtime.deadline import Backstop, Deadline
from cxcheck.runtime.options import HttpOptions
from cxcheck.runtime.secrets import install_masking, masker
from cxcheck.runtime.states import STATE_CODES, STATE_OBJECTS
from cxcheck.runtime.values import ConfigError, DeadlineExceeded, Record, SourceError

log = logging.getLogger("cxcheck")


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
    except (ConfigError, SourceError) as exc:   # the check cannot be judged: UNKNOWN, one line
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
        main.plugin_name = name         # the status line's name (a worker answers in it too)
        return main

    return decorate
