"""Options every plugin shares, and the argument types they are built from."""

from __future__ import annotations

import argparse
import os
import re

import nagiosplugin

from cxcheck import __version__
from cxcheck.runtime.states import STATE_CODES
from cxcheck.runtime.targets import check_proxy, check_tls_files
from cxcheck.runtime.thresholds import CEILING, threshold_order
from cxcheck.runtime.values import ConfigError, Record


def nagios_range(text: str) -> str:
    try:
        nagiosplugin.Range(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Nagios range (e.g. 5, 10:, ~:2, @3:7)") from None
    return text


def _finite(text: str, low: float, low_allowed: bool, wanted: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value >= low if low_allowed else value > low) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be {wanted}")
    return value


def positive_float(text: str) -> float:
    return _finite(text, 0, False, "a positive number")


def non_negative_float(text: str) -> float:
    return _finite(text, 0, True, "zero or more")


def confidence(text: str) -> float:
    """--confidence: of an interval or a test, between 0 and 1 (0.95)."""
    value = positive_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a confidence between 0 and 1, such as 0.95")
    return value


MAX_TIMEOUT = 86400.0          # -t: a day; beyond, a typo (and past what timers and clocks take)


def timeout_seconds(text: str) -> float:
    """-t: a positive number of seconds, at most MAX_TIMEOUT."""
    value = positive_float(text)
    if value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"{text!r} must be at most {MAX_TIMEOUT:g} seconds (a day)")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a header of the form 'Name: value'")
    return name.strip(), value.strip()


def name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form NAME=VALUE")
    return name, value


class _SecretOnArgv(argparse.Action):
    """A secret given as a value on the command line: refused with the options that take it safely."""

    def __init__(self, option_strings, dest, instead: str = "", **kwargs):
        super().__init__(option_strings, dest, nargs="?", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        self.instead = instead

    def __call__(self, parser, namespace, values, option_string=None):
        raise argparse.ArgumentError(self, "passwords and other secrets are never taken on the command line "
                                           f"(ps shows them to every local user); {self.instead}")


def refuse_on_argv(group, option: str, instead: str):
    group.add_argument(option, action=_SecretOnArgv, instead=instead)


def add_http_arguments(http):
    """TLS, proxy and header options; on a plugin's parser and on `cxcheck scenario check`."""
    http.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    http.add_argument("--ca-file", metavar="PATH", help="CA bundle to verify the server against")
    http.add_argument("--client-cert", metavar="PATH", help="client certificate (PEM) for mutual TLS")
    http.add_argument("--client-key", metavar="PATH", help="private key of --client-cert")
    http.add_argument("--proxy", metavar="URL", help="HTTP(S) proxy for every request (default: none, "
                                                     "environment proxies are ignored)")
    http.add_argument("--user-agent", metavar="TEXT", default=f"cxcheck/{__version__}",
                      help="User-Agent header (default cxcheck/VERSION)")
    http.add_argument("--header", type=header, action="append", default=[], metavar="'NAME: VALUE'",
                      help="extra request header, repeatable")
    return http


def closest_option(parser: argparse.ArgumentParser, given: str) -> str | None:
    """The option a mistyped one most likely meant (--usrname: --username, -W: -w), or None."""
    import difflib

    name = given.split("=", 1)[0]
    known = [option for action in parser._actions if action.help != argparse.SUPPRESS
             for option in action.option_strings]
    same = [option for option in known if option.lower() == name.lower()]
    if same or not name.startswith("--"):
        return same[0] if same else None
    found = difflib.get_close_matches(name, [option for option in known if option.startswith("--")], n=1,
                                      cutoff=0.75)
    return found[0] if found else None


class SuggestingParser(argparse.ArgumentParser):
    """argparse that answers a mistyped option with the closest one it knows; each subcommand's
    parser suggests from its own options (argparse hands its leftovers up to the top parser)."""

    def parse_known_args(self, args=None, namespace=None):
        import sys

        self._given = list(sys.argv[1:] if args is None else args)
        namespace, extras = super().parse_known_args(args, namespace)
        hints = dict(getattr(namespace, "_closest_options", {}))
        for extra in extras:
            best = closest_option(self, extra) if extra.startswith("-") and extra not in hints else None
            if best:
                hints[extra] = best
        namespace._closest_options = hints
        return namespace, extras

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        hints = namespace.__dict__.pop("_closest_options", {})
        if extras:
            said = [f"{hints[extra]} for {extra.split('=', 1)[0]}" for extra in extras if extra in hints]
            hint = ""
            if len(said) == 1 and len([extra for extra in extras if extra.startswith("-")]) == 1:
                hint = f"; did you mean {said[0].split(' for ')[0]}?"
            elif said:
                hint = f"; did you mean {', '.join(said)}?"
            self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return namespace

    def explain(self, message: str) -> str:
        """An error, with the option a typo hid when one is missing (--scenaro for --scenario)."""
        if not message.startswith("the following arguments are required"):
            return message
        known = {option for action in self._actions for option in action.option_strings}
        said = [f"{best} for {token.split('=', 1)[0]}" for token in getattr(self, "_given", [])
                if token.startswith("--") and token.split("=", 1)[0] not in known
                for best in [closest_option(self, token)] if best]
        return message + (f"; did you mean {', '.join(said)}?" if said else "")

    def error(self, message):
        super().error(self.explain(message))


class Parser(SuggestingParser):
    """argparse with the options every plugin shares; errors become ConfigError (UNKNOWN)."""

    def __init__(self, prog: str, description: str, examples: str, timeout: float = 10.0,
                 metric_help: str = "the main metric", range_type=nagios_range, thresholds: str = CEILING):
        super().__init__(
            prog=prog, description=description, add_help=False,
            epilog="examples:\n" + examples.strip("\n"),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # Negative ranges (-c -10:, -w -5:5) are values, not options: NPS floors go below zero.
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)(:(-?(\d+\.?\d*|\.\d+))?)?$")
        common = self.add_argument_group("common options")
        common.add_argument("-h", "--help", action="help", help="show this help and exit")
        common.add_argument("-V", "--version", action="version", version=f"{prog} (cxcheck) {__version__}")
        common.add_argument("-w", "--warning", type=range_type, metavar="RANGE",
                            help=f"warning range for {metric_help} (Nagios range syntax)")
        common.add_argument("-c", "--critical", type=range_type, metavar="RANGE",
                            help=f"critical range for {metric_help} (Nagios range syntax)")
        common.add_argument("-t", "--timeout", type=timeout_seconds, default=timeout, metavar="SECONDS",
                            help=f"deadline for the whole run, in seconds, fractions allowed (default {timeout:g})")
        common.add_argument("--timeout-state", choices=list(STATE_CODES), default="critical",
                            help="state when the deadline passes (default critical)")
        common.add_argument("-v", "--verbose", action="count", default=0,
                            help="more detail: -v one line per request, -vv debug, -vvv tracebacks")
        self.range_pairs = [("-w", "-c", thresholds)]

    def add_range_pair(self, warning: str, critical: str, thresholds: str = CEILING, helps=None, group=None):
        """Another (warning, critical) pair of range options, for a metric of its own, declared in
        `group` (default the parser) with `helps` (warning's, critical's) and checked as -w/-c are."""
        for option, text in zip((warning, critical), helps or ()):
            (group or self).add_argument(option, type=nagios_range, metavar="RANGE", help=text)
        self.range_pairs.append((warning, critical, thresholds))

    def add_http_options(self):
        return add_http_arguments(self.add_argument_group("HTTP and TLS"))

    def add_secret(self, name: str, what: str, group=None):
        """--NAME-env VAR and --NAME-file PATH: secrets never have to sit on argv."""
        target = group or self
        target.add_argument(f"--{name}-env", metavar="VAR", help=f"environment variable holding the {what}")
        target.add_argument(f"--{name}-file", metavar="PATH", help=f"file holding the {what}")
        refuse_on_argv(target, f"--{name}", f"use --{name}-env VAR or --{name}-file PATH")

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        for warning, critical, thresholds in self.range_pairs:
            dests = [self._option_string_actions[option].dest for option in (warning, critical)]
            threshold_order(*(getattr(parsed, dest) for dest in dests), options=(warning, critical),
                            thresholds=thresholds)
        return parsed

    def error(self, message):
        raise ConfigError(self.explain(message))


class HttpOptions(Record):
    """Transport settings taken from the shared HTTP options."""

    _fields = ("verify", "cert", "proxy", "headers")

    def __init__(self, verify: bool | str = True, cert: tuple[str, str] | str | None = None,
                 proxy: str | None = None, headers: dict | None = None):
        self.verify, self.cert, self.proxy = verify, cert, proxy
        self.headers = {} if headers is None else headers

    @classmethod
    def from_args(cls, args) -> HttpOptions:
        for path in (args.ca_file, args.client_cert, args.client_key):
            if path and not os.access(path, os.R_OK):
                raise ConfigError(f"cannot read {path}")
        if args.client_key and not args.client_cert:
            raise ConfigError("--client-key needs --client-cert")
        check_tls_files(args.ca_file, args.client_cert, args.client_key)
        if args.proxy:
            check_proxy(args.proxy)
        headers = {"User-Agent": args.user_agent}
        headers.update(dict(args.header))
        cert = (args.client_cert, args.client_key) if args.client_key else args.client_cert
        verify = False if args.insecure else (args.ca_file or True)
        return cls(verify=verify, cert=cert, proxy=args.proxy, headers=headers)

