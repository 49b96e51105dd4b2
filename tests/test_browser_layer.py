"""The browser layer's own parts, without a browser: what the DevTools log says, what the console
says, screenshots' rotation, and the sweep of what a killed run left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from cxcheck.browser import ending, launch, screenshots
from cxcheck.browser.timings import Failed, NetworkLog, PageLoad, js_errors
from cxcheck.runtime import ConfigError


def event(method, **params):
    return {"message": json.dumps({"message": {"method": method, "params": params}})}


def test_network_log_counts_requests_bytes_failures_and_pending():
    log = NetworkLog()
    log.feed([
        event("Network.requestWillBeSent", requestId="1", request={"url": "http://shop.test/"}),
        event("Network.responseReceived", requestId="1", response={"status": 200}),
        event("Network.loadingFinished", requestId="1", encodedDataLength=1000),
        event("Network.requestWillBeSent", requestId="2", request={"url": "http://shop.test/a.png"}),
        event("Network.responseReceived", requestId="2", response={"status": 404}),
        event("Network.loadingFinished", requestId="2", encodedDataLength=200),
        event("Network.requestWillBeSent", requestId="3", request={"url": "http://cdn.test/x.js"}),
        event("Network.loadingFailed", requestId="3", errorText="net::ERR_NAME_NOT_RESOLVED"),
        event("Network.requestWillBeSent", requestId="4", request={"url": "http://cdn.test/slow.js"}),
        event("Network.loadingFailed", requestId="4", errorText="net::ERR_ABORTED", canceled=True),
        event("Network.requestWillBeSent", requestId="5", request={"url": "data:image/png;base64,AA"}),
        event("Network.requestWillBeSent", requestId="6", request={"url": "chrome://new-tab-page/"}),
        {"message": "not json"},
    ])
    network = log.take("http://shop.test/")
    assert (network.requests, network.bytes) == (4, 1200)
    assert network.failed == [Failed("http://shop.test/a.png", 404, None, True),
                              Failed("http://cdn.test/x.js", None, "net::ERR_NAME_NOT_RESOLVED", False)]
    assert network.pending == ["http://cdn.test/slow.js"]
    assert log.take("http://shop.test/").requests == 0          # taken once


def test_a_redirect_counts_each_hop_with_its_status():
    log = NetworkLog()
    log.feed([
        event("Network.requestWillBeSent", requestId="1", request={"url": "http://shop.test/old"}, type="Document"),
        event("Network.requestWillBeSent", requestId="1", request={"url": "http://shop.test/new"},
              redirectResponse={"status": 301}, type="Document"),
        event("Network.requestWillBeSent", requestId="2", request={"url": "http://shop.test/a.css"}, type="Stylesheet"),
        event("Network.responseReceived", requestId="2", response={"status": 203}),
        event("Network.responseReceived", requestId="1", response={"status": 200}),
        event("Network.loadingFinished", requestId="1", encodedDataLength=10),
    ])
    network = log.take("http://shop.test/new")
    assert (network.requests, network.failed, network.pending) == (3, [], ["http://shop.test/a.css"])
    assert (log.status_of("http://shop.test/new"), log.status_of("http://shop.test/old")) == (200, 301)
    # A URL the log never saw (the page's own, rewritten by history.pushState): the last document's.
    assert log.status_of("http://shop.test/new#details") == 200


def test_uncaught_errors_from_the_console_log_and_nothing_else():
    entries = [
        {"level": "SEVERE", "source": "javascript",
         "message": "http://shop.test/js-error/ 11:8 Uncaught Error: tracker failed"},
        {"level": "SEVERE", "source": "network", "message": "http://shop.test/a.png - Failed to load resource"},
        {"level": "INFO", "source": "console-api", "message": "hello"},
    ]
    assert js_errors(entries) == ["Uncaught Error: tracker failed (http://shop.test/js-error/ 11:8)"]


def test_page_load_from_milliseconds_to_seconds():
    page = PageLoad.read({"url": "http://shop.test/", "status": 200, "ttfb": 12.34567, "dcl": 80, "load": None,
                          "lcp": 99.5, "cls": 0.123456})
    assert (page.ttfb, page.dcl, page.load, page.lcp, page.cls) == (0.0123, 0.08, None, 0.0995, 0.1235)


def test_screenshots_rotate_to_the_newest(tmp_path):
    paths = [screenshots.save(str(tmp_path), "cx_page", b"\x89PNG" + bytes([n]), keep=3) for n in range(5)]
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == 3 and all(name.startswith("cx_page-") and name.endswith(".png") for name in kept)
    assert os.path.basename(paths[-1]) in kept and not any(name.endswith(".part") for name in kept)
    assert oct(os.stat(paths[-1]).st_mode & 0o777) == "0o640"


def test_screenshot_directory_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="no such directory"):
        screenshots.check_directory(str(tmp_path / "nope"))


def test_missing_chromedriver_names_the_packages(monkeypatch):
    monkeypatch.setenv("CXCHECK_CHROMEDRIVER", "/nonexistent/chromedriver")
    with pytest.raises(ConfigError, match="not an executable file"):
        launch.find(launch.CHROMEDRIVER, "CXCHECK_CHROMEDRIVER", "chromedriver")
    monkeypatch.delenv("CXCHECK_CHROMEDRIVER")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError, match="apt-get install chromium chromium-driver"):
        launch.find(launch.CHROMEDRIVER, "CXCHECK_CHROMEDRIVER", "chromedriver")


def test_sweep_ends_what_a_dead_run_left_and_spares_a_live_one(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{ending.PROFILE_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{ending.PROFILE_PREFIX}{os.getpid()}-def"
    stale.mkdir(), live.mkdir()
    # An "orphaned browser": a process in a group of its own that carries the run's home in its
    # environment, as every process the run's chromedriver starts does.
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True,
                              env={**os.environ, ending.MARK.decode(): str(stale)})
    try:
        for _ in range(500):            # the sweep finds it by its environment: wait for the exec
            with open(f"/proc/{orphan.pid}/environ", "rb") as handle:
                if str(stale).encode() in handle.read():
                    break
            time.sleep(0.01)
        ending.sweep(str(tmp_path))
        assert orphan.wait(timeout=10) == -9
        assert not stale.exists() and live.exists()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait(timeout=10)


@pytest.mark.parametrize("started_ago, page_load", [(0.0, 8.5), (7.0, 1.5), (2.0, 6.5)])
def test_a_page_load_leaves_the_reserve_of_t_however_long_the_browser_took_to_start(started_ago, page_load):
    """-t 10 keeps 1.5 s from the load for reading what it got and saying it: a share of -t, not
    of what is left (a browser that took 7 s to start on a loaded poller reads no faster)."""
    from cxcheck.browser.session import Browser
    from cxcheck.runtime import Deadline

    browser = Browser.__new__(Browser)          # bound() alone: no browser
    browser.deadline = Deadline(10, start=time.monotonic() - started_ago)
    sent = []
    browser._call = lambda command, params=None: sent.append((command, params))
    browser.bound(reserve=True)
    [(command, params)] = sent
    assert command == "setTimeouts" and params["pageLoad"] == params["script"]
    assert page_load * 1000 - 50 <= params["pageLoad"] <= page_load * 1000
