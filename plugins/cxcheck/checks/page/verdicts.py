"""check_cx_page's verdicts and words: the contexts that judge a page load, and the summary and
long output that say it."""

from __future__ import annotations

import nagiosplugin

from cxcheck import runtime
from cxcheck.runtime import Fact, MaybeContext, plural

LABELS = {"ttfb": "TTFB", "dcl": "DCL", "load": "load", "lcp": "LCP", "cls": "CLS", "requests": "requests",
          "bytes": "bytes"}
SHOWN_WAITING = 3           # pending URLs named on the status line of a load that did not finish


def size_text(count: float | None) -> str:
    """Bytes as people read them: 512 B, 18 kB, 2.4 MB (powers of 1000, as browsers show)."""
    if count is None:
        return "-"
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(count)} B"


def value_text(name: str, value) -> str:
    if value is None:
        return "-"
    if name in ("ttfb", "dcl", "load", "lcp"):
        return f"{value:.2f} s"
    if name == "cls":
        return f"{value:.3g}"
    if name == "bytes" or name == "browser_memory":
        return size_text(value)
    return f"{value:g}"


def failed_text(failed) -> str:
    """'404 http://host/x.png' or 'net::ERR_CONNECTION_REFUSED http://host/x.js', URL masked."""
    what = failed.status if failed.status is not None else failed.error
    return f"{what} {runtime.masker.mask(failed.url)}"


class PageOutcome(Fact):
    """Did the page load at all: the browser's network error, the load that did not finish
    before the deadline (--timeout-state), the main document's HTTP error status."""

    def __init__(self, run: runtime.Run):
        super().__init__("page")
        self.timeout, self.timeout_state = run.args.timeout, run.timeout_state

    def evaluate(self, metric, resource):
        load = metric.value
        if load.error:
            return self.result_cls(nagiosplugin.Critical, f"cannot load the page: {runtime.masker.mask(load.error)}",
                                   metric)
        if load.timed_out:
            return self.result_cls(self.timeout_state, self.unfinished(load), metric)
        if isinstance(load.status, int) and load.status >= 400:
            return self.result_cls(nagiosplugin.Critical, f"the page answered HTTP {load.status}", metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def unfinished(self, load) -> str:
        text = f"load did not finish in {self.timeout:g} s"
        pending = [runtime.masker.mask(url) for url in load.network.pending]
        if not pending:
            return text + ", no request pending (a script still running?)"
        more = len(pending) - SHOWN_WAITING
        return (text + f", still waiting for {', '.join(pending[:SHOWN_WAITING])}"
                + (f" and {more} more" if more > 0 else ""))


class Expectations(Fact):
    """--expect-text and --expect-selector: what the loaded page had to show."""

    def evaluate(self, metric, resource):
        missing = ([f"text {text!r} not on the page" for text in metric.value["texts"]]
                   + [f"no element matches {css!r}" for css in metric.value["selectors"]])
        if not missing:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        return self.result_cls(nagiosplugin.Critical, "; ".join(missing), metric)


class FailedResources(MaybeContext):
    """Failed resources are counted always; CRITICAL with --fail-on-resource-errors (first-party:
    those of the page's own host; all: third parties' too)."""

    def __init__(self, which: str | None):
        super().__init__("failed_resources")
        self.which = which

    def counted(self, resource) -> list:
        failed = resource.load.network.failed
        return failed if self.which == "all" else [f for f in failed if f.first_party]

    def evaluate(self, metric, resource):
        counted = self.counted(resource) if self.which else []
        if not counted:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        kind = "" if self.which == "all" else "first-party "
        text = f"{plural(len(counted), kind + 'resource')} failed: {failed_text(counted[0])}"
        if len(counted) > 1:
            text += f" and {len(counted) - 1} more"
        return self.result_cls(nagiosplugin.Critical, text, metric)


class JsErrors(MaybeContext):
    """Uncaught JavaScript errors are counted always; CRITICAL with --fail-on-js-errors."""

    def __init__(self, judged: bool):
        super().__init__("js_errors")
        self.judged = judged

    def evaluate(self, metric, resource):
        errors = resource.load.js_errors
        if not (self.judged and errors):
            return self.result_cls(nagiosplugin.Ok, None, metric)
        return self.result_cls(nagiosplugin.Critical, f"{plural(len(errors), 'JavaScript error')}: {errors[0]}",
                               metric)


class Dialogs(MaybeContext):
    """Dialogs the page opened (dismissed at once) are counted always; CRITICAL with --fail-on-dialogs."""

    def __init__(self, judged: bool):
        super().__init__("dialogs")
        self.judged = judged

    def evaluate(self, metric, resource):
        load = resource.load
        if not (self.judged and load.dialog_count):
            return self.result_cls(nagiosplugin.Ok, None, metric)
        return self.result_cls(nagiosplugin.Critical, f"{dialogs_text(load)} opened", metric)


def dialogs_text(load) -> str:
    """'2 dialogs (alert 'Session expired', confirm 'Leave?')': the first two named."""
    named = ", ".join(str(dialog) for dialog in load.dialogs[:2])
    more = " and more" if load.dialog_count > 2 else ""
    return f"{plural(load.dialog_count, 'dialog')} ({named}{more})" if named else plural(load.dialog_count, "dialog")


def contexts(run: runtime.Run, ranges: dict) -> list:
    args = run.args
    return [PageOutcome(run), Expectations("expect"),
            *(MaybeContext(name, warning, critical) for name, (warning, critical) in ranges.items()),
            FailedResources(args.fail_on_resource_errors), JsErrors(args.fail_on_js_errors),
            MaybeContext("browser_memory"), Dialogs(args.fail_on_dialogs), PageSummary(args.metric, run.verbosity)]


class PageSummary(nagiosplugin.Summary):
    def __init__(self, metric: str, verbosity: int):
        self.metric, self.verbosity = metric, verbosity

    def timings(self, results, leave_out: str) -> str:
        """'LCP 0.31 s, TTFB 0.01 s': the other timings worth a glance, reached or not."""
        shown = [name for name in ("load", "lcp", "ttfb") if name != leave_out][:2]
        return ", ".join(f"{LABELS[name]} {value_text(name, results[name].metric.value)}" for name in shown)

    def ok(self, results):
        page = results["page"].resource
        if results["page"].hint:            # --timeout-state ok: the unfinished load, said
            return results["page"].hint
        main = results[self.metric].metric.value
        if self.metric == "load":
            text = f"{page.name_shown} loaded in {value_text('load', main)}"
        else:
            text = f"{page.name_shown} {LABELS[self.metric]} {value_text(self.metric, main)}"
        text += (f" ({self.timings(results, self.metric)}), {plural(results['requests'].metric.value, 'request')}, "
                 f"{size_text(results['bytes'].metric.value)}")
        return text + self.unjudged(page)

    def unjudged(self, page) -> str:
        """Failures seen but not asked to be judged: said, not alerted on."""
        notes = []
        if page.load.network.failed:
            notes.append(plural(len(page.load.network.failed), "failed resource"))
        if page.load.js_errors:
            notes.append(plural(len(page.load.js_errors), "JavaScript error"))
        if page.load.dialog_count:
            notes.append(plural(page.load.dialog_count, "dialog") + " dismissed")
        return "".join(f", {note}" for note in notes)

    def problem(self, results):
        worst = results.first_significant
        page = worst.resource
        name = worst.metric.name
        if name == "page" and page.load.timed_out:
            return worst.hint
        if name not in LABELS:
            return f"{page.name_shown}: {worst.hint}"
        text = f"{page.name_shown} {self.said(worst)}, {self.timings(results, name)}"
        culprit = page.held_up.get(name)
        if culprit:
            text += f", slowest {runtime.masker.mask(culprit[1])} {culprit[0]:.2f} s"
        return text

    @staticmethod
    def said(result) -> str:
        """'load 2.11 s (> 2)' for a metric out of its range, the hint for the others."""
        name = result.metric.name
        if name not in LABELS:
            return result.hint
        return f"{LABELS[name]} {value_text(name, result.metric.value)} ({result.hint})"

    def verbose(self, results):
        page = results["page"].resource
        load = page.load
        if load is None:
            return []
        lines = [f"{str(r.state).upper()}: {self.said(r)}" for r in results     # the worst is on the status line
                 if r.state != nagiosplugin.Ok and r is not results.first_significant]
        for name in ("ttfb", "dcl", "load", "lcp", "cls", "requests", "bytes", "browser_memory"):
            result = results[name]
            warning, critical = result.metric.contextobj.texts
            given = ", ".join(f"{level} {text}" for level, text in (("warning", warning), ("critical", critical))
                              if text)
            lines.append(f"{name}: {value_text(name, result.metric.value)}" + (f" ({given})" if given else ""))
        lines += [f"failed resource: {failed_text(f)}{'' if f.first_party else ' (third party)'}"
                  for f in load.network.failed]
        lines += [f"JavaScript error: {error}" for error in load.js_errors]
        lines += [f"dialog dismissed: {dialog}" for dialog in load.dialogs]
        if load.dialog_count > len(load.dialogs):
            lines.append(f"dialogs dismissed: {load.dialog_count - len(load.dialogs)} more")
        if load.timed_out:
            lines += [f"still waiting for: {runtime.masker.mask(url)}" for url in load.network.pending]
        if self.verbosity:
            lines += [f"slow: {seconds:.2f} s {runtime.masker.mask(url)}" for seconds, url, _ in page.slowest]
        if page.screenshot:
            lines.append(f"screenshot: {page.screenshot}")
        elif page.screenshot_note:
            lines.append(page.screenshot_note)
        return lines
