"""The Browser a run drives: headless Chromium through chromedriver, within the run's deadline.

Every Selenium call is bounded: page loads and scripts by the timeouts `bound()` sets from what
is left of the deadline, anything else by the SIGALRM backstop, which raises DeadlineExceeded
inside a blocked call. However the run ends, `__exit__` (or, on the hard exits, the runtime's
process registry) kills every process of the browser and removes its home, within what is left
before the hard timeout. Dialogs are dismissed and counted (browser.dialogs), downloads refused,
a renderer over the memory cap ended (browser.memory).
"""

from __future__ import annotations

import os
import time

from cxcheck.browser import launch
from cxcheck.browser.dialogs import KEPT, Dialogs
from cxcheck.browser.ending import END_WAIT
from cxcheck.browser.memory import DEFAULT_CAP, MemoryCap, pss
from cxcheck.browser.timings import READ_JS, SLOWEST_JS, VITALS_JS, Network, NetworkLog, PageLoad, js_errors
from cxcheck.runtime import HARD_MARGIN, ConfigError, DeadlineExceeded, SourceError, atomic, log, masker

NEED_SELENIUM = ("the browser checks need Selenium: pip install 'cxcheck[browser]' "
                 "(or apt-get install python3-selenium)")
# Kept back from a page load for reading what it got, a screenshot and the result line: a share
# of -t, not of what is left (a browser slow to start on a loaded poller leaves reading no faster).
RESERVE, RESERVE_SHARE = 1.5, 0.15
RESULT_TIME = 0.1           # seconds before the deadline by which ending the browser stops waiting
# No traffic but the page's own: no updates, sync, safe-browsing or metrics calls home.
FLAGS = (
    "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
    "--disable-breakpad", "--disable-crash-reporter",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--password-store=basic", "--use-mock-keychain", "--mute-audio", "--hide-scrollbars",
    "--disk-cache-size=52428800",       # the HTTP cache of a fresh profile: bounded, in RAM with the home
)
# Commands that act on the page: one a dialog interrupted has done what it did, never again.
ACTIONS = {"get", "clickElement", "sendKeysToElement", "clearElement", "actions", "goBack", "goForward", "refresh"}
CLOSE_SHARE = 0.8           # of the hard timeout's margin, for ending the browser at the deadline


class MemoryCapped(SourceError):
    """A renderer went over the memory cap and was ended: the page, not the check, is at fault."""


def load_reserve(deadline) -> float:
    """Seconds of the run's deadline kept back from a page load (RESERVE, or its share of -t)."""
    return min(RESERVE, deadline.seconds * RESERVE_SHARE)


class Browser:
    def __init__(self, deadline, *, insecure: bool = False, user_agent: str | None = None,
                 window: tuple[int, int] = (1366, 768), memory_cap: int = DEFAULT_CAP):
        self.deadline = deadline
        self.insecure, self.user_agent, self.window = insecure, user_agent, window
        self.driver = None
        self.peak_memory = 0
        self.page_url = ""
        self.dialogs = Dialogs()
        self._process = launch.Driver(deadline)
        self._network = NetworkLog()
        self._cap = MemoryCap(self._process.members, memory_cap)

    def __enter__(self) -> Browser:
        try:
            from selenium import webdriver
            from selenium.common.exceptions import WebDriverException
            from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
        except ImportError:
            raise ConfigError(NEED_SELENIUM) from None
        chromium = launch.find(launch.CHROMIUM, "CXCHECK_CHROMIUM", "Chromium")
        chromedriver = launch.find(launch.CHROMEDRIVER, "CXCHECK_CHROMEDRIVER", "chromedriver")
        try:
            self._process.start(chromedriver)
            options = self._options(webdriver.ChromeOptions(), chromium)
            # ignore_proxy: chromedriver is on loopback; an http_proxy in the environment is for the page.
            connection = ChromiumRemoteConnection(self._process.url, "goog", "chrome", True, True)
            self.driver = webdriver.Remote(command_executor=connection, options=options)
            self.driver.execute = self._answering(self.driver.execute)
            self._cap.start()
            self.cdp("Browser.setDownloadBehavior", behavior="deny")
            for script in (VITALS_JS, self.dialogs.script()):
                self.cdp("Page.addScriptToEvaluateOnNewDocument", source=script)
            self.take_network(), self.take_js_errors()      # the blank start page's: not the customer's
            self.sample_memory()
        except WebDriverException as exc:
            self.close()
            raise SourceError(f"Chromium did not start: {first_line(exc)}") from None
        except BaseException:       # the deadline included, wherever it comes: nothing is left
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """End the browser: no quit() (the kill is quicker and cannot hang). Its end is waited for
        until just before the deadline, so that the run's result, not the deadline's line, comes
        out (once past the deadline, a share of the hard timeout's margin, before the hard
        timeout); what is still dying then dies without being waited for. The deadline's alarm
        waits until the end is done: raised before the end began (a CI run once), it left the
        whole browser to outlive the run."""
        with atomic():
            self.driver = None
            self._cap.stop()
            now, end = time.monotonic(), self.deadline.end
            limit = end - RESULT_TIME if now < end else end + HARD_MARGIN * CLOSE_SHARE
            self._process.end(min(now + END_WAIT, max(limit, now + 0.05)))

    def _answering(self, execute):
        """The driver's `execute`, answering what a page does to it: a dialog that escaped the
        page's dismissers is dismissed and counted (a command it interrupted is tried again,
        unless it acted on the page); a command that failed because the memory cap ended the
        renderer says so."""
        from selenium.common.exceptions import UnexpectedAlertPresentException, WebDriverException

        def answered(command, params=None):
            for _ in range(KEPT):
                try:
                    return execute(command, params)
                except UnexpectedAlertPresentException as exc:
                    self.dialogs.add("dialog", exc.alert_text)
                    try:
                        execute("w3cDismissAlert", {})
                    except WebDriverException:
                        pass
                    if command in ACTIONS:
                        return {"value": None}
                except WebDriverException:
                    if self._cap.over is not None:
                        raise MemoryCapped(self.memory_said()) from None
                    raise
            return execute(command, params)

        return answered

    def memory_said(self) -> str:
        over = self._cap.over
        return (f"the page's renderer went over the memory cap of {self._cap.cap // 2**20} MB "
                f"({over.size // 2**20} MB) and was ended")

    def _options(self, options, chromium: str):
        options.binary_location = chromium
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._process.profile}")
        options.add_argument(f"--window-size={self.window[0]},{self.window[1]}")
        if os.geteuid() == 0:           # Chromium refuses to sandbox itself as root
            options.add_argument("--no-sandbox")
        if self.user_agent:
            options.add_argument(f"--user-agent={self.user_agent}")
        options.set_capability("acceptInsecureCerts", bool(self.insecure))
        options.set_capability("pageLoadStrategy", "normal")
        options.set_capability("unhandledPromptBehavior", "ignore")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
        # Downloads refused (also by DevTools once started); were one to start, it stays in the run's home.
        options.add_experimental_option("prefs", {
            "download_restrictions": 3, "download.prompt_for_download": False,
            "download.default_directory": os.path.join(self._process.home, "t")})
        return options

    # -- bounded calls ----------------------------------------------------------------------

    def bound(self, reserve: bool = False):
        """Selenium's page-load and script timeouts: what is left of the deadline (less the
        reserve, for a page load that must leave time to say what it got)."""
        left = self.deadline.timeout()
        if reserve:
            left -= load_reserve(self.deadline)
        ms = max(int(left * 1000), 1)
        self._call("setTimeouts", {"pageLoad": ms, "script": ms, "implicit": 0})

    def _call(self, command: str, params: dict | None = None):
        from selenium.common.exceptions import TimeoutException, WebDriverException

        try:
            return self.driver.execute(command, params or {})["value"]
        except TimeoutException:
            raise
        except WebDriverException as exc:
            raise SourceError(f"the browser failed: {first_line(exc)}") from None

    def cdp(self, command: str, **params):
        return self._call("executeCdpCommand", {"cmd": command, "params": params})

    # -- pages ------------------------------------------------------------------------------

    def open(self, url: str, paint: bool = False) -> PageLoad:
        """Navigate to `url` and wait for its load event; a load still running when the time
        for it is up comes back with timed_out and what was seen (pending requests included).
        `paint`: also wait (briefly) for the paint that gives the Largest Contentful Paint."""
        from selenium.common.exceptions import TimeoutException, WebDriverException

        self.page_url = url
        self.bound(reserve=True)
        try:
            self.driver.get(url)
        except TimeoutException:
            return self._unfinished()
        except MemoryCapped as exc:
            return self._failed(str(exc))
        except WebDriverException as exc:
            reason = first_line(exc)
            if "net::" not in reason:
                raise SourceError(f"the browser failed: {reason}") from None
            return self._failed(reason[reason.index("net::"):])
        self._network.feed(self._log("performance"))
        if self._network.is_download(url):
            return self._failed("it is a download (Content-Disposition: attachment), refused")
        try:
            return self.settle(paint)
        except MemoryCapped as exc:
            return self._failed(str(exc))

    def settle(self, paint: bool = False) -> PageLoad:
        """The timings of the document now shown, once its load event has run (and, with
        `paint`, once its Largest Contentful Paint is known, PAINT_WAIT_MS at most)."""
        from selenium.common.exceptions import TimeoutException

        self.bound()
        try:
            values = self.driver.execute_async_script(READ_JS, True, paint)
        except TimeoutException:
            return self._unfinished()
        if str(values.get("url", "")).startswith("chrome-error:"):      # Chromium's own error page
            return self._failed()
        self.page_url = values.get("url") or self.page_url
        page = PageLoad.read(values, network=self.take_network(), js_errors=self.take_js_errors(),
                             **self.dialogs.take())
        if page.status is None:
            page.status = self._network.status_of(page.url)
        self.sample_memory()
        return page

    def _failed(self, reason: str | None = None) -> PageLoad:
        """A page the browser could not load at all: the document's network error, else `reason`."""
        network = self.take_network()
        document = next((f for f in network.failed if f.url == self.page_url and f.error), None)
        error = document.error if document else (reason or "the page could not be loaded")
        return PageLoad(url=self.page_url, error=error, network=network, js_errors=self.take_js_errors(),
                        **self.dialogs.take())

    def _unfinished(self) -> PageLoad:
        """What a load that did not finish got so far; within the reserve kept for it."""
        from selenium.common.exceptions import WebDriverException

        values = None
        try:        # half of what is left, for chromedriver's wait for the navigation and the script
            left = max(int(self.deadline.timeout() * 500), 1)
            self._call("setTimeouts", {"script": left, "pageLoad": left})
            values = self.driver.execute_async_script(READ_JS, False, False)
        except (WebDriverException, SourceError):
            log.debug("no timings from the unfinished page")
        if values and values.get("url"):
            self.page_url = values["url"]
        page = PageLoad.read(values, url=self.page_url, timed_out=True, network=self.take_network(),
                             js_errors=self.take_js_errors(), **self.dialogs.take())
        page.url = page.url or self.page_url
        self.sample_memory()
        return page

    def slowest(self, count: int = 3) -> list[tuple[float, str, float]]:
        """(seconds, url, end) of the shown document's slowest resources, longest first; `end`
        from the navigation's start, as a PageLoad's timings (what held the load up)."""
        from selenium.common.exceptions import WebDriverException

        self.bound()
        try:
            rows = self.driver.execute_script(SLOWEST_JS, count) or []
        except WebDriverException as exc:
            raise SourceError(f"the browser failed: {first_line(exc)}") from None
        return [(float(seconds), str(url), float(end)) for seconds, url, end in rows]

    # -- what the browser logged --------------------------------------------------------------

    def loading_document(self) -> bool:
        """Whether the page has asked for a new document it does not show yet (a form submitted)."""
        self._network.feed(self._log("performance"))
        return self._network.document_pending()

    def take_network(self) -> Network:
        self._network.feed(self._log("performance"))
        return self._network.take(self.page_url)

    def take_js_errors(self) -> list[str]:
        """The console's uncaught errors since the last take (its dialogs go to `dialogs`)."""
        return [masker.mask(error) for error in js_errors(self.dialogs.read(self._log("browser")))]

    def _log(self, kind: str) -> list:
        try:
            return self._call("getLog", {"type": kind}) or []
        except MemoryCapped:
            return []
        except SourceError:
            if self.deadline.remaining <= 0:
                raise DeadlineExceeded() from None
            return []

    # -- evidence and cost --------------------------------------------------------------------

    def screenshot_png(self) -> bytes | None:
        from selenium.common.exceptions import WebDriverException

        try:
            return self.driver.get_screenshot_as_png()
        except (WebDriverException, MemoryCapped):
            return None

    def sample_memory(self):
        total = sum(pss(pid) for pid in self._process.members())
        self.peak_memory = max(self.peak_memory, total)


def first_line(exc) -> str:
    """A WebDriver error's own message, first line, masked (it may quote a page's URL)."""
    text = getattr(exc, "msg", None) or str(exc)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return masker.mask(lines[0] if lines else type(exc).__name__)
