"""The demo's business side: customers walking the demo shop's checkout funnel (some leave after
the basket, some at payment, the rest order), a private Prometheus (demo/prometheus.py, when the
Debian package `prometheus` is installed) scraping the shop's own /metrics every second, and the
bundled churn sample.

check_cx_conversion then reads the funnel from Prometheus as it would in production: baskets
started, payment pages shown and orders confirmed, from the shop's cxshop_requests_total counter.
"""

from __future__ import annotations

from pathlib import Path

from cxcheck.demo.prometheus import PrivatePrometheus

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


def churn_sample() -> Path:
    return Path(__file__).resolve().parent / "data" / "churn_sample.csv"


def stripe_sample(name: str) -> Path:
    """payments_sample.csv or subscriptions_sample.csv, as Stripe's Dashboard exports them."""
    return Path(__file__).resolve().parent / "data" / name


class DemoPrometheus(PrivatePrometheus):
    """The demo's Prometheus: scraping the shop, started once it has scraped it."""

    def __init__(self, shop_url: str):
        super().__init__([shop_url.split("//", 1)[1]])

    def start(self, timeout: float = 30.0) -> DemoPrometheus:
        super().start(timeout)
        try:
            self.wait(lambda: self.value("up") == 1, timeout, "Prometheus scraping the shop")
        except BaseException:
            self.stop()
            raise
        return self


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


def payments_args() -> list[str]:
    return ["--payments-csv", str(stripe_sample("payments_sample.csv")), "--now", "2026-11-01T00:00:00Z",
            "--window", "1d", "-w", "5", "-c", "10", "--max-rise", "50", "--significant", "--min-volume", "50"]


def revenue_args() -> list[str]:
    return ["--subscriptions-csv", str(stripe_sample("subscriptions_sample.csv")), "--now", "2026-11-01T00:00:00Z",
            "--currency", "eur", "-w", "12000:", "-c", "10000:", "--max-drop", "5", "--warning-revenue-churn", "3"]
