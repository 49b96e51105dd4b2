"""check_cx_payments and check_cx_revenue against a real, stateful Stripe server: localstripe
(PyPI), on 127.0.0.1, with data created through its API as an integration would. Figures are
checked against hand computations below.

What localstripe does not do (decline codes other than card_declined, disputes, created[gte],
newest-first lists, restricted keys) is covered by tests/test_stripe_api.py against an emulator
of Stripe's documentation. localstripe's own ways, which the plugins meet here: lists oldest
first, `created` filters with one bound only (created[gt]), subscription items with the legacy
`plan` (no `price`), no `discounts` to expand, a trial left `incomplete`, a deleted subscription
`canceled` with `ended_at` and no `canceled_at`, objects created at the time of the request
(a subscription's start can be backdated: backdate_start_date).
"""

from __future__ import annotations

import time

import pytest
from conftest import run_plugin
from localstripe_server import KEY, localstripe_or_skip

ENV = {"STRIPE_KEY": KEY}
DAY = 86400


@pytest.fixture(scope="module")
def shop():
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


def test_failed_share_of_payments_counted_by_hand(shop):
    # 3 declined of 14 attempts (10 charges + 4 subscription invoices) = 21.43 %; refunded 2 of 11.
    run = run_plugin("check_cx_payments", "--stripe", "--token-env", "STRIPE_KEY", "--api-url", shop.url,
                     "--no-disputes", "-w", "20", "-c", "40", env=ENV)
    assert run.code == 1, run.stdout + run.stderr
    assert run.text == ("CX PAYMENTS WARNING - failure rate 21.43% (3 failed of 14 payments) over 1d (> 20%), "
                        "top decline card_declined (3), test mode"), run.text
    assert "top decline card_declined (3)" in run.text and "test mode" in run.text
    assert run.value("failure_rate") == pytest.approx(21.43)
    assert run.value("payments") == 14 and run.value("failed") == 3
    assert run.value("refund_rate") == pytest.approx(100 * 2 / 11, abs=0.01)
    assert run.perfdata["dispute_rate"][0] == "U"
    assert "failed amount: 75.00 EUR (not converted)" in run.long_output
    assert any(line.startswith("test mode: $STRIPE_KEY is a test-mode secret key") for line in run.long_output)
    assert KEY not in run.stdout + run.stderr


def test_mrr_churn_arpu_and_clv_computed_by_hand(shop):
    run = run_plugin("check_cx_revenue", "--stripe", "--token-env", "STRIPE_KEY", "--api-url", shop.url,
                     "-w", "90:", "-c", "50:", env=ENV)
    assert run.code == 0, run.stdout + run.stderr
    assert run.text == ("CX REVENUE OK - MRR 100.00 EUR, 3 customers, ARPU 33.33, revenue churn 21.31% over 30d, "
                        "-1.6% since 30d ago")
    assert run.value("mrr") == 100 and run.value("mrr_previous") == pytest.approx(101.67)
    assert run.value("new_mrr") == 20 and run.value("churned_mrr") == pytest.approx(21.67)
    assert run.value("revenue_churn") == pytest.approx(21.31) and run.value("customer_churn") == 25
    assert run.value("clv") == pytest.approx(133.33) and run.value("customers") == 3
    assert "MRR at the start 101.67 + new 20.00 - churned 21.67 = 100.00 at the end" in run.long_output
    assert "CLV 133.33 EUR = ARPU 33.33 / monthly churn 25.00%" in run.long_output
    assert "left out: 1 never paid (incomplete)" in run.long_output


def test_disputes_are_not_in_localstripe_and_say_so(shop):
    run = run_plugin("check_cx_payments", "--stripe", "--token-env", "STRIPE_KEY", "--api-url", shop.url, env=ENV)
    assert run.code == 3
    assert run.text.startswith("CX PAYMENTS UNKNOWN - Stripe answered HTTP 404 for /v1/disputes"), run.text
