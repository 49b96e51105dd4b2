"""docs/architecture.md's import rules, held against the code as the import guard holds imports.

The layers and what each may import are stated once, in the table of the document's "Layers"
section; this test reads that table, parses every module of plugins/cxcheck/ with ast (imports at
top level and inside functions alike: a lazy import is a dependency too) and fails naming the
file, the line and the import that breaks a rule. It also holds the rules stated beside the
table: a plugin never imports another plugin, and no module is over 400 lines.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "plugins" / "cxcheck"
DOC = ROOT / "docs" / "architecture.md"
MAX_LINES = 400
ROW = re.compile(r"^\|\s*`(\w+)`\s*\|[^|]*\|([^|]*)\|\s*$")


def layer_table() -> dict[str, set[str]]:
    """unit -> the units it may import, from the table under "## Layers"."""
    text = DOC.read_text()
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        found = ROW.match(line)
        if found:
            table[found[1]] = set(re.findall(r"`(\w+)`", found[2]))
    return table


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "demo/data" not in path.as_posix())


def unit_of(path: Path) -> str:
    """The first part of a module's path under cxcheck/: its package, or the module itself."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every cxcheck name this file imports: `from cxcheck.checks import
    nps` is cxcheck.checks.nps, `from cxcheck import __version__` the package face."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "cxcheck" or name.startswith("cxcheck.")]


def target_unit(name: str) -> str | None:
    """The unit a dotted name belongs to; None for the package face (cxcheck, cxcheck.__version__)."""
    part = name.split(".")[1] if "." in name else None
    if part is None or part.startswith("__"):
        return None
    return part


def test_the_table_covers_every_unit_of_the_package():
    table = layer_table()
    assert table, f"no table of layers under '## Layers' in {DOC}"
    units = {unit_of(path) for path in modules()} - {"__init__"}
    missing = sorted(units - set(table))
    assert not missing, f"units with no row in {DOC.name}'s table of layers: {', '.join(missing)}"
    unknown = sorted(name for allowed in table.values() for name in allowed if name not in units)
    assert not unknown, f"the table names units that do not exist: {', '.join(unknown)}"


def test_every_import_is_one_the_layers_allow():
    table = layer_table()
    broken = []
    for path in modules():
        unit = unit_of(path)
        if unit == "__init__":
            continue
        allowed = table.get(unit, set()) | {unit}
        for line, name in imported(path):
            target = target_unit(name)
            if target is not None and target not in allowed:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {name}: {unit} may import "
                              f"{', '.join(sorted(table.get(unit, ()))) or 'nothing of cxcheck'}")
    assert not broken, "imports against docs/architecture.md's layers:\n" + "\n".join(broken)


def plugin_of(path: Path) -> str | None:
    """The plugin a module of checks/ belongs to: checks/nps.py and checks/page/verdicts.py are nps, page."""
    rel = path.relative_to(PACKAGE)
    if rel.parts[0] != "checks" or rel.name == "__init__.py" and len(rel.parts) == 2:
        return None
    return Path(rel.parts[1]).stem


def test_plugins_never_import_each_other():
    broken = []
    for path in modules():
        plugin = plugin_of(path)
        if plugin is None:
            continue
        for line, name in imported(path):
            parts = name.split(".")
            if parts[:2] == ["cxcheck", "checks"] and len(parts) > 2 and parts[2] != plugin:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not broken, "a plugin imports another (what they share belongs in bases/ or runtime/):\n" + \
        "\n".join(broken)


def test_checks_holds_plugins_only():
    """Every module or package directly under checks/ is a console script's plugin."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    plugins = {target.split(":")[0].split(".")[2] for name, target in scripts.items() if name.startswith("check_")}
    present = {Path(path.relative_to(PACKAGE / "checks").parts[0]).stem for path in (PACKAGE / "checks").rglob("*.py")}
    assert present - {"__init__"} == plugins


def test_no_module_is_over_the_limit():
    over = [f"{path.relative_to(ROOT)}: {lines} lines" for path in modules()
            if (lines := len(path.read_text().splitlines())) > MAX_LINES]
    assert not over, f"modules over {MAX_LINES} lines, each likely doing two jobs: {', '.join(over)}"


def test_the_rules_would_catch_a_plugin_importing_another(tmp_path, monkeypatch):
    """The checks above can fail: a module of check_cx_page taking login's names is named."""
    fake = tmp_path / "cxcheck"
    (fake / "checks" / "page").mkdir(parents=True)
    (fake / "checks" / "page" / "__init__.py").write_text("from cxcheck.checks.login import web_url\n")
    (fake / "sources").mkdir()
    (fake / "sources" / "x.py").write_text("def f():\n    from cxcheck.checks import nps\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match=r"checks/page/__init__.py:1 imports cxcheck.checks.login"):
        test_plugins_never_import_each_other()
    with pytest.raises(AssertionError, match=r"sources/x.py:2 imports cxcheck.checks.nps: sources may import"):
        test_every_import_is_one_the_layers_allow()
