"""Icinga 2: an `object Service` running the plugin's CheckCommand (cx_nps, ...: written from the
plugin's parser, icinga2_commands.py) with one custom variable per option given, so every option
of every plugin has its place. A secret given as a file stays a file (cx_password_file,
cx_token_file); one given as an environment variable becomes a constant of that name, defined
where only root and Icinga read it, which Icinga hands to the plugin in its environment, never on
the command line. The service template gives the intervals, nothing else.
"""

from __future__ import annotations

import re

from cxcheck.engines import common
from cxcheck.engines.icinga2_commands import COMMAND_TIMEOUT, command_timeout, takes_account, variable

ENGINE = "icinga2"
# As the shipped apply rule: Mixpanel allows 60 queries an hour per project, two a run.
INTERVALS = {"check_cx_conversion": "10m"}


def template(given) -> str:
    """The service template of the plugin's schedule (its intervals): a log's Apdex its own, real
    users' numbers the metric one, a run in Chromium the browser one."""
    if given.plugin == "check_cx_apdex" and "log" in given.values:
        return "cx-apdex-service"
    if common.browser_run(given):
        return "cx-browser-service"
    return "cx-metric-service" if common.real_users(given) else f"cx-{given.entry.schedule}-service"


def string(value) -> str:
    """An Icinga 2 string literal; `$` doubled, since a `$name$` in a string is a macro."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    for char, escape in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(char, escape)
    return f'"{text}"'


def literal(value) -> str:
    if value is True:
        return "true"
    if isinstance(value, int):
        return str(value)                              # a count (-vv)
    if isinstance(value, list):
        return "[ " + ", ".join(string(item) for item in value) + " ]"
    return string(value)


def _constant(name: str, what: str, comments: list) -> tuple[str, str]:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        common.refuse(f"{name!r} cannot name an Icinga constant; give the {what} by file", ENGINE)
    comments += [f"The {what}: the constant {name}, defined once where only root and Icinga read it,",
                 f'e.g. const {name} = "..." in /etc/icinga2/constants.conf; Icinga passes it to the',
                 "plugin in its environment, never on the command line."]
    return ("constant", name)


def variables(given, comments: list) -> list[tuple[str, object]]:
    """(custom variable, value) of each option given."""
    out = []
    for dest, value in given.values.items():
        spec = given.specs[dest]
        name = variable(given.entry, spec)
        if spec.secret and spec.secret_role == "env":
            out.append((name, _constant(value, common.secret_names(spec), comments)))
            continue
        if spec.secret:
            comments.append(f"The {common.secret_names(spec)}: the file {value} on the node that runs the check, "
                            "readable by the icinga user (nagios on Debian) only.")
        if dest == "var_env":
            # A journey's password goes in cx_password (its CheckCommand passes it through the
            # environment); any other variable stays as typed, read from Icinga's own environment.
            account = takes_account(given.specs) and "scenario" in given.values
            others = [item for item in value if not (account and item.partition("=")[0] == "password")]
            for item in value:
                if item not in others:
                    out.append(("cx_password", _constant(item.partition("=")[2], "scenario's password", comments)))
            if others:
                comments.append("The scenario's other variables from the environment (cx_var_envs): Icinga passes "
                                "its own environment to plugins.")
                out.append((name, others))
            continue
        out.append((name, value))
    return out


def service(given, host: str | None = None, service: str | None = None) -> tuple[str, list[str]]:
    host = host or common.default_host(given)
    comments = []
    found = variables(given, comments)
    comments += common.environment_notes(given)
    if given.plugin == "check_cx_apdex" and "log" in given.values:
        comments.append("It reads the log: run it on the web server's node (command_endpoint, an agent there).")
    lines = [f"/* {given.plugin} for Icinga 2: put it beside cxcheck-commands.conf and cxcheck-services.conf",
             " * (templates/icinga2/) in the zone's configuration, then check: icinga2 daemon -C",
             f" * The host {host} must exist (import \"cx-shop-host\" for a shop seen from outside)."]
    lines += [f" * {line.replace('*/', '* /')}" for line in comments]
    lines += [" */", f"object Service {string(service or given.entry.icinga_service)} {{",
              f"\timport {string(template(given))}", "", f"\thost_name = {string(host)}",
              f"\tcheck_command = {string(given.entry.icinga_command)}"]
    if given.plugin in INTERVALS:
        lines += [f"\tcheck_interval = {INTERVALS[given.plugin]}", f"\tretry_interval = {INTERVALS[given.plugin]}"]
    timeout = float(given.values.get("timeout", 0) or 0)
    if timeout + 10 > max(COMMAND_TIMEOUT, command_timeout(given.entry.build_parser())):
        lines.append(f"\tcheck_timeout = {int(timeout) + 10}s")          # Icinga kills the check at its timeout
    for name, value in found:
        constant = isinstance(value, tuple) and value[0] == "constant"
        lines.append(f"\tvars.{name} = {value[1] if constant else literal(value)}")
    return "\n".join(lines + ["}"]) + "\n", []
