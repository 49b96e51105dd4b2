"""check_cx_payments and check_cx_revenue against a local server that answers as Stripe documents
its API (tests/stripe_api.py cites the pages: authentication, pagination, charges, disputes,
subscriptions, account, errors, decline codes, rate limits https://docs.stripe.com/rate-limits).
What localstripe cannot show is tested here: decline codes besides card_declined, disputes,
created[gt|gte|lt|lte] (the window's bounds sent), newest-first pages, Stripe's error objects,
restricted and live keys, 429, a cursor that repeats, an answer not of the documented shape.
"""

from __future__ import annotations

import pytest
from conftest import run_plugin
from emulators import epoch
from stripe_api import KEY, StripeApi, charge, dispute, error

NOW = "2026-11-01T00:00:00Z"
END = int(epoch(NOW))
HOUR, DAY = 3600, 86400
ENV = {"STRIPE_KEY": KEY}
REASONS = ["insufficient_funds"] * 10 + ["do_not_honor"] * 6 + ["expired_card"] * 4 + ["generic_decline"] * 2 \
    + ["highest_risk_level"] * 2


def payments():
    """The last day: 120 succeeded (6 refunded, 2 of them in part), 24 failed, 6 pending; 3 disputes.
    The same day a week before: 100 succeeded, 4 failed. 10 charges three days ago and 5 after
    --now are in neither window.
      failure rate 24 / 144 = 16.67 %; a week before 4 / 104 = 3.85 %: a rise of 333 %
      refund rate 6 / 120 = 5 %; dispute rate 3 / 120 = 2.5 %; failed amount 24 x 25.00 = 600.00 EUR"""
    made, number = [], 0

    def add(when, **kwargs):
        nonlocal number
        number += 1
        made.append(charge(number, when, **kwargs))
        return made[-1]["id"]

    for i in range(120):
        add(END - 600 * i - 30, refunded=2500 if i < 4 else 1000 if i < 6 else 0)
    for i, reason in enumerate(REASONS):
        add(END - 3000 * i - 100, status="failed", reason=reason)
    for i in range(6):
        add(END - 7000 * i - 200, status="pending")
    week = END - 7 * DAY
    for i in range(100):
        add(week - 800 * i - 10)
    for i in range(4):
        add(week - 9000 * i - 20, status="failed", reason="insufficient_funds")
    for i in range(10):
        add(END - 3 * DAY - HOUR * i)
    for i in range(5):
        add(END + HOUR * (i + 1), status="failed", reason="fraudulent")
    disputes = [dispute(1, END - HOUR, made[0]["id"]), dispute(2, END - 5 * HOUR, made[1]["id"]),
                dispute(3, END - 20 * HOUR, made[2]["id"]), dispute(4, END - 3 * DAY, made[3]["id"])]
    return made, disputes


@pytest.fixture
def stripe():
    charges, disputes = payments()
    with StripeApi(charges=charges, disputes=disputes) as api:
        yield api


def check(api, *args, plugin="check_cx_payments", env=ENV):
    return run_plugin(plugin, "--stripe", "--token-env", "STRIPE_KEY", "--api-url", api.url, "--now", NOW, *args,
                      env=env)


def test_failure_rate_declines_refunds_and_disputes_by_hand(stripe):
    run = check(stripe, "-w", "10", "-c", "20", "--max-rise", "50", "--significant")
    assert run.code == 1, run.stdout + run.stderr
    assert run.text.startswith("CX PAYMENTS WARNING - failure rate 16.67% (24 failed of 144 payments, 6 pending) "
                               "over 1d"), run.text
    assert "rose 333% from 3.85% 7d earlier (> 50%), significantly" in run.text
    assert "top decline insufficient_funds (10)" in run.text
    assert run.value("failure_rate") == pytest.approx(16.67) and run.value("failure_rate_previous") == 3.85
    assert (run.value("payments"), run.value("failed")) == (144, 24)
    assert run.value("refund_rate") == 5 and run.value("dispute_rate") == 2.5
    assert ("declines: insufficient_funds 10, do_not_honor 6, expired_card 4, generic_decline 2, "
            "highest_risk_level 2") in run.long_output
    assert "failed amount: 600.00 EUR (not converted)" in run.long_output
    assert "refunded since: 6 of 120 successful payments (5%)" in run.long_output
    assert "disputes received in the window: 3, 2.5% of the successful payments" in run.long_output
    # The live restricted key: no warning. The emulator's order is newest first: each object placed by created.
    assert not any(line.startswith("warning") for line in run.long_output)


def test_the_window_is_asked_for_and_paged(stripe):
    run = check(stripe, "--no-compare")
    assert run.code == 0, run.stdout
    listed = [query for method, path, query, auth in stripe.requests if path == "/v1/charges"]
    assert listed[0] == {"created[gt]": str(END - DAY), "created[lte]": str(END), "limit": "100"}
    # 150 charges of the day (newest first): two pages, the second after the first's last id.
    assert len(listed) == 2 and listed[1]["starting_after"].startswith("ch_")
    assert all(auth == "Basic " + __import__("base64").b64encode(f"{KEY}:".encode()).decode()
               for _, _, _, auth in stripe.requests)


def test_a_refused_key_is_named_and_masked(stripe):
    import base64

    wrong = "rk_live_" + "Z" * 24
    for verbosity in ([], ["-vvv"]):
        run = check(stripe, *verbosity, env={"STRIPE_KEY": wrong})
        assert run.code == 3
        assert run.text.startswith("CX PAYMENTS UNKNOWN - Stripe rejected the restricted key ($STRIPE_KEY) (401)"), \
            run.text
        # The emulator's refusal quotes the Authorization header it got: masked too.
        for secret in (wrong, base64.b64encode(f"{wrong}:".encode()).decode()):
            assert secret not in run.stdout + run.stderr


def test_a_slow_stripe_stops_at_the_deadline(stripe):
    stripe.delay = 0.5
    run = check(stripe, "-t", "2")
    assert run.code == 2, run.stdout
    assert run.text.startswith("CX PAYMENTS CRITICAL - timed out after 2 s while reading Stripe "), run.text


def test_stripe_error_objects_are_read(stripe):
    stripe.script = [error(401, "invalid_request_error", "Invalid API Key provided: rk_live_****read")]
    run = check(stripe)
    assert run.text == ("CX PAYMENTS UNKNOWN - Stripe rejected the restricted key ($STRIPE_KEY) (401): "
                        "invalid_request_error: Invalid API Key provided: rk_live_****read")


def test_a_restricted_key_without_disputes(stripe):
    stripe.script = [(200, {}, {"object": "list", "url": "/v1/charges", "has_more": False, "data": []}),
                     error(403, "invalid_request_error", "The provided key 'rk_live_****read' does not have the "
                           "required permissions for this endpoint on account 'acct_1Cx'.")]
    run = check(stripe, "--no-compare")
    assert run.code == 3
    assert run.text.startswith("CX PAYMENTS UNKNOWN - Stripe refused the restricted key ($STRIPE_KEY) for "
                               "/v1/disputes (403)"), run.text
    assert run.text.endswith("a restricted key needs read access to Charges and Disputes")
    assert check(stripe, "--no-compare", "--no-disputes").perfdata["dispute_rate"][0] == "U"


def test_rate_limited_then_served_inside_the_deadline(stripe):
    stripe.script = [(429, {"Retry-After": "0.3"}, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                                                              "message": "Too many requests"}})]
    run = check(stripe, "--no-compare")
    assert run.code == 0, run.stdout
    stripe.requests.clear()
    stripe.script = [(429, {"Retry-After": "30"}, {"error": {"code": "rate_limit"}})]
    run = check(stripe, "--no-compare", "-t", "5")
    assert run.code == 3
    assert "rate limited (429), Retry-After 30 s exceeds" in run.text
    assert "25 in test mode" in run.text


def test_a_cursor_that_repeats_stops(stripe):
    stripe.repeat_cursor = True
    run = check(stripe, "--no-compare")
    assert run.code == 3
    assert "the next-page cursor repeats (ch_" in run.text, run.text


def test_an_answer_not_of_the_documented_shape_names_the_key(stripe):
    stripe.drop = "has_more"
    run = check(stripe, "--no-compare")
    assert run.code == 3
    assert run.text == ("CX PAYMENTS UNKNOWN - Stripe answered /v1/charges page 1 without 'has_more' (no such key, "
                        "not a boolean): not the documented shape")
    stripe.drop = None
    stripe.rename = ("status", "state")
    run = check(stripe, "--no-compare")
    assert run.code == 3 and "without 'status' in any of its 100 charges" in run.text, run.text


def test_keys_said_for_what_they_are():
    charges, _ = payments()
    live_secret = "sk_live_" + "S" * 24
    with StripeApi(key=live_secret, charges=charges) as api:
        run = check(api, "--no-compare", "--no-disputes", env={"STRIPE_KEY": live_secret})
        assert run.code == 0
        assert ("warning: $STRIPE_KEY is the live secret key, which can move money; a restricted key (rk_live_) "
                "with read access to Charges and Disputes would do") in run.long_output
        assert "test mode" not in run.text
    test_key = "rk_test_" + "T" * 24
    with StripeApi(key=test_key, charges=charges) as api:
        run = check(api, "--no-compare", "--no-disputes", env={"STRIPE_KEY": test_key})
        assert run.text.endswith(", test mode"), run.text
        assert any(line.startswith("warning: 150 objects of live mode read with a test-mode key")
                   for line in run.long_output), run.long_output
    run = check(StripeApi(), env={"STRIPE_KEY": "pk_live_" + "P" * 24})
    assert run.code == 3 and "publishable key (pk_), which reads nothing" in run.text


def subscription(number, customer, amount, interval="month", days=-100, status="active", currency="eur", quantity=1,
                 trial_end=None, canceled=None, ended=None, coupon=None, metered=False, count=1):
    at = (lambda offset: None if offset is None else END + int(offset * DAY))
    discount = None if coupon is None else {"id": f"di_{number}", "object": "discount", "coupon": coupon}
    price = {"id": f"price_{number}", "object": "price", "unit_amount": amount, "unit_amount_decimal": str(amount),
             "currency": currency, "billing_scheme": "per_unit", "type": "recurring",
             "recurring": {"interval": interval, "interval_count": count,
                           "usage_type": "metered" if metered else "licensed"}}
    return {"id": f"sub_{number:04d}", "object": "subscription", "customer": customer, "currency": currency,
            "status": status, "created": at(days), "start_date": at(days), "trial_end": at(trial_end),
            "canceled_at": at(canceled), "cancel_at_period_end": status != "canceled" and canceled is not None,
            "ended_at": at(ended), "livemode": True, "discount": discount,
            "discounts": [discount["id"]] if discount else [],
            "items": {"object": "list", "has_more": False, "data": [
                {"id": f"si_{number}", "object": "subscription_item", "quantity": quantity, "price": price}]}}


# Hand computation (EUR unless said; the window is the 30 days before NOW):
#   c1  2 x 49.00 a month, 20 % off forever                    78.40      start and end
#   c2  1,188.00 a year                                         99.00      start and end
#   c3  12.00 a week, cancelled 12 days ago                     52.00      churned
#   c4  29.00 a month, trial ended 10 days ago                  29.00      new
#   c5  29.00 a month in trial                                  left out
#   c6  a trial cancelled during the trial                      neither churn nor new
#   c7  19.00 a month, 50 % off once (MRR unaffected), set to cancel at the period's end 2 days ago:
#       Stripe's analytics take it off MRR at the request       19.00      churned
#   c8  15.00 USD a month                                       other currency
#   c9  metered                                                 left out
# MRR at the start 78.40 + 99 + 52 + 19 = 248.40; at the end 78.40 + 99 + 29 = 206.40
# (248.40 + 29 - 71); revenue churn 71 / 248.40 = 28.58 %; ARPU 206.40 / 3 = 68.80; drop 16.9 %.
# Subscribers: c1 c2 c3 c7 c8 at the start + c4 = 6, lost c3 and c7: 33.33 %; CLV 68.80 / 0.3333 = 206.40.
SUBSCRIPTIONS = [
    subscription(1, "cus_1", 4900, quantity=2, coupon={"id": "TWENTY", "percent_off": 20, "duration": "forever"}),
    subscription(2, "cus_2", 118800, "year", days=-200),
    subscription(3, "cus_3", 1200, "week", days=-60, status="canceled", canceled=-12, ended=-12),
    subscription(4, "cus_4", 2900, days=-24, trial_end=-10),
    subscription(5, "cus_5", 2900, days=-3, status="trialing", trial_end=11),
    subscription(6, "cus_6", 2900, days=-20, status="canceled", trial_end=-6, canceled=-8, ended=-8),
    subscription(7, "cus_7", 1900, days=-45, canceled=-2,
                 coupon={"id": "HALF", "percent_off": 50, "duration": "once"}),
    subscription(8, "cus_8", 1500, days=-70, currency="usd"),
    subscription(9, "cus_9", 0, metered=True),
]


def test_revenue_figures_by_hand():
    with StripeApi(subscriptions=SUBSCRIPTIONS) as api:
        run = check(api, "-w", "200:", "--max-drop", "10", "--warning-revenue-churn", "25", plugin="check_cx_revenue")
        assert run.code == 1, run.stdout + run.stderr
        assert run.text == ("CX REVENUE WARNING - MRR 206.40 EUR, 3 customers, ARPU 68.80, revenue churn 28.58% "
                            "over 30d, -16.9% since 30d ago: MRR fell 16.9% in 30d (> 10%); revenue_churn > 25")
        assert run.value("mrr_previous") == 248.4 and run.value("new_mrr") == 29 and run.value("churned_mrr") == 71
        assert run.value("customer_churn") == pytest.approx(33.33) and run.value("clv") == pytest.approx(206.4)
        assert "MRR in other currencies, not converted: 15.00 USD (1 customer)" in run.long_output
        assert "left out: 1 in trial, 1 metered prices only" in run.long_output
        assert "subscribers: 2 lost of 6 (paying at the start or new in the window): 33.33% over 30d" in run.long_output
        assert [query for _, path, query, _ in api.requests if path == "/v1/subscriptions"][0]["status"] == "all"
        # Several currencies and no --currency: the account's default currency, read once.
        assert "/v1/account" in api.paths()


def test_a_cancellation_at_period_end_kept_until_the_end():
    with StripeApi(subscriptions=SUBSCRIPTIONS) as api:
        run = check(api, "--churn-at", "end", "--currency", "eur", plugin="check_cx_revenue")
        assert run.value("mrr") == pytest.approx(225.4) and run.value("churned_mrr") == 52
        assert "/v1/account" not in api.paths()
