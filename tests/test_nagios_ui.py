"""The cxcheck services in Nagios' own web UI: the private Nagios of test_templates_nagios (the
templates' example host against the demo shop), its CGIs (Debian nagios4-cgi) served by a
private apache2 on 127.0.0.1, the service status page fetched over HTTP and rendered by headless
Chromium (Debian chromium) into a screenshot.

CXCHECK_SCREENSHOT=PATH keeps the screenshot there (docs/nagios-services.png is made so)."""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import tempfile
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, need_binary
from engines import STATES, Apache, chromium_dump_dom, chromium_screenshot, need_cgis
from test_templates_nagios import EXPECTED, HOST, build_site, run_site

pytestmark = pytest.mark.slow(seconds=25)   # its measured time: the longest files start first (conftest)
STATUS_PAGE = "/cgi-bin/nagios4/status.cgi?host=all&limit=0"


@pytest.fixture(scope="module")
def web_ui(shop):
    nagios_binary = need_binary("nagios4", "nagios4-core")
    apache_binary = need_binary("apache2", "apache2")
    need_cgis()
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    # The CGIs run as www-data: the run directory must be readable by it (pytest's tmp is not).
    workdir = Path(tempfile.mkdtemp(prefix="cxcheck-ui-"))
    workdir.chmod(0o755)
    nagios = apache = None
    try:
        nagios, skipped = build_site(workdir, shop.url, DEMO_ACCOUNTS["shopper@example.com"], nagios_binary)
        for path in [nagios.dir, *nagios.dir.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        services = [s for s in EXPECTED if s not in skipped]
        results = run_site(nagios, services)
        apache = Apache(apache_binary, workdir / "apache", free_port(), nagios.cgi_cfg)
        apache.write_config()
        apache.start()
        yield apache, results, workdir
    finally:
        if apache is not None:
            apache.stop()
        if nagios is not None:
            nagios.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def status_rows(page: str) -> dict[str, str]:
    """service description -> state text, from status.cgi's service table."""
    rows = {}
    for match in re.finditer(r"service=([^&'\"]+)[^>]*>([^<]+)</a>.*?class=['\"]status(OK|WARNING|CRITICAL|UNKNOWN|PENDING)['\"]",
                             page, re.S):
        rows.setdefault(html.unescape(match.group(2)), match.group(3))
    return rows


def test_status_page_lists_the_cxcheck_services_with_their_states(web_ui):
    apache, results, workdir = web_ui
    with urllib.request.urlopen(apache.url + STATUS_PAGE, timeout=30) as answer:
        assert answer.status == 200
        page = answer.read().decode("utf-8", "replace")
    assert "Whoops" not in page, page[:2000]
    rows = status_rows(page)
    for service in results:
        state = STATES[int(results[service]["current_state"])]
        assert rows.get(service) == state, f"{service}: page says {rows.get(service)}, Nagios {state}; rows {rows}"
    assert HOST in page


def test_screenshot_of_the_service_status_page(web_ui, tmp_path):
    apache, results, workdir = web_ui
    chromium = need_binary("chromium", "chromium")
    url = apache.url + STATUS_PAGE
    profile = Path(tempfile.mkdtemp(prefix="cxcheck-chromium-"))
    try:
        dom = chromium_dump_dom(chromium, url, profile)
        for service in results:
            assert service in html.unescape(dom), f"{service} not in the rendered page"
        out = tmp_path / "nagios-services.png"
        proc = chromium_screenshot(chromium, url, out, profile, size=(1280, 60 + 40 * (len(results) + 6)))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert out.exists(), proc.stderr[-2000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1280 and height > 200
    assert len(data) < 300_000
    keep = os.environ.get("CXCHECK_SCREENSHOT")
    if keep:
        shutil.copyfile(out, keep)
