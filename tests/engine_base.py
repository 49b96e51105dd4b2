"""What the tests' private engines share: this checkout's paths, plugin directories for an
engine (wrappers that run this checkout's plugins, or instruments that record what an engine
hands them), the command pipe, and stopping what was started. Everything listens on 127.0.0.1
only and is stopped by whoever started it."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from conftest import wait_for

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
TEMPLATES = ROOT / "templates"
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def console_scripts() -> dict[str, str]:
    """pyproject's console scripts: name -> "module:function"."""
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return dict(tomllib.load(handle)["project"]["scripts"])


def module_exists(module: str) -> bool:
    """A module of this checkout: a file, or a package (a plugin with private modules)."""
    path = PLUGINS / module.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def write_wrappers(directory: Path, system_plugins: bool = False) -> Path:
    """A plugin directory for $USER1$ or PluginDir: one executable per console script that runs
    this checkout's package with this interpreter. The engine's environment is clean, so the
    wrapper carries what the plugin needs. With system_plugins, Debian's monitoring-plugins
    (check_http, ...) are linked in beside them, as on a poller."""
    directory.mkdir(parents=True, exist_ok=True)
    if system_plugins and Path("/usr/lib/nagios/plugins").is_dir():
        for plugin in Path("/usr/lib/nagios/plugins").iterdir():
            if not plugin.name.startswith("check_cx_"):
                (directory / plugin.name).symlink_to(plugin)
    for name, target in console_scripts().items():
        module = target.split(":")[0]
        path = directory / name
        path.write_text("#!/bin/sh\n"
                        f"PYTHONPATH='{PLUGINS}'\nexport PYTHONPATH\n"
                        f"exec '{sys.executable}' -m {module} \"$@\"\n")
        path.chmod(0o755)
    return directory


def write_recorders(directory: Path, log: Path) -> Path:
    """A plugin directory of instruments: one executable per console script (a shell script: a
    check costs a few forks, so hundreds run at once) that records the argv it was given and the
    CXCHECK_ and NAGIOS__ variables of its environment, NUL-separated and in base64, appends the
    record to `log` and answers OK with it (so each service's result says what its plugin got:
    recording()). What an engine hands a plugin, word for word."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in console_scripts():
        path = directory / name
        path.write_text("#!/bin/sh\n"
                        f"record=$({{ printf '%s\\0' '{name}' \"$#\"; for arg in \"$@\"; do printf '%s\\0' \"$arg\"; "
                        "done; env -0 | grep -z -E '^(CXCHECK_|NAGIOS__)'; } | base64 -w0)\n"
                        f"printf '%s\\n' \"$record\" >> '{log}'\n"
                        "printf 'RECORDED OK - %s\\n' \"$record\"\n")
        path.chmod(0o755)
    return directory


def _record(text: str) -> dict:
    import base64

    fields = base64.b64decode(text).decode().split("\0")
    name, count = fields[0], int(fields[1])
    env = dict(entry.partition("=")[::2] for entry in fields[2 + count:] if entry)
    return {"plugin": name, "argv": fields[2:2 + count], "env": env}


def recording(output: str) -> dict | None:
    """The record in a recorder's status line, None when the output is another's."""
    if not output.startswith("RECORDED OK - "):
        return None
    return _record(output.split(" - ", 1)[1].split()[0])


def recorded(log: Path) -> list[dict]:
    """What write_recorders' instruments wrote, in order."""
    if not log.exists():
        return []
    return [_record(line) for line in log.read_text().splitlines() if line.strip()]


def browser_missing() -> str | None:
    """Why the browser checks cannot run here (Chromium, its driver or Selenium is missing: the
    browser layer's own words, as `cxcheck demo` says them), or None. In CI, .ci/run installs
    them: a missing one fails the test instead of skipping it."""
    from cxcheck.demo.cli import browser_missing as missing

    reason = missing()
    if reason and os.environ.get("CI"):
        import pytest

        pytest.fail(f"{reason}; .ci/run must install it")
    return reason


def session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def kill_session(sid: int, sig=signal.SIGKILL, grace: float = 3.0):
    """End every process whose session id is `sid` (a daemon's plugins outlive it). A plugin gets
    SIGTERM first and `grace` seconds to end what it started itself (a check_cx_page's Chromium
    runs in a group of its own, which a SIGKILL of the plugin would orphan), then `sig`; the
    browsers of plugins that could not clean up are swept as the next run would."""
    members = session_members(sid)
    if sig == signal.SIGKILL and members and grace > 0:
        for pid in members:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while session_members(sid) and time.monotonic() < deadline:
            time.sleep(0.05)
        members = session_members(sid)
    for pid in members:
        _signal(pid, sig)
    if sig == signal.SIGKILL:
        from cxcheck.browser.ending import sweep

        sweep()


def _signal(pid: int, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


CGI_DIR = Path("/usr/lib/cgi-bin/nagios4")


def need_cgis():
    """Debian's Nagios CGIs; missing them fails in CI and skips locally, as need_binary does."""
    import pytest

    if not (CGI_DIR / "status.cgi").exists():
        reason = f"Nagios' CGIs ({CGI_DIR}) are missing: Debian package nagios4-cgi"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def external_command(pipe, text: str):
    """`[now] TEXT` into an engine's command pipe (Nagios and Icinga 2 read the same format). The
    pipe exists before the engine reads it (ENXIO until then, longer on a loaded machine)."""
    def opened():
        try:
            return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            return None

    fd = wait_until(opened, 30, f"a reader of {pipe}")
    try:
        os.write(fd, f"[{int(time.time())}] {text}\n".encode())
    finally:
        os.close(fd)


def stop_process(proc, timeout: float):
    """Terminate a daemon we started (kill it if it will not go) and whatever its session left."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    kill_session(proc.pid)


def wait_until(condition, timeout: float, what: str, interval: float = 0.1):
    return wait_for(condition, timeout=timeout, interval=interval, what=what)
