"""Which plugins the worker serves, under which keys the core routes them, and the one import of
everything their runs use (each forked child then starts with it all in memory)."""

from __future__ import annotations

import importlib
import os
import pkgutil

import cxcheck
from cxcheck.runtime.plugin import parser_for

# Modules the plugins import only when a run needs them (the process run pays for them only
# then); a worker pays once. Missing optional ones are left to the run that needs them.
LAZY_IMPORTS = ("requests", "urllib3", "yaml", "jmespath", "jmespath.exceptions", "json", "statistics",
                "http.cookiejar", "email.parser", "encodings.idna")
NOT_PRELOADED = ("cxcheck.demo", "cxcheck.worker", "cxcheck.cli")
DEFAULT_PLUGIN_DIRS = ("/usr/lib/nagios/plugins",)


class Plugin:
    """A plugin the worker runs: its console-script name, main(argv) and status-line name."""

    __slots__ = ("name", "main", "label")

    def __init__(self, name: str, main, label: str):
        self.name, self.main, self.label = name, main, label

    def __repr__(self):
        return f"Plugin({self.name!r})"


def discover(broken: list | None = None) -> dict[str, Plugin]:
    """The plugins of cxcheck's plugin table with a plugin main(): name -> Plugin. The name is the
    plugin's own program name (its parser's prog, the console script's name). A module that
    does not import is left out (and named in `broken`): the core runs that plugin itself."""
    from cxcheck.plugin_table import PLUGINS

    plugins = {}
    for entry in PLUGINS:
        try:
            module = importlib.import_module(entry.module)
        except Exception as exc:
            if broken is not None:
                broken.append(f"{entry.module} ({type(exc).__name__}: {exc})")
            continue
        main = getattr(module, "main", None)
        if callable(main) and hasattr(main, "build_parser") and hasattr(main, "body"):
            name = parser_for(main.build_parser).prog        # built once, here: every child has it
            plugins[name] = Plugin(name, main, getattr(main, "plugin_name", name))
    return dict(sorted(plugins.items()))


def preload() -> list[str]:
    """Import cxcheck (but the demo, the worker and the umbrella command) and the libraries its
    plugins import lazily. Returns what could not be imported."""
    missing = []
    names = [info.name for info in pkgutil.walk_packages(cxcheck.__path__, "cxcheck.")
             if not info.name.startswith(NOT_PRELOADED)]
    for name in [*names, *LAZY_IMPORTS]:
        try:
            importlib.import_module(name)
        except Exception as exc:
            missing.append(f"{name} ({type(exc).__name__}: {exc})")
    return missing


def routing_keys(plugins, plugin_dirs=DEFAULT_PLUGIN_DIRS) -> dict[str, str]:
    """key -> plugin name. The core looks a command's first word up whole, then (when the
    command has arguments) by its basename: each plugin is registered under its name and under
    its path in every plugin directory, so commands without arguments are routed too."""
    keys = {}
    for name in plugins:
        keys[name] = name
        for directory in plugin_dirs:
            keys[os.path.join(directory, name)] = name
    return keys


def plugin_for(argv0: str, plugins: dict[str, Plugin]) -> Plugin | None:
    """The plugin a command's first word names (the core routed it here by name or basename)."""
    return plugins.get(os.path.basename(argv0))
