"""A private Icinga 2 (Debian icinga2-bin 2.13) on a copy of Debian's /etc/icinga2: icinga2.conf
and its includes as shipped, directories through -D, plugin directory constants changed, and a
result writer the tests read."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from engine_base import CLEAN_PATH, external_command, stop_process, wait_until

STOCK_ICINGA2 = Path("/etc/icinga2")
# Debian's conf.d/hosts.conf defines the example host that checks this machine (ping, disk, ssh...):
# left out; the rest of /etc/icinga2 is copied as shipped.
ICINGA2_LEFT_OUT = ("conf.d/hosts.conf",)
# The features a private daemon turns on (`icinga2 feature enable`): the external command pipe.
ICINGA2_FEATURES = ("command",)
PLUGIN_DIR_CONSTANTS = ("PluginDir", "ManubulonPluginDir", "PluginContribDir")


class Icinga2:
    """A private Icinga 2 on a copy of Debian's /etc/icinga2 (icinga2.conf and its includes as
    shipped, but the example host), its directories through -D, the plugin directory constants in
    constants.conf set to `constants["PluginDir"]`; other `constants` given with -D. `includes` are
    included from conf.d; `zones` replaces zones.conf and `features` adds enabled features (name ->
    text), as an administrator does for a cluster. A result writer (features-enabled/
    cxcheck-results.conf, the test's instrument) records each result's state and output."""

    def __init__(self, binary: str, workdir: Path, includes: list[Path], constants: dict[str, str],
                 zones: str | None = None, features: dict[str, str] | None = None):
        self.binary = binary
        self.dir = Path(workdir)
        self.includes = includes
        self.constants = constants
        self.zones = zones
        self.features = features or {}
        self.main = self.dir / "icinga2.conf"
        self.results_dir = self.dir / "results"
        self.command_file = self.dir / "run" / "cmd" / "icinga2.cmd"
        self.proc: subprocess.Popen | None = None

    def dirs(self) -> list[str]:
        t = self.dir
        defined = self._stock_constants()
        return [f"-DConfigDir={t}", f"-DDataDir={t}/data", f"-DLogDir={t}/log", f"-DCacheDir={t}/cache",
                f"-DSpoolDir={t}/spool", f"-DInitRunDir={t}/run", f"-DZonesDir={t}/zones.d", "-DRunAsUser=root",
                "-DRunAsGroup=root", *(f"-D{k}={v}" for k, v in self.constants.items() if k not in defined)]

    @staticmethod
    def _stock_constants() -> set[str]:
        text = (STOCK_ICINGA2 / "constants.conf").read_text()
        return set(re.findall(r"^const (\w+) =", text, re.M))

    def write_config(self):
        shutil.copytree(STOCK_ICINGA2, self.dir, symlinks=True, dirs_exist_ok=True)
        for name in ICINGA2_LEFT_OUT:
            (self.dir / name).unlink()
        for sub in ("data", "log", "cache", "spool", "run/cmd", "results", "tmp", "zones.d"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        constants = self.dir / "constants.conf"
        text = constants.read_text()
        for name, value in self.constants.items():
            names = PLUGIN_DIR_CONSTANTS if name == "PluginDir" else (name,)
            for constant in names:
                text = re.sub(rf'^const {constant} = .*$', f'const {constant} = "{value}"', text, flags=re.M)
        constants.write_text(text)
        if self.zones is not None:
            (self.dir / "zones.conf").write_text(self.zones)
        enabled = self.dir / "features-enabled"
        for feature in ICINGA2_FEATURES:
            link = enabled / f"{feature}.conf"
            if not link.exists():
                link.symlink_to(f"../features-available/{feature}.conf")
        for name, body in self.features.items():
            (enabled / f"{name}.conf").write_text(body)
        (enabled / "cxcheck-results.conf").write_text("\n".join([
            'object PerfdataWriter "cxcheck-results" {',
            f'  service_temp_path = "{self.dir}/tmp/service-perfdata"',
            f'  host_temp_path = "{self.dir}/tmp/host-perfdata"',
            f'  service_perfdata_path = "{self.results_dir}/service-perfdata"',
            f'  host_perfdata_path = "{self.results_dir}/host-perfdata"',
            '  service_format_template = "SERVICE\\t$host.name$\\t$service.name$\\t$service.state_id$\\t'
            '$service.last_check$\\t$service.output$\\t$service.perfdata$"',
            '  host_format_template = "HOST\\t$host.name$\\t$host.state_id$\\t$host.output$"',
            "  rotation_interval = 1s", "}", ""]))
        (self.dir / "conf.d" / "zz-cxcheck-tests.conf").write_text("".join(f'include "{p}"\n' for p in self.includes))

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

    def run_until_checked(self, keys, env: dict | None = None, timeout: float = 120) -> dict:
        """Start, force the checks of the hosts in `keys` ((host, service) pairs) until each has a
        result; those results."""
        self.start(env=env)
        hosts = sorted({host for host, _ in keys})

        def done():
            for host in hosts:
                self.command(f"SCHEDULE_FORCED_HOST_SVC_CHECKS;{host};{int(time.time())}")
            results = self.results()
            return results if all(key in results for key in keys) else None

        try:
            return wait_until(done, timeout, "a result of every service", interval=1)
        except AssertionError:
            missing = sorted(set(keys) - set(self.results()))
            raise AssertionError(f"no result for {missing[:10]} ({len(missing)})\n"
                                 + (self.dir / "log" / "icinga2.log").read_text(errors="replace")[-3000:]) from None

    def stop(self, timeout: float = 15):
        stop_process(self.proc, timeout)
        self.proc = None
