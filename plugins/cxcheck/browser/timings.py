"""What one page load measured, read from the browser itself.

Times come from the page's Navigation Timing entry and two PerformanceObservers installed
before any page script runs (Largest Contentful Paint, Cumulative Layout Shift), all relative to
the navigation's start, in seconds. Requests, bytes and failures come from the DevTools
protocol's Network events, which chromedriver keeps in its performance log: a status >= 400 or
a network error there is what the customer's browser got. Uncaught JavaScript errors come from
the browser's console log.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from cxcheck.runtime import Record

# Installed with Page.addScriptToEvaluateOnNewDocument: runs in every document before its own
# scripts, so no paint or shift is missed. Non-enumerable, so page scripts iterating window
# don't see it.
VITALS_JS = """(() => {
  const vitals = {lcp: null, cls: 0, observers: []};
  Object.defineProperty(window, "__cxVitals", {value: vitals});
  const watch = (type, take) => {
    try {
      const observer = new PerformanceObserver((list) => list.getEntries().forEach(take));
      observer.observe({type, buffered: true});
      vitals.observers.push([observer, take]);
    } catch (error) { /* an entry type this browser lacks: the metric stays null */ }
  };
  watch("largest-contentful-paint", (entry) => { vitals.lcp = entry.startTime; });
  watch("layout-shift", (entry) => { if (!entry.hadRecentInput) vitals.cls += entry.value; });
})();"""

# Arguments: wait for the load event; then wait for the paint. Reads the timings one task after
# the load event (its handlers done) or, asked to wait for the paint, once a frame after it has
# been painted and the Largest Contentful Paint is known (a page that paints only after its load
# event, an LCP entry that comes a few frames late on a busy machine), at most PAINT_WAIT_MS
# after the load (a page that paints nothing contentful). A page cut off reads at once.
# Async: Selenium passes its callback last. A document that never loads is ended by the script
# timeout, which the session sets to what is left of the deadline.
PAINT_WAIT_MS = 750
READ_JS = """const done = arguments[arguments.length - 1];
const collect = () => {
  const vitals = window.__cxVitals;
  if (vitals) vitals.observers.forEach(([observer, take]) => observer.takeRecords().forEach(take));
  return vitals;
};
const read = () => {
  const vitals = collect();
  const nav = performance.getEntriesByType("navigation")[0] || {};
  const ms = (value) => (value > 0 ? value : null);
  done({url: location.href, status: nav.responseStatus || null, ttfb: ms(nav.responseStart),
        dcl: ms(nav.domContentLoadedEventEnd), load: ms(nav.loadEventEnd),
        lcp: vitals ? vitals.lcp : null, cls: vitals ? vitals.cls : null});
};
let answered = false;
const once = () => { if (!answered) { answered = true; read(); } };
const painted = () => { const vitals = collect(); return !vitals || vitals.lcp !== null; };
const frames = (count) => requestAnimationFrame(() => setTimeout(() => {
  if (answered) return;
  if (count <= 1 && painted()) { once(); return; }
  frames(count - 1);
}, 0));
const wait = () => {
  const nav = performance.getEntriesByType("navigation")[0];
  if (arguments[0] && !(nav && nav.loadEventEnd > 0)) { setTimeout(wait, 10); return; }
  if (!(arguments[0] && arguments[1])) { setTimeout(once, 0); return; }
  frames(2);
  setTimeout(once, PAINT_WAIT_MS);
};
wait();""".replace("PAINT_WAIT_MS", str(PAINT_WAIT_MS))


# The shown document's Resource Timing entries, longest first: [seconds, url, end]. The time is
# the request's, start to last byte, the end from the navigation's start (a cross-origin resource
# without Timing-Allow-Origin still has both). Argument: how many.
SLOWEST_JS = """return performance.getEntriesByType("resource")
  .map((entry) => [entry.duration / 1000, entry.name, entry.responseEnd / 1000])
  .sort((one, other) => other[0] - one[0]).slice(0, arguments[0]);"""


class Failed(Record):
    _fields = ("url", "status", "error", "first_party")

    def __init__(self, url: str, status: int | None = None, error: str | None = None, first_party: bool = True):
        self.url, self.status, self.error, self.first_party = url, status, error, first_party

    def __str__(self):
        return f"{self.status if self.status is not None else self.error} {self.url}"


class Network(Record):
    _fields = ("requests", "bytes", "failed", "pending")

    def __init__(self, requests: int = 0, bytes: int = 0, failed: list | None = None, pending: list | None = None):
        self.requests, self.bytes = requests, bytes
        self.failed = [] if failed is None else failed
        self.pending = [] if pending is None else pending


class PageLoad(Record):
    _fields = ("url", "status", "ttfb", "dcl", "load", "lcp", "cls", "timed_out", "error", "network", "js_errors",
               "dialog_count", "dialogs")

    def __init__(self, url: str = "", status: int | None = None, ttfb: float | None = None,
                 dcl: float | None = None, load: float | None = None, lcp: float | None = None,
                 cls: float | None = None, timed_out: bool = False, error: str | None = None,
                 network: Network | None = None, js_errors: list | None = None, dialog_count: int = 0,
                 dialogs: list | None = None):
        self.url, self.status, self.ttfb, self.dcl, self.load = url, status, ttfb, dcl, load
        self.lcp, self.cls, self.timed_out = lcp, cls, timed_out
        self.error = error              # the browser could not load the page at all (net::ERR_...)
        self.network = Network() if network is None else network
        self.js_errors = [] if js_errors is None else js_errors
        self.dialog_count = dialog_count    # dialogs the page opened (dismissed), the first ones in `dialogs`
        self.dialogs = [] if dialogs is None else dialogs

    @classmethod
    def read(cls, values: dict | None, **more) -> PageLoad:
        """From READ_JS's answer (milliseconds) to seconds."""
        values = values or {}
        seconds = {k: (round(values[k] / 1000, 4) if isinstance(values.get(k), (int, float)) else None)
                   for k in ("ttfb", "dcl", "load", "lcp")}
        cls_value = values.get("cls")
        more.setdefault("url", values.get("url") or "")
        shift = round(cls_value, 4) if isinstance(cls_value, (int, float)) else None
        return cls(status=values.get("status"), cls=shift, **seconds, **more)


class NetworkLog:
    """Requests by DevTools request id, from chromedriver's performance log entries."""

    def __init__(self):
        self.requests: dict[str, dict] = {}
        self.statuses: dict[str, int] = {}
        self.document_status: int | None = None       # the last document's, for a URL not seen

    def feed(self, entries):
        for entry in entries:
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, TypeError, ValueError):
                continue
            method, params = message.get("method", ""), message.get("params") or {}
            self._event(method, params)

    def _event(self, method: str, params: dict):
        rid = params.get("requestId")
        if not rid or not method.startswith("Network."):
            return
        if method == "Network.requestWillBeSent":
            url = (params.get("request") or {}).get("url", "")
            if not url.startswith(("http://", "https://")):     # data:, blob:, the browser's own chrome://
                return
            hop = self.requests.pop(rid, None)
            if hop is not None and params.get("redirectResponse"):     # the previous hop of a redirect
                hop.update(status=params["redirectResponse"].get("status"), done=True)
                self.requests[f"{rid}>{len(self.requests)}"] = hop
            self.requests[rid] = {"url": url, "status": None, "error": None, "done": False, "bytes": 0,
                                  "document": params.get("type") == "Document", "download": False}
            return
        request = self.requests.get(rid)
        if request is None:
            return
        if method == "Network.responseReceived":
            response = params.get("response") or {}
            request["status"] = response.get("status")
            headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
            request["download"] = headers.get("content-disposition", "").strip().lower().startswith("attachment")
        elif method == "Network.loadingFinished" and not request["error"]:
            request["done"], request["bytes"] = True, int(params.get("encodedDataLength") or 0)
        elif method == "Network.loadingFailed":
            if params.get("canceled"):       # cut off (a load stopped at its timeout, a page left): still pending
                return
            request["done"] = True
            request["error"] = params.get("blockedReason") or params.get("errorText") or "failed"

    def is_download(self, url: str) -> bool:
        """The document asked for at `url` came as an attachment: a download, not a page."""
        return any(r["url"] == url and r["document"] and r["download"] for r in self.requests.values())

    def document_pending(self) -> bool:
        """A document request on its way: a navigation started but not yet shown."""
        return any(r["document"] and not r["done"] and not r["error"] for r in self.requests.values())

    def status_of(self, url: str) -> int | None:
        """The HTTP status the last request for `url` got (a document whose navigation entry
        has no responseStatus: one reached by a form's POST and its redirect)."""
        return self.statuses.get(url, self.document_status)

    def take(self, page_url: str) -> Network:
        """The requests since the last take, as a Network; forgets them."""
        host = urlsplit(page_url).hostname
        failed, pending, total = [], [], 0
        for request in self.requests.values():
            total += request["bytes"]
            status = request["status"]
            if request["error"] or (isinstance(status, int) and status >= 400):
                failed.append(Failed(request["url"], status if isinstance(status, int) else None,
                                     request["error"], urlsplit(request["url"]).hostname == host))
            elif not (request["done"] or request["download"]):     # a download refused is over
                pending.append(request["url"])
        network = Network(requests=len(self.requests), bytes=total, failed=failed, pending=pending)
        for request in self.requests.values():      # kept across takes: a step may take before its page settles
            if isinstance(request["status"], int):
                self.statuses[request["url"]] = request["status"]
                if request["document"]:
                    self.document_status = request["status"]
        self.requests = {}
        return network


# "http://host/page/ 12:9 Uncaught Error: text" -> "Uncaught Error: text (http://host/page/ 12:9)"
_CONSOLE = re.compile(r"^(?P<where>\S+ \d+:\d+) (?P<what>.*)$", re.DOTALL)


def js_errors(entries) -> list[str]:
    """Uncaught errors (thrown, or a rejected promise nobody handled) from the console log."""
    errors = []
    for entry in entries:
        message = str(entry.get("message", ""))
        if entry.get("level") != "SEVERE" or entry.get("source") != "javascript":
            continue
        match = _CONSOLE.match(message)
        errors.append(f"{match['what']} ({match['where']})" if match else message)
    return errors
