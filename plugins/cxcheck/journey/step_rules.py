"""What every step of a scenario is checked by, an HTTP step or a browser step: its name, its
limits, its `expect` mapping, texts and regular expressions; and the keys of both kinds, so that
a key of the other kind is said to be one. Below both kinds of step (scenario.py, browser_steps.py):
each error names the file, the step and the key through the `fail` it is given."""

from __future__ import annotations

import re

from cxcheck.runtime import nagios_range

METHODS = ("get", "post", "put", "patch", "delete", "head")
HTTP_STEP_KEYS = set(METHODS) | {
    "name", "submit_form", "json", "form", "data", "headers", "params", "expect", "extract",
    "warning", "critical", "timeout", "follow_redirects",
}
BROWSER_ACTIONS = ("goto", "fill", "click", "press", "select", "check", "wait_for")
STEP_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}$"     # compiled on first use: a plain login never needs it


def step_name(raw, index: int, fail, kinds: str) -> str:
    """A step's name (its perfdata label's base): given, or step<N>."""
    if not isinstance(raw, dict):
        fail(f"step {index}: a step is a mapping ({kinds})")
    name = raw.get("name", f"step{index}")
    if not isinstance(name, str) or not re.match(STEP_NAME, name):
        fail(f"step {index}: key 'name': use letters, digits, _ . - (at most 41), got {name!r}")
    return name


def checked_step(raw, index: int, fail, kinds: str, known, other_kind, other_hint: str) -> tuple[str, str]:
    """A step's name and its place in messages ("step 'login'"), once its keys are all `known`: a
    key of the other kind of step (`other_kind`) is said so (`other_hint`), any other is unknown."""
    name = step_name(raw, index, fail, kinds)
    where = f"step {name!r}"
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        if unknown[0] in other_kind:
            fail(f"{where}: key {unknown[0]!r} {other_hint}")
        fail(f"{where}: unknown key {unknown[0]!r}")
    return name, where


def step_limits(raw: dict, step, where: str, fail):
    """warning, critical (Nagios ranges, seconds) and timeout (seconds), on any kind of step."""
    for key in ("warning", "critical"):
        if raw.get(key) is not None:
            try:
                setattr(step, key, nagios_range(str(raw[key])))
            except Exception:
                fail(f"{where}: key {key!r}: {raw[key]!r} is not a Nagios range")
    if raw.get("timeout") is not None:
        if not isinstance(raw["timeout"], (int, float)) or isinstance(raw["timeout"], bool) or raw["timeout"] <= 0:
            fail(f"{where}: key 'timeout': seconds, a positive number")
        step.timeout = float(raw["timeout"])


def expect_keys(raw, known, where: str, fail, hint: str = "") -> dict:
    """A step's `expect` mapping, its keys among `known` (a copy; {} when absent)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        fail(f"{where}: key 'expect': a mapping ({', '.join(known)})")
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        fail(f"{where}: expect: unknown key {unknown[0]!r}{hint} (known: {', '.join(known)})")
    return dict(raw)


def text_list(value, where: str, fail, what: str = "text") -> list[str]:
    """A text or a list of them (numbers as written), as a list."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (str, int, float)) for v in values):
        fail(f"{where}: a {what} or a list of {what}s")
    return [str(v) for v in values]


def check_regex(value, where: str, fail):
    """A regular expression; compiled now unless a ${variable} completes it at run time."""
    if not isinstance(value, str):
        fail(f"{where}: a regular expression")
    if "${" not in value:
        try:
            re.compile(value)
        except re.error as exc:
            fail(f"{where}: invalid regular expression: {exc}")
