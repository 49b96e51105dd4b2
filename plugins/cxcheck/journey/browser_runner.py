"""Runs a browser scenario in headless Chromium: one fresh browser per run, the steps in turn.

A step's time runs from its action until the page is settled: a navigation's load event, or the
action done and its wait_for met. Elements are looked for until the step's time is up (its own
timeout, else the run's deadline less a reserve for the result); one that never comes fails the
step, naming the target. A page load the deadline cuts is a timeout naming what it waited for.
On a failed step, with a screenshot directory, the page as the browser showed it is saved.
"""

from __future__ import annotations

import re
import time

from cxcheck.browser import interact, screenshots
from cxcheck.browser.session import Browser, load_reserve
from cxcheck.journey.browser_steps import Target
from cxcheck.journey.results import JourneyResult, base_url, check_references, resolve_url, run_steps
from cxcheck.journey.variables import for_run
from cxcheck.runtime import ConfigError, Deadline, DeadlineExceeded, Record, SourceError, log, masker

GRACE = 0.25        # seconds the browser has past a step's own timeout to answer the last look


class Evidence(Record):
    """Where failed steps' screenshots go."""

    _fields = ("directory", "keep")

    def __init__(self, directory: str, keep: int = 20):
        self.directory, self.keep = screenshots.check_directory(directory), keep


class BrowserJourney:
    """One run of a browser scenario; the interface of runner.Journey."""

    def __init__(self, scenario, deadline: Deadline, *, overrides: dict | None = None,
                 secret_overrides: dict | None = None, on_step=None, evidence: Evidence | None = None,
                 browser_options: dict | None = None):
        self.scenario = scenario
        self.deadline = deadline
        self.overrides = overrides or {}
        self.secret_overrides = secret_overrides or {}
        self.on_step = on_step
        self.evidence = evidence
        self.browser_options = browser_options or {}
        self.reserve = load_reserve(deadline)
        check_references(scenario, set(self.overrides) | set(self.secret_overrides))

    def run(self) -> JourneyResult:
        variables = for_run(self.scenario, self.overrides, self.secret_overrides)
        base = base_url(self.scenario, variables, self.overrides)
        with Browser(self.deadline, **self.browser_options) as browser:
            def perform(step, result):
                where = f"{self.scenario.source}: step {step.name!r}"
                StepRun(self, browser, step, result).run(variables.substitute_all(step.argument, where),
                                                         variables.substitute_all(step.wait_for, where),
                                                         variables.substitute_all(step.expect, where), base)

            steps = run_steps(self.scenario.steps, self.deadline, self.on_step, perform)
            failed = next((s for s in steps if s.ran and not s.ok), None)
            if failed is not None and self.evidence is not None:
                self._screenshot(browser, failed)
        return JourneyResult(name=self.scenario.name, steps=steps)

    def _screenshot(self, browser, result):
        if self.deadline.remaining < 0.2:
            return                      # nothing can be asked of the browser any more
        try:
            png = browser.screenshot_png()
            if png:
                result.screenshot = screenshots.save(self.evidence.directory, self.scenario.name, png,
                                                     self.evidence.keep)
        except DeadlineExceeded:
            log.debug("no time left for a screenshot")
        except ConfigError as exc:
            result.screenshot = f"not saved: {exc}"


class StepRun:
    """One browser step: its action, timed; then its expectations."""

    def __init__(self, journey: BrowserJourney, browser: Browser, step, result):
        self.journey, self.browser, self.step, self.result = journey, browser, step, result
        budget = journey.deadline.remaining - journey.reserve
        # Only a step's own timeout shorter than what the run has left bounds it apart; the browser
        # gets a moment more, so that an element looked for until then is reported as missing.
        own = step.timeout is not None and step.timeout + GRACE < budget
        self.own = Deadline(step.timeout + GRACE) if own else None
        self.until = time.monotonic() + (step.timeout if own else max(budget, 0.0))
        self.idle = 0.0

    def run(self, argument, wait_for, expect: dict, base: str | None):
        dialogs = self.browser.dialogs
        before = (dialogs.count, len(dialogs.seen))
        try:
            self._run(argument, wait_for, expect, base)
        finally:
            if self.journey.deadline.remaining > GRACE:
                try:
                    self.browser.take_js_errors()       # the console: the step's dialogs are in it
                except SourceError:
                    pass
            self.result.dialog_count = dialogs.count - before[0]
            self.result.dialogs = [str(dialog) for dialog in dialogs.seen[before[1]:]]

    def _run(self, argument, wait_for, expect: dict, base: str | None):
        step, result = self.step, self.result
        result.action = step.describe(argument)
        started = time.monotonic()
        try:
            with interact.within(self.browser, self.own):
                page = self._act(argument, base)
                if page is not None and self._page_failed(page):
                    return
                if wait_for:
                    self._wait(wait_for)
        except interact.ElementError as exc:
            result.reason = str(exc)        # its quotes masked where they were made
            return
        except interact.ActionTimedOut:
            self._unfinished(self.browser.take_network().pending)
            return
        except DeadlineExceeded:
            if self.own is None or self.journey.deadline.remaining <= 0:
                raise
            self._unfinished([])        # the step's own timeout, not the run's
            return
        finally:
            result.elapsed = time.monotonic() - started - (0.0 if wait_for else self.idle)
        result.url = self.browser.page_url
        reasons = self._expectations(expect) or self._checks()
        if reasons:
            result.reason = "; ".join(reasons)
        else:
            result.ok = True

    def _act(self, argument, base: str | None):
        """The step's action; the page load it caused (None: the same document)."""
        step, browser = self.step, self.browser
        where = f"{self.journey.scenario.source}: step {step.name!r}"
        if step.action == "goto":
            return browser.open(resolve_url(argument, base, browser.page_url or None, where))
        if step.action == "wait_for":
            self._wait(argument)
            return None
        token = interact.mark(browser)
        pairs = argument if step.action == "fill" else [argument if isinstance(argument, list) else [argument, None]]
        for target, value in pairs:
            element = self._find(target, enabled=True)
            interact.act(browser, step.action, element, str(target), value)
        acted = time.monotonic()
        if interact.navigation_follows(browser, token, self.until):
            return browser.settle()
        self.idle = time.monotonic() - acted        # looking for a navigation that did not come
        browser.page_url = interact.current_url(browser)
        browser.take_network()          # forget this step's requests: the next page counts its own
        return None

    def _find(self, target: str, enabled: bool = False):
        parsed = target if isinstance(target, Target) else Target.parse(target)
        return interact.find(self.browser, parsed.kind, parsed.value, self.until, enabled)

    def _wait(self, wait_for):
        if isinstance(wait_for, dict):
            interact.wait_for_text(self.browser, wait_for["text"], self.until)
        else:
            self._find(wait_for)

    def _page_failed(self, page) -> bool:
        result = self.result
        result.status, result.url = page.status, page.url
        if page.error:
            result.reason = f"the browser could not load {masker.mask(page.url)}: {page.error}"
        elif page.timed_out:
            self._unfinished(page.network.pending)
        elif page.status is not None and page.status >= 400:
            result.reason = f"HTTP {page.status}"
        return result.reason is not None

    def _unfinished(self, pending: list):
        """A page load the time ran out on: a timeout of the run, or of the step's own timeout."""
        result = self.result
        waiting = f", still waiting for {masker.mask(pending[0])}" if pending else ""
        if self.own is None:
            result.timed_out = True
            result.reason = f"timed out after {self.journey.deadline.seconds:g} s{waiting}"
        else:
            result.reason = f"took longer than its timeout of {self.step.timeout:g} s{waiting}"

    def _expectations(self, expect: dict) -> list[str]:
        if not expect:
            return []
        texts = expect.get("text", []) + expect.get("not_text", [])
        selectors = expect.get("selector", [])
        facts = interact.facts(self.browser, texts, selectors)
        shown = dict(zip(texts, facts["texts"]))
        reasons = [f"page lacks {_quoted(t)}" for t in expect.get("text", []) if not shown[t]]
        reasons += [f"page shows {_quoted(t)}" for t in expect.get("not_text", []) if shown[t]]
        for css, found in zip(selectors, facts["selectors"]):
            if found is None:
                reasons.append(f"{masker.mask(css)} is not a valid CSS selector")
            elif not found:
                reasons.append(f"no element matches {masker.mask(css)}")
        if "url_matches" in expect and not re.search(expect["url_matches"], facts["url"]):
            reasons.append(f"ended at {masker.mask(facts['url'])}, expected a URL matching "
                           f"/{masker.mask(expect['url_matches'])}/")
        if "title" in expect and not re.search(expect["title"], facts["title"]):
            reasons.append(f"the title is {_quoted(facts['title'])}, expected /{masker.mask(expect['title'])}/")
        return reasons

    def _checks(self) -> list[str]:
        reasons = []
        for kind, argument, reason in self.step.checks:
            if kind == "absent" and interact.present(self.browser, argument.kind, argument.value):
                reasons.append(reason)
            elif kind == "cookie" and not interact.has_cookie(self.browser, argument):
                reasons.append(reason)
        return reasons


def _quoted(value) -> str:
    return masker.mask(repr(value))
