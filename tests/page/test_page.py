"""check_cx_page against the demo shop, in a real headless Chromium, as the engine would run it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import MODULES, free_port, need_browser, past_the_start, plugin_env, run_plugin, run_until

pytestmark = pytest.mark.slow(seconds=66)   # its measured time: the longest files start first (conftest)
PERFDATA = ["ttfb", "dcl", "load", "lcp", "cls", "requests", "bytes", "failed_resources", "js_errors",
            "browser_memory", "dialogs"]
S = r"\d+\.\d\d s"                     # a time as the status line says it
SIZE = r"\d+(\.\d)? (B|kB|MB)"
JS_ERROR = "Uncaught Error: cxshop demo: the order tracker failed to start"


@pytest.fixture(scope="module", autouse=True)
def browser_installed():
    need_browser()


def browse(*args, env=None):
    """check_cx_page with -t 20, longer when the browser's start took all of it (a busy machine)."""
    def run(seconds):
        return run_plugin("check_cx_page", *args, "-t", str(seconds), env=env, timeout=90)
    return run_until(past_the_start, run, deadlines=(20, 40))[0]


def page(shop, path, *args, env=None):
    return browse("-u", shop.url + path, *args, env=env)


def test_plain_page_is_ok_with_every_timing_and_the_documented_perfdata(shop):
    result = page(shop, "/catalogue/")
    assert result.code == 0, result.stdout
    assert re.fullmatch(rf"CX PAGE OK - /catalogue/ loaded in {S} \(LCP {S}, TTFB {S}\), \d+ requests, {SIZE}",
                        result.text), result.text
    assert list(result.perfdata) == PERFDATA                   # stable labels, in this order
    perf = result.perfdata
    assert all(perf[name][0].endswith("s") for name in ("ttfb", "dcl", "load", "lcp"))
    assert perf["bytes"][0].endswith("B") and perf["browser_memory"][0].endswith("B")
    assert all(perf[name][0].endswith("c") for name in ("requests", "failed_resources", "js_errors", "dialogs"))
    ttfb, dcl, load = result.value("ttfb"), result.value("dcl"), result.value("load")
    assert 0 < ttfb <= dcl <= load < 20
    assert 0 < result.value("lcp") < 20 and result.value("cls") == 0     # text only: nothing shifts
    assert result.value("requests") >= 2                                # the document and the favicon
    assert result.value("bytes") > 1000
    assert result.value("failed_resources") == 0 and result.value("js_errors") == 0
    # Peak PSS of the browser's processes: a headless Chromium is tens of MB at least, under 2 GB.
    assert 10e6 < result.value("browser_memory") < 2e9
    # Long output: one line per metric, without ranges when none were given.
    assert [line.split(":")[0] for line in result.long_output] == \
        ["ttfb", "dcl", "load", "lcp", "cls", "requests", "bytes", "browser_memory"]
    assert result.stderr == ""


def test_w_and_c_judge_the_load_by_default(shop):
    warned = page(shop, "/catalogue/", "-w", "0.001", "-c", "60")
    assert warned.code == 1, warned.stdout
    assert re.fullmatch(rf"CX PAGE WARNING - /catalogue/ load {S} \(> 0.001\), LCP {S}, TTFB {S}", warned.text)
    assert warned.perfdata["load"][1:3] == ("0.001", "60")
    assert warned.perfdata["lcp"][1:3] == ("", "")
    assert re.fullmatch(rf"load: {S} \(warning 0.001, critical 60\)", warned.long_output[2])
    critical = page(shop, "/catalogue/", "-c", "1ms")                   # durations as everywhere
    assert critical.code == 2 and re.fullmatch(rf"CX PAGE CRITICAL - /catalogue/ load {S} \(> 0.001\), .*",
                                               critical.text)


def test_metric_lcp_moves_w_and_c_to_the_largest_contentful_paint(shop):
    result = page(shop, "/catalogue/", "--metric", "lcp", "-w", "0.001")
    assert result.code == 1, result.stdout
    assert re.fullmatch(rf"CX PAGE WARNING - /catalogue/ LCP {S} \(> 0.001\), load {S}, TTFB {S}", result.text)
    assert result.perfdata["lcp"][1] == "0.001" and result.perfdata["load"][1] == ""
    fine = page(shop, "/catalogue/", "--metric", "lcp", "-w", "30")
    assert fine.code == 0 and re.match(rf"CX PAGE OK - /catalogue/ LCP {S} \(load {S}, TTFB {S}\), ", fine.text)


def test_each_metric_has_its_own_ranges(shop):
    result = page(shop, "/catalogue/", "--critical-requests", "1", "--warning-bytes", "10", "--warning-ttfb", "30")
    assert result.code == 2, result.stdout
    assert re.fullmatch(rf"CX PAGE CRITICAL - /catalogue/ requests \d+ \(> 1\), load {S}, LCP {S}", result.text)
    assert result.perfdata["requests"][1:3] == ("", "1")
    assert result.perfdata["bytes"][1:3] == ("10", "")
    assert result.perfdata["ttfb"][1:3] == ("30", "")
    assert re.fullmatch(rf"WARNING: bytes {SIZE} \(> 10\)", result.long_output[0])
    assert any(re.fullmatch(r"requests: \d+ \(critical 1\)", line) for line in result.long_output)
    cls = page(shop, "/catalogue/", "--warning-cls", "0.1", "--critical-dcl", "30")
    assert cls.code == 0 and cls.perfdata["cls"][1] == "0.1" and cls.perfdata["dcl"][2] == "30"


def test_slow_script_over_the_load_range_is_named(shop):
    result = page(shop, "/catalogue/slow-widget/?ms=1500", "-c", "1", "-v")
    assert result.code == 2, result.stdout
    script = re.escape(f"{shop.url}/3p/widget.js?ms=1500")
    assert re.fullmatch(rf"CX PAGE CRITICAL - /catalogue/slow-widget/ load {S} \(> 1\), LCP {S}, TTFB {S}, "
                        rf"slowest {script} (1\.[5-9]\d|[2-9]\.\d\d) s", result.text), result.text
    assert result.value("load") >= 1.5 and result.value("lcp") < 1.5     # the content was there long before
    assert re.fullmatch(rf"slow: 1\.[5-9]\d s {script}", next(line for line in result.long_output
                                                              if line.startswith("slow: ")))       # -v: slowest first


def test_missing_image_is_listed_and_judged_when_asked(shop):
    url = f"{shop.url}/catalogue/slow-widget/?ms=0"
    seen = browse("-u", url)
    assert seen.code == 0, seen.stdout
    assert re.fullmatch(rf"CX PAGE OK - /catalogue/slow-widget/ loaded in {S} \(LCP {S}, TTFB {S}\), "
                        rf"\d+ requests, {SIZE}, 1 failed resource", seen.text)
    assert seen.value("failed_resources") == 1
    assert f"failed resource: 404 {shop.url}/images/missing-widget.png" in seen.long_output
    judged = browse("-u", url, "--fail-on-resource-errors")
    assert judged.code == 2
    assert judged.text == (f"CX PAGE CRITICAL - /catalogue/slow-widget/: 1 first-party resource failed: "
                           f"404 {shop.url}/images/missing-widget.png")
    everyone = browse("-u", url, "--fail-on-resource-errors=all")
    assert everyone.text == (f"CX PAGE CRITICAL - /catalogue/slow-widget/: 1 resource failed: "
                             f"404 {shop.url}/images/missing-widget.png")


def test_javascript_error_is_critical_when_asked_and_named(shop):
    seen = page(shop, "/js-error/")
    assert seen.code == 0 and seen.text.endswith(", 1 JavaScript error")
    result = page(shop, "/js-error/", "--fail-on-js-errors")
    assert result.code == 2, result.stdout
    assert re.fullmatch(rf"CX PAGE CRITICAL - /js-error/: 1 JavaScript error: {JS_ERROR} "
                        rf"\({re.escape(shop.url)}/js-error/ \d+:\d+\)", result.text), result.text
    assert result.value("js_errors") == 1
    assert any(line.startswith(f"JavaScript error: {JS_ERROR}") for line in result.long_output)


def test_expectations_fail_clearly(shop):
    met = page(shop, "/catalogue/", "--expect-text", "Add to basket", "--expect-selector", "form#add_W-2 button")
    assert met.code == 0, met.stdout
    result = page(shop, "/catalogue/", "--expect-text", "Gadget", "--expect-text", "Free shipping today",
                  "--expect-selector", "li.product", "--expect-selector", "#checkout-now")
    assert result.code == 2
    assert result.text == ("CX PAGE CRITICAL - /catalogue/: text 'Free shipping today' not on the page; "
                           "no element matches '#checkout-now'")
    assert result.value("load") is not None                 # the page loaded: its timings are there
    bad = page(shop, "/catalogue/", "--expect-selector", "li[")
    assert bad.code == 3 and bad.stdout == "CX PAGE UNKNOWN - --expect-selector 'li[': not a valid CSS selector\n"


def test_error_status_and_refused_connection_are_critical(shop):
    error = page(shop, "/fault/status/503")
    assert error.code == 2 and error.text == "CX PAGE CRITICAL - /fault/status/503: the page answered HTTP 503"
    refused = browse("-u", f"http://127.0.0.1:{free_port()}/")
    assert refused.code == 2
    assert refused.text == "CX PAGE CRITICAL - /: cannot load the page: net::ERR_CONNECTION_REFUSED"
    assert refused.perfdata["load"][0] == "U" and refused.perfdata["ttfb"][0] == "U"


def test_tls_user_agent_and_window_reach_the_browser(site, self_signed):
    # The viewport's size, read at the load event: outerWidth/outerHeight are sometimes 0x0 in
    # headless Chromium until the window's bounds reach the renderer; the viewport is set before
    # (its height less the window's frame).
    page_html = ("<!DOCTYPE html><html><head><title>Size</title></head><body><p>Which window?</p><script>"
                 "addEventListener('load', () => fetch('/seen?w=' + innerWidth + '&h=' + innerHeight + '&ow=' + outerWidth + '&oh=' + outerHeight));"
                 "</script></body></html>")
    server = site({"/": (200, {"Content-Type": "text/html; charset=utf-8"}, page_html),
                   "/seen": (204, {}, ""), "/favicon.ico": (204, {}, "")}, certfile=self_signed)
    refused = browse("-u", server.url + "/")
    assert refused.code == 2
    assert refused.text == "CX PAGE CRITICAL - /: cannot load the page: net::ERR_CERT_AUTHORITY_INVALID"
    result = browse("-u", server.url + "/", "--insecure", "--user-agent", "cxcheck-page-test/1",
                    "--window", "800x600", "--expect-text", "Which window?")
    assert result.code == 0, result.stdout
    pages = [r for r in server.requests if r[1] == "/"]
    assert pages and all(r[2]["User-Agent"] == "cxcheck-page-test/1" for r in pages)
    [seen] = [parse_qs(urlsplit(r[1]).query) for r in server.requests if r[1].startswith("/seen")]
    assert seen["w"] == ["800"] and 0 < int(seen["h"][0]) <= 600, seen
    assert (seen["ow"], seen["oh"]) in ((["800"], ["600"]), (["0"], ["0"])), seen


def screenshots(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".png"))


def test_failed_run_saves_a_screenshot_and_rotation_keeps_n(shop, tmp_path):
    ok = page(shop, "/catalogue/", "--screenshot-dir", str(tmp_path))
    assert ok.code == 0 and screenshots(tmp_path) == []                  # only failures leave evidence
    paths = []
    for _ in range(3):
        failed = page(shop, "/catalogue/", "-c", "0.001", "--screenshot-dir", str(tmp_path), "--screenshot-keep", "2")
        assert failed.code == 2, failed.stdout
        (line,) = [line for line in failed.long_output if line.startswith("screenshot: ")]
        paths.append(line.removeprefix("screenshot: "))
    assert all(re.fullmatch(re.escape(str(tmp_path)) + r"/page-127\.0\.0\.1_catalogue-\d{8}T\d{6}-\d+\.png", p)
               for p in paths), paths
    assert screenshots(tmp_path) == sorted(os.path.basename(p) for p in paths[1:])     # the oldest went
    with open(paths[-1], "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(paths[-1]) > 1000


@pytest.mark.parametrize(("args", "message"), [
    (["--screenshot-dir", "/nonexistent/shots"], "--screenshot-dir /nonexistent/shots: no such directory"),
    (["-w", "fast"], "argument -w/--warning: 'fast' is not a range of durations (e.g. 4h, 30m:2h, @1h:2h) "
                     "or of numbers (Nagios range syntax)"),
    (["--critical-requests", "many"], "argument --critical-requests: 'many' is not a Nagios range (e.g. 5, 10:, "
                                      "~:2, @3:7)"),
    (["--window", "1366"], "argument --window: '1366' is not a window size WIDTHxHEIGHT such as 1366x768 "
                           "(each side 100 to 10000 pixels)"),
    (["--window", "20x20"], "argument --window: '20x20' is not a window size WIDTHxHEIGHT such as 1366x768 "
                            "(each side 100 to 10000 pixels)"),
    (["--metric", "fcp"], "argument --metric: invalid choice: 'fcp' (choose from 'ttfb', 'dcl', 'load', 'lcp')"),
    (["-w", "2", "--warning-load", "3"], "-w and --warning-load both set a warning range for load: give one"),
    (["--warning-lcp", "5", "--critical-lcp", "2"], "the critical threshold (--critical-lcp 2) is below the warning one "
                                                    "(--warning-lcp 5): a value over 2 is critical before it ever warns; "
                                                    "did you mean --warning-lcp 2 --critical-lcp 5?"),
    (["--screenshot-keep", "0"], "argument --screenshot-keep: '0' must be at least 1"),
])
def test_bad_options_are_one_line_unknown(shop, args, message):
    result = run_plugin("check_cx_page", "-u", shop.url + "/catalogue/", *args)
    assert (result.code, result.stdout, result.stderr) == (3, f"CX PAGE UNKNOWN - {message}\n", "")


def test_url_is_required_and_must_be_a_web_url():
    missing = run_plugin("check_cx_page")
    assert missing.stdout == "CX PAGE UNKNOWN - give the page to open: -u URL\n" and missing.code == 3
    ftp = run_plugin("check_cx_page", "-u", "ftp://127.0.0.1/")
    assert ftp.code == 3 and "unsupported scheme ftp://" in ftp.stdout and len(ftp.stdout.splitlines()) == 1


def only(directory, name):
    """A PATH directory holding one of the browser's two binaries."""
    directory.mkdir()
    (directory / name).symlink_to(shutil.which(name))
    return str(directory)


def test_missing_chromium_or_chromedriver_is_unknown_with_the_install_hint(shop, tmp_path):
    result = page(shop, "/catalogue/", env={"PATH": only(tmp_path / "driver", "chromedriver")})
    assert (result.code, result.stdout) == (3, "CX PAGE UNKNOWN - Chromium not found (looked for chromium, "
                                               "chromium-browser, google-chrome on PATH and $CXCHECK_CHROMIUM): "
                                               "apt-get install chromium chromium-driver\n")
    result = page(shop, "/catalogue/", env={"PATH": only(tmp_path / "browser", "chromium")})
    assert (result.code, result.stdout) == (3, "CX PAGE UNKNOWN - chromedriver not found (looked for chromedriver "
                                               "on PATH and $CXCHECK_CHROMEDRIVER): apt-get install chromium "
                                               "chromium-driver\n")
    named = page(shop, "/catalogue/", env={"CXCHECK_CHROMEDRIVER": str(tmp_path / "no-such-driver")})
    assert (named.code, named.stdout) == (3, f"CX PAGE UNKNOWN - $CXCHECK_CHROMEDRIVER={tmp_path}/no-such-driver: "
                                             "not an executable file\n")


def imported(*args: str, code: int) -> set[str]:
    """The modules a check_cx_page run imported (-X importtime), as test_import_guard reads them."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", MODULES["check_cx_page"], *args],
                          capture_output=True, text=True, timeout=60, env=plugin_env(), stdin=subprocess.DEVNULL)
    assert proc.returncode == code, proc.stdout
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "cxcheck.runtime" in names, "no -X importtime output: the check would pass blindly"
    return names


def test_imports_only_what_a_page_needs(shop):
    usage_error = imported("--window", "x", code=3)
    assert not [n for n in usage_error if n.split(".")[0] == "selenium" or n.startswith("cxcheck.browser")]
    loaded = imported("-u", shop.url + "/catalogue/", code=0)
    assert "selenium" in loaded and "cxcheck.browser.session" in loaded
    assert not [n for n in loaded if n.split(".")[0] in ("requests", "yaml", "jmespath", "lxml")
                or n.startswith(("cxcheck.journey", "cxcheck.http", "cxcheck.sources"))]
