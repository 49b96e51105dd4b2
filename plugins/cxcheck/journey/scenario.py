"""Scenario files: one journey per YAML file, validated before anything runs.

An error names the file, the step and the key, so that an administrator can fix it from the
status line alone.
"""

from __future__ import annotations

import re

from cxcheck.journey.step_rules import (
    BROWSER_ACTIONS,
    METHODS,
    check_regex,
    checked_step,
    expect_keys,
    step_limits,
    text_list,
)
from cxcheck.journey.step_rules import HTTP_STEP_KEYS as STEP_KEYS
from cxcheck.runtime import ConfigError, Record, perf_label, read_text

EXPECT_KEYS = {"status", "contains", "not_contains", "regex", "url_matches", "header", "json"}
EXTRACT_KINDS = {"json", "regex", "header", "cookie"}
SUBMIT_KEYS = {"form", "fields", "button"}
TOP_KEYS = {"name", "base_url", "variables", "steps", "timeout", "max_body", "browser"}
MAX_STEPS = 50
MAX_SCENARIO = 1024 * 1024          # bytes of a scenario file


class ScenarioError(ConfigError):
    """A scenario that cannot run as written."""


class SubmitForm(Record):
    _fields = ("form", "fields", "button")

    def __init__(self, form: object = None, fields: object = None, button: str | None = None):
        self.form = form                # '#id', name, index, None; or (programmatic) callable(forms) -> Form
        self.fields = {} if fields is None else fields   # or (programmatic) callable(form) -> dict
        self.button = button


class Step(Record):
    _fields = ("name", "method", "url", "submit_form", "json", "form", "data", "headers", "params", "expect",
               "extract", "warning", "critical", "timeout", "follow_redirects", "verify")

    def __init__(self, name: str, method: str | None = None, url: str | None = None,
                 submit_form: SubmitForm | None = None, json: object = None, form: dict | None = None,
                 data: str | None = None, headers: dict | None = None, params: dict | None = None,
                 expect: dict | None = None, extract: dict | None = None, warning: str | None = None,
                 critical: str | None = None, timeout: float | None = None, follow_redirects: bool = True,
                 verify: object = None):
        self.name = name
        self.method = method            # None with submit_form: the form's own method
        self.url = url
        self.submit_form = submit_form
        self.json = json
        self.form = form
        self.data = data
        self.headers = {} if headers is None else headers
        self.params = {} if params is None else params
        self.expect = {} if expect is None else expect
        self.extract = {} if extract is None else extract
        self.warning = warning
        self.critical = critical
        self.timeout = timeout
        self.follow_redirects = follow_redirects
        self.verify = verify            # programmatic only: callable(response, cookies) -> [reasons]

    def inputs(self) -> list:
        """What variables are substituted into (references are checked before a run)."""
        submit = self.submit_form
        fields = submit.fields if submit and not callable(submit.fields) else {}
        selectors = [s for s in ([submit.form, submit.button] if submit else []) if isinstance(s, str)]
        return [self.url or "", self.json, self.form, self.data or "", self.headers, self.params, self.expect,
                fields, selectors]


class Scenario(Record):
    _fields = ("name", "steps", "base_url", "variables", "source", "browser")

    def __init__(self, name: str, steps: list, base_url: str | None = None, variables: dict | None = None,
                 source: str = "<scenario>", browser: bool = False):
        self.name, self.steps, self.base_url = name, steps, base_url
        self.variables = {} if variables is None else variables
        self.source = source
        self.browser = browser          # runs in Chromium: its steps are browser_steps.BrowserStep


def _recording(path: str, kind: str) -> ScenarioError:
    """A browser recording given where a scenario goes: the command that turns it into one."""
    stem, dot, suffix = path.rpartition(".")
    target = (stem if dot and "/" not in suffix else path) + ".yaml"
    return ScenarioError(f"{path} is a browser recording ({kind}), not a scenario: import it first "
                         f"(cxcheck scenario import {path} -o {target}), then run --scenario {target}")


def load(path: str) -> Scenario:
    """Read and validate a scenario file."""
    if path.lower().endswith(".har"):
        raise _recording(path, "a HAR file")
    text = read_text(path, MAX_SCENARIO, "scenario", ScenarioError)
    import yaml  # only runs that read a scenario pay for it

    from cxcheck.journey.yaml_load import TooBig, parse

    try:
        data = parse(yaml, text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}:{where}: malformed YAML: {problem}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: malformed YAML: nested too deeply") from None
    except TooBig as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("log"), dict) and "entries" in data["log"]:
        raise _recording(path, "a HAR file")
    if isinstance(data, dict) and "title" in data and isinstance(data.get("steps"), list) \
            and all(isinstance(step, dict) and "type" in step for step in data["steps"]):
        raise _recording(path, "a Chrome DevTools Recorder export")
    return from_dict(data, source=path)


def from_dict(data, source: str = "<scenario>") -> Scenario:
    def fail(message: str):
        raise ScenarioError(f"{source}: {message}")

    if not isinstance(data, dict):
        fail("a scenario is a mapping with 'name' and 'steps'")
    unknown = sorted(str(k) for k in data if k not in TOP_KEYS)
    if unknown:
        fail(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
    name = data.get("name", "journey")
    if not isinstance(name, str) or not name:
        fail("'name' must be a non-empty string")
    base_url = data.get("base_url")
    if base_url is not None and (not isinstance(base_url, str) or not re.match(r"^(https?://|\$\{)", base_url)):
        fail("'base_url' must be an http:// or https:// URL")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(k, str) for k in variables):
        fail("'variables' must be a mapping of names to values")
    for key, value in variables.items():
        if not isinstance(value, (str, int, float, bool)):
            fail(f"variable {key!r} must be a string or a number")
    browser = data.get("browser", False)
    if not isinstance(browser, bool):
        fail("'browser' must be true or false")
    if browser:
        from cxcheck.journey.browser_steps import browser_step as parse_step
    else:
        parse_step = _step
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        fail("'steps' must be a non-empty list")
    if len(steps) > MAX_STEPS:
        fail(f"{len(steps)} steps, more than the {MAX_STEPS} a journey may have")
    parsed, labels = [], {}
    for index, raw in enumerate(steps, 1):
        step = parse_step(raw, index, fail)
        if step.name in labels.values():
            fail(f"step {index}: name {step.name!r} is used twice (perfdata labels must be unique)")
        label = perf_label(step.name)
        if label in labels:
            fail(f"step {index}: name {step.name!r} gives the same perfdata label ({label}) as step "
                 f"{labels[label]!r}: rename one")
        labels[label] = step.name
        if index == 1 and not browser and step.submit_form is not None:
            fail(f"step {step.name!r}: submit_form needs a previous step that fetched the page")
        if index == 1 and browser and step.action != "goto":
            fail(f"step {step.name!r}: a browser journey starts with a goto step (the browser opens on "
                 "an empty page)")
        parsed.append(step)
    return Scenario(name=name, steps=parsed, base_url=base_url,
                    variables={k: str(v) for k, v in variables.items()}, source=source, browser=browser)


def _step(raw, index: int, fail) -> Step:
    name, where = checked_step(raw, index, fail, "name, get/post/... or submit_form, expect", STEP_KEYS,
                               BROWSER_ACTIONS, "is a browser step: add 'browser: true' at the top of the scenario")
    verbs = [m for m in METHODS if m in raw]
    if len(verbs) + ("submit_form" in raw) != 1:
        fail(f"{where}: give exactly one of {', '.join(METHODS)} or submit_form")
    step = Step(name=name)
    if verbs:
        step.method = verbs[0].upper()
        step.url = raw[verbs[0]]
        if not isinstance(step.url, str) or not step.url:
            fail(f"{where}: key {verbs[0]!r}: a URL (absolute, or relative to base_url)")
    else:
        step.submit_form = _submit(raw["submit_form"], where, fail)
    bodies = [k for k in ("json", "form", "data") if k in raw]
    if len(bodies) > 1:
        fail(f"{where}: give at most one of json, form, data")
    if bodies and step.submit_form is not None:
        fail(f"{where}: key {bodies[0]!r}: a submit_form sends the form's own fields")
    step.json = raw.get("json")
    step.form = _mapping(raw, "form", where, fail) if "form" in raw else None
    if "data" in raw:
        if not isinstance(raw["data"], str):
            fail(f"{where}: key 'data': a string body")
        step.data = raw["data"]
    step.headers = _mapping(raw, "headers", where, fail)
    step.params = _mapping(raw, "params", where, fail)
    step.expect = _expect(raw.get("expect"), where, fail)
    step.extract = _extract(raw.get("extract"), where, fail)
    step_limits(raw, step, where, fail)
    if "follow_redirects" in raw:
        if not isinstance(raw["follow_redirects"], bool):
            fail(f"{where}: key 'follow_redirects': true or false")
        step.follow_redirects = raw["follow_redirects"]
    return step


def _mapping(raw: dict, key: str, where: str, fail) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        fail(f"{where}: key {key!r}: a mapping of names to values")
    for name, item in value.items():
        if not isinstance(item, (str, int, float, bool)) or isinstance(name, (list, dict)):
            fail(f"{where}: key {key!r}: value of {name!r} must be a string or a number")
    return {str(k): ("" if v is None else str(v)) for k, v in value.items()}


def _submit(raw, where: str, fail) -> SubmitForm:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        fail(f"{where}: key 'submit_form': a mapping (form, fields, button)")
    unknown = sorted(str(k) for k in raw if k not in SUBMIT_KEYS)
    if unknown:
        fail(f"{where}: submit_form: unknown key {unknown[0]!r} (known: form, fields, button)")
    form = raw.get("form")
    if form is not None and not isinstance(form, (str, int)) or isinstance(form, bool):
        fail(f"{where}: submit_form: key 'form': an id (#id), a name, or an index")
    button = raw.get("button")
    if button is not None and not isinstance(button, str):
        fail(f"{where}: submit_form: key 'button': the name of a submit button")
    fields = _mapping(raw, "fields", f"{where}: submit_form", fail)
    return SubmitForm(form=form, fields=fields, button=button)


def _expect(raw, where: str, fail) -> dict:
    expect = expect_keys(raw, sorted(EXPECT_KEYS), where, fail)
    status = expect.get("status")
    if status is not None:
        codes = status if isinstance(status, list) else [status]
        if not codes or not all(isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes):
            fail(f"{where}: expect: key 'status': an HTTP status or a list of them")
        expect["status"] = codes
    for key in ("contains", "not_contains"):
        if key in expect:
            expect[key] = text_list(expect[key], f"{where}: expect: key {key!r}", fail)
    for key in ("regex", "url_matches"):
        if key in expect:
            check_regex(expect[key], f"{where}: expect: key {key!r}", fail)
    if "header" in expect:
        if not isinstance(expect["header"], dict) or not expect["header"]:
            fail(f"{where}: expect: key 'header': a mapping of header names to regular expressions")
        expect["header"] = {str(k): str(v) for k, v in expect["header"].items()}
    if "json" in expect:
        if not isinstance(expect["json"], dict) or not expect["json"]:
            fail(f"{where}: expect: key 'json': a mapping of JMESPath expressions to values")
        _check_jmespath(expect["json"].keys(), f"{where}: expect: key 'json'", fail)
    return expect


def _extract(raw, where: str, fail) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        fail(f"{where}: key 'extract': a mapping of variable names to {{json|regex|header|cookie: ...}}")
    out = {}
    for var, rule in raw.items():
        if not isinstance(var, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            fail(f"{where}: extract: {var!r} is not a variable name")
        if not isinstance(rule, dict) or len(rule) != 1:
            fail(f"{where}: extract: {var}: one of json, regex, header, cookie")
        (kind, expr), = rule.items()
        if kind not in EXTRACT_KINDS or not isinstance(expr, str) or not expr:
            fail(f"{where}: extract: {var}: unknown kind {kind!r} (json, regex, header, cookie)")
        if kind == "regex":
            try:
                if re.compile(expr).groups < 1:
                    fail(f"{where}: extract: {var}: the regex needs a group ( ) to capture")
            except re.error as exc:
                fail(f"{where}: extract: {var}: invalid regular expression: {exc}")
        if kind == "json":
            _check_jmespath([expr], f"{where}: extract: {var}", fail)
        out[var] = (kind, expr)
    return out


def _check_jmespath(expressions, where: str, fail):
    import jmespath
    from jmespath.exceptions import JMESPathError

    for expr in expressions:
        try:
            jmespath.compile(str(expr))
        except JMESPathError as exc:
            fail(f"{where}: invalid JMESPath {expr!r}: {str(exc).splitlines()[0]}")
