"""check_cx_revenue: recurring revenue as Stripe's billing analytics define it (MRR, churn,
ARPU, CLV), against a local server that answers as Stripe documents its API (tests/stripe_api.py:
subscriptions, account), against a real stateful Stripe server (localstripe, on 127.0.0.1), and
from exports (subscription objects one a line: https://docs.stripe.com/api/subscriptions/object;
a subscriptions CSV). Figures by hand in each test; the maths alone: test_revenue_maths.py."""

from __future__ import annotations

import json

import pytest
from conftest import run_plugin
from emulators import epoch
from localstripe_server import check as localstripe_check
from stripe_api import NOW, StripeApi, check

END = int(epoch(NOW))
DAY = 86400


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


# Stripe's exports

def test_subscription_objects_one_a_line(tmp_path):
    """The same subscriptions as the hand computation above: MRR 206.40 EUR."""
    export = tmp_path / "subscriptions.jsonl"
    export.write_text("\n".join(json.dumps(sub) for sub in SUBSCRIPTIONS) + "\n")
    run = run_plugin("check_cx_revenue", "--subscriptions-jsonl", str(export), "--now", NOW)
    assert run.code == 3
    assert run.text == ("CX REVENUE UNKNOWN - " + str(export) + " holds subscriptions in several currencies: say "
                        "which is the account's with --currency")
    run = run_plugin("check_cx_revenue", "--subscriptions-jsonl", str(export), "--now", NOW, "--currency", "EUR")
    assert run.text.startswith("CX REVENUE OK - MRR 206.40 EUR, 3 customers, ARPU 68.80, revenue churn 28.58%"), run.text


SUBSCRIPTIONS_CSV = """id,Customer ID,Status,Start Date (UTC),Trial End (UTC),Canceled At (UTC),Ended At (UTC),Plan Amount,Plan Interval,Plan Interval Count,Quantity,Currency
sub_1,cus_1,active,2026-05-01 00:00:00,,,,49.00,month,1,2,eur
sub_2,cus_2,active,2026-01-01 00:00:00,,,,600.00,year,1,1,eur
sub_3,cus_3,canceled,2026-06-01 00:00:00,,2026-10-20 00:00:00,2026-10-20 00:00:00,30.00,month,3,1,eur
sub_4,cus_4,active,2026-10-10 00:00:00,,,,20.00,week,1,1,eur
sub_5,cus_5,trialing,2026-10-28 00:00:00,2026-11-11 00:00:00,,,49.00,month,1,1,eur
sub_6,cus_6,active,2026-03-01 00:00:00,,,,oops,month,1,1,eur
"""


def test_a_subscriptions_csv_by_hand(tmp_path):
    # Start (2 Oct): 98 + 50 + 10 (30 every 3 months) = 158; end: 98 + 50 + 86.67 (20 x 52/12) = 234.67;
    # churned 10 (6.33 %); 3 customers: ARPU 78.22; one row unreadable (an amount 'oops').
    export = tmp_path / "subscriptions.csv"
    export.write_text(SUBSCRIPTIONS_CSV)
    run = run_plugin("check_cx_revenue", "--subscriptions-csv", str(export), "--now", NOW, "--max-rejected", "20")
    assert run.code == 0, run.stdout
    assert run.text == ("CX REVENUE OK - MRR 234.67 EUR, 3 customers, ARPU 78.22, revenue churn 6.33% over 30d, "
                        "+48.5% since 30d ago"), run.text
    assert run.value("rejected") == 1 and run.value("new_mrr") == pytest.approx(86.67)
    assert "left out: 1 in trial" in run.long_output


# A real, stateful Stripe server (localstripe, conftest's fixture): tests/localstripe_server.populated's data.


def test_mrr_churn_arpu_and_clv_computed_by_hand(localstripe):
    run = localstripe_check(localstripe, "check_cx_revenue", "-w", "90:", "-c", "50:")
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


