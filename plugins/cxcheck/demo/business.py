"""The demo's business side: customers walking the demo shop's checkout funnel (some leave after
the basket, some at payment, the rest order), a private Prometheus (Debian package `prometheus`,
when installed) scraping the shop's own /metrics every second, and the bundled churn sample.

check_cx_conversion then reads the funnel from Prometheus as it would in production: baskets
started, payment pages shown and orders confirmed, from the shop's cxshop_requests_total counter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

# (customers, the last step they take) of the scenario shop-checkout-html.yaml
CUSTOMERS = ((3, "add_to_basket"), (3, "payment"), (6, "place_order"))
# increase() would extrapolate the demo's few seconds of samples to the window's edges (+20 %):
# the counter now less the counter a window ago counts exactly (no restarts in a demo).
SERIES = 'cxshop_requests_total{{method="{method}",path="{path}"}}'
COUNTER = f"(sum({SERIES}) or vector(0)) - (sum({SERIES} offset ${{{{window}}}}) or vector(0))"
QUERIES = {"entered": COUNTER.format(method="POST", path="/basket/add/"),
           "payment": COUNTER.format(method="GET", path="/checkout/payment/"),
           "converted": COUNTER.format(method="GET", path="/checkout/thank-you/")}
SEEN = 'sum(cxshop_requests_total{method="GET",path="/checkout/thank-you/"})'
CONFIG = """global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: cxshop
    static_configs: [{{targets: ["{target}"]}}]
"""


def churn_sample() -> Path:
    return Path(__file__).resolve().parent / "data" / "churn_sample.csv"


class DemoPrometheus:
    """A Prometheus of its own on a free loopback port, storage in a temporary directory."""

    def __init__(self, shop_url: str):
        self.binary = shutil.which("prometheus") or next(
            (p for p in ("/usr/bin/prometheus", "/usr/sbin/prometheus") if Path(p).exists()), None)
        self.shop_url, self.port, self.proc, self.workdir = shop_url, _free_port(), None, None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> DemoPrometheus:
        self.workdir = tempfile.TemporaryDirectory(prefix="cxcheck-demo-prometheus-")
        work = Path(self.workdir.name)
        (work / "prometheus.yml").write_text(CONFIG.format(target=self.shop_url.split("//", 1)[1]))
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=work,
            env={"PATH": "/usr/bin:/bin"})
        self.wait(lambda: self.value("up") == 1, timeout, "Prometheus scraping the shop")
        return self

    def value(self, promql: str) -> float | None:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                result = json.load(answer)["data"]["result"]
        except (OSError, ValueError, KeyError):
            return None
        return float(result[0]["value"][1]) if result else None

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Prometheus exited with {self.proc.returncode}")
            if condition():
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.workdir is not None:
            self.workdir.cleanup()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def walk_the_funnel(url: str, scenario_file: Path, account: str, password: str) -> int:
    """The customers of CUSTOMERS through the HTML checkout; the number who ordered."""
    from cxcheck.journey.runner import Journey
    from cxcheck.journey.scenario import load
    from cxcheck.runtime import Deadline, HttpOptions

    scenario = load(str(scenario_file))
    names = [step.name for step in scenario.steps]
    ordered = 0
    for customers, last in CUSTOMERS:
        partial = _with_steps(scenario, scenario.steps[:names.index(last) + 1])
        for _ in range(customers):
            result = Journey(partial, HttpOptions(), Deadline(30), overrides={"base_url": url, "email": account},
                             secret_overrides={"password": password}).run()
            ordered += bool(result.ok and last == "place_order")
    return ordered


def _with_steps(scenario, steps):
    from copy import copy

    partial = copy(scenario)
    partial.steps = list(steps)
    return partial


def conversion_args(prometheus_url: str) -> list[str]:
    return ["--prometheus", prometheus_url, "--entered-query", QUERIES["entered"], "--step-query",
            f"payment={QUERIES['payment']}", "--converted-query", QUERIES["converted"], "--window", "10m",
            "-w", "30:", "-c", "10:", "--max-drop", "30", "--significant"]


def churn_args() -> list[str]:
    return ["--events-csv", str(churn_sample()), "--now", "2026-11-01T00:00:00Z", "--window", "30d", "-w", "5",
            "-c", "8", "--max-rise", "50", "--significant", "--currency", "EUR"]
