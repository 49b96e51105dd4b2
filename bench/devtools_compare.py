"""check_cx_page's load time and LCP beside what Chromium's DevTools protocol reports for the same load.

    python bench/devtools_compare.py                     # 5 loads of /catalogue/slow-widget/?ms=300
    python bench/devtools_compare.py --loads 9 --ms 1000

The plugin's figures come from the exact code path of check_cx_page: cxcheck.browser.session
Browser.open(url) -> PageLoad (the page's Navigation Timing entry and a Largest Contentful Paint
PerformanceObserver, read with JavaScript through chromedriver). The reference comes from a
second DevTools client this script attaches to the same Chromium (chromedriver's own
`debuggerAddress`, on 127.0.0.1) while Browser.open runs, so both see one and the same load:

- a trace (Tracing.start, categories devtools.timeline, loading, blink.user_timing): the main
  frame's `navigationStart`, `domContentLoadedEventEnd` and `loadEventEnd` marks and the last
  `largestContentfulPaint::Candidate` of that navigation (what Lighthouse and the Performance
  panel read), microseconds on the browser's monotonic clock;
- protocol events of the page's target: Network.requestWillBeSent of the document and
  Page.loadEventFired (seconds on the same clock; the load event fires at loadEventStart, so it
  reads a little earlier than loadEventEnd, and the request is sent a little after navigationStart).

Each load is a fresh Browser (a fresh Chromium, as every plugin run starts one). Medians.
Everything runs against the demo shop started in this process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lib  # noqa: E402
from lib import median, table  # noqa: E402

sys.path.insert(0, str(lib.PLUGINS))

TRACE_CATEGORIES = ["devtools.timeline", "loading", "blink.user_timing"]
REPLY_TIMEOUT = 30.0      # seconds for one protocol answer (Tracing.start waits for every process)
TRACE_TIMEOUT = 15.0      # seconds for the trace to arrive after Tracing.end


class DevTools:
    """A second DevTools protocol client on the browser's own debugging port (loopback only):
    a trace of the browser, and the Page and Network events of one page target (flat sessions)."""

    def __init__(self, address: str):
        import websocket

        host, _, port = address.rpartition(":")
        if host not in ("localhost", "127.0.0.1"):
            raise SystemExit(f"refusing a debugger address off loopback: {address}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=REPLY_TIMEOUT) as answer:
            url = json.load(answer)["webSocketDebuggerUrl"].replace("localhost", "127.0.0.1")
        self.ws = websocket.create_connection(url, timeout=REPLY_TIMEOUT, suppress_origin=True)
        self.ws.settimeout(None)        # the reader waits for events as long as the load takes
        self.events: list[dict] = []
        self.replies: dict[int, queue.Queue] = {}
        self.next_id = 0
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True, name="devtools-reader")
        self.reader.start()

    def _read(self):
        import websocket

        while True:
            try:
                message = json.loads(self.ws.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                return
            if "id" in message:
                box = self.replies.get(message["id"])
                if box is not None:
                    box.put(message)
            else:
                with self.lock:
                    self.events.append(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        with self.lock:
            self.next_id += 1
            ident = self.next_id
            self.replies[ident] = box = queue.Queue()
        message = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        try:
            reply = box.get(timeout=REPLY_TIMEOUT)
        except queue.Empty:
            raise RuntimeError(f"DevTools: no answer to {method} in {REPLY_TIMEOUT:.0f} s") from None
        finally:
            self.replies.pop(ident, None)
        if "error" in reply:
            raise RuntimeError(f"DevTools: {method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def watch_page(self) -> str:
        """Attach to the page chromedriver drives; its Page and Network events flow from now on."""
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.send("Page.enable", session)
        self.send("Network.enable", session)
        return session

    def start_trace(self):
        self.send("Tracing.start", transferMode="ReportEvents",
                  traceConfig={"recordMode": "recordUntilFull", "includedCategories": TRACE_CATEGORIES})

    def end_trace(self) -> list[dict]:
        self.send("Tracing.end")
        until = time.monotonic() + TRACE_TIMEOUT
        while time.monotonic() < until:
            with self.lock:
                if any(e.get("method") == "Tracing.tracingComplete" for e in self.events):
                    break
            time.sleep(0.02)
        else:
            raise RuntimeError(f"DevTools: the trace did not complete in {TRACE_TIMEOUT:.0f} s")
        with self.lock:
            return [item for e in self.events if e.get("method") == "Tracing.dataCollected"
                    for item in e["params"]["value"]]

    def page_events(self, method: str) -> list[dict]:
        with self.lock:
            return [e["params"] for e in self.events if e.get("method") == method]

    def close(self):
        try:
            self.ws.close()
        except Exception:       # the browser is being killed anyway
            pass
        self.reader.join(timeout=2)


def from_trace(trace: list[dict], url: str) -> dict:
    """Seconds from the main frame's navigationStart for `url`: dcl, load, lcp (None if absent)."""
    starts = [e for e in trace if e.get("name") == "navigationStart"
              and (e.get("args", {}).get("data") or {}).get("documentLoaderURL") == url
              and (e.get("args", {}).get("data") or {}).get("isLoadingMainFrame")]
    if not starts:
        return {"dcl": None, "load": None, "lcp": None, "navigation_start_us": None}
    start = starts[-1]
    frame, navigation = start["args"]["frame"], start["args"]["data"].get("navigationId")

    # The marks carry the frame, not the navigation: the frame's initial blank document
    # (documentLoaderURL "", its navigationStart traced just before or after this one) marks its
    # own DOMContentLoaded and load after this navigation started, so this document's mark is the
    # last one before the frame's next real navigation.
    later = [e["ts"] for e in trace if e.get("name") == "navigationStart" and e["ts"] > start["ts"]
             and e.get("args", {}).get("frame") == frame
             and (e.get("args", {}).get("data") or {}).get("documentLoaderURL")]
    until = min(later, default=float("inf"))

    def mark(name):
        hits = [e["ts"] for e in trace if e.get("name") == name and e.get("args", {}).get("frame") == frame
                and start["ts"] <= e["ts"] < until]
        return (max(hits) - start["ts"]) / 1e6 if hits else None

    candidates = [e for e in trace if e.get("name") == "largestContentfulPaint::Candidate"
                  and (e.get("args", {}).get("data") or {}).get("navigationId") == navigation]
    lcp = None
    if candidates:
        last = max(candidates, key=lambda e: e["args"]["data"].get("candidateIndex", 0))
        lcp = (last["ts"] - start["ts"]) / 1e6
    return {"dcl": mark("domContentLoadedEventEnd"), "load": mark("loadEventEnd"), "lcp": lcp,
            "navigation_start_us": start["ts"]}


def from_events(tools: DevTools, url: str) -> dict:
    """Page.loadEventFired minus the document's Network.requestWillBeSent, seconds."""
    sent = [e["timestamp"] for e in tools.page_events("Network.requestWillBeSent")
            if e.get("type") == "Document" and e.get("request", {}).get("url") == url]
    fired = tools.page_events("Page.loadEventFired")
    if not sent or not fired:
        return {"load_event": None, "request_sent": None}
    after = [f["timestamp"] for f in fired if f["timestamp"] >= sent[0]]
    return {"load_event": (after[0] - sent[0]) if after else None, "request_sent": sent[0]}


def trace_every_open(sink) -> None:
    """From now on in this process, every Browser.open (whoever calls it: the layer directly or
    a plugin) runs under a second DevTools client; sink(record) gets each load's figures."""
    from cxcheck.browser import session

    original = getattr(session.Browser.open, "untraced", session.Browser.open)

    def traced_open(browser, url, *args, **kwargs):
        tools = DevTools(browser.driver.capabilities["goog:chromeOptions"]["debuggerAddress"])
        try:
            tools.watch_page()
            tools.start_trace()
            started = time.perf_counter()
            page = original(browser, url, *args, **kwargs)
            wall = time.perf_counter() - started
            traced = from_trace(tools.end_trace(), url)
            events = from_events(tools, url)
        finally:
            tools.close()
        if traced["navigation_start_us"] is not None and events["request_sent"] is not None:
            events["request_after_start"] = events["request_sent"] - traced["navigation_start_us"] / 1e6
        sink({"plugin": {k: getattr(page, k) for k in ("load", "lcp", "dcl", "ttfb")}, "wall": wall,
              "trace": traced, "events": events})
        return page

    traced_open.untraced = original
    session.Browser.open = traced_open


def layer_load(url: str, timeout: float) -> dict:
    """One fresh Browser, one Browser.open(url), traced."""
    from cxcheck.browser.session import Browser
    from cxcheck.runtime import Deadline

    records = []
    trace_every_open(records.append)
    with Browser(Deadline(timeout)) as browser:
        browser.open(url)
    return records[-1]


def plugin_load(module: str, argv: list[str], timeout: float) -> dict:
    """One run of a plugin in a child process whose Browser.open is traced: what the layer
    returned to the plugin, what the plugin printed (perfdata), what the trace saw."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as out:
        done = subprocess.run([sys.executable, __file__, "--child", module, out.name, *argv],
                              capture_output=True, text=True, timeout=timeout + 30, stdin=subprocess.DEVNULL)
        records = [json.loads(line) for line in out.read().splitlines() if line.strip()]
    if not records:
        raise SystemExit(f"{module} made no traced page load: {done.stdout.strip() or done.stderr.strip()[-300:]}")
    record = records[0]
    record["status_line"] = done.stdout.splitlines()[0] if done.stdout else ""
    record["perfdata"] = lib.Sample(0, 0, 0, 0, done.returncode, done.stdout, done.stderr).perfdata()
    return record


def child(module: str, out: str, argv: list[str]) -> int:
    """In the child: trace every Browser.open into `out`, then run the plugin's own main."""
    import importlib

    def sink(record):
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    trace_every_open(sink)
    return importlib.import_module(module).main(argv)


def ms(value) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def diff(a, b) -> float | None:
    return None if a is None or b is None else a - b


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1], argv[2], argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--ms", type=int, default=300, help="the slow widget's delay (default 300)")
    parser.add_argument("--timeout", type=float, default=30.0, help="each load's deadline, seconds")
    parser.add_argument("--via", choices=("check_cx_page", "layer"),
                        help="check_cx_page run as a program (default when it exists), or Browser.open called here")
    args = parser.parse_args(argv)
    has_plugin = importlib.util.find_spec("cxcheck.checks.page") is not None
    via = args.via or ("check_cx_page" if has_plugin else "layer")
    if via == "check_cx_page" and not has_plugin:
        parser.error("cxcheck.checks.page is not in this checkout")

    from cxcheck.demo.shop import DemoShop

    loads = []
    with DemoShop() as shop:
        url = f"{shop.url}/catalogue/slow-widget/?ms={args.ms}"
        for _ in range(args.loads):
            if via == "layer":
                loads.append(layer_load(url, args.timeout))
            else:
                loads.append(plugin_load("cxcheck.checks.page", ["-u", url, "-t", f"{args.timeout:g}"], args.timeout))
    printed = via == "check_cx_page"
    columns = [
        ("plugin load ms", lambda r: r["plugin"]["load"]),
        ("trace loadEventEnd ms", lambda r: r["trace"]["load"]),
        ("plugin − trace ms", lambda r: diff(r["plugin"]["load"], r["trace"]["load"])),
        ("Page.loadEventFired ms", lambda r: r["events"]["load_event"]),
        ("plugin LCP ms", lambda r: r["plugin"]["lcp"]),
        ("trace LCP candidate ms", lambda r: r["trace"]["lcp"]),
        ("plugin − trace ms", lambda r: diff(r["plugin"]["lcp"], r["trace"]["lcp"])),
        ("plugin DCL ms", lambda r: r["plugin"]["dcl"]),
        ("trace DCL ms", lambda r: r["trace"]["dcl"]),
        ("Browser.open wall ms", lambda r: r["wall"]),
    ]
    if printed:         # what check_cx_page printed, beside what the layer handed it
        columns[:0] = [("printed load ms", lambda r: r["perfdata"].get("load")),
                       ("printed lcp ms", lambda r: r["perfdata"].get("lcp"))]
    rows = [[str(n)] + [ms(get(r)) for _, get in columns] for n, r in enumerate(loads, 1)]
    pick = lambda get: [v for v in (get(r) for r in loads) if v is not None]
    rows.append(["median"] + [ms(median(pick(get)) if pick(get) else None) for _, get in columns])
    what = ("check_cx_page -u URL (a child process; its Browser.open traced)" if printed else
            "cxcheck.browser.session.Browser.open(URL) -> PageLoad, the layer check_cx_page reads")
    print(f"# The plugin's timings against Chromium's DevTools protocol, {args.loads} loads of "
          f"/catalogue/slow-widget/?ms={args.ms}\n")
    print(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `python bench/devtools_compare.py "
          f"--loads {args.loads} --ms {args.ms} --via {via}`; plugin side: {what}. {os.cpu_count()} CPUs shared "
          f"with other work (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}), "
          f"Python {platform.python_version()}.\n")
    print("\n".join(table(["load"] + [name for name, _ in columns], rows)))
    if printed:
        print(f"\nStatus line of the last run: {loads[-1]['status_line']}")
    gaps = pick(lambda r: r["events"].get("request_after_start"))
    if gaps:
        print(f"\nPage.loadEventFired is timed from the document's Network.requestWillBeSent, which came "
              f"{median(gaps) * 1000:.1f} ms (median) after the trace's navigationStart.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
