"""Selenium (as cxcheck.browser starts it) against Playwright (pointed at Debian's chromium), side by side.

    python bench/bench_browser.py                  # 7 runs; prints the tables (~4 minutes)
    python bench/bench_browser.py --runs 11 --no-kill

Needs Debian's chromium and chromium-driver, selenium (`pip install '.[browser]'`) and, for the
other side, Playwright from PyPI (`pip install playwright`; no `playwright install`: it is
pointed at /usr/bin/chromium with executable_path). Without Playwright its rows are skipped with
a note. Everything talks to servers started in this process on 127.0.0.1 (the demo shop, a probe
page); nothing leaves the machine.

- Start-up: from the library's first call to a blank page ready (Selenium: cxcheck.browser's
  Browser.__enter__, i.e. chromedriver in its own process group, a WebDriver session, the
  vitals script installed; Playwright: sync_playwright().start(), chromium.launch(), new_page()
  and the same vitals script). Import time is measured apart, in fresh interpreters.
- First page load: a fresh browser per page and library; the library's navigation call
  (driver.get / page.goto(wait_until="load")) timed around, beside the page's own loadEventEnd
  (Navigation Timing): the difference is how late the library returns after the load event.
- Memory: PSS summed over every process under this one (the driver: chromedriver or Playwright's
  node; and Chromium's tree), sampled every 0.1 s from /proc/PID/smaps_rollup, peak per run. PSS,
  not RSS: Chromium's processes share most of their pages (the binary, the zygote's copy-on-write
  memory), and RSS counts a shared page once per process: summed RSS overstates the tree by a
  multiple (the RSS sum is printed beside it for that reason).
- Processes: the most seen at once under this one (driver + browser).
Each run starts every (page, library) pair once, alternating which library goes first. Medians
(min-max). The SIGKILL test (one child per library, killed mid-load) and the probe of what each
can read come after the timed runs.
"""

from __future__ import annotations

import argparse
import http.server
import os
import platform
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lib  # noqa: E402
from lib import median, spread, table  # noqa: E402

sys.path.insert(0, str(lib.PLUGINS))

CHROMIUM = "/usr/bin/chromium"
PAGES = ("/catalogue/", "/catalogue/slow-widget/?ms=300")
SAMPLE_PERIOD = 0.1
TIMEOUT = 60.0              # seconds: any single start or load; far beyond what one takes
KILL_WIDGET_MS = 30_000     # the load the SIGKILL test interrupts waits this long for its script
KILL_SETTLE = 2.0           # seconds after the SIGKILL before counting what is still alive
DRIVERS = ("chromedriver", "node")      # process names (comm) start so; Playwright's is node-MainThread
PR_SET_CHILD_SUBREAPER = 36
NAV_JS = """const n = performance.getEntriesByType("navigation")[0] || {};
return {ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd};"""
IMPORTS = {
    "Selenium": "from selenium import webdriver; from selenium.common.exceptions import WebDriverException; "
                "from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection",
    "Playwright": "from playwright.sync_api import sync_playwright",
}


# ---------------------------------------------------------------------------------------------
# Processes and their memory


def process_table() -> dict[int, tuple[int, str, str, int]]:
    """pid -> (parent, state, name, start time in clock ticks), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        name = raw[raw.find(b"(") + 1:raw.rfind(b")")].decode("utf-8", "replace")
        fields = raw[raw.rfind(b")") + 2:].split()
        found[int(entry)] = (int(fields[1]), fields[0].decode(), name, int(fields[19]))
    return found


def tree(root: int, procs: dict | None = None) -> dict[int, tuple[int, str, str, int]]:
    """Every live (not zombie) descendant of `root`."""
    procs = process_table() if procs is None else procs
    children: dict[int, list[int]] = {}
    for pid, (parent, *_rest) in procs.items():
        children.setdefault(parent, []).append(pid)
    found, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if procs[pid][1] != "Z":
            found[pid] = procs[pid]
        todo.extend(children.get(pid, []))
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in kB from /proc/PID/smaps_rollup; (0, 0) once the process is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith(b"Rss:"):
                    rss = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return pss, rss


class Sampler(threading.Thread):
    """Samples this process's descendants every SAMPLE_PERIOD: peak PSS (driver and browser
    apart), peak RSS sum, most processes at once."""

    def __init__(self):
        super().__init__(daemon=True, name="pss-sampler")
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.peak = {"pss": 0, "driver": 0, "browser": 0, "rss": 0, "procs": 0}

    def sample(self):
        pss = {"driver": 0, "browser": 0}
        rss = 0
        members = tree(os.getpid())
        for pid, (_parent, _state, name, _start) in members.items():
            own_pss, own_rss = memory_kb(pid)
            pss["driver" if name.startswith(DRIVERS) else "browser"] += own_pss
            rss += own_rss
        with self.lock:
            peak = self.peak
            if pss["driver"] + pss["browser"] > peak["pss"]:
                peak.update(pss=pss["driver"] + pss["browser"], **pss)
            peak["rss"] = max(peak["rss"], rss)
            peak["procs"] = max(peak["procs"], len(members))

    def run(self):
        while not self.stopping.wait(SAMPLE_PERIOD):
            self.sample()

    def take(self) -> dict:
        self.sample()
        with self.lock:
            return dict(self.peak)


def end_leftovers(before: set[str]) -> tuple[list[str], list[str]]:
    """After a library's own stop: SIGKILL whatever still runs under this process, reap it,
    remove what appeared in TMPDIR since `before`; both returned for the report (nothing, when
    the library cleaned up after itself)."""
    until = time.monotonic() + 2.0           # a library's stop may return just before its driver exits
    while tree(os.getpid()) and time.monotonic() < until:
        reap_once()
        time.sleep(0.05)
    running = [name for _pid, (_p, _s, name, _t) in tree(os.getpid()).items()]
    for pid in tree(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    reap()
    left = profile_dirs() - before
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
    return running, sorted(left)


def reap_once() -> bool:
    """Collect the exit statuses of dead descendants re-parented here (this bench is a
    subreaper); False when there is nothing more to collect now."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def reap():
    until = time.monotonic() + 2.0
    while reap_once() and tree(os.getpid()) and time.monotonic() < until:
        time.sleep(0.02)


def profile_dirs() -> set[str]:
    """What is in the bench's private TMPDIR: profiles and whatever else the browsers wrote."""
    tmp = tempfile.gettempdir()
    return {os.path.join(tmp, n) for n in os.listdir(tmp)}


def private_tmpdir() -> str:
    """A TMPDIR of this bench's own, inherited by every browser it starts: what they leave is
    counted there, and no other run's profile sweep (cxcheck.browser.launch.sweep, run by any
    cxcheck browser check starting on this machine) ends a browser the SIGKILL test counts."""
    path = tempfile.mkdtemp(prefix="cxb-")      # short: the layer keeps Chromium's socket under it
    os.environ["TMPDIR"] = path
    tempfile.tempdir = path
    return path


# ---------------------------------------------------------------------------------------------
# The two libraries, driven the same way


class SeleniumSide:
    name = "Selenium"

    def start(self):
        from cxcheck.browser.session import Browser
        from cxcheck.runtime import Deadline

        self.browser = Browser(Deadline(TIMEOUT))
        self.browser.__enter__()

    def load(self, url: str):
        self.browser.driver.get(url)

    def nav(self) -> dict:
        return self.browser.driver.execute_script(NAV_JS)

    def stop(self):
        self.browser.__exit__(None, None, None)


class PlaywrightSide:
    name = "Playwright"

    def start(self):
        from playwright.sync_api import sync_playwright

        from cxcheck.browser.session import FLAGS
        from cxcheck.browser.timings import VITALS_JS

        self.driver = sync_playwright().start()
        try:
            args = [f for f in FLAGS if not f.startswith("--headless")] + ["--no-sandbox"]
            self.browser = self.driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args,
                                                       timeout=TIMEOUT * 1000)
            self.page = self.browser.new_page(viewport={"width": 1366, "height": 768})
            self.page.add_init_script(VITALS_JS)
        except BaseException:
            self.driver.stop()
            raise

    def load(self, url: str):
        self.page.goto(url, wait_until="load", timeout=TIMEOUT * 1000)

    def nav(self) -> dict:
        return self.page.evaluate(f"() => {{{NAV_JS}}}")

    def stop(self):
        try:
            self.browser.close()
        finally:
            self.driver.stop()


def playwright_version() -> str | None:
    try:
        return version("playwright")
    except PackageNotFoundError:
        return None


def measure(side, url: str, sampler: Sampler) -> dict:
    """One fresh browser: start, one page load, stop."""
    sampler.reset()
    started = time.perf_counter()
    side.start()
    ready = time.perf_counter()
    try:
        side.load(url)
        loaded = time.perf_counter()
        nav = side.nav()
        peak = sampler.take()
    finally:
        stopping = time.perf_counter()
        side.stop()
    stopped = time.perf_counter()
    return {"start": ready - started, "call": loaded - ready, "load": nav["load"] / 1000,
            "stop": stopped - stopping, **peak}


def import_times(names: list[str], rounds: int) -> dict[str, list[float]]:
    """Seconds to import each library as its side does, each in a fresh interpreter, alternating."""
    times = {name: [] for name in names}
    for number in range(rounds):
        for name in (names if number % 2 == 0 else names[::-1]):
            code = f"import time; t = time.perf_counter(); {IMPORTS[name]}; print(time.perf_counter() - t)"
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
            times[name].append(float(out.stdout.strip()))
    return times


# ---------------------------------------------------------------------------------------------
# What each can read: a probe page with one of everything


class ProbeHandler(http.server.BaseHTTPRequestHandler):
    """/probe/: text (LCP), a banner a late script pushes in (a layout shift), an image that is
    404, one on a closed port (a network error), an uncaught error."""

    closed_port = 0

    def do_GET(self):
        if self.path == "/probe/":
            body = f"""<!doctype html><html><head><title>probe</title></head><body>
<h1>Probe</h1><p>{"Text that is the largest paint on this page. " * 20}</p>
<img src="/missing.png" width="20" height="20" alt="404">
<img src="http://127.0.0.1:{self.closed_port}/gone.png" width="20" height="20" alt="refused">
<script src="/late.js"></script>
<script>throw new Error("bench probe: uncaught");</script>
</body></html>""".encode()
            self._answer(200, body, "text/html; charset=utf-8")
        elif self.path == "/late.js":
            time.sleep(0.2)     # parser-blocking: the text above is painted before the banner moves it
            js = b"const b = document.createElement('div'); b.style.height = '150px'; b.textContent = 'banner'; document.body.prepend(b);"
            self._answer(200, js, "text/javascript")
        elif self.path == "/favicon.ico":
            self._answer(204, b"", "image/x-icon")
        else:
            self._answer(404, b"not found", "text/plain")

    def _answer(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ProbeSite:
    def __enter__(self):
        with socket.socket() as probe:      # a port nobody listens on: connection refused
            probe.bind(("127.0.0.1", 0))
            ProbeHandler.closed_port = probe.getsockname()[1]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ProbeHandler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/probe/"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def yes(ok, value: str) -> str:
    return f"yes ({value})" if ok else f"NO ({value})"


def probe_selenium(url: str) -> dict[str, str]:
    """Through cxcheck.browser, the way check_cx_page reads a page."""
    from cxcheck.browser.session import Browser
    from cxcheck.runtime import Deadline

    with Browser(Deadline(TIMEOUT)) as browser:
        page = browser.open(url)
        png = browser.screenshot_png()
    failed = {f.url.rsplit("/", 1)[-1]: f for f in page.network.failed}
    missing, gone = failed.get("missing.png"), failed.get("gone.png")
    return {
        "navigation timing": yes(page.load is not None, f"load {page.load and page.load * 1000:.0f} ms"),
        "LCP": yes(page.lcp is not None, f"{page.lcp and page.lcp * 1000:.0f} ms"),
        "CLS": yes(bool(page.cls), f"{page.cls}"),
        "response status per resource": yes(missing is not None and missing.status == 404,
                                            f"{missing.status if missing else '-'} /missing.png; "
                                            f"{page.network.requests} requests"),
        "network errors per resource": yes(gone is not None and bool(gone.error), gone.error if gone else "-"),
        "uncaught JS errors": yes(any("bench probe" in e for e in page.js_errors),
                                  page.js_errors[0][:40] if page.js_errors else "-"),
        "screenshot": yes(bool(png), f"{len(png or b'')} bytes PNG"),
    }


def probe_playwright(url: str) -> dict[str, str]:
    """Playwright's own ways: events for requests and errors, evaluate() for the timings."""
    from cxcheck.browser.timings import READ_JS

    side = PlaywrightSide()
    side.start()
    statuses, failures, errors = {}, {}, []
    try:
        page = side.page
        page.on("response", lambda r: statuses.__setitem__(r.url.rsplit("/", 1)[-1], r.status))
        page.on("requestfailed", lambda r: failures.__setitem__(r.url.rsplit("/", 1)[-1], r.failure))
        page.on("pageerror", lambda e: errors.append(str(e)))
        side.load(url)
        # READ_JS is Selenium's async-script form (callback last): give it one.
        values = page.evaluate(f"() => new Promise((done) => {{ const args = [true, done]; "
                               f"(function () {{ {READ_JS} }}).apply(null, args); }})")
        png = page.screenshot()
    finally:
        side.stop()
    return {
        "navigation timing": yes(values.get("load") is not None, f"load {values.get('load') or 0:.0f} ms"),
        "LCP": yes(values.get("lcp") is not None, f"{values.get('lcp') or 0:.0f} ms"),
        "CLS": yes(bool(values.get("cls")), f"{round(values.get('cls') or 0, 4)}"),
        "response status per resource": yes(statuses.get("missing.png") == 404,
                                            f"{statuses.get('missing.png', '-')} /missing.png; "
                                            f"{len(statuses)} responses"),
        "network errors per resource": yes(bool(failures.get("gone.png")), failures.get("gone.png") or "-"),
        "uncaught JS errors": yes(any("bench probe" in e for e in errors), errors[0][:40] if errors else "-"),
        "screenshot": yes(bool(png), f"{len(png or b'')} bytes PNG"),
    }


HOW = {
    "navigation timing": ("JS Performance API (Navigation Timing) via execute_async_script",
                          "JS Performance API via page.evaluate"),
    "LCP": ("PerformanceObserver installed with CDP Page.addScriptToEvaluateOnNewDocument (executeCdpCommand)",
            "the same observer via page.add_init_script"),
    "CLS": ("the same PerformanceObserver (layout-shift)", "the same observer via page.add_init_script"),
    "response status per resource": ("CDP Network.responseReceived from chromedriver's performance log "
                                     "(goog:loggingPrefs, getLog)", "event API: page.on('response')"),
    "network errors per resource": ("CDP Network.loadingFailed, same log", "event API: page.on('requestfailed')"),
    "uncaught JS errors": ("chromedriver's browser (console) log, SEVERE javascript entries",
                           "event API: page.on('pageerror') (CDP Runtime.exceptionThrown)"),
    "screenshot": ("WebDriver screenshot command (CDP Page.captureScreenshot inside chromedriver)",
                   "page.screenshot() (CDP Page.captureScreenshot)"),
}


# ---------------------------------------------------------------------------------------------
# SIGKILL mid-load: what each leaves behind


def child(side_name: str, url: str) -> int:
    """In a child process: start a browser, say so, load a page that takes long; never returns
    before the bench kills it."""
    side = SeleniumSide() if side_name == "Selenium" else PlaywrightSide()
    side.start()
    print("loading", flush=True)
    side.load(url)
    print("loaded (too early: the bench should have killed this)", flush=True)
    side.stop()
    return 1


def kill_mid_load(side_name: str, shop) -> dict:
    before_dirs = profile_dirs()
    proc = subprocess.Popen([sys.executable, __file__, "--child", side_name,
                             f"{shop.url}/catalogue/slow-widget/?ms={KILL_WIDGET_MS}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    shop.clear_requests()
    doomed: dict = {}
    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        if not ready or proc.stdout.readline().strip() != b"loading":
            raise RuntimeError(f"{side_name} child did not start its load")
        # Mid-load: the document and its 404 image served, the widget script still held back.
        until = time.monotonic() + TIMEOUT
        while not {"/catalogue/slow-widget/", "/images/missing-widget.png"} <= \
                {r["path"] for r in shop.stats["requests"]}:
            if time.monotonic() > until:
                raise RuntimeError(f"{side_name} child's page never reached the shop")
            time.sleep(0.05)
        doomed = tree(proc.pid)
        proc.kill()
        proc.wait(timeout=10)
        time.sleep(KILL_SETTLE)      # the measured interval, not a synchronisation
        now = process_table()
        alive = {pid: info for pid, info in doomed.items()
                 if pid in now and now[pid][3] == info[3] and now[pid][1] != "Z"}
        result = {"before": len(doomed), "alive": alive, "dirs": profile_dirs() - before_dirs}
        if side_name == "Selenium":     # the next plugin run's start sweeps what a killed run left
            subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "from cxcheck.browser.session import Browser; from cxcheck.runtime import Deadline\n"
                            "with Browser(Deadline(60)): pass", str(lib.PLUGINS)],
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL, capture_output=True)
            now = process_table()
            result["after_next"] = {pid for pid, info in alive.items() if pid in now and now[pid][3] == info[3]
                                    and now[pid][1] != "Z"}
            result["dirs_after_next"] = profile_dirs() - before_dirs
        return result
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        now = process_table()          # what the test left (here or re-parented elsewhere): ours to end
        for pid in set(tree(os.getpid(), now)) | {p for p, info in doomed.items()
                                                  if p in now and now[p][3] == info[3]}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reap()
        for path in profile_dirs() - before_dirs:
            shutil.rmtree(path, ignore_errors=True)


def entries(paths) -> str:
    """Temporary entries by kind: names less their random or numeric tails."""
    kinds: dict[str, int] = {}
    for path in paths:
        kind = re.sub(r"[-.][^-.]*$", "-*" if "-" in os.path.basename(path) else ".*", os.path.basename(path))
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"


def describe_kill(result: dict) -> str:
    names: dict[str, int] = {}
    for _parent, _state, name, _start in result["alive"].values():
        names[name] = names.get(name, 0) + 1
    alive = ", ".join(f"{n} {name}" for name, n in sorted(names.items())) or "none"
    text = (f"{len(result['alive'])} of {result['before']} processes alive after {KILL_SETTLE:.0f} s ({alive}); "
            f"left in TMPDIR: {entries(result['dirs'])}")
    if "after_next" in result:
        text += (f"; after the next run's start (its sweep): {len(result['after_next'])} alive, "
                 f"left in TMPDIR: {entries(result['dirs_after_next'])}")
    return text


# ---------------------------------------------------------------------------------------------


def versions() -> str:
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    driver = subprocess.run(["chromedriver", "--version"], capture_output=True, text=True).stdout.split(" (")[0]
    return (f"{chromium}; {driver}; selenium {version('selenium')}; playwright {playwright_version() or 'not installed'}"
            f"; Python {platform.python_version()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL test")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)

    import ctypes

    # Orphans of a killed child come back to this process (and are reaped), not to PID 1.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    tmp = private_tmpdir()
    try:
        return bench(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench(args) -> int:
    from run import machine

    from cxcheck.demo.shop import DemoShop

    sides = [SeleniumSide()]
    if playwright_version():
        sides.append(PlaywrightSide())
    else:
        print("NOTE: Playwright is not installed (pip install playwright): its rows are skipped.\n")
    names = [side.name for side in sides]
    print(f"# Selenium against Playwright on Debian's Chromium ({args.runs} runs, alternating)\n")
    print(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python bench/bench_browser.py "
          f"--runs {args.runs}`.\n")
    print(machine()[0] + " — 2 CPUs shared with other agents' work: medians (min-max) of runs interleaved.")
    print(f"- {versions()}\n")

    before_dirs = profile_dirs()
    sampler = Sampler()
    sampler.start()
    samples = {(side.name, page): [] for side in sides for page in PAGES}
    leftovers = {name: ([], []) for name in names}      # processes, TMPDIR entries
    try:
        with DemoShop() as shop:
            for number in range(args.runs):
                for index, page in enumerate(PAGES):
                    order = sides if (number + index) % 2 == 0 else sides[::-1]
                    for side in order:
                        samples[(side.name, page)].append(measure(side, shop.url + page, sampler))
                        running, left = end_leftovers(before_dirs)
                        leftovers[side.name][0].extend(running)
                        leftovers[side.name][1].extend(left)
                print(f"run {number + 1}/{args.runs} done", file=sys.stderr)
            kills = {} if args.no_kill else {name: kill_mid_load(name, shop) for name in names}
            with ProbeSite() as probe:
                probes = {"Selenium": probe_selenium(probe.url)}
                if "Playwright" in names:
                    probes["Playwright"] = probe_playwright(probe.url)
            end_leftovers(before_dirs)
    finally:
        sampler.stopping.set()
        sampler.join(timeout=2)
    imports = import_times(names, args.runs)

    rows = []
    for page in PAGES:
        for name in names:
            s = samples[(name, page)]
            col = lambda key, scale=1000.0, digits=0, s=s: spread([x[key] for x in s], scale, digits)
            lag = [x["call"] - x["load"] for x in s]
            rows.append([name, page, col("start"), col("call"), col("load"), spread(lag, 1000, 0), col("stop"),
                         col("pss", 1 / 1024, 0), col("driver", 1 / 1024, 0), col("browser", 1 / 1024, 0),
                         col("rss", 1 / 1024, 0), col("procs", 1, 0)])
    print("\n".join(table(["library", "page", "start-up ms", "load call ms", "page's loadEventEnd ms",
                           "call − load event ms", "stop ms", "peak PSS MB", "of which driver", "browser",
                           "peak RSS sum MB", "processes"], rows)))
    if "Playwright" in names:
        both = lambda key, name: median([x[key] for p in PAGES for x in samples[(name, p)]])
        ratio = lambda key: both(key, "Playwright") / both(key, "Selenium")
        print(f"\nPlaywright ÷ Selenium, medians over both pages: start-up {ratio('start'):.2f}×, "
              f"load call {ratio('call'):.2f}×, peak PSS {ratio('pss'):.2f}×, processes {ratio('procs'):.2f}×.")
    print("\nImport in a fresh interpreter (what every plugin run pays before starting anything), ms: " +
          "; ".join(f"{name} {spread(imports[name], 1000, 0)}" for name in names))
    starts = len(PAGES) * args.runs
    for name, (running, left) in leftovers.items():
        print(f"\n{name}, left after its own stop, over {starts} browsers: running (killed by the bench): "
              f"{', '.join(running) or 'nothing'}; in TMPDIR (removed by the bench): {entries(left)}")

    print("\n## What each can read (a probe page: a 404 image, a refused connection, a layout shift, an uncaught error)\n")
    metrics = list(HOW)
    headers = ["metric"] + [f"{name}: read here?" for name in names] + [f"{name}: how" for name in names]
    print("\n".join(table(headers, [[m] + [probes[n][m] for n in names] + [HOW[m][names.index(n)] for n in names]
                                    for m in metrics])))
    if kills:
        print(f"\n## SIGKILL of the driving Python process mid-load (/catalogue/slow-widget/?ms={KILL_WIDGET_MS})\n")
        for name, result in kills.items():
            print(f"- {name}: {describe_kill(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
