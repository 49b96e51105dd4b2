"""A plugin's options as the engine writers see them, read from the plugin's own parser: nothing
here lists options. Each `Spec` says what an option takes (a flag, a count, a value, repeatable
values), how it is written back as argv words, whether it names a file (its metavar is FILE, PATH
or DIR: made absolute, the engine runs the plugin from elsewhere) and whether it is one half of a
secret's pair (`--NAME-env VAR` / `--NAME-file PATH`: the engines pass secrets their own way).
"""

from __future__ import annotations

import argparse
import os

PATH_METAVARS = ("FILE", "PATH", "DIR")
COMMON_GROUP = "common options"        # runtime.Parser's own: -w, -c, -t, --timeout-state, -v


class Spec:
    """One option of a plugin's parser."""

    def __init__(self, action: argparse.Action, group: str, secrets: set[str]):
        self.action = action
        self.dest = action.dest
        self.flags = list(action.option_strings)
        self.long = next(flag for flag in self.flags if flag.startswith("--"))
        self.short = next((flag for flag in self.flags if not flag.startswith("--")), None)
        self.metavar = action.metavar
        self.help = action.help or ""
        self.common = group == COMMON_GROUP
        if isinstance(action, argparse._CountAction):
            self.kind = "count"
        elif action.nargs == 0:
            self.kind = "flag"
        elif isinstance(action, argparse._AppendAction):
            self.kind = "list"
        else:
            self.kind = "value"
        stem, _, role = self.dest.rpartition("_")
        self.secret = stem if stem in secrets and role in ("env", "file") and self.kind == "value" else None
        self.secret_role = role if self.secret else None        # "env" (a variable's name) or "file"

    @property
    def names_file(self) -> bool:
        return self.metavar in PATH_METAVARS or self.metavar == "NAME=PATH"

    def absolute(self, value: str) -> str:
        """A file as the engine must name it: absolute (`-`, standard input, stays)."""
        if not self.names_file or value == "-":
            return value
        if self.metavar == "NAME=PATH":
            name, _, path = value.partition("=")
            return f"{name}={os.path.abspath(path)}"
        return os.path.abspath(value)

    def words(self, value) -> list[str]:
        """The argv words that give `value`: `--flag VALUE`, or `--flag=VALUE` when the value starts
        with a dash (argparse would take it for an option); the short flag where there is one."""
        flag = self.short or self.long
        if self.kind == "flag":
            return [flag]
        if self.kind == "count":
            return [flag] * int(value)
        out = []
        for item in value if self.kind == "list" else [value]:
            out += [f"{self.long}={item}"] if item.startswith("-") else [flag, item]
        return out

    def __repr__(self):
        return f"Spec({self.long})"


def specs(parser: argparse.ArgumentParser) -> list[Spec]:
    """The options a user can give (not -h, -V, nor the refusals of a secret on argv), the
    plugin's own first, the common ones (-w, -c, -t, ...) last, each in the parser's order."""
    groups = {id(action): group.title for group in parser._action_groups for action in group._group_actions}
    actions = [action for action in parser._actions if action.option_strings and action.help != argparse.SUPPRESS
               and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))]
    dests = {action.dest for action in actions}
    secrets = {dest[:-4] for dest in dests if dest.endswith("_env") and f"{dest[:-4]}_file" in dests}
    found = [Spec(action, groups.get(id(action), ""), secrets) for action in actions]
    return sorted(found, key=lambda spec: spec.common)          # sorted() keeps the order within each


def typed_values(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, object]:
    """dest -> the value as typed (30d stays 30d: no type conversion), for the options given
    (a value equal to the default is no option given). The checks on the values are the plugin's
    own parse, made before this."""
    raw = argparse.ArgumentParser.parse_args(_untyped(parser), argv)
    out = {}
    for spec in specs(parser):
        value = getattr(raw, spec.dest, None)
        if value is None or value == spec.action.default or value == [] or value is False:
            continue
        out[spec.dest] = value
    return out


def _untyped(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for action in parser._actions:
        if action.option_strings:
            action.type = None
    return parser
