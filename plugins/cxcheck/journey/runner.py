"""Runs a scenario as a customer's browser would: one session, cookies kept, forms submitted,
each step timed from request sent to body fully read, redirects included."""

from __future__ import annotations

from cxcheck.http import MAX_BODY, Response, TransportError, fetch, new_session
from cxcheck.journey.expect import failures
from cxcheck.journey.extract import ExtractError, extract
from cxcheck.journey.forms import FormError, parse_forms, select_form
from cxcheck.journey.results import (
    JourneyResult,
    StepResult,
    base_url,
    check_references,
    resolve_url,
    run_steps,
)
from cxcheck.journey.scenario import Scenario, Step
from cxcheck.journey.variables import Variables, for_run, looks_secret, references
from cxcheck.runtime import Deadline, HttpOptions, log


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

    def run(self) -> JourneyResult:
        variables = for_run(self.scenario, self.overrides, self.secret_overrides)
        base = base_url(self.scenario, variables, self.overrides)
        session = new_session(self.http)
        self._name_targets(session, variables, base)
        seen = {"previous": None, "page": None}

        def perform(step: Step, result: StepResult):
            response = self._send(session, step, variables, base, seen["previous"], seen["page"])
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
                    variables.set(name, value, secret=looks_secret(name))   # a credential: masked from then on
                result.ok = True
            seen["previous"] = response
            if "html" in response.headers.get("content-type", "html"):
                seen["page"] = response         # an XHR between a page and its form leaves the page in view

        try:
            steps = run_steps(self.scenario.steps, self.deadline, self.on_step, perform,
                              (TransportError, FormError, ExtractError))
        finally:
            session.close()
        return JourneyResult(name=self.scenario.name, steps=steps)

    def _name_targets(self, session, variables: Variables, base: str | None):
        """The hosts the scenario names (base_url, steps' URLs made of its own and the
        administrator's variables, not of extracted ones): --header values go to them only."""
        extracted = {name for step in self.scenario.steps for name in step.extract}
        for step in self.scenario.steps:
            if step.url and not references(step.url) & extracted:
                url = variables.substitute(step.url, f"{self.scenario.source}: step {step.name!r}")
                if url.startswith(("http://", "https://")) or base:
                    session.target(resolve_url(url, base, None, f"{self.scenario.source}: step {step.name!r}"))

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
            url = resolve_url(sub(step.url), base, previous.url if previous else None, where)
            if step.json is not None:
                kwargs["json"] = sub(step.json)
            elif step.form is not None:
                kwargs["data"] = sub(step.form)
            elif step.data is not None:
                kwargs["data"] = sub(step.data).encode("utf-8")
        log.debug(f"{step.name}: {method} %s", url)        # args: outside text, masked
        return fetch(session, method, url, self.deadline, timeout=step.timeout, max_body=self.max_body,
                     headers=headers or None, **kwargs)
