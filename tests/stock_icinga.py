"""A private Icinga 2 daemon on Debian's stock configuration: /etc/icinga2 copied as the package
installs it, only paths, names and ports changed, the features enabled as `icinga2 feature
enable` would (a file in features-enabled/), each feature's stock file with the settings a test
needs appended to its object. conf.d keeps the stock templates, commands, users and time periods;
its example host (the node itself, with a dozen local checks) and the services applied to it are
left out: the tests write their own objects into conf.d/.

Everything lives under one directory, given to the daemon with -D (DESIGN.md: a private Icinga 2
reads /etc/icinga2/zones.d unless given -DZonesDir), and listens on 127.0.0.1 only."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from engines import CLEAN_PATH, stop_process, wait_until

STOCK = Path("/etc/icinga2")
# The package's features-enabled/ on a fresh install (Debian 12's icinga2-common).
STOCK_FEATURES = ("checker", "mainlog", "notification")
# conf.d's examples about the local machine: a host named after the node and the checks applied to it.
EXAMPLE_OBJECTS = ("hosts.conf", "services.conf")


def icinga_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[ " + ", ".join(icinga_string(v) for v in value) + " ]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def with_settings(text: str, settings: dict) -> str:
    """A stock feature file with `settings` assigned last in its object (the last assignment wins)."""
    if not settings:
        return text
    end = text.rindex("}")
    lines = "".join(f"  {key} = {icinga_string(value)}\n" for key, value in settings.items())
    return text[:end].rstrip() + "\n" + lines + text[end:]


class StockIcinga2:
    """One node: `name` (its NodeName and endpoint), its plugins in `plugin_dir`."""

    def __init__(self, binary: str, workdir: Path, name: str, plugin_dir: Path | str):
        self.binary = binary
        self.dir = Path(workdir)
        self.name = name
        self.plugin_dir = str(plugin_dir)
        self.main = self.dir / "icinga2.conf"
        self.log = self.dir / "log" / "icinga2.log"
        self.command_file = self.dir / "run" / "cmd" / "icinga2.cmd"
        self.proc: subprocess.Popen | None = None
        self.features: dict[str, dict] = {feature: {} for feature in STOCK_FEATURES}

    def dirs(self) -> list[str]:
        t = self.dir
        return [f"-DConfigDir={t}", f"-DDataDir={t}/data", f"-DLogDir={t}/log", f"-DCacheDir={t}/cache",
                f"-DSpoolDir={t}/spool", f"-DInitRunDir={t}/run", f"-DZonesDir={t}/zones.d", "-DRunAsUser=root",
                "-DRunAsGroup=root"]

    def enable(self, feature: str, **settings):
        """Enable a stock feature; `settings` are appended to its object (host, port, ...)."""
        self.features[feature] = settings

    def write_config(self, zones: str | None = None, objects: dict[str, str] | None = None):
        """Copy the stock tree; `zones` replaces zones.conf (as `icinga2 node setup` writes it),
        `objects` are files for conf.d/ (name -> text)."""
        shutil.copytree(STOCK, self.dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("pki", "zones.d"))
        for sub in ("data", "log", "cache", "spool/tmp", "spool/perfdata", "run/cmd", "zones.d"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        constants = (self.dir / "constants.conf").read_text()
        constants, found = re.subn(r'(?m)^const PluginDir = ".*"$', f'const PluginDir = "{self.plugin_dir}"', constants)
        assert found == 1, "stock constants.conf has no PluginDir"
        constants, found = re.subn(r'(?m)^//\s*const NodeName = ".*"$', f'const NodeName = "{self.name}"', constants)
        assert found == 1, "stock constants.conf has no commented NodeName"
        (self.dir / "constants.conf").write_text(constants)
        enabled = self.dir / "features-enabled"
        shutil.rmtree(enabled)
        enabled.mkdir()
        for feature, settings in self.features.items():
            stock = (self.dir / "features-available" / f"{feature}.conf").read_text()
            (enabled / f"{feature}.conf").write_text(with_settings(stock, settings))
        for example in EXAMPLE_OBJECTS:
            (self.dir / "conf.d" / example).unlink(missing_ok=True)
        if zones is not None:
            (self.dir / "zones.conf").write_text(zones)
        for name, text in (objects or {}).items():
            (self.dir / "conf.d" / name).write_text(text)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args, *self.dirs()], capture_output=True, text=True, timeout=timeout,
                              env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL)

    def validate(self) -> subprocess.CompletedProcess:
        return self.run("daemon", "-C", "-c", str(self.main))

    def start(self, timeout: float = 60, env: dict | None = None):
        out = open(self.dir / "icinga2.out", "wb")
        full_env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": str(self.dir)}
        full_env.update(env or {})
        self.proc = subprocess.Popen([self.binary, "daemon", "-c", str(self.main), *self.dirs()], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env, cwd=self.dir,
                                     start_new_session=True)
        out.close()
        wait_until(self.started, timeout, f"icinga2 {self.name} to activate its objects", interval=0.2)

    def started(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"icinga2 {self.name} exited {self.proc.returncode}: {self.tail()}")
        return self.log.exists() and "Activated all objects" in self.log.read_text(errors="replace")

    def tail(self, chars: int = 3000) -> str:
        texts = [path.read_text(errors="replace")[-chars:] for path in (self.dir / "icinga2.out", self.log)
                 if path.exists()]
        return "\n".join(texts)

    def command(self, text: str):
        from engines import external_command

        external_command(self.command_file, text)

    def stop(self, timeout: float = 15):
        stop_process(self.proc, timeout)
        self.proc = None
