"""Private monitoring engines for the tests, on the Debian packages' stock configuration with only
paths changed: a Nagios 4 core (engine_nagios), its CGIs behind a private Apache and headless
Chromium (engine_web), Icinga 2 (engine_icinga2), what they share (engine_base); here, services
run once in an engine, and the example configuration aimed at a running demo shop. Tests import
all of it from here."""

from __future__ import annotations

import re
from pathlib import Path

from engine_base import CGI_DIR as CGI_DIR
from engine_base import CLEAN_PATH as CLEAN_PATH
from engine_base import PLUGINS as PLUGINS
from engine_base import ROOT as ROOT
from engine_base import TEMPLATES
from engine_base import browser_missing as browser_missing
from engine_base import console_scripts as console_scripts
from engine_base import external_command as external_command
from engine_base import kill_session as kill_session
from engine_base import module_exists as module_exists
from engine_base import need_cgis as need_cgis
from engine_base import recorded as recorded
from engine_base import recording as recording
from engine_base import stop_process as stop_process
from engine_base import wait_until as wait_until
from engine_base import write_recorders as write_recorders
from engine_base import write_wrappers as write_wrappers
from engine_icinga2 import ICINGA2_FEATURES as ICINGA2_FEATURES
from engine_icinga2 import ICINGA2_LEFT_OUT as ICINGA2_LEFT_OUT
from engine_icinga2 import STOCK_ICINGA2 as STOCK_ICINGA2
from engine_icinga2 import Icinga2
from engine_nagios import NAGIOS_PACE as NAGIOS_PACE
from engine_nagios import NAGIOS_SANDBOX as NAGIOS_SANDBOX
from engine_nagios import STATES as STATES
from engine_nagios import STATUS_BITS as STATUS_BITS
from engine_nagios import STOCK_NAGIOS_CFG as STOCK_NAGIOS_CFG
from engine_nagios import Nagios
from engine_nagios import parse_status_dat as parse_status_dat
from engine_web import Apache as Apache
from engine_web import chromium_dump_dom as chromium_dump_dom
from engine_web import chromium_screenshot as chromium_screenshot

# ---------------------------------------------------------------------------------------------
# Services run once in a stock engine: the tests of `cxcheck config` and of the transport


NAGIOS_TEMPLATES = [TEMPLATES / "nagios" / "cxcheck-commands.cfg", TEMPLATES / "nagios" / "cxcheck-templates.cfg"]
ICINGA2_TEMPLATES = [TEMPLATES / "icinga2" / "cxcheck-commands.conf", TEMPLATES / "icinga2" / "cxcheck-services.conf"]


def nagios_host(name: str, check_command: str) -> str:
    return (f"define host {{\n    use generic-host\n    host_name {name}\n    address 127.0.0.1\n"
            f"    check_command {check_command}\n    max_check_attempts 1\n    contact_groups admins\n}}\n")


def run_in_nagios(workdir: Path, objects: str, keys, plugins: Path, files=tuple(NAGIOS_TEMPLATES), env=None,
                  settings=None, timeout: float = 120) -> dict:
    """`objects` beside `files` in Debian's stock Nagios 4, $USER1$ = `plugins`: verified (no error,
    no warning), started, every service in `keys` checked once; their status.dat entries."""
    from conftest import need_binary

    binary = need_binary("nagios4", "nagios4-core")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    (Path(workdir) / "objects.cfg").write_text(objects)
    core = Nagios(binary, Path(workdir) / "nagios", [*files, Path(workdir) / "objects.cfg"], {"USER1": str(plugins)},
                  env=env, settings=settings)
    core.dir.mkdir()
    core.write_config()
    verify = core.verify().stdout
    assert "Total Errors:   0" in verify and "Total Warnings: 0" in verify, verify[-3000:]
    try:
        return core.run_until_checked(list(keys), timeout=timeout)
    finally:
        core.stop()


def run_in_icinga2(workdir: Path, objects: str, keys, plugins: Path, timeout: float = 120) -> dict:
    """`objects` beside cxcheck's templates in Debian's stock Icinga 2, PluginDir = `plugins`:
    validated, started, every service in `keys` checked once; their results."""
    from conftest import need_binary

    binary = need_binary("icinga2", "icinga2-bin")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    (Path(workdir) / "objects.conf").write_text(objects)
    engine = Icinga2(binary, Path(workdir) / "icinga2", [*ICINGA2_TEMPLATES, Path(workdir) / "objects.conf"],
                     {"PluginDir": str(plugins)})
    engine.dir.mkdir()
    engine.write_config()
    proc = engine.validate()
    assert proc.returncode == 0, proc.stdout[-3000:]
    try:
        return engine.run_until_checked(list(keys), timeout=timeout)
    finally:
        engine.stop()


# ---------------------------------------------------------------------------------------------
# The example configuration, aimed at a running demo shop


EXAMPLE_PATHS = {
    # where the example points (the Debian package's layout) -> this checkout
    "/usr/share/cxcheck/scenarios": str(TEMPLATES / "scenarios"),
    **{f"/usr/share/cxcheck/examples/{name}": str(PLUGINS / "cxcheck" / "demo" / "data" / name)
       for name in ("nps_sample.csv", "csat_sample.csv", "tickets_sample.csv", "churn_sample.csv",
                    "ratings_sample.csv", "payments_sample.csv", "subscriptions_sample.csv")},
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
