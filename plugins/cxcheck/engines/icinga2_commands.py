"""Icinga 2's CheckCommands for the plugins, written from the plugins' own parsers: every option is
an argument, read from the custom variable `cx_<option>` (variable()), so a source or an option
added to a plugin is in its CheckCommand once this file is written again:

    python3 -m cxcheck.engines.icinga2_commands > templates/icinga2/cxcheck-commands.conf

(tests/test_templates_icinga2.py checks the shipped file is what this writes). Values reach the
plugin as its argv, one word each, whatever they hold: Icinga 2 runs the command without a shell.
Each valued option is written `--option=VALUE` (`separator`), so a value starting with a dash stays
a value. Secrets never become arguments: cx_password and cx_token travel in the plugin's
environment (CXCHECK_PASSWORD, CXCHECK_TOKEN) and the plugin is told the variable's name.
"""

from __future__ import annotations

import argparse

from cxcheck.engines.options import Spec, specs
from cxcheck.plugin_table import PLUGINS, PluginEntry

# Variables named before the commands were written from the parsers: kept, so services that set
# them keep working.
SHIPPED_NAMES = {"--header": "cx_headers", "--method": "cx_methods", "--step-query": "cx_step_queries",
                 "--won-stage": "cx_won_stages", "--lost-stage": "cx_lost_stages"}
SHIPPED_NAMES_OF = {"check_cx_page": {"--window": "cx_window_size"}}       # cx_window is a time window elsewhere
SCENARIO_LISTS = {"var": "cx_vars", "var_file": "cx_var_files", "var_env": "cx_var_envs"}
SECRET_ENV = {"password": "CXCHECK_PASSWORD", "token": "CXCHECK_TOKEN"}
COMMAND_TIMEOUT = 60                    # Icinga's own default, seconds; longer when a plugin's -t needs it

HEADER = """\
/*
 * cxcheck: CheckCommand definitions for Icinga 2, one per plugin, written from the plugins' own
 * option parsers by `python3 -m cxcheck.engines.icinga2_commands` (do not edit by hand).
 *
 * Put this file where your zone's configuration is synced from (a global zone such as
 * /etc/icinga2/zones.d/global-templates/ when satellites or agents run the checks, or
 * /etc/icinga2/conf.d/ on a single node). The Debian package keeps a copy in
 * /usr/share/cxcheck/icinga2/. PluginDir is Icinga's constant (Debian: /usr/lib/nagios/plugins),
 * where the package puts check_cx_*.
 *
 * Every option --NAME is the custom variable cx_NAME (dashes as underscores): a text, an array for
 * a repeatable option, true for a switch, a number of times for cx_verbose. Unset variables add
 * nothing; each value reaches the plugin as one word, whatever it holds (write $ as $$: Icinga
 * resolves macros in strings). `cxcheck config PLUGIN ... --engine icinga2` writes the service.
 *
 * Secrets never go on the command line (ps shows it to every local user):
 *   vars.cx_password / vars.cx_token   the secret itself: Icinga passes it to the plugin in an
 *                                      environment variable (CXCHECK_PASSWORD, CXCHECK_TOKEN)
 *                                      and the plugin is told only that variable's name;
 *   vars.cx_password_file / cx_token_file
 *                                      or a file on the node that runs the check, readable by
 *                                      the icinga user (nagios on Debian) only.
 * A journey (cx_scenario) takes its account from cx_base_url, cx_username and cx_password (or
 * cx_password_file), then cx_vars, cx_var_files and cx_var_envs (arrays of NAME=VALUE).
 */

/* What every cxcheck command shares: the secrets' way into the plugin's environment. */
template CheckCommand "cx-common" {
	env = {
		"CXCHECK_PASSWORD" = "$cx_password$"
		"CXCHECK_TOKEN" = "$cx_token$"
	}
}
"""


def secret_stem(spec: Spec) -> str:
    """password, or token (a bearer token is a token)."""
    return "password" if spec.secret == "password" else "token"


def variable(entry: PluginEntry, spec: Spec) -> str:
    """The custom variable an option is read from."""
    if spec.secret:
        return f"cx_{secret_stem(spec)}" + ("_file" if spec.secret_role == "file" else "")
    if spec.dest in SCENARIO_LISTS:
        return SCENARIO_LISTS[spec.dest]
    return (SHIPPED_NAMES_OF.get(entry.name, {}).get(spec.long) or SHIPPED_NAMES.get(spec.long)
            or "cx_" + spec.long[2:].replace("-", "_"))


def text(value: str) -> str:
    """An Icinga 2 string literal that is not resolved (a description)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _help(parser: argparse.ArgumentParser, spec: Spec) -> str:
    return " ".join(parser._get_formatter()._expand_help(spec.action).split())


def _account(spec: Spec) -> str | None:
    """A journey's scenario variables: the account's (cx_base_url, cx_username, the password) when
    a scenario is given (the host's account must not reach a run without one), then the arrays.
    None for other options."""
    first = {"var": ['var base_url = macro("$cx_base_url$")',
                     'if (base_url != "") { items.add("base_url=" + base_url) }',
                     'var email = macro("$cx_username$")',
                     'if (email != "") { items.add("email=" + email) }'],
             "var_file": ['var path = macro("$cx_password_file$")',
                          'if (path != "") { items.add("password=" + path) }'],
             "var_env": ['if (string(macro("$cx_password$")) != "") { items.add("password=CXCHECK_PASSWORD") }']}
    if spec.dest not in first:
        return None
    account = "; ".join(first[spec.dest])
    body = ["var items = []", f'if (string(macro("$cx_scenario$")) != "") {{ {account} }}',
            f'var more = macro("${SCENARIO_LISTS[spec.dest]}$")', "if (typeof(more) == Array) { items += more }",
            "return items"]
    return "{{\n" + "".join(f"\t\t\t\t{line}\n" for line in body) + "\t\t\t}}"


def takes_account(dests) -> bool:
    """A journey plugin: its scenario's account from cx_base_url, cx_username and cx_password (a
    plugin with a password of its own, check_cx_login, takes cx_password as that)."""
    return "var" in dests and "password_env" not in dests


def argument(entry: PluginEntry, parser, spec: Spec, account: bool) -> str:
    """The argument of one option, as a line (or a block) of the `arguments` dictionary."""
    name = variable(entry, spec)
    fields = []
    if spec.secret and spec.secret_role == "env":
        fields += [f'set_if = {{{{ string(macro("${name}$")) != "" }}}}', f'value = "{SECRET_ENV[secret_stem(spec)]}"']
    elif spec.kind == "flag":
        fields.append(f'set_if = "${name}$"')
    elif spec.kind == "count":
        return (f'"(verbose)" = {{ value = {{{{ var level = macro("${name}$"); if (level == true) {{ level = 1 }} '
                f'else if (typeof(level) != Number) {{ level = 0 }}; var flags = []; '
                f'for (i in range(level)) {{ flags.add("{spec.long}") }}; return flags }}}}; skip_key = true; '
                f'description = {text(_help(parser, spec))} }}')
    else:
        value = _account(spec) if account else None
        fields.append(f"value = {value}" if value else f'value = "${name}$"')
        if spec.kind == "list":
            fields.append("repeat_key = true")
        fields.append('separator = "="')
    fields.append(f"description = {text(_help(parser, spec))}")
    if "\n" in fields[0]:
        return f'"{spec.long}" = {{\n\t\t\t' + "\n\t\t\t".join(fields) + "\n\t\t}"
    return f'"{spec.long}" = {{ ' + "; ".join(fields) + " }"


def command_timeout(parser) -> int:
    default = next(action.default for action in parser._actions if action.dest == "timeout")
    return max(COMMAND_TIMEOUT, int(default) + 10)


def check_command(entry: PluginEntry) -> str:
    parser = entry.build_parser()
    found = specs(parser)
    account = takes_account({spec.dest for spec in found})
    summary = (parser.description or entry.name).strip().splitlines()[0]
    if not summary.startswith(entry.name):
        summary = f"{entry.name}: {summary}"
    lines = [f"/* {summary.replace('*/', '* /')} */", f'object CheckCommand "{entry.icinga_command}" {{',
             '\timport "cx-common"', "", f'\tcommand = [ PluginDir + "/{entry.name}" ]', "", "\targuments = {"]
    lines += [f"\t\t{argument(entry, parser, spec, account)}" for spec in found]
    lines += ["\t}", "", f"\ttimeout = {command_timeout(parser)}s", "}"]
    return "\n".join(lines) + "\n"


def commands() -> str:
    """The whole file."""
    return HEADER + "".join("\n" + check_command(entry) for entry in PLUGINS)


if __name__ == "__main__":
    import sys

    sys.stdout.write(commands())
