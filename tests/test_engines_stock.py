"""The private engines of the tests are Debian's stock configuration with only paths changed (and
the few settings tests/engines.py names with their reason: running as root, no traffic outside
127.0.0.1, results within a second). What decides how a command line is built
(illegal_macro_output_chars, illegal_object_name_chars, enable_environment_macros) is never one of
them: a test config that leaves those out hides every quoting bug."""

from __future__ import annotations

from pathlib import Path

from engines import (
    ICINGA2_FEATURES,
    ICINGA2_LEFT_OUT,
    NAGIOS_PACE,
    NAGIOS_SANDBOX,
    STOCK_ICINGA2,
    STOCK_NAGIOS_CFG,
    Icinga2,
    Nagios,
)

DECIDES_COMMAND_LINES = ("illegal_macro_output_chars", "illegal_object_name_chars", "enable_environment_macros")


def settings(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and not key.startswith("cfg_"):
            out[key] = value
    return out


def test_nagios_is_debians_nagios_cfg_with_paths_changed(tmp_path):
    stock = settings(STOCK_NAGIOS_CFG.read_text())
    assert stock["illegal_macro_output_chars"] == "`~$&|'\"<>"          # what the issue met on Debian 12
    core = Nagios("nagios4", tmp_path, [tmp_path / "objects.cfg"], {"USER1": "/plugins"})
    ours = settings(core.write_config().read_text())
    changed = {key for key in stock if ours.get(key) != stock[key]}
    paths = {key for key in changed if stock[key].startswith("/")}
    assert changed - paths == set(NAGIOS_SANDBOX) | set(NAGIOS_PACE) - {k for k in NAGIOS_PACE if stock.get(k) == str(
        NAGIOS_PACE[k])}
    assert all(ours[key].startswith(str(tmp_path)) for key in paths), paths
    assert not set(DECIDES_COMMAND_LINES) & (set(NAGIOS_SANDBOX) | set(NAGIOS_PACE))
    for key in DECIDES_COMMAND_LINES:
        assert ours[key] == stock[key], key
    objects = [line for line in core.main_cfg.read_text().splitlines() if line.startswith("cfg_")]
    assert f"cfg_file={tmp_path / 'objects.cfg'}" in objects and "cfg_dir=/etc/nagios-plugins/config" in objects


def test_nagios_with_a_test_setting_keeps_the_rest():
    """A test's own setting (Centreon's environment macros) is set, in full view of the test."""
    core = Nagios("nagios4", Path("/tmp/x"), [], {}, settings={"enable_environment_macros": 1})
    assert core.settings == {"enable_environment_macros": 1}


def test_icinga2_is_debians_etc_icinga2_with_paths_changed(tmp_path):
    engine = Icinga2("icinga2", tmp_path / "engine", [tmp_path / "mine.conf"], {"PluginDir": "/plugins"})
    engine.write_config()
    stock = {path.relative_to(STOCK_ICINGA2) for path in STOCK_ICINGA2.rglob("*")}
    ours = {path.relative_to(engine.dir) for path in engine.dir.rglob("*")}
    assert stock - ours == {Path(name) for name in ICINGA2_LEFT_OUT}
    for path in stock - {Path(name) for name in ICINGA2_LEFT_OUT}:
        if (STOCK_ICINGA2 / path).is_file() and path != Path("constants.conf"):
            assert (engine.dir / path).read_bytes() == (STOCK_ICINGA2 / path).read_bytes(), path
    differing = [(a, b) for a, b in zip((STOCK_ICINGA2 / "constants.conf").read_text().splitlines(),
                                        (engine.dir / "constants.conf").read_text().splitlines()) if a != b]
    assert differing and all("Plugin" in a and b.endswith('= "/plugins"') for a, b in differing), differing
    enabled = {path.name for path in (engine.dir / "features-enabled").iterdir()}
    stock_enabled = {path.name for path in (STOCK_ICINGA2 / "features-enabled").iterdir()}
    assert enabled - stock_enabled == {f"{name}.conf" for name in ICINGA2_FEATURES} | {"cxcheck-results.conf"}
    assert (engine.dir / "conf.d" / "zz-cxcheck-tests.conf").read_text() == f'include "{tmp_path / "mine.conf"}"\n'
