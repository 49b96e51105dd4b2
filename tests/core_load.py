"""A private Nagios 4 as Debian ships it, under load: Debian's stock nagios.cfg copied with only
its paths changed, the CPU of its whole process tree, and every check result the core processed.

- The configuration: /etc/nagios4/nagios.cfg line by line, each path (log, status, command
  file, query socket, spool, retention, lock, temp) moved into a private directory, the object
  files replaced by the caller's. Two settings that are not paths change too: the user (root
  runs the test) and check_for_updates (no traffic leaves the machine).
- The CPU: a cgroup v2 made for the core (and for whatever else the caller puts in it, such as
  `cxcheck worker`), its cpu.stat usage_usec: the core, its own worker processes, the command
  file worker, every plugin process and every child they start, reaped or not. Where no cgroup
  can be made, the processes of the tree are summed from /proc (each process's own CPU plus
  what it reaped), which is exact whenever the tree is quiet, as it is at a bracket.
- The results: status.dat, as the core writes it (every status_update_interval, 10 s in the
  stock file): each service's last_check, state and output. A test that waits for results may
  instead ask the core for them (`retained`): the external command SAVE_STATE_INFORMATION makes
  it write retention.dat (the stock state_retention_file) at once, with the same fields. (Debian
  builds the core without NERD, its results channel on the query handler socket: `@nerd`
  answers 404.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STOCK_CFG = Path("/etc/nagios4/nagios.cfg")
STOCK_OBJECTS = [Path("/etc/nagios4/objects") / name
                 for name in ("commands.cfg", "contacts.cfg", "timeperiods.cfg", "templates.cfg")]
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# key -> where it goes in the private directory (directories end with a slash)
PATHS = {
    "log_file": "nagios.log", "object_cache_file": "objects.cache", "precached_object_file": "objects.precache",
    "resource_file": "resource.cfg", "status_file": "status.dat", "command_file": "rw/nagios.cmd",
    "lock_file": "nagios.pid", "temp_file": "nagios.tmp", "temp_path": "tmp/", "log_archive_path": "archives/",
    "check_result_path": "spool/checkresults/", "state_retention_file": "retention.dat",
    "debug_file": "nagios.debug", "query_socket": "rw/nagios.qh",
}


def stock_config(workdir: Path, cfg_files: list[Path], resources: dict[str, str], stock: Path = STOCK_CFG) -> Path:
    """nagios.cfg in `workdir`: Debian's file with its paths moved there and `cfg_files` as the
    objects. Returns its path."""
    for relative in PATHS.values():
        if relative.endswith("/"):
            (workdir / relative).mkdir(parents=True, exist_ok=True)
    (workdir / "rw").mkdir(exist_ok=True)
    (workdir / "resource.cfg").write_text("".join(f"${k}$={v}\n" for k, v in resources.items()))
    lines, seen = [], set()
    for line in stock.read_text().splitlines():
        key, sep, _ = line.partition("=")
        key = key.strip()
        if not sep or line.lstrip().startswith("#"):
            lines.append(line)
        elif key in ("cfg_file", "cfg_dir"):
            continue
        elif key in PATHS:
            lines.append(f"{key}={workdir / PATHS[key]}")
            seen.add(key)
        elif key in ("nagios_user", "nagios_group") and os.geteuid() == 0:
            lines.append(f"{key}=root")
        elif key == "check_for_updates":
            lines.append("check_for_updates=0")
        else:
            lines.append(line)
    lines += [f"{key}={workdir / PATHS[key]}" for key in PATHS if key not in seen]
    lines += [f"cfg_file={path}" for path in cfg_files]
    path = workdir / "nagios.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# CPU of a process tree


def _cgroup2_root() -> Path | None:
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                fields = line.split()
                if fields[fields.index("-") + 1] == "cgroup2":
                    return Path(fields[4])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _proc_stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()


class TreeCpu:
    """CPU seconds of every process started through `join` (as a preexec_fn) and of all their
    descendants. A cgroup v2 when one can be made; otherwise the tree under the roots in /proc."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, name: str):
        self.cgroup: Path | None = None
        self.roots: list[int] = []
        root = _cgroup2_root()
        if root is not None and os.environ.get("CXCHECK_NO_CGROUP") is None:
            path = root / f"cxcheck-{name}-{os.getpid()}"
            try:
                path.mkdir()
                (path / "cpu.stat").read_text()
                self.cgroup = path
            except OSError:
                self.cgroup = None

    @property
    def how(self) -> str:
        return "cgroup v2 cpu.stat" if self.cgroup else "the process tree in /proc"

    def join(self):
        """preexec_fn: the new process (and so all it starts) joins the cgroup."""
        if self.cgroup is not None:
            with open(self.cgroup / "cgroup.procs", "w") as handle:
                handle.write("0")

    def adopt(self, pid: int):
        """A process started with `join` (the /proc fallback needs its pid)."""
        self.roots.append(pid)

    def move_session(self, sid: int):
        """Every process of session `sid` into the cgroup (what they start later follows them)."""
        self.adopt(sid)
        if self.cgroup is None:
            return
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and int(_proc_stat(int(entry.name))[3]) == sid:
                    (self.cgroup / "cgroup.procs").write_text(entry.name)
            except (OSError, IndexError, ValueError):
                pass

    def seconds(self) -> float:
        if self.cgroup is not None:
            for line in (self.cgroup / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
            raise RuntimeError(f"no usage_usec in {self.cgroup}/cpu.stat")
        ticks, todo, seen = 0, list(self.roots), set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                fields = _proc_stat(pid)
                with open(f"/proc/{pid}/task/{pid}/children") as handle:
                    todo += [int(p) for p in handle.read().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            ticks += sum(int(x) for x in fields[11:15])     # utime stime cutime cstime
        return ticks / self.TICK

    def quiet(self, still: float = 0.0005, interval: float = 0.1, timeout: float = 10.0) -> float:
        """Wait until the tree uses less than `still` seconds of CPU in `interval`; its total then.
        A bracket read then has no work of a check on either side of it."""
        deadline = time.monotonic() + timeout
        last = self.seconds()
        while True:
            time.sleep(interval)
            now = self.seconds()
            if now - last < still or time.monotonic() > deadline:
                return now
            last = now

    def pids(self) -> list[int]:
        if self.cgroup is None:
            return list(self.roots)
        try:
            return [int(p) for p in (self.cgroup / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def close(self):
        """Kill what is left in the cgroup and remove it."""
        if self.cgroup is None:
            return
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        try:
            self.cgroup.rmdir()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Results the core processed


@dataclass
class Status:
    """A service's entry in status.dat (written by the core every status_update_interval)."""
    host: str
    service: str
    last_check: int
    state: int
    output: str
    checked: bool


def read_status(path: Path, block: str = "servicestatus") -> dict[tuple[str, str], Status]:
    """status.dat's servicestatus blocks (retention.dat's: `service`): (host, service) -> Status."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return {}
    services, fields, inside = {}, {}, False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == f"{block} {{":
            fields, inside = {}, True
        elif inside and stripped == "}":
            key = (fields.get("host_name", ""), fields.get("service_description", ""))
            services[key] = Status(*key, int(fields.get("last_check", 0)), int(fields.get("current_state", 3)),
                                   fields.get("plugin_output", ""), fields.get("has_been_checked") == "1")
            inside = False
        elif inside:
            key, _, value = stripped.partition("=")
            fields[key] = value
    return services


# ---------------------------------------------------------------------------------------------
# The core


class LoadedNagios:
    """A private stock-config Nagios 4 whose tree's CPU is measured (`cpu`) and whose processed
    results are fed (`feed`). `objects` are the caller's object files, `resources` $USERn$."""

    def __init__(self, binary: str, workdir: Path, objects: list[Path], resources: dict[str, str],
                 name: str = "nagios", env: dict | None = None):
        self.binary, self.dir = binary, Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = stock_config(self.dir, STOCK_OBJECTS + list(objects), resources)
        self.query_socket = self.dir / PATHS["query_socket"]
        self.command_file = self.dir / PATHS["command_file"]
        self.log_file = self.dir / PATHS["log_file"]
        self.env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": str(self.dir), **(env or {})}
        self.status_file = self.dir / PATHS["status_file"]
        self.retention_file = self.dir / PATHS["state_retention_file"]
        self.cpu = TreeCpu(name)
        self.proc: subprocess.Popen | None = None

    def verify(self) -> str:
        proc = subprocess.run([self.binary, "-v", str(self.config)], capture_output=True, text=True, timeout=60,
                              env=self.env, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise AssertionError(f"nagios4 -v {self.config}:\n{proc.stdout[-3000:]}")
        return proc.stdout

    def start(self, timeout: float = 30):
        out = open(self.dir / "nagios.stdout", "wb")
        self.proc = subprocess.Popen([self.binary, str(self.config)], stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env, cwd=self.dir, start_new_session=True,
                                     preexec_fn=self.cpu.join)
        out.close()
        self.cpu.adopt(self.proc.pid)
        deadline = time.monotonic() + timeout
        while not (self.query_socket.exists() and self.command_file.exists()):
            if self.proc.poll() is not None:
                raise AssertionError(f"nagios4 exited {self.proc.returncode}: "
                                     + (self.dir / "nagios.stdout").read_text(errors="replace")[-2000:])
            if time.monotonic() > deadline:
                raise AssertionError(f"nagios4 did not open {self.query_socket} within {timeout} s")
            time.sleep(0.05)

    def services(self) -> dict[tuple[str, str], Status]:
        return read_status(self.status_file)

    def retained(self, timeout: float = 10) -> dict[tuple[str, str], Status]:
        """The services as the core holds them now, not as of its last status.dat: asked to save
        its state, it writes retention.dat anew (to a new file renamed over the old one)."""
        try:
            before = self.written()
        except FileNotFoundError:
            before = None
        self.command("SAVE_STATE_INFORMATION")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.written() != before:
                    return read_status(self.retention_file, "service")
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the core did not write {self.retention_file} within {timeout} s of SAVE_STATE_INFORMATION")

    def written(self) -> tuple[int, int]:
        stat = self.retention_file.stat()
        return stat.st_ino, stat.st_mtime_ns

    def wait_for_checks(self, keys, since: int, timeout: float, ask: bool = False) -> dict[tuple[str, str], Status]:
        """Once every service of `keys` shows a result of a check run at or after `since`: in
        status.dat, or with `ask` in what the core saves when asked (`retained`: no status.dat
        lag, a command and a file write per look)."""
        deadline = time.monotonic() + timeout
        while True:
            services = self.retained() if ask else self.services()
            if all(k in services and services[k].checked and services[k].last_check >= since for k in keys):
                return {k: services[k] for k in keys}
            if time.monotonic() > deadline:
                late = [k for k in keys if k not in services or services[k].last_check < since]
                raise AssertionError(f"{len(late)} of {len(keys)} services without a result since {since} "
                                     f"after {timeout} s, e.g. {late[:3]}")
            if self.proc.poll() is not None:
                raise AssertionError(f"nagios4 exited {self.proc.returncode}")
            time.sleep(0.2)

    def command(self, text: str):
        fd = os.open(self.command_file, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, f"[{int(time.time())}] {text}\n".encode())
        finally:
            os.close(fd)

    def force_host(self, host: str):
        self.command(f"SCHEDULE_FORCED_HOST_SVC_CHECKS;{host};{int(time.time())}")

    def force_service(self, host: str, service: str, at: int | None = None):
        self.command(f"SCHEDULE_FORCED_SVC_CHECK;{host};{service};{int(time.time()) if at is None else at}")

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 15):
        from engines import stop_process

        stop_process(self.proc, timeout)
        self.cpu.close()


def python_launcher(path: Path, module: str, python: str, plugins: Path) -> Path:
    """A plugin as the Debian package installs it: a small Python script importing its main()."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{python}\nimport sys\nsys.path.insert(0, {str(plugins)!r})\n"
                    f"from {module} import main\nsys.exit(main())\n")
    path.chmod(0o755)
    return path


# ---------------------------------------------------------------------------------------------
# A host of login services, as a site configures them from the shipped templates

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "nagios"
HOST_CFG = """define host {
    host_name               %(host)s
    use                     generic-host
    address                 127.0.0.1
    max_check_attempts      1
    active_checks_enabled   0
}
"""
LOGIN_SERVICE = """define service {
    host_name               %(host)s
    service_description     login %(n)02d
    use                     cx-login-service,generic-service
    _CX_URL                 %(url)s/accounts/login/
    _CX_USERNAME            %(username)s
    _CX_SECRET              shop.password
%(extra)s}
"""


def login_site(workdir: Path, host: str, services: int, shop_url: str, username: str, password: str,
               python: str, plugins: Path, extra: str = "") -> tuple[list[Path], dict[str, str], Path]:
    """Object files for `host` with `services` check_cx_login services on the shipped command and
    template (`extra` lines added to each), the secret file, and a plugin directory holding
    check_cx_login as the Debian package installs it. Returns (object files, $USERn$, plugin dir)."""
    objects, secrets, plugin_dir = workdir / "objects", workdir / "secrets", workdir / "plugins"
    objects.mkdir(parents=True)
    secrets.mkdir(mode=0o700)
    (secrets / "shop.password").write_text(password + "\n")
    (secrets / "shop.password").chmod(0o600)
    python_launcher(plugin_dir / "check_cx_login", "cxcheck.checks.login", python, plugins)
    files = []
    for source in ("cxcheck-commands.cfg", "cxcheck-templates.cfg"):
        (objects / source).write_text((TEMPLATES / source).read_text())
        files.append(objects / source)
    (objects / "site.cfg").write_text(HOST_CFG % {"host": host} + "".join(
        LOGIN_SERVICE % {"host": host, "n": n, "url": shop_url, "username": username, "extra": extra}
        for n in range(services)))
    files.append(objects / "site.cfg")
    return files, {"USER1": str(plugin_dir), "USER3": str(secrets)}, plugin_dir
