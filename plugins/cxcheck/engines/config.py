"""`cxcheck config PLUGIN [OPTIONS]`: the command that works in a shell, as a service to paste
into Nagios, Icinga 2 or Centreon (CLAPI). The options are read by the plugin's own parser (so a
mistake is the plugin's own one-line error), and the service runs the plugin with the same
options: the same argv, whatever the values hold. Secrets stay references (a file, a variable's
name), never values.
"""

from __future__ import annotations

import argparse
import sys

from cxcheck.plugin_table import BY_NAME, PluginEntry
from cxcheck.runtime import ConfigError

ENGINES = ("nagios", "icinga2", "centreon")
EXAMPLES = """
examples:
  cxcheck config check_cx_login -u https://shop.example.com/accounts/login/ --username shopper@example.com \\
      --password-file /etc/cxcheck/secrets/shop.password -w 2 -c 5
  cxcheck config check_cx_checkout --scenario /etc/cxcheck/checkout.yaml --var-env password=CX_PASSWORD \\
      --engine icinga2 --host shop
  cxcheck config check_cx_nps --csv /var/lib/cx/nps.csv --score-column 'How likely are you to recommend us?' \\
      -w 30: -c 10: --engine centreon
  cxcheck config check_cx_apdex --log /var/log/nginx/access.log -T 0.5 -w 0.85: -c 0.7:
  cxcheck config check_cx_page -u https://shop.example.com/ --metric lcp -w 2.5 -c 4 --fail-on-resource-errors
"""


def add_config_parser(sub):
    command = sub.add_parser("config", help="print the service definition for Nagios, Icinga 2 or Centreon",
                             description=__doc__.strip().split("\n\n")[0], epilog=EXAMPLES,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    _own_arguments(command)
    command.add_argument("plugin", nargs="?", help=f"one of {', '.join(BY_NAME)} (or login, checkout, ...)")
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


class Given:
    """The options of a working command: parsed by the plugin's own parser (its checks, its
    messages), and kept as typed, option by option (`values`: dest -> text, list, True or a
    count), files made absolute. `argv()` gives them back as words the plugin parses the same."""

    def __init__(self, entry: PluginEntry, argv: list[str]):
        from cxcheck.engines.options import specs, typed_values

        self.entry = entry
        self.plugin = entry.name
        self.args = entry.build_parser().parse_args(argv)            # the plugin's own checks and messages
        self.specs = {spec.dest: spec for spec in specs(entry.build_parser())}
        self.values = {}
        for dest, value in typed_values(entry.build_parser(), argv).items():
            spec = self.specs[dest]
            self.values[dest] = [spec.absolute(item) for item in value] if spec.kind == "list" else \
                spec.absolute(value) if spec.kind == "value" else value

    def secrets(self) -> list:
        """The specs of the secret options given (`--NAME-env`, `--NAME-file`)."""
        return [self.specs[dest] for dest in self.values if self.specs[dest].secret]

    def argv(self, replace: dict | None = None) -> list[str]:
        """The words that give the options, in the parser's order; `replace` gives some another
        value (an engine's own way of passing a secret)."""
        values = {**self.values, **(replace or {})}
        return [word for dest, spec in self.specs.items() if values.get(dest) is not None
                for word in spec.words(values[dest])]


def _readable_scenario(path: str | None):
    if not path:
        return None
    from cxcheck.journey.scenario import load

    try:
        return load(path)
    except ConfigError:
        return None


def readable_scenario(given: Given):
    """The scenario as it reads here (its variables' defaults, whether it runs in a browser), or
    None when the options name none or it cannot be read here."""
    return _readable_scenario(getattr(given.args, "scenario", None))


class _OwnParser(argparse.ArgumentParser):
    def error(self, message):
        raise ConfigError(message)


def _own_options(args, tokens: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """--engine, --host and --service given among the plugin's options."""
    own = _OwnParser(add_help=False, allow_abbrev=False)
    _own_arguments(own, args)
    return own.parse_known_args(tokens)


def plugin_entry(text: str | None) -> PluginEntry:
    from cxcheck.plugin_table import find

    try:
        return find(text)
    except ConfigError as exc:
        raise ConfigError(f"config: {exc}") from None


def run(args) -> int:
    if args.plugin is None or "-h" in args.options or "--help" in args.options:
        print(args.config_help())
        return 0 if args.plugin else 3
    from cxcheck import runtime

    runtime.install_masking()
    try:
        own, argv = _own_options(args, args.options)
        given = Given(plugin_entry(args.plugin), argv)
        from importlib import import_module

        writer = import_module(f"cxcheck.engines.{own.engine}")
        text, notes = writer.service(given, host=own.host, service=own.service)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    sys.stdout.write(text)
    for note in notes:                      # what goes beside a file that cannot hold comments
        print(f"note: {note}", file=sys.stderr)
    return 0
