"""templates/centreon: the CLAPI import file read as Centreon would import it, line by line.
Every object it references is defined before use, every action is one CLAPI knows with the
fields it wants, every command names an installed console script, every macro a command uses is
set by the templates that use it, secrets are password macros that never reach the command line.

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
from conftest import need_binary
from engines import (
    EXAMPLE_PATHS,
    STOCK_OBJECTS,
    TEMPLATES,
    Nagios,
    browser_missing,
    console_scripts,
    module_exists,
    wait_until,
    write_wrappers,
)

CLAPI = TEMPLATES / "centreon" / "cxcheck-clapi.txt"
README = TEMPLATES / "centreon" / "README.md"

# object -> action -> (minimum fields after OBJECT;ACTION, maximum)
ACTIONS = {
    "CMD": {"ADD": (3, 3), "setparam": (3, 3)},
    "STPL": {"ADD": (3, 3), "setparam": (3, 3), "setmacro": (3, 5), "addhosttemplate": (2, 2)},
    "HTPL": {"ADD": (6, 6), "setparam": (3, 3), "setmacro": (3, 5), "addtemplate": (2, 2)},
}
CMD_TYPES = {"check", "notif", "misc", "discovery"}
STPL_PARAMS = {"max_check_attempts", "normal_check_interval", "retry_check_interval", "active_checks_enabled",
               "passive_checks_enabled", "process_perf_data", "check_command", "comment", "template",
               "check_period", "notification_interval", "notification_options", "notes", "notes_url"}
HTPL_PARAMS = {"max_check_attempts", "normal_check_interval", "retry_check_interval", "active_checks_enabled",
               "passive_checks_enabled", "check_command", "comment", "notes", "notes_url"}


class Clapi:
    """The import file, applied to a model of Centreon's configuration in order."""

    def __init__(self, text: str):
        self.commands: dict[str, dict] = {}
        self.stpl: dict[str, dict] = {}
        self.htpl: dict[str, dict] = {}
        self.errors: list[str] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            self.apply(number, line)

    def error(self, number, text):
        self.errors.append(f"line {number}: {text}")

    def apply(self, number, line):
        fields = line.split(";")
        obj, action, args = fields[0], fields[1], fields[2:]
        if obj not in ACTIONS or action not in ACTIONS[obj]:
            return self.error(number, f"unknown object or action {obj};{action}")
        low, high = ACTIONS[obj][action]
        if not low <= len(args) <= high:
            return self.error(number, f"{obj};{action} wants {low}..{high} fields, has {len(args)}")
        if obj == "CMD" and action == "ADD":
            name, kind, command_line = args
            if name in self.commands:
                return self.error(number, f"command {name} defined twice")
            if kind not in CMD_TYPES:
                return self.error(number, f"command type {kind}")
            self.commands[name] = {"line": command_line, "params": {}}
        elif obj == "CMD":
            if args[0] not in self.commands:
                return self.error(number, f"command {args[0]} used before it is defined")
            self.commands[args[0]]["params"][args[1]] = args[2]
        elif obj == "STPL" and action == "ADD":
            name, alias, parent = args
            if name in self.stpl:
                return self.error(number, f"service template {name} defined twice")
            if parent and parent not in self.stpl:
                return self.error(number, f"service template {parent} used before it is defined")
            self.stpl[name] = {"alias": alias, "parent": parent or None, "params": {}, "macros": {},
                               "host_templates": []}
        elif obj == "HTPL" and action == "ADD":
            name, alias, address, templates, instance, hostgroups = args
            for parent in filter(None, templates.split("|")):
                if parent not in self.htpl:
                    return self.error(number, f"host template {parent} used before it is defined")
            self.htpl[name] = {"alias": alias, "params": {}, "macros": {}}
        else:
            table = self.stpl if obj == "STPL" else self.htpl
            target = args[0]
            if target not in table:
                return self.error(number, f"{obj} {target} used before it is defined")
            entry = table[target]
            if action == "setparam":
                param, value = args[1], args[2]
                if param not in (STPL_PARAMS if obj == "STPL" else HTPL_PARAMS):
                    return self.error(number, f"{obj} parameter {param} unknown here")
                if param == "check_command" and value not in self.commands:
                    return self.error(number, f"command {value} used before it is defined")
                if param == "template" and value not in self.stpl:
                    return self.error(number, f"service template {value} used before it is defined")
                entry["params"][param] = value
            elif action == "setmacro":
                name, value = args[1], args[2]
                if not re.fullmatch(r"[A-Z0-9_]+", name):
                    return self.error(number, f"macro name {name}: upper case, digits, _")
                # STPL: name;macro;value;description;is_password - HTPL: name;macro;value;is_password;description
                rest = args[3:] + [""] * (5 - len(args))
                description, password = (rest[0], rest[1]) if obj == "STPL" else (rest[1], rest[0])
                if password not in ("", "0", "1"):
                    return self.error(number, f"is_password {password!r} (fields out of order?)")
                entry["macros"][name] = {"value": value, "password": password == "1", "description": description}
            elif action == "addhosttemplate":
                if args[1] not in self.htpl:
                    return self.error(number, f"host template {args[1]} used before it is defined")
                entry["host_templates"].append(args[1])

    def stpl_chain(self, name: str) -> list[dict]:
        chain = []
        while name:
            chain.append(self.stpl[name])
            name = self.stpl[name]["parent"]
        return chain

    def stpl_macros(self, name: str) -> dict:
        macros = {}
        for entry in reversed(self.stpl_chain(name)):
            macros.update(entry["macros"])
        return macros

    def stpl_param(self, name: str, param: str):
        for entry in self.stpl_chain(name):
            if param in entry["params"]:
                return entry["params"][param]
        return None


@pytest.fixture(scope="module")
def clapi():
    model = Clapi(CLAPI.read_text())
    assert not model.errors, "\n".join(model.errors)
    return model


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
        line = clapi.commands[command]["line"].replace("$USER1$", "/plugins")
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


# CLAPI parameter -> engine directive (what Centreon's generator writes)
ENGINE_NAMES = {"check_command": "check_command", "max_check_attempts": "max_check_attempts",
                "normal_check_interval": "check_interval", "retry_check_interval": "retry_interval",
                "active_checks_enabled": "active_checks_enabled", "passive_checks_enabled": "passive_checks_enabled",
                "process_perf_data": "process_perf_data"}


def to_nagios_objects(clapi: Clapi, host: str, host_macros: dict, service_macros: dict, by_hand=()) -> str:
    """What Centreon generates for a host using cxcheck-shop: the commands, the service
    templates (macros as custom variables), the host and its services from the host template's
    linked service templates, and those of the templates in `by_hand` (services an administrator
    adds to the host)."""
    out = []
    for name, command in clapi.commands.items():
        out.append(f"define command {{\n    command_name {name}\n    command_line {command['line']}\n}}\n")
    for name, entry in clapi.stpl.items():
        lines = [f"    name {name}", "    register 0"]
        if entry["parent"]:
            lines.append(f"    use {entry['parent']}")
        lines += [f"    {ENGINE_NAMES[k]} {v}" for k, v in entry["params"].items() if k in ENGINE_NAMES]
        lines += [f"    _{m} {v['value']}".rstrip() for m, v in entry["macros"].items()]
        out.append("define service {\n" + "\n".join(lines) + "\n}\n")
    for name, entry in clapi.htpl.items():
        lines = [f"    name {name}", "    register 0"]
        lines += [f"    _{m} {v['value']}".rstrip() for m, v in entry["macros"].items()]
        lines += [f"    {ENGINE_NAMES[k]} {v}" for k, v in entry["params"].items() if k in ENGINE_NAMES]
        out.append("define host {\n" + "\n".join(lines) + "\n}\n")
    macros = "\n".join(f"    _{k} {v}" for k, v in host_macros.items())
    out.append(f"define host {{\n    use cxcheck-shop,generic-host\n    host_name {host}\n    address 127.0.0.1\n"
               f"    contact_groups admins\n{macros}\n}}\n")
    for name, entry in clapi.stpl.items():
        if "cxcheck-shop" in entry["host_templates"] or name in by_hand:
            extra = "\n".join(f"    _{k} {v}" for k, v in service_macros.get(name, {}).items())
            out.append(f"define service {{\n    use {name},generic-service\n    host_name {host}\n"
                       f"    service_description {entry['alias']}\n{extra}\n}}\n")
    return "\n".join(out)


EXPECTED = {"CX login": (0, "CX LOGIN OK"), "CX checkout": (0, "CX CHECKOUT OK"),
            "CX orders": (0, "CX TRANSACTION OK"), "CX page": (0, "CX PAGE OK"),
            "CX browser journey": (0, "CX CHECKOUT OK")}
# Templates of services added by hand, run too when their plugin and the browser are here:
# template -> (plugin module, macros the service sets).
BY_HAND = {"cxcheck-page": ("cxcheck.checks.page", {"CX_URL": "{shop}/catalogue/"}),
           "cxcheck-browser-journey": ("cxcheck.checks.checkout", {})}


def test_the_import_runs_in_an_engine_against_the_demo_shop(clapi, shop, tmp_path):
    """Environment macros on (as the README asks): the password macro reaches the plugins as
    NAGIOS__HOSTCX_PASSWORD, and every service the host template deploys is OK."""
    binary = need_binary("nagios4", "nagios4-core")
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    password = DEMO_ACCOUNTS["shopper@example.com"]
    scripts = console_scripts()
    services = {}
    for name, entry in clapi.stpl.items():
        if "cxcheck-shop" in entry["host_templates"]:
            command = clapi.commands[clapi.stpl_param(name, "check_command")]["line"]
            module = scripts[command.split()[0].split("/", 1)[1]].split(":")[0]
            if module_exists(module):
                services[name] = entry["alias"]
    by_hand = {} if browser_missing() else {name: macros for name, (module, macros) in BY_HAND.items()
                                            if module_exists(module)}
    services.update({name: clapi.stpl[name]["alias"] for name in by_hand})
    scenario_dir = EXAMPLE_PATHS["/usr/share/cxcheck/scenarios"]
    overrides = {name: {"CX_SCENARIO": clapi.stpl_macros(name)["CX_SCENARIO"]["value"].replace(
        "/usr/share/cxcheck/scenarios", scenario_dir)} for name in services if "CX_SCENARIO" in clapi.stpl_macros(name)}
    for name, macros in by_hand.items():
        overrides.setdefault(name, {}).update({k: v.format(shop=shop.url) for k, v in macros.items()})
    objects = to_nagios_objects(clapi, "centreon-shop", {"CX_BASE_URL": shop.url, "CX_USERNAME": "shopper@example.com",
                                                         "CX_PASSWORD": password}, overrides, by_hand)
    # only the services whose plugin exists
    for name, entry in clapi.stpl.items():
        if "cxcheck-shop" in entry["host_templates"] and name not in services:
            objects = re.sub(rf"define service {{\n    use {name},generic-service\n.*?\n}}\n", "", objects, flags=re.S)
    (tmp_path / "centreon.cfg").write_text(objects)
    plugins = write_wrappers(tmp_path / "plugins")
    nagios = Nagios(binary, tmp_path / "engine", STOCK_OBJECTS + [tmp_path / "centreon.cfg"], {"USER1": str(plugins)},
                    settings={"enable_environment_macros": 1})
    nagios.dir.mkdir()
    nagios.write_config()
    verify = nagios.verify()
    assert verify.returncode == 0 and "Total Errors:   0" in verify.stdout, verify.stdout
    keys = [("centreon-shop", alias) for alias in services.values()]
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
    assert len(keys) == len([e for e in clapi.stpl.values() if "cxcheck-shop" in e["host_templates"]]) + len(by_hand)
