"""check_cx_page: how does a page load in a customer's browser?

Opens the page in headless Chromium and reports the browser's own timings (time to first byte,
DOMContentLoaded, load, Largest Contentful Paint, in seconds), Cumulative Layout Shift, the number
and bytes of the requests it made, the resources that failed (status >= 400 or a network error),
the uncaught JavaScript errors and the dialogs it opened (alert, confirm, prompt: dismissed at
once). -w/-c judge the main metric (--metric, default load); every metric has its own
--warning-NAME/--critical-NAME. A load that does not finish within -t is a timeout
(--timeout-state) naming what it still waited for.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nagiosplugin

from cxcheck import runtime
from cxcheck.checks.page import options as page_options
from cxcheck.runtime import ConfigError

EXAMPLES = """
  # the catalogue's load time as a customer's browser feels it
  check_cx_page -u https://shop.example.com/catalogue/ -w 2 -c 5

  # judged on Largest Contentful Paint; a failed first-party image or script is CRITICAL too
  check_cx_page -u https://shop.example.com/ --metric lcp -w 2.5 -c 4 --fail-on-resource-errors

  # the product page must show its price and buy button, without JavaScript errors, under
  # 60 requests; a screenshot of every failed run kept (the last 50)
  check_cx_page -u https://shop.example.com/p/widget/ --expect-text 'Add to basket' \\
      --expect-selector 'button#buy' --fail-on-js-errors --critical-requests 60 \\
      --screenshot-dir /var/lib/cxcheck/screenshots --screenshot-keep 50 -t 20
"""
SCREENSHOT_TIME = 0.2      # seconds a screenshot needs at least; with less left, none is asked for


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_page", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the main metric (--metric), in seconds",
                            range_type=runtime.DurationRange,
                            thresholds=runtime.CEILING)
    page = parser.add_argument_group("page")
    page.add_argument("-u", "--url", metavar="URL", help="the page to open (http:// or https://)")
    page.add_argument("--metric", choices=page_options.TIMES, default="load",
                      help="what -w/-c judge: ttfb, dcl (DOMContentLoaded), load (the load event, default) "
                           "or lcp (Largest Contentful Paint)")
    page.add_argument("--expect-text", metavar="TEXT", action="append", default=[],
                      help="text the loaded page must show, repeatable")
    page.add_argument("--expect-selector", metavar="CSS", action="append", default=[],
                      help="a CSS selector some element of the loaded page must match, repeatable")
    page.add_argument("--fail-on-resource-errors", nargs="?", const="first-party", choices=("first-party", "all"),
                      help="a failed resource (status >= 400 or network error) is CRITICAL: first-party "
                           "(same host as the page, the default) or all")
    page.add_argument("--fail-on-js-errors", action="store_true",
                      help="an uncaught JavaScript error is CRITICAL")
    page.add_argument("--fail-on-dialogs", action="store_true",
                      help="a dialog the page opens (alert, confirm, prompt; dismissed at once either way) "
                           "is CRITICAL")
    page_options.add_range_options(parser)
    evidence = parser.add_argument_group("evidence")
    evidence.add_argument("--screenshot-dir", metavar="DIR", help="save a PNG of the page when the run fails")
    evidence.add_argument("--screenshot-keep", type=runtime.positive_int, default=20, metavar="N",
                          help="keep the newest N screenshots of this page (default 20)")
    page_options.add_browser_options(parser)
    return parser


def page_name(url: str) -> str:
    """How the status line names the page: its path, masked (/catalogue/)."""
    return runtime.masker.mask(urlsplit(url).path or "/")


class Page(nagiosplugin.Resource):
    """One load of the page in the browser PageCheck opens, and what was asked of it."""

    def __init__(self, run: runtime.Run, url: str):
        self.run, self.url, self.args = run, url, run.args
        self.name_shown = page_name(url)
        self.browser = None
        self.load = None                # the PageLoad
        self.missing = {"texts": [], "selectors": []}    # expectations the page did not meet
        self.slowest: list[tuple[float, str, float]] = []   # (seconds, url, end) of its slowest resources
        self.held_up: dict = {}         # timing -> (seconds, url) of the resource that held it up
        self.screenshot: str | None = None
        self.screenshot_note: str | None = None

    @property
    def name(self):
        return "CX PAGE"

    def probe(self):
        from cxcheck.browser import interact

        self.run.activity = f"loading {self.name_shown}"
        self.load = load = self.browser.open(self.url, paint=True)
        if not (load.timed_out or load.error):
            self.run.activity = f"reading {self.name_shown}"
            self.slowest = self.browser.slowest()
            self.held_up = {name: culprit for name in ("dcl", "load", "lcp")
                            if (culprit := held_up_by(self.slowest, getattr(load, name)))}
            if self.args.expect_text or self.args.expect_selector:
                facts = interact.facts(self.browser, self.args.expect_text, self.args.expect_selector)
                self.missing = self.expectations(facts)
        if not load.timed_out:          # an unfinished load was sampled as it was cut off, the reserve is short
            self.browser.sample_memory()
        network = load.network
        yield nagiosplugin.Metric("page", load, context="page")
        yield nagiosplugin.Metric("expect", self.missing, context="expect")
        for name in page_options.TIMES:
            yield nagiosplugin.Metric(name, runtime.perf_value(getattr(load, name), 3), "s", min=0, context=name)
        yield nagiosplugin.Metric("cls", runtime.perf_value(load.cls, 4), "", min=0, context="cls")
        yield nagiosplugin.Metric("requests", network.requests, "c", min=0, context="requests")
        yield nagiosplugin.Metric("bytes", network.bytes, "B", min=0, context="bytes")
        yield nagiosplugin.Metric("failed_resources", len(network.failed), "c", min=0, context="failed_resources")
        yield nagiosplugin.Metric("js_errors", len(load.js_errors), "c", min=0, context="js_errors")
        yield nagiosplugin.Metric("browser_memory", self.browser.peak_memory or None, "B", min=0,
                                  context="browser_memory")
        yield nagiosplugin.Metric("dialogs", load.dialog_count, "c", min=0, context="dialogs")

    def expectations(self, facts: dict) -> dict:
        """{texts: [...], selectors: [...]}: what --expect-text and --expect-selector asked that
        the page does not show. A selector the browser cannot read is a configuration error."""
        invalid = [css for css, matched in zip(self.args.expect_selector, facts["selectors"]) if matched is None]
        if invalid:
            raise ConfigError(f"--expect-selector {invalid[0]!r}: not a valid CSS selector")
        selectors = zip(self.args.expect_selector, facts["selectors"])
        return {"texts": [text for text, seen in zip(self.args.expect_text, facts["texts"]) if not seen],
                "selectors": [css for css, matched in selectors if not matched]}


def held_up_by(slowest, reached: float | None):
    """The resource that held a timing up: the slowest that ended by then and took at least half
    of it (a favicon fetched after the load is not why the load was slow)."""
    for seconds, url, end in slowest:
        if reached is not None and end <= reached + 0.001 and seconds >= reached / 2:
            return seconds, url
    return None


class PageCheck(nagiosplugin.Check):
    """The check with the browser open while the page is probed and judged, so that a failed
    run's screenshot shows the page the verdict was about; perfdata in the documented order."""

    def __init__(self, run: runtime.Run, page: Page, *objects):
        super().__init__(page, *objects)
        self.run, self.page = run, page

    def __call__(self):
        from cxcheck.browser.session import Browser

        args = self.run.args
        self.run.activity = "starting the browser"
        with Browser(self.run.deadline, insecure=args.insecure, user_agent=args.user_agent,
                     window=args.window, memory_cap=args.memory_cap * 2**20) as browser:
            self.page.browser = browser
            super().__call__()
            if args.screenshot_dir and self.state != nagiosplugin.Ok:
                self._screenshot(browser)
        self.perfdata.sort(key=lambda text: _perf_rank(text))

    def _screenshot(self, browser):
        """Evidence of the failure; none (said) when the time or the directory does not allow it:
        the run's verdict stands either way."""
        from cxcheck.browser import screenshots

        page, args = self.page, self.run.args
        self.run.activity = f"taking a screenshot of {page.name_shown}"
        png = browser.screenshot_png() if self.run.deadline.remaining > SCREENSHOT_TIME else None
        if png is None:
            page.screenshot_note = "no screenshot: no time left to capture the page"
            return
        try:
            page.screenshot = screenshots.save(args.screenshot_dir, shot_prefix(page.url), png, args.screenshot_keep)
        except ConfigError as exc:
            page.screenshot_note = f"no screenshot: {exc}"


def _perf_rank(text: str) -> int:
    label = text.split("=", 1)[0].strip("'")
    order = page_options.PERFDATA
    return order.index(label) if label in order else len(order)


def shot_prefix(url: str) -> str:
    """page-HOST-PATH: each page's screenshots rotate on their own in a shared directory."""
    parts = urlsplit(url)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"page-{parts.hostname or ''}{parts.path.rstrip('/')}").strip("_")[:80]


@runtime.plugin("CX PAGE", build_parser)
def main(run: runtime.Run):
    from cxcheck.checks.page.verdicts import contexts

    args = run.args
    if not args.url:
        raise ConfigError("give the page to open: -u URL")
    runtime.web_url("-u", args.url)
    ranges = page_options.metric_ranges(args)
    if args.screenshot_dir:
        from cxcheck.browser.screenshots import check_directory

        check_directory(args.screenshot_dir)
    page = Page(run, args.url)
    return PageCheck(run, page, *contexts(run, ranges))

