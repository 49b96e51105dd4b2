"""templates/centreon: the CLAPI import file read as Centreon would import it, line by line, by
the rules of Centreon Web's CLAPI classes (tests/clapi.py, each rule cited): every object it
references is defined before use, every action is one CLAPI knows with the fields it wants and
in its order, every setparam names a column, no comment line; every command names an installed
console script, every macro a command uses is set by the templates that use it, secrets are
password macros that never reach the command line.

Centreon Engine is a Nagios fork with the same object format, macros and environment macros, so
the file is then turned into the objects Centreon would generate and run by a private Nagios 4
against the demo shop: the commands and macros are proven by the plugins' answers."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import shlex
import time

import pytest
from clapi import RULES, Clapi
from conftest import need_binary
from engines import (
    EXAMPLE_PATHS,
    TEMPLATES,
    Nagios,
    browser_missing,
    console_scripts,
    module_exists,
    wait_until,
    write_wrappers,
)

pytestmark = pytest.mark.slow(seconds=11)   # its measured time: the longest files start first (conftest)
CLAPI = TEMPLATES / "centreon" / "cxcheck-clapi.txt"
README = TEMPLATES / "centreon" / "README.md"


@pytest.fixture(scope="module")
def clapi():
    model = Clapi(CLAPI.read_text())
    assert not model.errors, "\n".join(model.errors)
    return model


@pytest.mark.parametrize("lines, rule", [
    # the two lines Centreon's CLAPI rejected in the file as it shipped before
    (["# a comment"], "comment"),
    (["HTPL;setparam;cxcheck-shop;normal_check_interval;5"], "setparam"),
    (["STPL;setmacro;cxcheck-nps;CX_WINDOW;30d;0;how far back"], "setmacro"),      # HTPL's order on an STPL
    (["HTPL;setmacro;cxcheck-shop;CX_USERNAME;x;the account;0"], "setmacro"),     # STPL's order on an HTPL
    (["STPL;setparam;cxcheck-nps;check_command;cxcheck-nowhere"], "defined"),
    (["SERVICE;ADD;nowhere;CX NPS;cxcheck-nps"], "defined"),
    (["STPL;ADD;cxcheck-x;x"], "fields"),
    (["STPL;frobnicate;cxcheck-nps;x;y"], "fields"),
    (["FROB;ADD;x;y;z"], "object"),
    (["CMD;ADD;cxcheck-x;check;$USER1$/check_cx_nps --csv 'a;b'"], "cmd-line"),
    (["STPL;setparam;cxcheck-nps;comment;a; b"], "split"),
    (["STPL;ADD;cxcheck, x;x;"], "name"),
])
def test_each_rule_catches_what_centreon_rejects(lines, rule):
    """The model fails each kind of line Centreon's classes fail, naming the rule and its source."""
    model = Clapi(CLAPI.read_text()).read("\n".join(lines), "extra: ")
    assert model.errors and all(f"[{rule}: " in error for error in model.errors), model.errors
    assert all(error.split("[", 1)[1].split(": ", 1)[1].rstrip("]") for error in model.errors)


def test_every_rule_cites_its_source():
    for name, (cite, text) in RULES.items():
        assert cite and text, name


def test_every_object_is_defined_before_use(clapi):
    assert clapi.commands and clapi.stpl and clapi.htpl
    for name, entry in clapi.stpl.items():
        if entry["params"].get("check_command") is None and not any(
                e["params"].get("check_command") for e in clapi.stpl_chain(name)):
            assert not entry["host_templates"], f"{name} deploys a service without a command"


def test_every_command_names_an_installed_console_script(clapi):
    scripts = console_scripts()
    try:
        installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")
                     if ep.dist is not None and ep.dist.name == "cxcheck"}
    except importlib.metadata.PackageNotFoundError:
        installed = {}
    for name, command in clapi.commands.items():
        program = command["line"].split()[0]
        assert program.startswith("$USER1$/"), name
        script = program.split("/", 1)[1]
        assert script in scripts, f"{name}: {script} is not a console script of pyproject.toml"
        if installed:   # `pip install .` done (CI): the installed distribution has it too
            assert installed.get(script) == scripts[script], f"{name}: {script} not installed"
    used = {c["line"].split()[0].split("/", 1)[1] for c in clapi.commands.values()}
    assert {s for s in scripts if s.startswith("check_cx_")} <= used


def test_every_plugin_has_a_command_taking_every_option(clapi):
    """cxcheck-<name>-args runs the plugin with the service's check_command_arguments as its argv:
    what `cxcheck config --engine centreon` uses; the other commands end with $ARG1$ too."""
    from cxcheck.engines.centreon import command
    from cxcheck.plugin_table import PLUGINS

    for entry in PLUGINS:
        assert clapi.commands[command(entry)]["line"] == f"$USER1$/{entry.name} $ARG1$"
    assert all(c["line"].endswith(" $ARG1$") for c in clapi.commands.values())


def test_every_macro_a_command_uses_is_set_where_the_command_is_used(clapi):
    host_macros = {m for entry in clapi.htpl.values() for m in entry["macros"]}
    for name in clapi.stpl:
        command = clapi.stpl_param(name, "check_command")
        if command is None:
            continue
        line = clapi.commands[command]["line"]
        macros = clapi.stpl_macros(name)
        for needed in re.findall(r"\$_SERVICE(\w+)\$", line):
            assert needed in macros, f"{name}: {command} uses $_SERVICE{needed}$, not set by the template"
        for needed in re.findall(r"\$_HOST(\w+)\$", line):
            assert needed in host_macros, f"{command} uses $_HOST{needed}$, no host template sets it"
        for env in re.findall(r"NAGIOS__(HOST|SERVICE)(\w+)", line):
            owner = host_macros if env[0] == "HOST" else macros
            assert env[1] in owner, f"{command}: environment macro NAGIOS__{env[0]}{env[1]} has no macro"


def test_secrets_are_password_macros_and_never_on_the_command_line(clapi):
    macros = {**{m: v for e in clapi.htpl.values() for m, v in e["macros"].items()},
              **{m: v for e in clapi.stpl.values() for m, v in e["macros"].items()}}
    secrets = {m for m in macros if re.search(r"PASSWORD|TOKEN|SECRET", m)}
    assert secrets, "no secret macro"
    for name in secrets:
        assert macros[name]["password"], f"{name} is not a password-type macro"
        assert macros[name]["value"] == "", f"{name} ships a value"
    for command in clapi.commands.values():
        for name in secrets:
            assert f"_HOST{name}$" not in command["line"] and f"_SERVICE{name}$" not in command["line"]
        assert ";" not in command["line"]


def test_template_defaults_are_accepted_by_the_plugins(clapi, tmp_path):
    scripts = console_scripts()
    host = {m: v["value"] for e in clapi.htpl.values() for m, v in e["macros"].items()}
    checked = 0
    for name in clapi.stpl:
        command = clapi.stpl_param(name, "check_command")
        if command is None:
            continue
        macros = {m: v["value"] for m, v in clapi.stpl_macros(name).items()}
        line = clapi.commands[command]["line"].replace("$USER1$", "/plugins").replace("$ARG1$", "")
        line = re.sub(r"\$_SERVICE(\w+)\$", lambda m, macros=macros: macros[m.group(1)], line)
        line = re.sub(r"\$_HOST(\w+)\$", lambda m: host[m.group(1)], line)
        argv = shlex.split(line)
        module = scripts[argv[0].rsplit("/", 1)[1]].split(":")[0]
        if not module_exists(module):
            continue
        importlib.import_module(module).main.build_parser().parse_args(argv[1:])
        checked += 1
    assert checked >= 3


def test_readme_says_how_to_import():
    text = README.read_text()
    assert "centreon -u" in text and "-i" in text and CLAPI.name in text
    assert "enable_environment_macros" in text or "environment macros" in text.lower()


# ---------------------------------------------------------------------------------------------
# The import file as engine objects, run against the demo shop


EXPECTED = {"CX login": (0, "CX LOGIN OK"), "CX checkout": (0, "CX CHECKOUT OK"),
            "CX orders": (0, "CX TRANSACTION OK"), "CX page": (0, "CX PAGE OK"),
            "CX browser journey": (0, "CX CHECKOUT OK")}
# Templates of services added by hand, run too when their plugin and the browser are here:
# template -> (plugin module, macros the service sets).
BY_HAND = {"cxcheck-page": ("cxcheck.checks.page", {"CX_URL": "{shop}/catalogue/"}),
           "cxcheck-browser-journey": ("cxcheck.checks.checkout", {})}


def test_the_import_runs_in_an_engine_against_the_demo_shop(clapi, shop, tmp_path):
    """A host added with cxcheck-shop and its macros (CLAPI lines, checked by the same rules), its
    services created from the host template and the ones added by hand, turned into the objects
    Centreon generates and run by Debian's stock Nagios 4 with environment macros on (as the
    README asks): the password macro reaches the plugins as NAGIOS__HOSTCX_PASSWORD, every
    service is OK."""
    binary = need_binary("nagios4", "nagios4-core")
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    password = DEMO_ACCOUNTS["shopper@example.com"]
    model = Clapi(CLAPI.read_text())
    model.read("\n".join(["HOST;ADD;centreon-shop;centreon-shop;127.0.0.1;cxcheck-shop;Central;",
                          f"HOST;setmacro;centreon-shop;CX_BASE_URL;{shop.url}",
                          "HOST;setmacro;centreon-shop;CX_USERNAME;shopper@example.com",
                          f"HOST;setmacro;centreon-shop;CX_PASSWORD;{password};1"]), "host: ")
    scripts = console_scripts()
    by_hand = {} if browser_missing() else {name: macros for name, (module, macros) in BY_HAND.items()
                                            if module_exists(module)}
    scenario_dir = EXAMPLE_PATHS["/usr/share/cxcheck/scenarios"]
    lines = []
    for name, entry in model.stpl.items():
        command = model.commands[model.stpl_param(name, "check_command") or ""]["line"] \
            if model.stpl_param(name, "check_command") else ""
        module = scripts.get(command.split()[0].split("/", 1)[-1], ":").split(":")[0] if command else ""
        if not ("cxcheck-shop" in entry["host_templates"] and module_exists(module) or name in by_hand):
            continue
        lines.append(f"SERVICE;ADD;centreon-shop;{entry['alias']};{name}")
        macros = dict(by_hand.get(name, {}))
        scenario = model.stpl_macros(name).get("CX_SCENARIO")
        if scenario:
            macros["CX_SCENARIO"] = scenario["value"].replace("/usr/share/cxcheck/scenarios", scenario_dir)
        lines += [f"SERVICE;setmacro;centreon-shop;{entry['alias']};{macro};{value.format(shop=shop.url)}"
                  for macro, value in macros.items()]
    model.read("\n".join(lines), "services: ")
    assert not model.errors, "\n".join(model.errors)
    (tmp_path / "centreon.cfg").write_text(model.nagios_objects(
        host_lines={"centreon-shop": ["contact_groups admins", "max_check_attempts 1"]}))
    plugins = write_wrappers(tmp_path / "plugins")
    nagios = Nagios(binary, tmp_path / "engine", [tmp_path / "centreon.cfg"], {"USER1": str(plugins)},
                    settings={"enable_environment_macros": 1})
    nagios.dir.mkdir()
    nagios.write_config()
    verify = nagios.verify()
    assert verify.returncode == 0 and "Total Errors:   0" in verify.stdout, verify.stdout
    keys = list(model.services)
    try:
        nagios.start()
        first = nagios.wait_for_results(keys, since=0, timeout=60)
        latest = max(int(first[k]["last_check"]) for k in keys)
        wait_until(lambda: int(time.time()) > latest, 2, "the clock to pass the first round")
        since = nagios.force_checks("centreon-shop")
        results = nagios.wait_for_results(keys, since=since, timeout=60)
    finally:
        nagios.stop()
    for key in keys:
        state, start = EXPECTED[key[1]]
        entry = results[key]
        assert int(entry["current_state"]) == state and entry["plugin_output"].startswith(start), \
            f"{key}: {entry['plugin_output']}"
        assert re.search(r"(^| )(time|success|load)=", entry["performance_data"]), entry
    # the password was in the engine's objects (Centreon keeps it there too) but not on a command line
    assert password not in (nagios.dir / "nagios.log").read_text()
    assert len(keys) == len([e for e in model.stpl.values() if "cxcheck-shop" in e["host_templates"]]) + len(by_hand)
