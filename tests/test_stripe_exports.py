"""check_cx_payments and check_cx_revenue reading Stripe's exports: the Dashboard's payments export
(CSV, its column names by default), charge and subscription objects as the API documents them one
a line (https://docs.stripe.com/api/charges/object, /api/subscriptions/object, /api/disputes/object),
and a subscriptions CSV. Figures by hand in each test."""

from __future__ import annotations

import json

import pytest
from conftest import run_plugin
from emulators import epoch
from stripe_api import charge, dispute
from test_stripe_api import SUBSCRIPTIONS

NOW = "2026-11-01T00:00:00Z"
END = int(epoch(NOW))

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


def test_subscription_objects_one_a_line(tmp_path):
    """The same subscriptions as tests/test_stripe_api.py's hand computation: MRR 206.40 EUR."""
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


SUCCEEDED = 'sum(increase(shop_payments_total{outcome="succeeded"}[${window}]))'
FAILED = 'sum(increase(shop_payments_total{outcome="failed"}[${window}])) or vector(0)'
REFUNDED = 'sum(increase(shop_refunds_total[${window}])) or vector(0)'


def test_payment_counters_in_prometheus(site):
    """Counters of the shop's own attempts, through Prometheus' instant queries (the API
    https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries). The last hour:
    470.6 succeeded (increase() extrapolates: 471), 29.2 failed (29): 29 / 500 = 5.8 %; a week
    before 490 and 10: 2 %; refunded 3 of 471: 0.64 %."""
    from test_conversion import prometheus_api, windowed

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
