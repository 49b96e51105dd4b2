"""MRR, ARPU, revenue churn and CLV (plugins/cxcheck/revenue.py) against figures computed by hand,
following Stripe's billing analytics definitions (https://docs.stripe.com/billing/subscriptions/analytics/glossary,
https://support.stripe.com/questions/billing-analytics, .../calculating-subscriber-churn-rate-in-billing,
.../calculating-subscriber-lifetime-value-in-billing)."""

from __future__ import annotations

import pytest

from cxcheck.revenue import Discount, Item, Revenue, Subscription, main_unit, per_month

DAY = 86400.0
UNTIL = 1_790_000_000.0
SINCE = UNTIL - 30 * DAY


def sub(name, customer, amount, interval="month", count=1, quantity=1, start=-100, status="active", currency="eur",
        trial_end=None, canceled=None, ended=None, discounts=(), metered=False):
    at = (lambda days: None if days is None else UNTIL + days * DAY)
    return Subscription(name, customer, currency, status, at(start), [Item(amount, interval, count, quantity, metered)],
                        trial_end=at(trial_end), canceled_at=at(canceled), ended_at=at(ended), discounts=discounts)


# Hand computation (EUR, the window is the 30 days before UNTIL):
#   A c1   2 x 50 a month                         100        start and end
#   B c2   1200 a year, 25 % off forever          1200/12 x 0.75 = 75     start and end
#   C c3   10 a week, cancelled 10 days ago       10 x 52/12 = 43.3333    start: churned
#   D c4   30 a month, trial ended 20 days ago    30         new
#   E c5   trialing                               left out
#   F c6   a trial cancelled before it ended      never counted: neither churn nor new
#   G c1   40 a month, set to cancel at period end 3 days ago: off MRR at the request (Stripe)
#   H c7   15 USD a month                         USD book
#   I c8   metered only; J c9 free                left out
#   K c10  60 a month, started 10 days ago, 100 % off once (does not lower MRR)    new
#   L c11  90 every 3 months                      30
#   M c12  25 a month, past due                   25         start and end
#   N c13  1 a day, cancelled yesterday           365/12 = 30.4167   start: churned
#   O c14  10 a month, 2 off forever              8
# MRR at the start: 100 + 75 + 43.3333 + 40 + 30 + 25 + 30.4167 + 8 = 351.75
# MRR at the end:   100 + 75 + 30 + 60 + 30 + 25 + 8 = 328 = 351.75 + 90 (new) - 113.75 (churned)
# Revenue churn: 113.75 / 351.75 = 32.338 %; ARPU: 328 / 7 customers = 46.857
# Subscribers: 8 paying at the start (c1 c2 c3 c7 c11 c12 c13 c14) + 2 who began inside (c4 c10)
# = 10; lost: c3, c13 (c1 still pays A) = 2: churn 20 % over 30 days; CLV = 46.857 / 0.2 = 234.29
SUBSCRIPTIONS = [
    sub("A", "c1", 50.0, quantity=2),
    sub("B", "c2", 1200.0, "year", start=-200, discounts=[Discount(percent=25, forever=True)]),
    sub("C", "c3", 10.0, "week", start=-60, status="canceled", canceled=-10, ended=-10),
    sub("D", "c4", 30.0, start=-50, trial_end=-20),
    sub("E", "c5", 99.0, start=-5, trial_end=9, status="trialing"),
    sub("F", "c6", 20.0, start=-15, trial_end=5, status="canceled", canceled=-2, ended=-2),
    sub("G", "c1", 40.0, start=-40, canceled=-3),
    sub("H", "c7", 15.0, start=-90, currency="usd"),
    sub("I", "c8", 5.0, metered=True),
    sub("J", "c9", 0.0),
    sub("K", "c10", 60.0, start=-10, discounts=[Discount(percent=100, forever=False)]),
    sub("L", "c11", 90.0, "month", count=3, start=-365),
    sub("M", "c12", 25.0, start=-80, status="past_due"),
    sub("N", "c13", 1.0, "day", start=-45, status="canceled", canceled=-1, ended=-1),
    sub("O", "c14", 10.0, start=-70, discounts=[Discount(amount=2.0, forever=True)]),
]


def test_normalising_to_a_month():
    assert per_month(1200, "year") == pytest.approx(100)
    assert per_month(10, "week") == pytest.approx(43.3333, abs=1e-4)
    assert per_month(1, "day") == pytest.approx(30.4167, abs=1e-4)
    assert per_month(90, "month", 3) == pytest.approx(30)
    assert per_month(600, "year", 2) == pytest.approx(25)


def test_money_in_the_main_unit():
    assert main_unit(1999, "eur") == pytest.approx(19.99)
    assert main_unit(500, "JPY") == 500
    assert main_unit(1500, "kwd") == pytest.approx(1.5)


def test_the_window_computed_by_hand():
    revenue = Revenue(SUBSCRIPTIONS, SINCE, UNTIL)
    eur, usd = revenue.books["eur"], revenue.books["usd"]
    assert eur.mrr_start == pytest.approx(351.75)
    assert eur.mrr == pytest.approx(328.0)
    assert eur.new_mrr == pytest.approx(90.0)
    assert eur.churned_mrr == pytest.approx(113.75)
    assert eur.revenue_churn == pytest.approx(100 * 113.75 / 351.75)
    assert eur.change == pytest.approx(100 * (328 - 351.75) / 351.75)
    assert len(eur.customers) == 7 and eur.arpu == pytest.approx(328 / 7)
    assert usd.mrr == pytest.approx(15.0) and usd.customers == {"c7"}
    assert (revenue.lost, revenue.base) == (2, 10)
    assert revenue.monthly_churn() == pytest.approx(0.2)
    clv, assumed = revenue.clv("eur")
    assert clv == pytest.approx(328 / 7 / 0.2) and not assumed
    assert revenue.left_out == {"in trial": 1, "metered prices only": 1, "free": 1}


def test_a_cancellation_at_the_period_end_kept_until_it_ends():
    revenue = Revenue(SUBSCRIPTIONS, SINCE, UNTIL, churn_at="end")
    eur = revenue.books["eur"]
    assert eur.mrr == pytest.approx(368.0)                 # G still counts
    assert eur.churned_mrr == pytest.approx(73.75)          # C and N only


def test_no_churn_assumes_stripes_rate():
    revenue = Revenue([sub("A", "c1", 50.0), sub("B", "c2", 30.0)], SINCE, UNTIL)
    clv, assumed = revenue.clv("eur")
    assert assumed and clv == pytest.approx(40 / 0.0167)


def test_a_shorter_window_is_compounded_to_a_month():
    # 15 days, 1 of 4 lost: 25 % over 15 days is 1 - 0.75^2 = 43.75 % over 30.
    subs = [sub("A", "c1", 10.0), sub("B", "c2", 10.0), sub("C", "c3", 10.0),
            sub("D", "c4", 10.0, status="canceled", canceled=-5, ended=-5)]
    revenue = Revenue(subs, UNTIL - 15 * DAY, UNTIL)
    assert revenue.churn == pytest.approx(0.25)
    assert revenue.monthly_churn() == pytest.approx(0.4375)


def test_an_amount_off_larger_than_the_price_floors_at_zero():
    free = sub("A", "c1", 5.0, discounts=[Discount(amount=10.0, forever=True)])
    assert free.monthly == 0.0
    assert Revenue([free], SINCE, UNTIL).left_out == {"free": 1}
