"""Runs a scenario as a customer's browser would: one session, cookies kept, forms submitted,
each step timed from request sent to body fully read, redirects included."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from cxcheck.http import MAX_BODY, Response, TransportError, fetch, new_session
from cxcheck.journey.expect import failures
from cxcheck.journey.extract import ExtractError, extract
from cxcheck.journey.forms import FormError, parse_forms, select_form
from cxcheck.journey.scenario import Scenario, ScenarioError, Step
from cxcheck.journey.variables import Variables, references
from cxcheck.runtime import ConfigError, Deadline, DeadlineExceeded, HttpOptions, Record, log, masker

# Extracted values under such names are credentials: masked like passwords from then on.
SECRET_NAME = re.compile(r"token|secret|passw|session|auth|key|cookie", re.IGNORECASE)


class StepResult(Record):
    _fields = ("name", "ran", "ok", "elapsed", "status", "url", "reason", "timed_out", "hops", "extracted",
               "response", "warning", "critical")

    def __init__(self, name: str, ran: bool = False, ok: bool = False, elapsed: float | None = None,
                 status: int | None = None, url: str | None = None, reason: str | None = None,
                 timed_out: bool = False, hops: list | None = None, extracted: dict | None = None,
                 response: Response | None = None, warning: str | None = None, critical: str | None = None):
        self.name, self.ran, self.ok, self.elapsed, self.status, self.url = name, ran, ok, elapsed, status, url
        self.reason, self.timed_out, self.response = reason, timed_out, response
        self.hops = [] if hops is None else hops
        self.extracted = {} if extracted is None else extracted
        self.warning, self.critical = warning, critical


class JourneyResult(Record):
    _fields = ("name", "steps")

    def __init__(self, name: str, steps: list):
        self.name, self.steps = name, steps

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if s.ran and not s.ok), None)

    @property
    def ok(self) -> bool:
        return self.failed is None and all(s.ran for s in self.steps)

    @property
    def timed_out(self) -> bool:
        return any(s.timed_out for s in self.steps)

    @property
    def total(self) -> float:
        """Time the customer spent: the sum of the steps that ran."""
        return sum(s.elapsed or 0.0 for s in self.steps if s.ran)

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)


def check_references(scenario: Scenario, defined) -> None:
    """Every ${name} must be defined before its step runs: a variable, or extracted earlier."""
    known = set(defined) | set(scenario.variables)
    for name, value in scenario.variables.items():
        missing = references(value) - known
        if missing:
            raise ScenarioError(f"{scenario.source}: variable {name!r} uses undefined ${{{sorted(missing)[0]}}}")
    if scenario.base_url:
        missing = references(scenario.base_url) - known
        if missing:
            raise ScenarioError(f"{scenario.source}: base_url uses undefined ${{{sorted(missing)[0]}}}")
    for step in scenario.steps:
        fields = step.submit_form.fields if step.submit_form and not callable(step.submit_form.fields) else {}
        selectors = [step.submit_form.form, step.submit_form.button] if step.submit_form else []
        selectors = [s for s in selectors if isinstance(s, str)]
        used = references([step.url or "", step.json, step.form, step.data or "", step.headers, step.params,
                           step.expect, fields, selectors])
        missing = used - known
        if missing:
            raise ScenarioError(f"{scenario.source}: step {step.name!r}: variable ${{{sorted(missing)[0]}}} "
                                "is not defined (define it under variables, pass --var, or extract it "
                                "in an earlier step)")
        known |= set(step.extract)


class Journey:
    """One run of a scenario in a fresh session."""

    def __init__(self, scenario: Scenario, http: HttpOptions, deadline: Deadline, *,
                 overrides: dict | None = None, secret_overrides: dict | None = None,
                 max_body: int = MAX_BODY, on_step=None):
        self.scenario = scenario
        self.http = http
        self.deadline = deadline
        self.overrides = overrides or {}
        self.secret_overrides = secret_overrides or {}
        self.max_body = max_body
        self.on_step = on_step          # called with the step name before it runs (timeouts name it)
        check_references(scenario, set(self.overrides) | set(self.secret_overrides))

    def _variables(self) -> Variables:
        variables = Variables()
        for name, value in self.overrides.items():
            variables.set(name, value)
        for name, value in self.secret_overrides.items():
            variables.set(name, value, secret=True)
        for name, value in self.scenario.variables.items():
            if name not in variables:
                variables.set(name, variables.substitute(value, f"{self.scenario.source}: variable {name!r}"))
        return variables

    def run(self) -> JourneyResult:
        variables = self._variables()
        base = variables.substitute(self.scenario.base_url) if self.scenario.base_url else None
        session = new_session(self.http)
        self._name_targets(session, variables, base)
        results, previous, page, broken = [], None, None, False
        try:
            for step in self.scenario.steps:
                result = StepResult(name=step.name, warning=step.warning, critical=step.critical)
                results.append(result)
                if broken:
                    continue
                if self.on_step:
                    self.on_step(step.name)
                result.ran = True
                try:
                    response = self._send(session, step, variables, base, previous, page)
                    result.elapsed, result.status, result.url = response.elapsed, response.status, response.url
                    result.hops, result.response = response.hops, response
                    where = f"{self.scenario.source}: step {step.name!r}"
                    expect = variables.substitute_all(step.expect, where)
                    reasons = failures(expect, response, session.cookies)
                    if not reasons and step.verify is not None:
                        reasons = step.verify(response, session.cookies)
                    if reasons:
                        result.reason = "; ".join(reasons)
                    else:
                        result.extracted = extract(step.extract, response, session.cookies)
                        for name, value in result.extracted.items():
                            variables.set(name, value, secret=bool(SECRET_NAME.search(name)))
                        result.ok = True
                    previous = response
                    if "html" in response.headers.get("content-type", "html"):
                        page = response         # an XHR between a page and its form leaves the page in view
                except DeadlineExceeded:
                    result.timed_out = True
                    result.reason = f"timed out after {self.deadline.seconds:g} s"
                except (TransportError, FormError, ExtractError) as exc:
                    result.reason = str(exc)
                broken = not result.ok
        finally:
            session.close()
        return JourneyResult(name=self.scenario.name, steps=results)

    def _name_targets(self, session, variables: Variables, base: str | None):
        """The hosts the scenario names (base_url, steps' URLs made of its own and the
        administrator's variables, not of extracted ones): --header values go to them only."""
        extracted = {name for step in self.scenario.steps for name in step.extract}
        for step in self.scenario.steps:
            if step.url and not references(step.url) & extracted:
                url = variables.substitute(step.url, f"{self.scenario.source}: step {step.name!r}")
                if url.startswith(("http://", "https://")) or base:
                    session.target(self._url(url, base, None, ""))

    def _send(self, session, step: Step, variables: Variables, base: str | None,
              previous: Response | None, page: Response | None) -> Response:
        where = f"{self.scenario.source}: step {step.name!r}"
        sub = lambda value: variables.substitute_all(value, where)
        headers = sub(step.headers)
        kwargs = {"allow_redirects": step.follow_redirects, "params": sub(step.params) or None}
        if step.submit_form is not None:
            if page is None:
                raise FormError("no page to submit a form from (no earlier step fetched an HTML page)")
            spec, forms = step.submit_form, parse_forms(page.text)
            if callable(spec.form):
                form = spec.form(forms)
                values = sub(spec.fields(form) if callable(spec.fields) else spec.fields)
            else:
                values = sub(spec.fields)
                # ${var} in the selector: one scenario picks e.g. the form of --var sku=W-2.
                form = select_form(forms, sub(spec.form), values.keys())
            method, url, pairs = form.fill(page.url, values, sub(spec.button))
            headers.setdefault("Referer", page.url)
            if method == "GET":
                kwargs["params"] = pairs
            else:
                kwargs["data"] = pairs
        else:
            method = step.method
            url = self._url(sub(step.url), base, previous, where)
            if step.json is not None:
                kwargs["json"] = sub(step.json)
            elif step.form is not None:
                kwargs["data"] = sub(step.form)
            elif step.data is not None:
                kwargs["data"] = sub(step.data).encode("utf-8")
        log.debug(f"{step.name}: {method} %s", url)        # args: outside text, masked
        return fetch(session, method, url, self.deadline, timeout=step.timeout, max_body=self.max_body,
                     headers=headers or None, **kwargs)

    @staticmethod
    def _url(url: str, base: str | None, previous: Response | None, where: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        if base:
            return urljoin(base.rstrip("/") + "/", url)
        if previous is not None:
            return urljoin(previous.url, url)
        raise ConfigError(f"{where}: relative URL {masker.mask(repr(url))} needs base_url")


def trace_lines(result: JourneyResult, with_variables: bool = False) -> list[str]:
    """One line per step (and per request of it): what -v and `scenario check --run` show."""
    lines = []
    for step in result.steps:
        if not step.ran:
            lines.append(f"{step.name}: not run")
            continue
        took = f"{step.elapsed:.3f} s" if step.elapsed is not None else "-"
        verdict = "ok" if step.ok else f"FAILED: {step.reason}"
        path = " -> ".join(f"{h.method} {masker.mask(h.url)} {h.status}" for h in step.hops) or "no response"
        lines.append(f"{step.name}: {path}, {took}, {verdict}")
        if with_variables and step.extracted:
            pairs = ", ".join(f"{k}={masker.mask(v)}" for k, v in step.extracted.items())
            lines.append(f"  extracted: {pairs}")
    return lines
