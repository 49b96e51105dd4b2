"""A private Nagios 4 core (Debian nagios4-core 4.4.6) on Debian's stock nagios.cfg, only paths
changed (and NAGIOS_SANDBOX, NAGIOS_PACE: the few settings a test cannot do without, with their
reason), and its status.dat. Facts it relies on are in DESIGN.md ("Running a private Nagios 4")."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from engine_base import CLEAN_PATH, external_command, stop_process, wait_until


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


STOCK_NAGIOS_CFG = Path("/etc/nagios4/nagios.cfg")
STOCK_CGI_CFG = Path("/etc/nagios4/cgi.cfg")
STOCK_RESOURCE_CFG = Path("/etc/nagios4/resource.cfg")
# What a private Nagios changes in Debian's nagios.cfg besides paths, and why. Nothing here bears on
# how a command line is built (illegal_macro_output_chars, illegal_object_name_chars,
# enable_environment_macros stay stock: test_engines_stock.py checks it).
NAGIOS_SANDBOX = {
    "nagios_user": "root", "nagios_group": "root",     # the tests run as root, their files are root's
    "check_for_updates": 0,                             # no traffic but to 127.0.0.1
    "use_syslog": 0,                                    # the machine's syslog is not ours
    "enable_notifications": 0,                          # no mail to nagios@localhost
}
NAGIOS_PACE = {                                         # results within a second, not minutes
    "status_update_interval": 1, "check_result_reaper_frequency": 1, "max_check_result_reaper_time": 5,
    "service_inter_check_delay_method": "n", "host_inter_check_delay_method": "n",
    "max_service_check_spread": 1, "max_host_check_spread": 1, "service_interleave_factor": 1,
    "log_initial_states": 1,                            # the first state of each service, in nagios.log
}
# Debian's object files the private core reads; its localhost.cfg (services checking this machine)
# and its empty conf.d are left out, the test's own objects come instead.
STOCK_OBJECT_LINES = ("cfg_file=/etc/nagios4/objects/localhost.cfg", "cfg_dir=/etc/nagios4/conf.d")


def stock_nagios_cfg(directory: Path, cfg_files: list[Path], overrides: dict) -> str:
    """Debian's nagios.cfg with every path into `directory`, the object files `cfg_files` added,
    and `overrides` (NAGIOS_SANDBOX, NAGIOS_PACE, a test's own) set; everything else as shipped."""
    d = Path(directory)
    paths = {
        "log_file": d / "nagios.log", "object_cache_file": d / "objects.cache",
        "precached_object_file": d / "objects.precache", "resource_file": d / "resource.cfg",
        "status_file": d / "status.dat", "command_file": d / "rw" / "nagios.cmd", "lock_file": d / "nagios.pid",
        "temp_file": d / "nagios.tmp", "temp_path": d / "tmp", "log_archive_path": d / "archives",
        "check_result_path": d / "spool" / "checkresults", "state_retention_file": d / "retention.dat",
        "debug_file": d / "nagios.debug", "query_socket": d / "rw" / "nagios.qh",
    }
    settings = {**paths, **overrides}
    lines, seen, objects = [], set(), []
    for line in STOCK_NAGIOS_CFG.read_text().splitlines():
        key, sep, _ = line.partition("=")
        if line.startswith(STOCK_OBJECT_LINES):
            continue
        if line.startswith(("cfg_file=", "cfg_dir=")):
            objects.append(Path(line.partition("=")[2]))
        if sep and not line.startswith("#") and key in settings:
            line = f"{key}={settings[key]}"
            seen.add(key)
        lines.append(line)
    lines += [f"{key}={value}" for key, value in settings.items() if key not in seen]
    lines += [f"cfg_file={path}" for path in cfg_files if Path(path) not in objects]
    return "\n".join(lines) + "\n"


class Nagios:
    """A private Nagios 4 core in `workdir` on Debian's stock nagios.cfg (paths changed,
    NAGIOS_SANDBOX and NAGIOS_PACE, then `settings`), reading Debian's object files and `cfg_files`,
    with Debian's resource.cfg plus `resources` ($USERn$)."""

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
        resources = {line.partition("=")[0]: line.partition("=")[2]
                     for line in STOCK_RESOURCE_CFG.read_text().splitlines() if line.startswith("$")}
        resources.update({f"${key}$": value for key, value in self.resources.items()})
        (d / "resource.cfg").write_text("".join(f"{key}={value}\n" for key, value in resources.items()))
        overrides = {**NAGIOS_SANDBOX, **NAGIOS_PACE, **self.settings}
        self.main_cfg.write_text(stock_nagios_cfg(d, self.cfg_files, overrides))
        if STOCK_CGI_CFG.exists():                     # Debian's nagios4-cgi: for the tests that run the CGIs
            self.cgi_cfg.write_text("".join(f"main_config_file={self.main_cfg}\n" if line.startswith("main_config_file=")
                                            else line + "\n" for line in STOCK_CGI_CFG.read_text().splitlines()))
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

    def run_until_checked(self, keys, timeout: float = 120) -> dict:
        """Start, force every check of the hosts in `keys` ((host, service) pairs) and wait until each
        has a result; their status.dat entries. Stops the core on failure (the caller stops it after)."""
        self.start()
        for host in sorted({host for host, _ in keys}):
            self.force_checks(host)
        return self.wait_for_results(keys, since=0, timeout=timeout)

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
