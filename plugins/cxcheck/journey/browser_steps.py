"""Browser steps of a scenario (`browser: true`): what each key means, validated before anything
runs, with one-line errors naming the file, the step and the key.

    goto: URL                      fill: {TARGET: VALUE, ...}     click: TARGET
    press: {TARGET: KEY}           select: {TARGET: OPTION}       check: TARGET
    wait_for: TARGET or {text: T}  (an action of its own, or after another action)
    expect: {text, not_text, selector, url_matches, title}

A TARGET is a CSS selector, `label=Email` (the control of the <label> with that text) or
`text=Log In` (the button, link or element whose visible text that is).
"""

from __future__ import annotations

from cxcheck.journey.step_rules import BROWSER_ACTIONS as ACTIONS
from cxcheck.journey.step_rules import HTTP_STEP_KEYS, check_regex, checked_step, expect_keys, step_limits, text_list
from cxcheck.runtime import Record

STEP_KEYS = set(ACTIONS) | {"name", "expect", "warning", "critical", "timeout"}
EXPECT_KEYS = ("text", "not_text", "selector", "url_matches", "title")
KEYS = {"enter": "Enter", "tab": "Tab", "escape": "Escape"}     # press: named keys, else one character
MAX_FIELDS = 50


class Target(Record):
    """How a step finds its element: by CSS selector, label text or visible text."""

    _fields = ("kind", "value")

    def __init__(self, kind: str, value: str):
        self.kind, self.value = kind, value     # kind: css, label, text (and login, for check_cx_login)

    @classmethod
    def parse(cls, text: str) -> Target:
        for kind in ("label", "text"):
            if text.startswith(kind + "="):
                return cls(kind, text[len(kind) + 1:].strip())
        return cls("css", text.strip())

    def __str__(self):
        return self.value if self.kind == "css" else f"{self.kind}={self.value}"


class BrowserStep(Record):
    _fields = ("name", "action", "argument", "wait_for", "expect", "warning", "critical", "timeout", "checks")

    def __init__(self, name: str, action: str, argument=None, wait_for=None, expect: dict | None = None,
                 warning: str | None = None, critical: str | None = None, timeout: float | None = None,
                 checks: list | None = None):
        self.name, self.action = name, action
        # goto: URL; fill: [[TARGET, VALUE], ...]; click/check: TARGET; press/select: [TARGET, KEY|OPTION];
        # wait_for: TARGET or {"text": T}. TARGETs stay text until run: variables may complete them.
        self.argument = argument
        self.wait_for = wait_for        # after the action: TARGET or {"text": T}
        self.expect = {} if expect is None else expect
        self.warning, self.critical, self.timeout = warning, critical, timeout
        # Programmatic only (check_cx_login): ("absent", Target, reason) or ("cookie", NAME, reason).
        self.checks = [] if checks is None else checks

    def inputs(self) -> list:
        """What variables are substituted into (references are checked before a run)."""
        return [self.argument, self.wait_for, self.expect]

    def describe(self, argument=None) -> str:
        """What the step does, for the -v trace ("click text=Log In"); values are not shown."""
        argument = self.argument if argument is None else argument
        if self.action == "goto":
            return f"goto {argument}"
        if self.action == "fill":
            return "fill " + ", ".join(str(target) for target, _ in argument)
        if self.action in ("press", "select"):
            return f"{self.action} {argument[1]} in {argument[0]}"
        if self.action == "wait_for" and isinstance(argument, dict):
            return f"wait_for text {argument['text']!r}"
        return f"{self.action} {argument}"


def browser_step(raw, index: int, fail) -> BrowserStep:
    name, where = checked_step(raw, index, fail, "name, goto/fill/click/press/select/check/wait_for, expect",
                               STEP_KEYS, HTTP_STEP_KEYS,
                               f"is for HTTP scenarios; a browser scenario uses {', '.join(ACTIONS)}")
    actions = [key for key in ACTIONS[:-1] if key in raw] or [key for key in ACTIONS[-1:] if key in raw]
    if len(actions) != 1:
        fail(f"{where}: give exactly one of {', '.join(ACTIONS[:-1])} (or wait_for alone)"
             + (f", not {' and '.join(actions)}" if actions else ""))
    action = actions[0]
    step = BrowserStep(name=name, action=action,
                       argument=_argument(action, raw[action], f"{where}: key {action!r}", fail))
    if action != "wait_for" and "wait_for" in raw:
        step.wait_for = _wait(raw["wait_for"], f"{where}: key 'wait_for'", fail)
    step.expect = _expect(raw.get("expect"), where, fail)
    step_limits(raw, step, where, fail)
    return step


def _argument(action: str, value, where: str, fail):
    if action == "goto":
        if not isinstance(value, str) or not value.strip():
            fail(f"{where}: a URL (absolute, or relative to base_url)")
        return value.strip()
    if action in ("click", "check"):
        return _target(value, where, fail)
    if action == "wait_for":
        return _wait(value, where, fail)
    if not isinstance(value, dict) or not value:
        shape = {"fill": "{TARGET: VALUE, ...}", "press": "{TARGET: KEY}", "select": "{TARGET: OPTION}"}[action]
        fail(f"{where}: a mapping {shape}")
    if action == "fill":
        if len(value) > MAX_FIELDS:
            fail(f"{where}: {len(value)} fields, more than {MAX_FIELDS}")
        pairs = []
        for target, text in value.items():
            if text is not None and (not isinstance(text, (str, int, float)) or isinstance(text, bool)):
                fail(f"{where}: the value of {str(target)!r} must be a text or a number")
            pairs.append([_target(target, where, fail), "" if text is None else str(text)])
        return pairs
    if len(value) != 1:
        fail(f"{where}: one {{TARGET: {'KEY' if action == 'press' else 'OPTION'}}} per step")
    (target, choice), = value.items()
    target = _target(target, where, fail)
    if action == "press":
        choice = str(choice) if isinstance(choice, int) and not isinstance(choice, bool) else choice
        key = KEYS.get(choice.lower(), choice) if isinstance(choice, str) else None
        if key is None or not (key in KEYS.values() or len(key) == 1):
            fail(f"{where}: {choice!r} is not a key: Enter, Tab, Escape or one character")
        return [target, key]
    if not isinstance(choice, (str, int, float)) or isinstance(choice, bool) or not str(choice):
        fail(f"{where}: the option of {target!r}: its visible text or its value")
    return [target, str(choice)]


def _target(value, where: str, fail) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(f"{where}: a target: a CSS selector, label=TEXT or text=TEXT")
    target = Target.parse(value)
    if not target.value:
        fail(f"{where}: {value!r} names no {target.kind}")
    return value.strip()


def _wait(value, where: str, fail):
    if isinstance(value, dict):
        if set(value) != {"text"}:
            fail(f"{where}: a target, or {{text: T}} for a text the page shows")
        return {"text": text_list(value["text"], f"{where}: text", fail)[0]}
    return _target(value, where, fail)


def _expect(raw, where: str, fail) -> dict:
    http = isinstance(raw, dict) and any(key in raw for key in ("contains", "not_contains"))
    expect = expect_keys(raw, EXPECT_KEYS, where, fail, " (in a browser scenario: text, not_text)" if http else "")
    for key in ("text", "not_text"):
        if key in expect:
            expect[key] = text_list(expect[key], f"{where}: expect: key {key!r}", fail)
    if "selector" in expect:
        selectors = text_list(expect["selector"], f"{where}: expect: key 'selector'", fail, "CSS selector")
        expect["selector"] = [s for s in selectors if s.strip()] or fail(
            f"{where}: expect: key 'selector': a CSS selector or a list of CSS selectors")
    for key in ("url_matches", "title"):
        if key in expect:
            check_regex(expect[key], f"{where}: expect: key {key!r}", fail)
    return expect
