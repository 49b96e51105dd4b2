"""localstripe (PyPI), a stateful local Stripe server, started on 127.0.0.1 for a test and stopped
after it. Its own `localstripe` command listens on every interface and keeps its data in
/tmp/localstripe.pickle between runs: this starts its aiohttp application on 127.0.0.1 only, with
an empty store that is never written to disk. Data is created through its API, as an integration
would (`LocalStripe.post`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import requests
from conftest import free_port

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
ENV = {"STRIPE_KEY": KEY}           # how the tests hand the key to a plugin (--token-env STRIPE_KEY)
DAY = 86400
LAUNCH = """
import sys
from aiohttp import web
from localstripe import resources, server
resources.store.dump_to_disk = lambda: None          # nothing kept between runs
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


class LocalStripe:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-c", LAUNCH, str(self.port)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"localstripe did not start: {self.process.stderr.read().decode()[-500:]}")
            try:
                requests.get(self.url + "/v1/customers", auth=(KEY, ""), timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)        # polling a port that is not open yet, bounded by the deadline
        self.stop()
        raise RuntimeError("localstripe did not answer within 30 s")

    def post(self, path: str, **data) -> dict:
        """A POST as Stripe's clients send it (form-encoded); a card error answers 402 with the
        object kept, as Stripe does."""
        answer = requests.post(self.url + path, data=data, auth=(KEY, ""), timeout=10)
        if answer.status_code not in (200, 402):
            raise AssertionError(f"localstripe {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def delete(self, path: str) -> dict:
        return requests.delete(self.url + path, auth=(KEY, ""), timeout=10).json()

    def card(self, number: str = "4242424242424242", customer: str | None = None) -> str:
        method = self.post("/v1/payment_methods", type="card", **{
            "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034", "card[cvc]": "123"})["id"]
        if customer:
            self.post(f"/v1/payment_methods/{method}/attach", customer=customer)
            self.post(f"/v1/customers/{customer}", **{"invoice_settings[default_payment_method]": method})
        return method

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def localstripe_or_skip():
    """localstripe, or a skip with the reason (a failure in CI, where it must be installed)."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("localstripe is not installed (pip install localstripe; it is in the test extra)")
    return LocalStripe()


@contextmanager
def populated():
    """Payments: 7 succeeded (25.00 EUR each; 2 refunded, one in full, one in part) and 3 declined
    (card 4000000000000341: card_declined). Subscriptions (EUR, plans of 20.00 a month, 240.00 a
    year, 5.00 a week):
      c1  3 x 20/month, began 60 days ago                 60        start and end
      c2  240/year, began 90 days ago                     20        start and end
      c3  5/week, began 45 days ago, cancelled now        5 x 52/12 = 21.6667   churned
      c4  20/month, began now                             20        new
      c5  20/month with a 14-day trial                    left out (localstripe leaves it incomplete)
    MRR at the start 101.6667, at the end 100 (= 101.6667 + 20 - 21.6667); revenue churn
    21.6667 / 101.6667 = 21.31 %; 3 paying customers: ARPU 33.33; subscribers 4 (c1 c2 c3 + c4
    new), 1 lost: 25 % over 30 days; CLV 33.33 / 0.25 = 133.33.
    The subscriptions' first invoices are charged too: 4 more successful payments (c1 60.00, c2
    240.00, c3 5.00, c4 20.00)."""
    server = localstripe_or_skip()
    try:
        good, declined = server.card(), server.card("4000000000000341")
        charges = [server.post("/v1/charges", amount=2500, currency="eur", source=good)["id"] for _ in range(7)]
        for _ in range(3):
            server.post("/v1/charges", amount=2500, currency="eur", source=declined)
        server.post("/v1/refunds", charge=charges[0])
        server.post("/v1/refunds", charge=charges[1], amount=1000)
        plans = {name: server.post("/v1/plans", amount=amount, currency="eur", interval=interval,
                                   **{"product[name]": name})["id"]
                 for name, amount, interval in (("monthly", 2000, "month"), ("yearly", 24000, "year"),
                                                ("weekly", 500, "week"))}
        now = int(time.time())

        def subscribe(name, plan, quantity=1, days_ago=None, **extra):
            customer = server.post("/v1/customers", name=name)["id"]
            server.card(customer=customer)
            if days_ago:
                extra["backdate_start_date"] = str(now - days_ago * DAY)
            return server.post("/v1/subscriptions", customer=customer, **{
                "items[0][plan]": plans[plan], "items[0][quantity]": str(quantity)}, **extra)

        subscribe("c1", "monthly", 3, days_ago=60)
        subscribe("c2", "yearly", days_ago=90)
        cancelled = subscribe("c3", "weekly", days_ago=45)
        subscribe("c4", "monthly")
        subscribe("c5", "monthly", trial_period_days="14")
        server.delete(f"/v1/subscriptions/{cancelled['id']}")
        yield server
    finally:
        server.stop()


def check(server, plugin: str, *args):
    """A Stripe plugin run against localstripe with its test key."""
    from conftest import run_plugin

    return run_plugin(plugin, "--stripe", "--token-env", "STRIPE_KEY", "--api-url", server.url, *args, env=ENV)
