"""What a journey's run gives, whatever runs it (HTTP or a browser): one StepResult per step,
a JourneyResult over them; the references check made before a run; the -v trace lines.

No transport here: a check imports this without the HTTP stack or the browser.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from cxcheck.journey.variables import references
from cxcheck.runtime import ConfigError, DeadlineExceeded, Record, masker


class StepResult(Record):
    _fields = ("name", "ran", "ok", "elapsed", "status", "url", "reason", "timed_out", "hops", "extracted",
               "response", "warning", "critical", "action", "screenshot", "dialog_count", "dialogs")

    def __init__(self, name: str, ran: bool = False, ok: bool = False, elapsed: float | None = None,
                 status: int | None = None, url: str | None = None, reason: str | None = None,
                 timed_out: bool = False, hops: list | None = None, extracted: dict | None = None,
                 response=None, warning: str | None = None, critical: str | None = None,
                 action: str | None = None, screenshot: str | None = None, dialog_count: int = 0,
                 dialogs: list | None = None):
        self.name, self.ran, self.ok, self.elapsed, self.status, self.url = name, ran, ok, elapsed, status, url
        self.reason, self.timed_out, self.response = reason, timed_out, response
        self.hops = [] if hops is None else hops
        self.extracted = {} if extracted is None else extracted
        self.warning, self.critical = warning, critical
        self.action = action            # a browser step: what it did ("click text=Log In")
        self.screenshot = screenshot    # the PNG saved when the step failed (--screenshot-dir)
        self.dialog_count = dialog_count    # a browser step: dialogs the page opened (dismissed)
        self.dialogs = [] if dialogs is None else dialogs      # the first of them, as said


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


def check_references(scenario, defined) -> None:
    """Every ${name} must be defined before its step runs: a variable, or extracted earlier."""
    from cxcheck.journey.scenario import ScenarioError

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
        missing = references(step.inputs()) - known
        if missing:
            raise ScenarioError(f"{scenario.source}: step {step.name!r}: variable ${{{sorted(missing)[0]}}} "
                                "is not defined (define it under variables, pass --var, or extract it "
                                "in an earlier step)")
        known |= set(getattr(step, "extract", None) or {})


def trace_lines(result: JourneyResult, with_variables: bool = False):
    """One line per step (and per request of it): what -v and `scenario check --run` show.
    Made as they are read: a run without -v never words them."""
    for step in result.steps:
        if not step.ran:
            yield f"{step.name}: not run"
            continue
        took = f"{step.elapsed:.3f} s" if step.elapsed is not None else "-"
        verdict = "ok" if step.ok else f"FAILED: {step.reason}"
        if step.action is not None:
            where = f" -> {masker.mask(step.url)}" if step.url else ""
            status = f" {step.status}" if step.status is not None else ""
            path = f"{masker.mask(step.action)}{where}{status}"
        else:
            path = " -> ".join(f"{h.method} {masker.mask(h.url)} {h.status}" for h in step.hops) or "no response"
        yield f"{step.name}: {path}, {took}, {verdict}"
        if with_variables and step.extracted:
            pairs = ", ".join(f"{k}={masker.mask(v)}" for k, v in step.extracted.items())
            yield f"  extracted: {pairs}"


def run_steps(steps, deadline, on_step, perform, failures: tuple = ()) -> list[StepResult]:
    """Each step in turn: `perform(step, result)` fills the result (result.ok when it passed);
    an exception of `failures` fails the step with its text, the deadline times it out; the
    steps after a failed one do not run (perfdata U)."""
    results, broken = [], False
    for step in steps:
        result = StepResult(name=step.name, warning=step.warning, critical=step.critical)
        results.append(result)
        if broken:
            continue
        if on_step:
            on_step(step.name)
        result.ran = True
        try:
            perform(step, result)
        except DeadlineExceeded:
            result.timed_out = True
            result.reason = f"timed out after {deadline.seconds:g} s"
        except failures as exc:
            result.reason = str(exc)
        broken = not result.ok
    return results


def base_url(scenario, variables, overrides) -> str | None:
    """The scenario's base_url with its variables in; a value that is not a full web URL is the
    configuration's mistake (UNKNOWN, with the fix), never a step's failure. The error names where
    the value came from: --var NAME, the scenario's variable, or its base_url."""
    from cxcheck.runtime.targets import web_url

    if not scenario.base_url:
        return None
    base = variables.substitute(scenario.base_url, f"{scenario.source}: base_url")
    names = sorted(references(scenario.base_url))
    if len(names) == 1 and scenario.base_url.strip() == f"${{{names[0]}}}":
        where = f"--var {names[0]}" if names[0] in overrides else f"{scenario.source}: variable {names[0]!r}"
    else:
        where = f"{scenario.source}: base_url"
    return web_url(where, base, path="")


def resolve_url(url: str, base: str | None, previous: str | None, where: str) -> str:
    """A step's URL: absolute as given, else relative to base_url, else to the page before. One
    that cannot be a web page's (ftp://, or a host:port without a scheme, which would be joined to
    base_url as a path) is the scenario's mistake: UNKNOWN before the step is sent."""
    if url.startswith(("http://", "https://")):
        return url
    scheme, sep, _ = url.partition("://")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ConfigError(f"{where}: URL {masker.mask(repr(url))}: unsupported scheme {scheme}:// (http:// or "
                          "https://)")
    if re.match(r"[\w.-]+:\d+(/|$)", url):
        raise ConfigError(f"{where}: URL {masker.mask(repr(url))} needs a full URL such as "
                          f"{masker.mask('http://' + url)}")
    if base:
        return urljoin(base.rstrip("/") + "/", url)
    if previous:
        return urljoin(previous, url)
    raise ConfigError(f"{where}: relative URL {masker.mask(repr(url))} needs base_url")
