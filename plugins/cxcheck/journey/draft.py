"""A scenario being drafted from a recording (a HAR file, a DevTools Recorder export).

What both importers share: variables for the values a user typed, `${env:...}` placeholders for
anything secret (the value is kept only to scrub it from every other string, never written),
unique step names, URLs relative to the journey's origin, values a later request reuses found in
an earlier response and extracted there, and the notes that say what was left out and why.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus, urlsplit

from cxcheck.journey.variables import looks_secret

# Form fields a server puts in the page to check the post came from it: always the page's own.
CSRF_NAME = re.compile(r"csrf|xsrf|authenticity_token|requestverificationtoken|__viewstate|__eventvalidation"
                       r"|nonce|^_token$", re.IGNORECASE)
USER_FIELD = re.compile(r"user|e-?mail|login|account", re.IGNORECASE)
PASSWORD_FIELD = re.compile(r"passw|pwd", re.IGNORECASE)
STEP_NAME_LIMIT = 41


def identifier(text: str, default: str = "value") -> str:
    """A variable name from a field name: login-password -> login_password."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text or "").strip("_").lower() or default
    return f"v_{name}" if name[0].isdigit() else name


def _bounded(value: str) -> re.Pattern:
    # A value inside a longer word or number is another value: "123" is not in "12345".
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])")


def _forms(value: str) -> set[str]:
    """A value as it travels: itself, and URL-encoded in paths, queries and form bodies."""
    return {value, quote(value, safe=""), quote_plus(value)}


def contains_value(text: str, value: str) -> bool:
    return any(_bounded(form).search(text) for form in _forms(value))


class Secret:
    def __init__(self, variable: str, env: str, value: str, what: str):
        self.variable, self.env, self.value, self.what = variable, env, value, what


class Draft:
    """Steps in the scenario vocabulary (plain dicts, in the order YAML shows them) and what
    they need: variables, secrets, notes."""

    def __init__(self, origin: str, name: str):
        self.origin = origin                     # scheme://host[:port] the relative URLs resolve against
        self.name = name
        self.variables: dict[str, str] = {"base_url": origin}
        self.secrets: list[Secret] = []
        self.steps: list[dict] = []
        self.sources: list[dict] = []            # per step: what its response offers later steps
        self.notes: list[str] = []               # what was left out of the recording, and why
        self.untranslated: list[tuple] = []      # (number, step type, reason): recorded actions not replayed

    # -- names -------------------------------------------------------------------------------
    def step_name(self, wanted: str) -> str:
        # As its perfdata label will be (lower case, [a-z0-9_]): what the graph shows is what the file says.
        base = re.sub(r"[^a-z0-9_]+", "_", wanted.lower()).strip("_")[:STEP_NAME_LIMIT - 3] or "step"
        taken = {s["name"] for s in self.steps}
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        return name

    def _variable_name(self, wanted: str) -> str:
        base, number = identifier(wanted), 2
        name = base
        while name in self.variables or name in self.extracted_names():
            name, number = f"{base}_{number}", number + 1
        return name

    # -- values ------------------------------------------------------------------------------
    def _conventional(self, field: str, kind: str, secret: bool) -> str:
        """The names the shipped engine templates pass (--var email=..., the password by file or
        environment): the account's first password field is `password`, its user name `email`."""
        if secret and (kind == "password" or PASSWORD_FIELD.search(field)) and "password" not in self.variables:
            return "password"
        if not secret and (kind == "email" or kind in ("text", "") and USER_FIELD.search(field)) \
                and "email" not in self.variables:
            return "email"
        return field

    def typed(self, field: str, value: str, secret: bool = False, where: str = "", kind: str = "") -> str:
        """The reference for a value the user typed into `field` (an input of type `kind`): a
        variable, or for a secret a variable whose value is an environment placeholder. The same
        value typed twice is one variable."""
        if secret or looks_secret(field):
            for known in self.secrets:
                if known.value == value:
                    return f"${{{known.variable}}}"
            name = self._variable_name(self._conventional(field, kind, True))
            env = "CX_" + name.upper()
            self.variables[name] = f"${{env:{env}}}"
            self.secrets.append(Secret(name, env, value, f"the value typed into {field}" + (f" ({where})" if where
                                                                                              else "")))
            return f"${{{name}}}"
        for name, known in self.variables.items():
            if known == value and name != "base_url":
                return f"${{{name}}}"
        name = self._variable_name(self._conventional(field, kind, False))
        self.variables[name] = value
        return f"${{{name}}}"

    def url(self, url: str) -> str:
        """A step URL: relative to the origin when it is on it, absolute otherwise."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin:
            path = parts.path or "/"
            return path + (f"?{parts.query}" if parts.query else "")
        return url.split("#", 1)[0]

    # -- values a later request reuses -------------------------------------------------------
    def offer(self, json_body=None, headers: dict | None = None, cookies: dict | None = None):
        """Record what the step just added returned, for extract rules of later steps."""
        self.sources.append({"json": json_body, "headers": headers or {}, "cookies": cookies or {}})

    def reuse(self, value: str, hint: str) -> str | None:
        """`${name}` for a value an earlier response handed out (a token, an id), with the extract
        rule added to that step; None when no earlier response has it."""
        for index in range(len(self.sources) - 1, -1, -1):
            found = _find_source(self.sources[index], value)
            if found is None:
                continue
            kind, expr, key = found
            step = self.steps[index]
            for name, rule in step.get("extract", {}).items():
                if rule == {kind: expr}:
                    return f"${{{name}}}"
            wanted = key or hint
            if key.lower() == "id":      # an order's id is order_id, not id
                segment = [p for p in urlsplit(step.get("post") or step.get("get") or "").path.split("/") if p]
                wanted = (segment[-1].rstrip("s") + "_id") if segment else hint
            name = self._variable_name(wanted)
            step.setdefault("extract", {})[name] = {kind: expr}
            return f"${{{name}}}"
        return None

    def extracted_names(self) -> set[str]:
        return {name for step in self.steps for name in step.get("extract", {})}

    # -- scrubbing -----------------------------------------------------------------------------
    def scrub(self):
        """Every secret value, wherever else it appears (a URL, a header, an expectation), becomes
        its reference. Plain typed values in URLs and expectations become theirs."""
        replacements = [(s.value, f"${{{s.variable}}}") for s in self.secrets if s.value]
        plain = [(v, f"${{{k}}}") for k, v in self.variables.items()
                 if k != "base_url" and len(v) >= 4 and "${" not in v]
        for step in self.steps:
            for key in list(step):
                if key in ("name", "extract"):
                    continue
                pairs = replacements + (plain if key in ("get", "post", "put", "patch", "delete", "expect") else [])
                step[key] = _replace(step[key], sorted(pairs, key=lambda p: -len(p[0])))

    def leaked(self, text: str) -> list[Secret]:
        """Secrets whose value still appears in `text` (the last guard before anything is written)."""
        return [s for s in self.secrets if len(s.value) >= 4 and contains_value(text, s.value)]


def _replace(value, pairs):
    if isinstance(value, str):
        for old, new in pairs:
            if value == new:
                break
            for form in sorted(_forms(old), key=len, reverse=True):
                value = _bounded(form).sub(lambda _m, new=new: new, value)
        return value
    if isinstance(value, dict):
        return {k: _replace(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, pairs) for v in value]
    return value


def _find_source(source: dict, value: str):
    """(kind, expression, key) of where `value` sits in one step's response."""
    for name, cookie in source["cookies"].items():
        if cookie == value:
            return "cookie", name, name
    found = _json_path(source["json"], value)
    if found:
        return "json", found[0], found[1]
    for name, header in source["headers"].items():
        if header == value:
            return "header", name, name
    return None


def _json_path(data, value: str, path: str = "", depth: int = 0):
    """(JMESPath, last key) of the first scalar in data equal to value."""
    if depth > 20:
        return None
    if isinstance(data, dict):
        for key, item in data.items():
            step = key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)) else json.dumps(str(key))
            found = _json_path(item, value, f"{path}.{step}" if path else step, depth + 1)
            if found:
                return found[0], found[1] if found[1] else str(key)
    elif isinstance(data, list):
        for index, item in enumerate(data[:200]):
            found = _json_path(item, value, f"{path}[{index}]", depth + 1)
            if found:
                return found
    elif not isinstance(data, bool) and data is not None and str(data) == value and path:
        return path, ""
    return None
