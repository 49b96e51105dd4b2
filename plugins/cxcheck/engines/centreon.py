"""Centreon: CLAPI lines (centreon -i FILE) adding a service to a host from the plugin's cxcheck-*
service template (its intervals), run by the plugin's cxcheck-<name>-args command with the options
as typed in its $ARG1$ (words.py: why, and how a `;` gets through CLAPI). Import them after
templates/centreon/cxcheck-clapi.txt. Nothing else goes in the file: a comment line stops the
import of Centreon 23.04 and older (tests/test_templates_centreon.py cites the CLAPI rules), so
what to do beside it is said on standard error.

A password or token the command reads from an environment variable becomes Centreon's way: a
password macro set in the UI (CX_PASSWORD on the host, CX_TOKEN on the service), which the engine
exports as NAGIOS__HOSTCX_PASSWORD / NAGIOS__SERVICECX_TOKEN; a file stays a file.
"""

from __future__ import annotations

from cxcheck.engines import common
from cxcheck.engines.words import clapi_argument

ENGINE = "centreon"
# Centreon's default illegal_object_name_chars (Nagios' list); CLAPI fields cannot hold `;` either.
ILLEGAL_OBJECT_NAME_CHARS = "`~!$%^&*|'\"<>?,()=;"
HOST_PASSWORD = "NAGIOS__HOSTCX_PASSWORD"
SERVICE_TOKEN = "NAGIOS__SERVICECX_TOKEN"


def command(entry) -> str:
    return f"cxcheck-{entry.short}-args"


def template(given) -> str:
    """The service template: the plugin's own (its intervals), its real users' or browser variant."""
    return f"cxcheck-{common.template_stem(given)}"


def _secrets(given, host: str, name: str) -> tuple[dict, list[str]]:
    """The options that read a secret from the environment, pointed at the password macros; notes."""
    replace, notes = {}, []
    for spec in given.secrets():
        where = given.values[spec.dest]
        if spec.secret_role == "file":
            notes.append(f"The {common.secret_names(spec)}: the file {where} on the poller, readable by "
                         "centreon-engine only.")
        elif spec.secret == "password":
            replace[spec.dest] = HOST_PASSWORD
            notes.append(f"The password (your command read it from ${where}): set the host's CX_PASSWORD "
                         f"password macro to it in the UI (Configuration > Hosts > {host} > Macros).")
        else:
            replace[spec.dest] = SERVICE_TOKEN
            notes.append(f"The token (your command read it from ${where}): add a CX_TOKEN password macro to the "
                         f"service {name} in the UI and set it there.")
    items = []
    for item in given.values.get("var_env", []):
        variable, _, env = item.partition("=")
        if variable == "password":
            items.append(f"password={HOST_PASSWORD}")
            notes.append(f"The scenario's password (your command read it from ${env}): set the host's CX_PASSWORD "
                         "password macro to it in the UI.")
        else:
            items.append(f"{variable}={env}")
            notes.append(f"The scenario's {variable}: the variable {env} of centreon-engine's environment.")
    if items:
        replace["var_env"] = items
    if any(value in (HOST_PASSWORD, SERVICE_TOKEN) for value in replace.values()) or "var_env" in replace:
        notes.append("The engine exports password macros to the plugin's environment with environment macros on: "
                     "Configuration > Pollers > Engine configuration > Admin > Enable environment macros.")
    return replace, notes


def service(given, host: str | None = None, service: str | None = None) -> tuple[str, list[str]]:
    host, name = common.host_and_service(given, host, service, ILLEGAL_OBJECT_NAME_CHARS, ENGINE)
    replace, notes = _secrets(given, host, name)
    argument = clapi_argument(given.argv(replace), ENGINE)
    notes = [f"{given.plugin} for Centreon: import after cxcheck-clapi.txt (templates/centreon/) with",
             "  centreon -u admin -p '...' -i THIS_FILE      then export the configuration to the poller.",
             f"The host {host} must exist, e.g.: HOST;ADD;{host};{host};ADDRESS;cxcheck-shop;Central;",
             *notes, *common.environment_notes(given)]
    lines = [f"SERVICE;ADD;{host};{name};{template(given)}",
             f"SERVICE;setparam;{host};{name};check_command;{command(given.entry)}"]
    if argument:
        lines.append(f"SERVICE;setparam;{host};{name};check_command_arguments;!{argument}")
    return "\n".join(lines) + "\n", notes
