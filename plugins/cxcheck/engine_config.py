"""`cxcheck config PLUGIN [OPTIONS]`: the command that works in a shell, as a service to paste
into Nagios, Icinga 2 or Centreon (CLAPI), built on the shipped templates' commands and service
templates. The options are read by the plugin's own parser (so a mistake is the plugin's own
one-line error); secrets become file or environment references, never values.
"""

from __future__ import annotations

import argparse
import os
import sys

from cxcheck.runtime import ConfigError

PLUGINS = {
    "check_cx_login": "cxcheck.checks.login",
    "check_cx_checkout": "cxcheck.checks.checkout",
    "check_cx_transaction": "cxcheck.checks.transaction",
    "check_cx_nps": "cxcheck.checks.nps",
    "check_cx_csat": "cxcheck.checks.csat",
    "check_cx_support": "cxcheck.checks.support",
    "check_cx_apdex": "cxcheck.checks.apdex",
    "check_cx_conversion": "cxcheck.checks.conversion",
    "check_cx_churn": "cxcheck.checks.churn",
    "check_cx_page": "cxcheck.checks.page",
    "check_cx_ratings": "cxcheck.checks.ratings",
}
ENGINES = ("nagios", "icinga2", "centreon")
EXAMPLES = """
examples:
  cxcheck config check_cx_login -u https://shop.example.com/accounts/login/ --username shopper@example.com \\
      --password-file /etc/cxcheck/secrets/shop.password -w 2 -c 5
  cxcheck config check_cx_checkout --scenario /etc/cxcheck/checkout.yaml --var-env password=CX_PASSWORD \\
      --engine icinga2 --host shop
  cxcheck config check_cx_nps --csv /var/lib/cx/nps.csv -w 30: -c 10: --engine centreon
  cxcheck config check_cx_apdex --log /var/log/nginx/access.log -T 0.5 -w 0.85: -c 0.7:
  cxcheck config check_cx_page -u https://shop.example.com/ --metric lcp -w 2.5 -c 4 --fail-on-resource-errors
"""
PATH_OPTIONS = ("scenario", "csv", "ca_file", "client_cert", "client_key", "jsonl", "log", "state_file", "events_csv",
                "events_jsonl", "screenshot_dir")


def add_config_parser(sub):
    command = sub.add_parser("config", help="print the service definition for Nagios, Icinga 2 or Centreon",
                             description=__doc__.strip().split("\n\n")[0], epilog=EXAMPLES,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    _own_arguments(command)
    command.add_argument("plugin", nargs="?", help=f"one of {', '.join(PLUGINS)} (or login, checkout, ...)")
    command.add_argument("options", nargs=argparse.REMAINDER,
                         help="the plugin's options, as they work in a shell (--engine, --host and --service "
                              "may come among them)")
    command.set_defaults(handler=run, config_help=command.format_help)


def _own_arguments(parser, defaults=None):
    defaults = defaults or argparse.Namespace(engine="nagios", host=None, service=None)
    parser.add_argument("--engine", choices=ENGINES, default=defaults.engine,
                        help="the monitoring engine (default nagios: Nagios 4, Naemon, Centreon Engine objects)")
    parser.add_argument("--host", default=defaults.host, help="the host the service belongs to (default: the "
                                                              "site's host name)")
    parser.add_argument("--service", default=defaults.service, help="the service's name (default: the "
                                                                    "template's, e.g. CX login)")


class Option:
    """One option the user gave: its long name and the text(s) as typed."""

    def __init__(self, dest: str, flag: str, value, kind: str):
        self.dest, self.flag, self.value, self.kind = dest, flag, value, kind

    def argv(self) -> list[str]:
        if self.kind == "flag":
            return [self.flag] * (self.value if isinstance(self.value, int) and not isinstance(self.value, bool)
                                  else 1)
        values = self.value if self.kind == "append" else [self.value]
        return [token for value in values for token in (self.flag, value)]


class Given:
    """The options of a working command, parsed by the plugin's own parser, taken one by one by an
    engine's writer; what no setting of the template takes stays for the extra-options setting."""

    def __init__(self, plugin: str, argv: list[str]):
        import importlib

        self.plugin = plugin
        parser = importlib.import_module(PLUGINS[plugin]).main.build_parser
        self.args = parser().parse_args(argv)          # the plugin's own checks and messages
        raw = parser()
        actions = [a for a in raw._actions if a.option_strings and a.dest != argparse.SUPPRESS]
        for action in actions:
            action.type = None                          # the text as typed: 30d stays 30d
        # The texts as typed: the checks on the values (such as the ranges' order) were made above,
        # on the values (-w 1d is a duration range there, no Nagios range).
        typed = argparse.ArgumentParser.parse_args(raw, argv)
        self.options: dict[str, Option] = {}
        for action in actions:
            value = getattr(typed, action.dest, None)
            if value is None or value == action.default or value == []:
                continue
            flag = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
            kind = "flag" if action.nargs == 0 else "append" if isinstance(value, list) else "store"
            if action.dest in PATH_OPTIONS and value != "-":
                value = os.path.abspath(value)          # the engine runs the plugin from another directory
            self.options[action.dest] = Option(action.dest, flag, value, kind)

    def take(self, dest: str):
        option = self.options.pop(dest, None)
        return None if option is None else option.value

    def take_var(self, dest: str, name: str) -> str | None:
        """The value of NAME in an append option of NAME=VALUE items (--var, --var-file, --var-env)."""
        option = self.options.get(dest)
        if option is None:
            return None
        for item in list(option.value):
            key, _, value = item.partition("=")
            if key == name:
                option.value.remove(item)
                if not option.value:
                    del self.options[dest]
                return value
        return None

    def rest(self) -> list[Option]:
        return list(self.options.values())

    def rest_argv(self) -> list[str]:
        return [token for option in self.rest() for token in option.argv()]


def readable_scenario(path: str | None):
    """The scenario as it reads here (its variables' defaults, whether it runs in a browser), or None
    when it cannot be read here."""
    if not path:
        return None
    from cxcheck.journey.scenario import load

    try:
        return load(path)
    except ConfigError:
        return None


def scenario_variables(path: str | None) -> dict:
    """The scenario's own variables (its defaults), or none when it cannot be read here."""
    scenario = readable_scenario(path)
    return scenario.variables if scenario else {}


def plugin_name(text: str | None) -> str:
    name = text if text in PLUGINS else f"check_cx_{text}"
    if name not in PLUGINS:
        raise ConfigError(f"config: {text!r} is not a plugin; one of {', '.join(PLUGINS)}")
    return name


class _OwnParser(argparse.ArgumentParser):
    def error(self, message):
        raise ConfigError(message)


def _own_options(args, tokens: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """--engine, --host and --service given among the plugin's options."""
    own = _OwnParser(add_help=False, allow_abbrev=False)
    _own_arguments(own, args)
    return own.parse_known_args(tokens)


def run(args) -> int:
    if args.plugin is None or "-h" in args.options or "--help" in args.options:
        print(args.config_help())
        return 0 if args.plugin else 3
    from cxcheck import runtime

    runtime.install_masking()
    try:
        own, argv = _own_options(args, args.options)
        given = Given(plugin_name(args.plugin), argv)
        from importlib import import_module

        writer = import_module(f"cxcheck.engines.{own.engine}")
        text = writer.service(given, host=own.host, service=own.service)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    sys.stdout.write(text)
    return 0
