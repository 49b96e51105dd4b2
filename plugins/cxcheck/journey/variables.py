"""${name}, ${env:NAME} and ${file:PATH} in scenario strings.

Values that come from the environment or a file are secrets: they are registered with the
masker as soon as they are read, so that no output can show them. A file is read up to
MAX_SECRET bytes and inside the deadline.

Substitution is bounded: no value may grow past MAX_VALUE characters, and a journey may not
produce more than BUDGET characters by substitution in all, so that variables that double at
each step (`b: ${a}${a}`, `c: ${b}${b}`, ...) are refused at once, not by the deadline or the
memory.
"""

from __future__ import annotations

import os
import re

from cxcheck.runtime import MAX_SECRET, ConfigError, masker, read_text

REFERENCE = re.compile(r"\$\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_VALUE = 1024 * 1024
BUDGET = 16 * 1024 * 1024
# Names whose values are credentials or card data: masked once extracted in a run, never written
# out by the scenario importer. One list for both, so that what the importer hides the run masks.
SECRET_NAME = re.compile(r"passw|pwd|secret|token|key|auth(?!or)|session|cookie|otp|(^|[^a-z])pin([^a-z]|$)"
                         r"|cvv|cvc|csc|card[-_]?(num|no)|cc[-_]?(num|no)|iban|security[-_]?code", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name or ""))


class Variables:
    def __init__(self, values: dict | None = None):
        self._values: dict[str, str] = {}
        self._produced = 0
        for name, value in (values or {}).items():
            self.set(name, value)

    def set(self, name: str, value, secret: bool = False):
        value = "" if value is None else str(value)
        if secret:
            masker.register(value)
        self._values[name] = value

    def __contains__(self, name):
        return name in self._values

    def get(self, name, default=None):
        return self._values.get(name, default)

    def items(self):
        return self._values.items()

    def substitute(self, text, where: str = ""):
        """Replace every ${...} in text; `$${` stays a literal `${`."""
        if not isinstance(text, str) or "${" not in text:
            return text

        size = len(text)

        def replace(match: re.Match) -> str:
            nonlocal size
            if match.start() > 0 and match.string[match.start() - 1] == "$":
                return match.group(0)
            value = self._resolve(match.group(1).strip(), where)
            size += len(value)
            if size > MAX_VALUE:
                prefix = f"{where}: " if where else ""
                raise ConfigError(f"{prefix}substituting variables makes a value longer than "
                                  f"{MAX_VALUE // 1024} KiB (variables that double?)")
            return value

        result = REFERENCE.sub(replace, text).replace("$${", "${")
        self._produced += len(result)
        if self._produced > BUDGET:
            prefix = f"{where}: " if where else ""
            raise ConfigError(f"{prefix}substituting variables produced more than {BUDGET // 1024 // 1024} MiB "
                              "in this journey (variables that double?)")
        return result

    def substitute_all(self, value, where: str = ""):
        """Substitute through nested JSON-like data (strings only; keys too)."""
        if isinstance(value, str):
            return self.substitute(value, where)
        if isinstance(value, dict):
            return {self.substitute(str(k), where): self.substitute_all(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute_all(v, where) for v in value]
        return value

    def _resolve(self, ref: str, where: str) -> str:
        prefix = f"{where}: " if where else ""
        kind, sep, arg = ref.partition(":")
        if sep and kind == "env":
            value = os.environ.get(arg)
            if value is None:
                raise ConfigError(f"{prefix}${{env:{arg}}}: environment variable {arg} is not set")
            return masker.register(value)
        if sep and kind == "file":
            try:
                return masker.register(read_text(arg, MAX_SECRET, "file").rstrip("\r\n"))
            except ConfigError as exc:
                raise ConfigError(f"{prefix}${{file:{arg}}}: {exc}") from None
        if not NAME.fullmatch(ref):
            raise ConfigError(f"{prefix}${{{ref}}} is not a variable reference "
                              "(${name}, ${env:NAME}, ${file:PATH})")
        if ref not in self._values:
            raise ConfigError(f"{prefix}variable ${{{ref}}} is not defined")
        return self._values[ref]


def references(value) -> set[str]:
    """The plain ${name} references in a value, for checking them before the run."""
    found: set[str] = set()
    if isinstance(value, str):
        for match in REFERENCE.finditer(value):
            if match.start() > 0 and value[match.start() - 1] == "$":
                continue
            ref = match.group(1).strip()
            if NAME.fullmatch(ref):
                found.add(ref)
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= references(str(key)) | references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def for_run(scenario, overrides: dict, secret_overrides: dict) -> Variables:
    """A run's variables: the administrator's (--var; --var-env/--var-file as secrets) over the
    scenario's own, which may use them."""
    variables = Variables()
    for name, value in overrides.items():
        variables.set(name, value)
    for name, value in secret_overrides.items():
        variables.set(name, value, secret=True)
    for name, value in scenario.variables.items():
        if name not in variables:
            variables.set(name, variables.substitute(value, f"{scenario.source}: variable {name!r}"))
    return variables
