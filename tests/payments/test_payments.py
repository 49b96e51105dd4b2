"""check_cx_payments: against a local server that answers as Stripe documents its API
(tests/stripe_api.py cites the pages: authentication, pagination, charges, disputes, account,
errors, decline codes, rate limits https://docs.stripe.com/rate-limits), against a real stateful
Stripe server (localstripe, on 127.0.0.1), from Stripe's exports (the Dashboard's payments CSV,
charge objects one a line: https://docs.stripe.com/api/charges/object, /api/disputes/object) and
from Prometheus counters. Figures by hand in each test.

What localstripe cannot show is tested against the emulator: decline codes besides card_declined,
disputes, created[gt|gte|lt|lte] (the window's bounds sent), newest-first pages, Stripe's error
objects, restricted and live keys, 429, a cursor that repeats, an answer not of the documented shape.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_plugin
from emulators import epoch
from localstripe_server import KEY as LOCALSTRIPE_KEY
from localstripe_server import check as localstripe_check
from prometheus_api import prometheus_api, windowed
from stripe_api import KEY, NOW, StripeApi, charge, check, dispute, error

END = int(epoch(NOW))
HOUR, DAY = 3600, 86400
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



# Stripe's exports and Prometheus

PAYMENTS_CSV = """id,Description,Created date (UTC),Amount,Amount Refunded,Currency,Status,Decline Reason,Dispute Date (UTC)
ch_1,Order,2026-10-31 23:00:00,25.00,0.00,eur,Paid,,
ch_2,Order,2026-10-31 22:00:00,40.00,40.00,eur,Refunded,,
ch_3,Order,2026-10-31 21:00:00,25.00,10.00,eur,Partially refunded,,
ch_4,Order,2026-10-31 20:00:00,19.90,0.00,eur,Failed,insufficient_funds,
ch_5,Order,2026-10-31 19:00:00,100.00,0.00,usd,Failed,do_not_honor,
ch_6,Order,2026-10-31 18:00:00,12.00,0.00,eur,Blocked,highest_risk_level,
ch_7,Order,2026-10-31 17:00:00,25.00,0.00,eur,Pending,,
ch_8,Order,2026-10-31 16:00:00,25.00,0.00,eur,Paid,,2026-10-31 20:30:00
ch_9,Order,2026-10-31 15:00:00,25.00,0.00,eur,Canceled,,
ch_10,Order,2026-10-24 12:00:00,25.00,0.00,eur,Paid,,
ch_11,Order,2026-10-24 13:00:00,25.00,0.00,eur,Failed,expired_card,
"""


def test_the_dashboards_payments_export_by_hand(tmp_path):
    # The last day: 4 paid (2 refunded), 3 failed (one blocked by Radar), 1 pending, 1 cancelled (not an
    # outcome: rejected); 1 dispute dated in the day. Failure 3 / 7 = 42.86 %; refunds 2 / 4 = 50 %;
    # disputes 1 / 4 = 25 %; a week before: 1 / 2 = 50 %. Rejected 1 of 11 rows: 9.1 % > 5 %: UNKNOWN.
    export = tmp_path / "payments.csv"
    export.write_text(PAYMENTS_CSV)
    run = run_plugin("check_cx_payments", "--payments-csv", str(export), "--now", NOW, "-w", "20", "-c", "50")
    assert run.code == 3
    assert run.text.startswith("CX PAYMENTS UNKNOWN - 1 of 11 rows rejected (9.1% > 5%): the failure rate would lie; "
                               "1 a status that is not a payment's outcome, such as 'Canceled'"), run.text
    run = run_plugin("check_cx_payments", "--payments-csv", str(export), "--now", NOW, "-w", "20", "-c", "50",
                     "--max-rejected", "10")
    assert run.code == 1, run.stdout
    assert run.text.startswith("CX PAYMENTS WARNING - failure rate 42.86% (3 failed of 7 payments, 1 pending) over 1d"
                               " (> 20%)"), run.text
    assert run.value("refund_rate") == 50 and run.value("dispute_rate") == 25
    assert run.value("failure_rate_previous") == 50
    assert "declines: insufficient_funds 1, do_not_honor 1, highest_risk_level 1" in run.long_output
    assert "failed amount: 31.90 EUR, 100.00 USD (not converted)" in run.long_output


def test_charge_objects_one_a_line(tmp_path):
    # 3 charges of the day (1 failed: insufficient_funds), one of the week before, one dispute of the day.
    lines = [charge(1, END - 60), charge(2, END - 120, refunded=500),
             charge(3, END - 180, "failed", reason="insufficient_funds"), charge(4, END - 7 * 86400 - 60),
             dispute(1, END - 30, "ch_00000001")]
    export = tmp_path / "charges.jsonl"
    export.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    run = run_plugin("check_cx_payments", "--payments-jsonl", str(export), "--now", NOW)
    assert run.code == 0, run.stdout
    assert run.text.startswith("CX PAYMENTS OK - failure rate 33.33% (1 failed of 3 payments) over 1d"), run.text
    assert run.value("refund_rate") == 50 and run.value("dispute_rate") == 50
    assert run.value("failure_rate_previous") == 0


SUCCEEDED = 'sum(increase(shop_payments_total{outcome="succeeded"}[${window}]))'
FAILED = 'sum(increase(shop_payments_total{outcome="failed"}[${window}])) or vector(0)'
REFUNDED = 'sum(increase(shop_refunds_total[${window}])) or vector(0)'


def test_payment_counters_in_prometheus(site):
    """Counters of the shop's own attempts, through Prometheus' instant queries (the API
    https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries). The last hour:
    470.6 succeeded (increase() extrapolates: 471), 29.2 failed (29): 29 / 500 = 5.8 %; a week
    before 490 and 10: 2 %; refunded 3 of 471: 0.64 %."""
    now, before = float(END), float(END - 7 * 86400)
    values = {(windowed(SUCCEEDED, "1h"), now): 470.6, (windowed(FAILED, "1h"), now): 29.2,
              (windowed(REFUNDED, "1h"), now): 3, (windowed(SUCCEEDED, "1h"), before): 490,
              (windowed(FAILED, "1h"), before): 10, (windowed(REFUNDED, "1h"), before): 0}
    api = prometheus_api(site, values)
    run = run_plugin("check_cx_payments", "--prometheus", api.url, "--succeeded-query", SUCCEEDED, "--failed-query",
                     FAILED, "--refunded-query", REFUNDED, "--window", "1h", "--now", NOW, "-w", "5", "-c", "10")
    assert run.code == 1, run.stdout
    assert run.text == ("CX PAYMENTS WARNING - failure rate 5.8% (29 failed of 500 payments) over 1h (> 5%), "
                        "2% 7d earlier"), run.text
    assert run.value("refund_rate") == 0.64 and run.perfdata["dispute_rate"][0] == "U"
    run = run_plugin("check_cx_payments", "--prometheus", api.url, "--succeeded-query", "shop_payments_total",
                     "--failed-query", FAILED, "--now", NOW)
    assert run.code == 3 and "every query needs ${window}" in run.text


# A real, stateful Stripe server (localstripe, conftest's fixture): tests/localstripe_server.populated's data.


def test_failed_share_of_payments_counted_by_hand(localstripe):
    # 3 declined of 14 attempts (10 charges + 4 subscription invoices) = 21.43 %; refunded 2 of 11.
    run = localstripe_check(localstripe, "check_cx_payments", "--no-disputes", "-w", "20", "-c", "40")
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
    assert LOCALSTRIPE_KEY not in run.stdout + run.stderr


def test_disputes_are_not_in_localstripe_and_say_so(localstripe):
    run = localstripe_check(localstripe, "check_cx_payments")
    assert run.code == 3
    assert run.text.startswith("CX PAYMENTS UNKNOWN - Stripe answered HTTP 404 for /v1/disputes"), run.text
