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

import pytest
import requests
from conftest import free_port

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
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
