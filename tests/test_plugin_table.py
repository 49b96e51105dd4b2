"""cxcheck.plugin_table is the one list of plugins: it is pyproject's console scripts, each entry's
module runs the plugin it names, and everything that lists plugins reads it."""

from __future__ import annotations

import re

from conftest import MODULES, ROOT
from engines import console_scripts

from cxcheck.plugin_table import BY_NAME, PLUGINS, find


def test_the_table_is_pyprojects_console_scripts():
    scripts = {name: target for name, target in console_scripts().items() if name != "cxcheck"}
    assert {entry.name: f"{entry.module}:main" for entry in PLUGINS} == scripts


def test_each_entry_runs_the_plugin_it_names():
    for entry in PLUGINS:
        assert entry.build_parser().prog == entry.name
        assert entry.icinga_command == f"cx_{entry.short}" and entry.name == f"check_cx_{entry.short}"
        assert re.fullmatch(r"CX [\w ]+", entry.service), entry.service
    assert find("nps") is find("check_cx_nps") is BY_NAME["check_cx_nps"]


def test_the_readers_list_no_plugin_of_their_own():
    """conftest, the worker and `cxcheck config` take their plugins from the table; no module of
    the engines, the worker or the tests' engines names a plugin list of its own."""
    from cxcheck.worker.registry import discover

    assert {name for name in MODULES if name != "cxcheck"} == set(BY_NAME)
    assert set(discover()) == set(BY_NAME)
    readers = [ROOT / "plugins" / "cxcheck" / "engines", ROOT / "plugins" / "cxcheck" / "worker"]
    for path in [file for directory in readers for file in directory.glob("*.py")]:
        for literal in re.findall(r"[(\[{][^()\[\]{}]*[)\]}]", path.read_text()):   # a tuple, list, set or dict
            named = set(re.findall(r'"(check_cx_\w+)"', literal))
            assert len(named) < 3, f"{path.name} lists plugins: {sorted(named)}"


def test_each_plugin_has_its_templates_and_commands_in_every_engine():
    """The names the table promises: cx-<short>-service and check_cx_<short>_args (Nagios),
    cxcheck-<short> and cxcheck-<short>-args (Centreon), cx-<schedule>-service and cx_<short>
    (Icinga 2)."""
    from clapi import Clapi
    from engines import TEMPLATES, nagios_blocks

    nagios = {d.get("name") or d.get("command_name") for path in (TEMPLATES / "nagios").glob("cxcheck-*.cfg")
              for _, d, _ in nagios_blocks(path.read_text())}
    centreon = Clapi((TEMPLATES / "centreon" / "cxcheck-clapi.txt").read_text())
    icinga = "\n".join(path.read_text() for path in (TEMPLATES / "icinga2").glob("*.conf"))
    for entry in PLUGINS:
        assert {f"cx-{entry.short}-service", f"{entry.name}_args"} <= nagios, entry.name
        assert f"cxcheck-{entry.short}" in centreon.stpl and f"cxcheck-{entry.short}-args" in centreon.commands
        assert f'template Service "cx-{entry.schedule}-service"' in icinga, entry.name
        assert f'object CheckCommand "{entry.icinga_command}"' in icinga, entry.name
