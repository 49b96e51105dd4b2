"""Nagios 4 (also Naemon, Centreon Engine object files): a `define service` using the plugin's
cx-* service template (its intervals and retries) and the plugin's check_cx_<name>_args command,
which runs `$USER1$/check_cx_<name> $ARG1$`: the options as typed, in shell words (words.py says
why the argument and not custom variables). Secrets stay where the command named them: a file
readable by the nagios user, or a variable of the daemon's environment.
"""

from __future__ import annotations

from cxcheck.engines import common
from cxcheck.engines.words import nagios_argument

ENGINE = "nagios"
# Debian's nagios.cfg (and Nagios' sample): characters the core refuses in object names.
ILLEGAL_OBJECT_NAME_CHARS = "`~!$%^&*|'\"<>?,()="


def command(entry) -> str:
    """The shipped command that runs a plugin with $ARG1$ as its whole argv."""
    return f"{entry.name}_args"


def template(given) -> str:
    """The service template: the plugin's own (its intervals), its real users' or browser variant."""
    return f"cx-{common.template_stem(given)}-service"


def secret_notes(given) -> list[str]:
    notes = []
    for spec in given.secrets():
        where = given.values[spec.dest]
        what = common.secret_names(spec)
        if spec.secret_role == "file":
            notes.append(f"The {what}: the file {where}, readable by the nagios user only.")
        else:
            notes += [f"The {what}: the variable {where} of the Nagios daemon's environment: systemctl edit nagios4,",
                      f"[Service] EnvironmentFile=/etc/cxcheck/nagios.env (mode 0600, {where}=...)."]
    for name, variable in common.environment_variables(given):
        notes.append(f"The scenario's {name}: the variable {variable} of the Nagios daemon's environment: "
                     "systemctl edit nagios4, [Service] EnvironmentFile=...")
    return notes


def _directive(value: str) -> str:
    return value.replace(";", "\\;")                # `;` starts a comment in object files


def service(given, host: str | None = None, service: str | None = None) -> tuple[str, list[str]]:
    host, name = common.host_and_service(given, host, service, ILLEGAL_OBJECT_NAME_CHARS, ENGINE)
    argument = nagios_argument(given.argv(), ENGINE)
    use = template(given)
    comments = [f"{given.plugin} for Nagios 4 (also Naemon, Centreon Engine): paste into a cfg_dir file beside",
                "cxcheck-commands.cfg and cxcheck-templates.cfg (templates/nagios/), then check: nagios4 -v nagios.cfg",
                f"The host {host} must be defined (use cx-shop-host,generic-host for a shop seen from outside).",
                f"{command(given.entry)} runs {given.plugin} with the options after the `!`, as in a shell"
                " ($$ is a $, \\! a !, \\; a ;)."]
    comments += secret_notes(given) + common.environment_notes(given)
    lines = [f"# {line}" for line in comments]
    lines += ["define service {", f"    {'use':<28}{use},generic-service", f"    {'host_name':<28}{_directive(host)}",
              f"    {'service_description':<28}{_directive(name)}",
              f"    {'check_command':<28}{command(given.entry)}{'!' + argument if argument else ''}", "}"]
    return "\n".join(lines) + "\n", []
