"""The first code of ours a plugin process runs (the package's __init__ imports it before anything
else): from here on, a stop signal ends the run with one status line.

SIGTERM, SIGINT, SIGHUP and SIGALRM arriving while the plugin's modules are still being imported
(nagiosplugin, the check's own) answer `CX NAME UNKNOWN - stopped by SIGTERM while starting`, exit
3. runtime.plugin takes over when it starts parsing options, and says when the result is out: a
signal after that (the interpreter shutting down) ends the process at once with the result's exit
code and nothing more on stdout.

Only plugin processes are guarded (a check_cx_* launcher, or `python -m cxcheck.checks.NAME`):
not the umbrella command, a test runner or a worker importing the package. Before this module
runs, a signal is the interpreter's own business (its start-up, `site`, runpy finding the module
for -m): SIGTERM, SIGHUP and SIGALRM end it silently, SIGINT with a KeyboardInterrupt. Nothing
is imported here that the interpreter has not loaded already (_signal is built in).
"""

import _signal
import os
import sys

NAMES = {_signal.SIGTERM: "SIGTERM", _signal.SIGINT: "SIGINT", _signal.SIGHUP: "SIGHUP",
         _signal.SIGALRM: "SIGALRM"}
UNKNOWN = 3
_name: str | None = None           # the status line's name: set for a plugin process only
_answered: int | None = None       # the exit code, once the run's result is out


def plugin_name(argv0: str, orig_argv: list) -> str | None:
    """`CX PAGE` for check_cx_page or `python -m cxcheck.checks.page`, None for anything else."""
    script = os.path.basename(argv0)
    if script.startswith("check_cx_") and script[9:].isidentifier():
        return "CX " + script[9:].upper()
    for index, word in enumerate(orig_argv[1:-1], 1):
        if word == "-m":
            module = orig_argv[index + 1]
            if module.startswith("cxcheck.checks.") and module[15:].isidentifier():
                return "CX " + module[15:].upper()
            break
    return None


def guard() -> None:
    """Install the handlers, in a plugin process only (from the package's __init__)."""
    global _name
    _name = plugin_name(sys.argv[0] if sys.argv else "", getattr(sys, "orig_argv", []))
    if _name is None:
        return
    try:
        for signum in NAMES:
            _signal.signal(signum, _stopped)
    except ValueError:          # not the main thread: whoever runs us there handles signals
        _name = None


def begin(name: str) -> None:
    """runtime.plugin starts a run: its result is not out yet."""
    global _answered, _name
    _answered = None
    if _name is not None:
        _name = name


def answered(code: int) -> None:
    """runtime.plugin wrote the run's result: a signal from now on exits with `code`."""
    global _answered
    _answered = code


def _stopped(signum, frame):
    if _answered is not None:
        os._exit(_answered)
    try:
        os.write(1, f"{_name} UNKNOWN - stopped by {NAMES[signum]} while starting\n".encode())
    except OSError:
        pass
    os._exit(UNKNOWN)
