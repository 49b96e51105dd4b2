"""${name}, ${env:NAME} and ${file:PATH} in scenario strings.

Values that come from the environment or a file are secrets: they are registered with the
masker as soon as they are read, so that no output can show them.
"""

from __future__ import annotations

import os
import re

from cxcheck.runtime import ConfigError, masker

REFERENCE = re.compile(r"\$\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Variables:
    def __init__(self, values: dict | None = None):
        self._values: dict[str, str] = {}
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

        def replace(match: re.Match) -> str:
            if match.start() > 0 and match.string[match.start() - 1] == "$":
                return match.group(0)
            return self._resolve(match.group(1).strip(), where)

        return REFERENCE.sub(replace, text).replace("$${", "${")

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
                with open(arg, encoding="utf-8") as handle:
                    return masker.register(handle.read().rstrip("\r\n"))
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or "not UTF-8 text"
                raise ConfigError(f"{prefix}${{file:{arg}}}: cannot read {arg}: {reason}") from None
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
