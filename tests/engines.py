"""Private monitoring engines for the template tests: a Nagios 4 core, its CGIs behind a private
Apache, headless Chromium, and Icinga 2's config validator. Everything lives in a temporary
directory, listens on 127.0.0.1 only, and is stopped by whoever started it.

Facts these rely on are in DESIGN.md ("Running a private Nagios 4")."""

from __future__ import annotations

import json
import os
import re
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


def kill_session(sid: int, sig=signal.SIGKILL):
    """Signal every process whose session id is `sid` (a daemon's plugins outlive it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:
            try:
                os.kill(int(entry.name), sig)
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
    """`[now] TEXT` into an engine's command pipe (Nagios and Icinga 2 read the same format)."""
    fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
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


# ---------------------------------------------------------------------------------------------
# Nagios 4


def parse_status_dat(text: str) -> list[tuple[str, dict]]:
    """status.dat: blocks `kind {` key=value ... `}`."""
    blocks, kind, fields = [], None, {}
    for line in text.splitlines():
        stripped = line.strip()
        if kind is None:
            match = re.fullmatch(r"(\w+) \{", stripped)
            if match:
                kind, fields = match.group(1), {}
        elif stripped == "}":
            blocks.append((kind, fields))
            kind = None
        elif "=" in stripped:
            key, _, value = stripped.partition("=")
            fields[key] = value
    return blocks


STATUS_BITS = {1: "PENDING", 2: "OK", 4: "WARNING", 8: "UNKNOWN", 16: "CRITICAL"}
STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


class Nagios:
    """A private Nagios 4 core in `workdir`, reading `cfg_files`, with `resources` ($USERn$)."""

    def __init__(self, binary: str, workdir: Path, cfg_files: list[Path], resources: dict[str, str],
                 env: dict | None = None, settings: dict | None = None):
        self.settings = settings or {}
        self.binary = binary
        self.dir = Path(workdir)
        self.cfg_files = [Path(p) for p in cfg_files]
        self.resources = resources
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.main_cfg = self.dir / "nagios.cfg"
        self.cgi_cfg = self.dir / "cgi.cfg"
        self.status_file = self.dir / "status.dat"
        self.command_file = self.dir / "rw" / "nagios.cmd"
        self.log_file = self.dir / "nagios.log"

    def write_config(self):
        d = self.dir
        for sub in ("rw", "spool/checkresults", "tmp", "archives"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "resource.cfg").write_text("".join(f"${k}$={v}\n" for k, v in self.resources.items()))
        settings = {
            "log_file": d / "nagios.log",
            "resource_file": d / "resource.cfg",
            "object_cache_file": d / "objects.cache",
            "precached_object_file": d / "objects.precache",
            "status_file": self.status_file,
            "command_file": self.command_file,
            "query_socket": d / "rw" / "nagios.qh",
            "lock_file": d / "nagios.pid",
            "temp_file": d / "nagios.tmp",
            "temp_path": d / "tmp",
            "check_result_path": d / "spool" / "checkresults",
            "state_retention_file": d / "retention.dat",
            "log_archive_path": d / "archives",
            "debug_file": d / "nagios.debug",
            "nagios_user": "root", "nagios_group": "root",
            "check_external_commands": 1, "status_update_interval": 1,
            "check_result_reaper_frequency": 1, "max_check_result_reaper_time": 5,
            "service_inter_check_delay_method": "n", "host_inter_check_delay_method": "n",
            "max_service_check_spread": 1, "max_host_check_spread": 1,
            "service_interleave_factor": 1,
            "retain_state_information": 0, "use_retained_program_state": 0,
            "enable_notifications": 0, "enable_event_handlers": 0, "enable_flap_detection": 0,
            "check_for_updates": 0, "use_syslog": 0, "log_initial_states": 1,
            "service_check_timeout": 60, "interval_length": 60,
            "enable_environment_macros": 0, "illegal_macro_output_chars": "`~$&|'\"<>",
            "event_broker_options": 0, "process_performance_data": 0,
            "execute_service_checks": 1, "execute_host_checks": 1,
            "date_format": "iso8601",
        }
        settings.update(self.settings)
        lines = [f"{k}={v}" for k, v in settings.items()]
        lines += [f"cfg_file={p}" for p in self.cfg_files]
        self.main_cfg.write_text("\n".join(lines) + "\n")
        self.cgi_cfg.write_text(
            f"main_config_file={self.main_cfg}\n"
            "physical_html_path=/usr/share/nagios4/htdocs\nurl_html_path=/nagios4\n"
            "use_authentication=0\nuse_ssl_authentication=0\nshow_context_help=0\n"
            "use_pending_states=1\nrefresh_rate=90\nresult_limit=100\nescape_html_tags=1\n"
            "default_user_name=cxcheck\nauthorized_for_all_services=*\nauthorized_for_all_hosts=*\n"
            "authorized_for_system_information=*\nauthorized_for_configuration_information=*\n"
            "lock_author_names=1\n")
        return self.main_cfg

    def clean_env(self) -> dict:
        env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": str(self.dir)}
        env.update(self.env)
        return env

    def verify(self) -> subprocess.CompletedProcess:
        """`nagios4 -v`: the whole object configuration, as the daemon would read it."""
        return subprocess.run([self.binary, "-v", str(self.main_cfg)], capture_output=True, text=True,
                              timeout=60, env=self.clean_env(), stdin=subprocess.DEVNULL)

    def start(self, timeout: float = 20):
        out = open(self.dir / "nagios.stdout", "wb")
        self.proc = subprocess.Popen([self.binary, str(self.main_cfg)], stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.clean_env(), cwd=self.dir,
                                     start_new_session=True)
        out.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"nagios4 exited {self.proc.returncode}: "
                                     + (self.dir / "nagios.stdout").read_text(errors="replace")[-2000:])
            return self.command_file.exists() and self.status_file.exists()

        wait_until(up, timeout, "nagios4 to start (command file and status.dat)")

    def command(self, text: str):
        external_command(self.command_file, text)

    def force_checks(self, host: str) -> int:
        now = int(time.time())
        self.command(f"SCHEDULE_FORCED_HOST_SVC_CHECKS;{host};{now}")
        return now

    def status(self) -> list[tuple[str, dict]]:
        try:
            return parse_status_dat(self.status_file.read_text(errors="replace"))
        except FileNotFoundError:
            return []

    def services(self) -> dict[tuple[str, str], dict]:
        return {(f["host_name"], f["service_description"]): f for kind, f in self.status() if kind == "servicestatus"}

    def wait_for_results(self, keys, since: int, timeout: float = 60) -> dict:
        """Status of the services `keys` once each has a result of a check that ran at or after `since`."""
        def done():
            services = self.services()
            if all(k in services and services[k].get("has_been_checked") == "1"
                   and int(services[k].get("last_check", 0)) >= since for k in keys):
                return services
            return None

        try:
            return wait_until(done, timeout, "service results in status.dat", interval=0.2)
        except AssertionError:
            services = self.services()
            detail = {k: (services.get(k, {}).get("last_check"), services.get(k, {}).get("plugin_output"))
                      for k in keys}
            raise AssertionError(f"no fresh results after {timeout} s (since {since}): {detail}\n"
                                 + self.log_file.read_text(errors="replace")[-3000:]) from None

    def cgi(self, name: str, query: str) -> str:
        """Run one of Debian's nagios4 CGIs from the shell, as a web server would."""
        env = {"PATH": CLEAN_PATH, "NAGIOS_CGI_CONFIG": str(self.cgi_cfg), "REQUEST_METHOD": "GET",
               "QUERY_STRING": query, "REMOTE_USER": "cxcheck", "GATEWAY_INTERFACE": "CGI/1.1"}
        proc = subprocess.run([f"/usr/lib/cgi-bin/nagios4/{name}"], capture_output=True, text=True,
                              env=env, timeout=30, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def statusjson(self, query: str) -> dict:
        text = self.cgi("statusjson.cgi", query)
        return json.loads(text[text.index("{"):])

    def stop(self, timeout: float = 10):
        stop_process(self.proc, timeout)
        self.proc = None


# ---------------------------------------------------------------------------------------------
# Apache with the Nagios CGIs, and Chromium


class Apache:
    """A private apache2 (its own config, pid file and logs) serving Debian's nagios4 web UI on
    127.0.0.1:`port`, with the CGIs reading a private cgi.cfg."""

    MODULES = ("mpm_event", "authz_core", "authz_host", "mime", "dir", "alias", "cgid", "env", "headers")

    def __init__(self, binary: str, workdir: Path, port: int, cgi_cfg: Path):
        self.binary = binary
        self.dir = Path(workdir)
        self.port = port
        self.cgi_cfg = cgi_cfg
        self.conf = self.dir / "apache2.conf"
        self.pid_file = self.dir / "apache2.pid"
        self.url = f"http://127.0.0.1:{port}"

    def write_config(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        mods = "/usr/lib/apache2/modules"
        loads = "\n".join(f"LoadModule {m}_module {mods}/mod_{m}.so" for m in self.MODULES)
        self.conf.write_text(f"""\
ServerRoot "{self.dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.pid_file}"
Mutex file:{self.dir}
ScriptSock "{self.dir}/cgisock"
ErrorLog "{self.dir}/error.log"
LogLevel warn
User www-data
Group www-data
{loads}
TypesConfig /etc/mime.types
DocumentRoot /usr/share/nagios4/htdocs
ScriptAlias /cgi-bin/nagios4 /usr/lib/cgi-bin/nagios4
ScriptAlias /nagios4/cgi-bin /usr/lib/cgi-bin/nagios4
Alias /nagios4/stylesheets /etc/nagios4/stylesheets
Alias /nagios4 /usr/share/nagios4/htdocs
SetEnv NAGIOS_CGI_CONFIG {self.cgi_cfg}
SetEnv REMOTE_USER cxcheck
<Directory />
    Require all denied
</Directory>
<DirectoryMatch (/usr/share/nagios4/htdocs|/usr/lib/cgi-bin/nagios4|/etc/nagios4/stylesheets)>
    Options FollowSymLinks
    DirectoryIndex index.html
    Require ip 127.0.0.0/8
</DirectoryMatch>
""")

    def start(self, timeout: float = 20):
        env = {"PATH": CLEAN_PATH, "LANG": "C", "APACHE_RUN_DIR": str(self.dir), "APACHE_LOCK_DIR": str(self.dir),
               "APACHE_LOG_DIR": str(self.dir)}
        proc = subprocess.run([self.binary, "-f", str(self.conf), "-k", "start"], capture_output=True, text=True,
                              env=env, timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise AssertionError(f"apache2 did not start: {proc.stdout}{proc.stderr}")
        wait_until(lambda: self.pid_file.exists() and self.pid_file.read_text().strip(), timeout,
                   "apache2's pid file")

    def stop(self, timeout: float = 10):
        if not self.pid_file.exists():
            return
        try:
            pid = int(self.pid_file.read_text().strip())
        except ValueError:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def gone():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            # a zombie of ours would never go; apache2 -k start detaches, so it is not ours
            return False

        try:
            wait_until(gone, timeout, "apache2 to stop")
        except AssertionError:
            os.kill(pid, signal.SIGKILL)


def chromium_screenshot(binary: str, url: str, out: Path, profile: Path, size=(1280, 640),
                        timeout: float = 60) -> subprocess.CompletedProcess:
    """Headless Chromium from Debian: a PNG of `url`."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--window-size={size[0]},{size[1]}", f"--screenshot={out}"]
    return subprocess.run([binary, *flags, url], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={"PATH": CLEAN_PATH, "HOME": str(profile), "TMPDIR": str(profile)},
                          start_new_session=True)


def chromium_dump_dom(binary: str, url: str, profile: Path, timeout: float = 60) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--dump-dom"]
    proc = subprocess.run([binary, *flags, url], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={"PATH": CLEAN_PATH, "HOME": str(profile), "TMPDIR": str(profile)},
                          start_new_session=True)
    return proc.stdout


# ---------------------------------------------------------------------------------------------
# Icinga 2


def icinga2_validate(binary: str, workdir: Path, main_conf: Path) -> subprocess.CompletedProcess:
    """`icinga2 daemon -C` over one main file, every directory private (DESIGN.md)."""
    t = Path(workdir)
    for sub in ("data", "log", "cache", "spool", "run"):
        (t / sub).mkdir(parents=True, exist_ok=True)
    return subprocess.run([binary, "daemon", "-C", "-c", str(main_conf), f"-DConfigDir={t}",
                           f"-DDataDir={t}/data", f"-DLogDir={t}/log", f"-DCacheDir={t}/cache",
                           f"-DSpoolDir={t}/spool", f"-DInitRunDir={t}/run", f"-DZonesDir={t}/zones.d",
                           "-DRunAsUser=root", "-DRunAsGroup=root"], capture_output=True, text=True, timeout=60,
                          env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# The example configuration, aimed at a running demo shop


EXAMPLE_PATHS = {
    # where the example points (the Debian package's layout) -> this checkout
    "/usr/share/cxcheck/scenarios": str(TEMPLATES / "scenarios"),
    **{f"/usr/share/cxcheck/examples/{name}": str(PLUGINS / "cxcheck" / "demo" / "data" / name)
       for name in ("nps_sample.csv", "csat_sample.csv", "tickets_sample.csv", "churn_sample.csv", "ratings_sample.csv")},
}
EXAMPLE_URL = "http://127.0.0.1:8000"
STOCK_OBJECTS = [Path("/etc/nagios4/objects") / name
                 for name in ("commands.cfg", "contacts.cfg", "timeperiods.cfg", "templates.cfg")]


def nagios_blocks(text: str) -> list[tuple[str, dict, str]]:
    """Object definitions of a Nagios cfg text: (type, {directive: value}, source text).
    `;` comments are dropped (not `\\;`); directives keep their last value."""
    out = []
    for match in re.finditer(r"define\s+(\w+)\s*\{(.*?)\n\s*\}", text, re.S):
        directives = {}
        for line in match.group(2).splitlines():
            line = re.split(r"(?<!\\);", line, maxsplit=1)[0].strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            directives[key] = value.strip()
        out.append((match.group(1), directives, match.group(0)))
    return out


def example_services(path: Path) -> dict[str, dict]:
    """service_description -> directives, for the example file."""
    return {d["service_description"]: d for kind, d, _ in nagios_blocks(path.read_text()) if kind == "service"}


def rewrite_example(text: str, shop_url: str, drop_services=()) -> str:
    """The example aimed at `shop_url` and this checkout's files; services in drop_services removed."""
    for service in drop_services:
        for kind, directives, source in nagios_blocks(text):
            if kind == "service" and directives.get("service_description") == service:
                text = text.replace(source, "")
    text = text.replace(EXAMPLE_URL, shop_url)
    text = re.sub(r"(_CX_PORT\s+)8000\b", lambda m: m.group(1) + shop_url.rsplit(":", 1)[1], text)
    for installed, here in EXAMPLE_PATHS.items():
        text = text.replace(installed, here)
    return text


class Icinga2:
    """A private Icinga 2 daemon: `main_conf` plus a checker, an external command pipe and a
    perfdata writer whose files carry each result's state and output."""

    def __init__(self, binary: str, workdir: Path, includes: list[Path], constants: dict[str, str]):
        self.binary = binary
        self.dir = Path(workdir)
        self.includes = includes
        self.constants = constants
        self.main = self.dir / "icinga2.conf"
        self.results_dir = self.dir / "results"
        self.command_file = self.dir / "run" / "cmd" / "icinga2.cmd"
        self.proc: subprocess.Popen | None = None

    def dirs(self) -> list[str]:
        t = self.dir
        return [f"-DConfigDir={t}", f"-DDataDir={t}/data", f"-DLogDir={t}/log", f"-DCacheDir={t}/cache",
                f"-DSpoolDir={t}/spool", f"-DInitRunDir={t}/run", f"-DZonesDir={t}/zones.d", "-DRunAsUser=root",
                "-DRunAsGroup=root"]

    def write_config(self):
        for sub in ("data", "log", "cache", "spool", "run/cmd", "results", "tmp"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        lines = [f'const {k} = "{v}"' for k, v in self.constants.items()]
        lines += ["include <itl>", "include <plugins>",
                  'object CheckerComponent "checker" { }',
                  f'object ExternalCommandListener "command" {{ command_path = "{self.command_file}" }}',
                  'object PerfdataWriter "results" {',
                  f'  service_temp_path = "{self.dir}/tmp/service-perfdata"',
                  f'  host_temp_path = "{self.dir}/tmp/host-perfdata"',
                  f'  service_perfdata_path = "{self.results_dir}/service-perfdata"',
                  f'  host_perfdata_path = "{self.results_dir}/host-perfdata"',
                  '  service_format_template = "SERVICE\\t$host.name$\\t$service.name$\\t$service.state_id$\\t'
                  '$service.last_check$\\t$service.output$\\t$service.perfdata$"',
                  '  host_format_template = "HOST\\t$host.name$\\t$host.state_id$\\t$host.output$"',
                  "  rotation_interval = 1s", "}"]
        lines += [f'include "{p}"' for p in self.includes]
        self.main.write_text("\n".join(lines) + "\n")

    def validate(self) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, "daemon", "-C", "-c", str(self.main), *self.dirs()], capture_output=True,
                              text=True, timeout=60, env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"},
                              stdin=subprocess.DEVNULL)

    def start(self, env: dict | None = None, timeout: float = 30):
        out = open(self.dir / "icinga2.out", "wb")
        full_env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": str(self.dir)}
        full_env.update(env or {})
        self.proc = subprocess.Popen([self.binary, "daemon", "-c", str(self.main), *self.dirs()], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env,
                                     cwd=self.dir, start_new_session=True)
        out.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"icinga2 exited {self.proc.returncode}: "
                                     + (self.dir / "icinga2.out").read_text(errors="replace")[-3000:])
            return self.command_file.exists()

        wait_until(up, timeout, "icinga2's command pipe")

    def command(self, text: str):
        external_command(self.command_file, text)

    def results(self) -> dict[tuple[str, str], dict]:
        """The latest result of each service, from the perfdata writer's rotated files."""
        out = {}
        for path in sorted(self.results_dir.glob("*"), key=lambda p: p.stat().st_mtime):
            # A record spans lines when the plugin wrote long output: split on record starts.
            for line in re.split(r"\n(?=SERVICE\t|HOST\t)", path.read_text(errors="replace")):
                fields = line.rstrip("\n").split("\t")
                if fields[0] == "SERVICE" and len(fields) >= 7:
                    out[(fields[1], fields[2])] = {"state": int(fields[3]), "last_check": float(fields[4] or 0),
                                                   "output": fields[5], "perfdata": fields[6]}
        return out

    def stop(self, timeout: float = 15):
        stop_process(self.proc, timeout)
        self.proc = None
