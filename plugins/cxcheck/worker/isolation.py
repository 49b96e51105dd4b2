"""What a check may leave behind in the process that ran it, put back before the next check.

A runner (runner.py) runs one check after another. Before its first one it takes a Baseline of
everything a run can change in a process; after each it puts back what can be put back (the
environment and time zone, the working directory and umask, signal handlers, timers and the
signal mask, sys hooks and paths, warnings, every logger, the socket timeout, the secrets to
mask, nagiosplugin's runtime singleton) and names what cannot (a descriptor or a thread or a
child process left behind, a process a check registered and did not end): a runner that cannot
be put back is let go, and the next check runs in a fresh one. Caches of pure functions (re's,
urllib's) are kept: a cache only makes the next run faster, never different.

`module_state()` fingerprints every module's globals (and its classes' attributes): the tests,
and runners under CXCHECK_WORKER_AUDIT=1, compare it across checks to prove a check leaves no
module-level state behind.
"""

from __future__ import annotations

import _signal
import logging
import os
import signal
import socket
import sys
import threading
import time
import warnings

TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
SIGNALS = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
SYS_HOOKS = ("excepthook", "displayhook", "unraisablehook", "breakpointhook", "argv", "stdin", "stdout", "stderr",
             "__stdin__", "__stdout__", "__stderr__")
# Module-level values that change by themselves and change nothing a check says: caches of pure
# functions, counters, and what a fork leaves to be refreshed.
CACHES = {
    "sys.modules", "sys.path_importer_cache", "urllib3.util.wait.wait_for_socket",
    "requests.packages.urllib3.util.wait.wait_for_socket", "weakref.finalize._dirty",
    "weakref.finalize._registered_with_atexit", "re._cache", "linecache.cache", "encodings._cache",
    "urllib.parse._parse_cache", "typing._caches", "typing._cleanups", "threading._active", "threading._limbo",
    "threading._shutdown_locks", "threading._counter", "threading._dangling", "logging._handlerList",
    "logging._handlers", "tempfile._name_sequence", "gettext._translations", "inspect._filesbymodname",
    "inspect.modulesbyfile", "cxcheck.runtime.plugin._parsers",
}
# Module-level values a run sets for itself (begin() sets them again): put back after each check.
RUN_STATE = (("cxcheck.startup", "_answered"), ("cxcheck.startup", "_name"))


class Baseline:
    """The state of a runner before its first check."""

    def __init__(self, keep_fds=()):
        self.environ = dict(os.environ)
        self.tz = os.environ.get("TZ")
        self.cwd = os.getcwd()
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.fds = set(open_fds()) | set(keep_fds)
        self.handlers = {signum: _signal.getsignal(signum) for signum in SIGNALS}     # raw: no enum lookups
        self.sigmask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        self.sys = {name: getattr(sys, name) for name in SYS_HOOKS}         # run_main sets argv and streams
        self.path = list(sys.path)
        self.recursion = sys.getrecursionlimit()
        self.thread_hook = threading.excepthook
        self.warnings = (list(warnings.filters), warnings.showwarning, warnings.formatwarning)
        self.timeout = socket.getdefaulttimeout()
        self.loggers = {name: _logger_state(logger) for name, logger in _loggers()}
        self.disable = logging.root.manager.disable
        self.runtime = _nagiosplugin_runtime()
        self.run_state = {(m, n): getattr(sys.modules[m], n) for m, n in RUN_STATE if m in sys.modules}

    def apply_env(self, env: dict[str, str]):
        """The job's environment over the runner's, as a process started with it would see it."""
        os.environ.update(env)
        if os.environ.get("TZ") != self.tz:
            time.tzset()

    def restore(self) -> list[str]:
        """Put back what a check changed; what cannot be put back, one phrase each (then the
        runner must not run another check)."""
        zone = os.environ.get("TZ")
        if os.environ != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        if zone != self.tz:
            time.tzset()
        os.chdir(self.cwd)
        os.umask(self.umask)
        for timer in TIMERS:
            signal.setitimer(timer, 0)
        signal.set_wakeup_fd(-1)
        getsignal = _signal.getsignal
        for signum, handler in self.handlers.items():
            if getsignal(signum) is not handler and handler is not None:
                signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, self.sigmask)
        for name, hook in self.sys.items():
            setattr(sys, name, hook)
        sys.path[:] = self.path
        sys.setrecursionlimit(self.recursion)
        threading.excepthook = self.thread_hook
        warnings.filters[:], warnings.showwarning, warnings.formatwarning = self.warnings
        warnings._filters_mutated()
        socket.setdefaulttimeout(self.timeout)
        self._restore_logging()
        _reset_nagiosplugin_runtime(self.runtime)
        for (module, name), value in self.run_state.items():
            setattr(sys.modules[module], name, value)
        from cxcheck.runtime import masker

        masker.clear()
        return self._leftovers()

    def _restore_logging(self):
        changed = logging.root.manager.disable != self.disable
        logging.disable(self.disable)
        for name, logger in _loggers():
            state = self.loggers.get(name)
            if state is None:                  # a logger the check created: as getLogger() made it
                state = ([], logging.NOTSET, True, False, [])
            if _logger_state(logger) != state:
                handlers, level, propagate, disabled, filters = state
                logger.handlers[:] = handlers
                logger.filters[:] = filters
                logger.level, logger.propagate, logger.disabled = level, propagate, disabled
                changed = True
        if changed:                            # levels are cached per logger
            logging.root.manager._clear_cache()

    def _leftovers(self) -> list[str]:
        left = [f"a handler of {signal.Signals(signum).name}" for signum, handler in self.handlers.items()
                if handler is None and _signal.getsignal(signum) is not None]
        extra = sorted(set(open_fds()) - self.fds)
        if extra:
            left.append(f"open descriptors {extra[:5]}")
        threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        if threads:
            left.append(f"threads {threads[:3]}")
        children = child_pids()
        if children:
            left.append(f"child processes {children[:5]}")
        owned = sys.modules.get("cxcheck.runtime.processes")
        if owned is not None and getattr(owned, "_owned", None):
            left.append("a process it registered")
        return left


def open_fds() -> list[int]:
    try:
        return [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return []


def child_pids() -> list[int]:
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _loggers():
    yield "", logging.root
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            yield name, logger


def _logger_state(logger: logging.Logger) -> tuple:
    return list(logger.handlers), logger.level, logger.propagate, logger.disabled, list(logger.filters)


def _nagiosplugin_runtime() -> dict:
    runtime = sys.modules.get("nagiosplugin.runtime")
    if runtime is None:
        return {}
    return {k: v for k, v in vars(runtime.Runtime).items() if not k.startswith("__") and not callable(v)
            and not isinstance(v, (property, staticmethod, classmethod))}


def _reset_nagiosplugin_runtime(saved: dict):
    """nagiosplugin keeps one Runtime per process (its log buffer, the last check): a fresh one."""
    runtime = sys.modules.get("nagiosplugin.runtime")
    if runtime is None:
        return
    for key, value in saved.items():
        setattr(runtime.Runtime, key, value)


# ---------------------------------------------------------------------------------------------
# The audit


def _fingerprint(value) -> tuple:
    try:
        size = len(value) if isinstance(value, (dict, list, set, bytearray)) else None
    except TypeError:
        size = None
    return id(value), size


def module_state() -> dict[tuple[str, str], tuple]:
    """(module, name) -> (id, len) of every module global and every class attribute of a class
    a module defines; the caches of CACHES left out."""
    state = {}
    for module_name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            if f"{module_name}.{name}" in CACHES or name.startswith("__"):
                continue
            state[(module_name, name)] = _fingerprint(value)
            if isinstance(value, type) and value.__module__ == module_name:
                for attr, attr_value in list(vars(value).items()):
                    if not attr.startswith("__") and not callable(attr_value) \
                            and f"{module_name}.{name}.{attr}" not in CACHES:
                        state[(module_name, f"{name}.{attr}")] = _fingerprint(attr_value)
    return state


def changed_state(before: dict, after: dict) -> list[str]:
    """What changed between two module_state()s (new modules, imported by a check, are not a change)."""
    return sorted(f"{module}.{name}" for (module, name), value in before.items()
                  if (module, name) in after and after[(module, name)] != value)
