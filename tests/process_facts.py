"""`python -m process_facts [WHAT...]`: what a plugin's process sees of itself, as JSON on stdout;
tests/test_plugin_runs.py runs it as a process and in a fork and compares. WHAT asks for a way
out as well: `exit=N`, `exit-text`, `raise`, `thread` (a non-daemon thread still writing after the
module is done), `atexit`, `unflushed`, `interrupt`, `alarm`, `hang` (its pid, then
sleeps), `requests` (imported, as
an HTTP plugin does), `secret` (registers a secret, logs a
handler, sets a variable and a directory: the next run must not see them)."""

from __future__ import annotations

import atexit
import gc
import json
import locale
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import warnings


def _descriptors() -> dict:
    """fd -> what it is (pipe, /dev/null, a file), the one listing /proc/self/fd left out."""
    found = {}
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        found[fd] = target.split(":")[0] if ":" in target else target
    return found


def _stream(stream) -> dict:
    buffer = getattr(stream, "buffer", None)
    return {"type": type(stream).__name__, "encoding": stream.encoding, "errors": stream.errors,
            "line_buffering": stream.line_buffering, "write_through": stream.write_through,
            "fileno": stream.fileno(), "seekable": stream.seekable(), "isatty": stream.isatty(),
            "buffer": type(buffer).__name__, "raw": repr(buffer.raw), "name": stream.name}


def _proc_status() -> dict:
    keep = ("SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "Threads", "NoNewPrivs", "Seccomp",
            "Umask", "CapEff")
    with open("/proc/self/status") as status:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)
    return {key: fields.get(key, "").strip() for key in keep if key != "SigQ"}


def facts() -> dict:
    import resource

    from cxcheck.runtime import processes
    from cxcheck.runtime.secrets import masker

    main = sys.modules["__main__"]
    handlers = {}
    for signum in sorted(signal.valid_signals()):
        try:
            handler = signal.getsignal(signum)
        except ValueError:
            continue
        handlers[signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)] = (
            handler.name if isinstance(handler, signal.Handlers) else getattr(handler, "__name__", repr(handler)))
    cxcheck = logging.getLogger("cxcheck")
    return {
        "argv": sys.argv, "orig_argv": sys.orig_argv, "path": sys.path, "cwd": os.getcwd(),
        "environ": dict(os.environ), "tempdir": tempfile.gettempdir(), "tz": [time.tzname, time.timezone],
        "pgrp_is_the_tests": os.getpgrp() == int(os.environ.get("FACTS_PGRP", "-1")),
        "sid": os.getsid(0), "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups())],
        "rlimits": {name: resource.getrlimit(getattr(resource, name)) for name in dir(resource)
                    if name.startswith("RLIMIT_")},
        "fds": _descriptors(),
        "signals": handlers, "sigmask": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "itimer": signal.getitimer(signal.ITIMER_REAL), "wakeup_fd": signal.set_wakeup_fd(-1),
        "status": _proc_status(), "threads": [t.name for t in threading.enumerate()],
        "stdin": _stream(sys.stdin), "stdout": _stream(sys.stdout), "stderr": _stream(sys.stderr),
        "std_are_originals": [sys.stdin is sys.__stdin__, sys.stdout is sys.__stdout__,
                              sys.stderr is sys.__stderr__],
        "hooks": [sys.excepthook is sys.__excepthook__, sys.displayhook is sys.__displayhook__,
                  sys.unraisablehook is sys.__unraisablehook__, sys.breakpointhook is sys.__breakpointhook__,
                  threading.excepthook is threading.__excepthook__],
        "flags": {name: getattr(sys.flags, name) for name in dir(sys.flags)
                  if not name.startswith(("_", "n_")) and name not in ("count", "index")}, "recursion": sys.getrecursionlimit(), "encodings": [
            sys.getfilesystemencoding(), sys.getfilesystemencodeerrors(), locale.getpreferredencoding(False),
            locale.setlocale(locale.LC_CTYPE), locale.setlocale(locale.LC_NUMERIC)],
        "warnings": [[f[0], f[1] and f[1].pattern, f[2].__name__, f[3] and getattr(f[3], "pattern", f[3]), f[4]]
                     for f in warnings.filters],
        "showwarning_is_original": warnings.showwarning is warnings._showwarning_orig,
        "logging": {"root": [repr(h) for h in logging.root.handlers], "root_level": logging.root.level,
                    "disable": logging.root.manager.disable, "cxcheck": [repr(h) for h in cxcheck.handlers],
                    "cxcheck_level": cxcheck.level},
        "gc": [gc.isenabled(), gc.get_threshold()], "masked": masker.mask("sekret-value-1234"),
        "owned_processes": len(processes._owned),
        "main": {"name": main.__name__, "file": main.__file__, "spec": main.__spec__.name,
                 "package": main.__package__, "globals": sorted(k for k in vars(main) if k.startswith("__"))},
        "stdin_text": sys.stdin.read(),
    }


def leave(what: str):
    if what.startswith("exit="):
        sys.exit(int(what[5:]))
    if what == "exit-text":
        sys.exit("a message for stderr")
    if what == "raise":
        raise ValueError("out of the module")
    if what == "thread":
        def late():
            time.sleep(0.2)
            print("the thread's line", flush=True)
        threading.Thread(target=late).start()
    elif what == "requests":           # what every HTTP plugin imports
        import requests  # noqa: F401
    elif what == "atexit":
        atexit.register(print, "atexit line")
    elif what == "unflushed":
        sys.stdout.write("no newline, not flushed")
    elif what == "interrupt":
        raise KeyboardInterrupt
    elif what == "hang":
        print(os.getpid(), flush=True)
        time.sleep(60)
    elif what == "alarm":
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        time.sleep(5)
    elif what == "secret":
        from cxcheck.runtime.secrets import masker

        masker.register("sekret-value-1234")
        logging.getLogger("cxcheck").addHandler(logging.NullHandler())
        logging.root.addHandler(logging.StreamHandler())
        os.environ["LEFT_BEHIND"] = "1"
        os.chdir("/")
        os.umask(0o077)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        warnings.simplefilter("error")
        open(os.devnull)                # a descriptor left open


if __name__ == "__main__":
    for request in sys.argv[1:]:
        leave(request)
    if "facts" in sys.argv[1:] or len(sys.argv) == 1:
        print(json.dumps(facts(), sort_keys=True, default=str))
