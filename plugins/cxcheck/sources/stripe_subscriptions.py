"""Stripe's subscription object read into revenue.Subscription: the same objects come from the
API (stripe_billing) and from a JSON Lines file of them (subscription_exports).

Per subscription (https://docs.stripe.com/api/subscriptions/object): `customer`, `currency`,
`status`, `start_date` (else `created`), `trial_end`, `canceled_at` (for a cancellation at the
period's end, the time of the request), `ended_at`, `items.data[]` with `quantity` and `price`
(https://docs.stripe.com/api/prices/object: `unit_amount` or `unit_amount_decimal` in the smallest
unit, `currency`, `recurring.interval` day|week|month|year, `recurring.interval_count`,
`recurring.usage_type` licensed|metered, `billing_scheme` per_unit|tiered), or the legacy `plan`
(https://docs.stripe.com/api/plans/object: `amount`, `amount_decimal`, `interval`,
`interval_count`, `usage_type`) as older integrations and localstripe give it. Discounts: the
`discount` object (in the pinned API version, the discount applied) and those of the
`discounts` list given as objects (ids alone are not read: not expanded, as localstripe cannot),
each with its `coupon`
(https://docs.stripe.com/api/coupons/object: `percent_off`, `amount_off` with its `currency`,
`duration` forever|once|repeating).
"""

from __future__ import annotations

from cxcheck.sources.churn import number
from cxcheck.sources.stripe import unix_time


def subscriptions(items, rejects) -> list:
    """revenue.Subscription of each (where, object) readable; the others counted by reason."""
    found = []
    for where, raw in items:
        try:
            found.append(subscription(raw))
        except ValueError as exc:
            rejects.add(str(exc), where)
    return found


def subscription(raw):
    """A revenue.Subscription from Stripe's object; ValueError names what cannot be read."""
    from cxcheck.revenue import Subscription

    if not isinstance(raw, dict):
        raise ValueError("not a subscription object")
    start = unix_time(raw.get("start_date")) or unix_time(raw.get("created"))
    if start is None:
        raise ValueError("no start_date")
    items_list = raw.get("items")
    items_data = items_list.get("data") if isinstance(items_list, dict) else None
    if not isinstance(items_data, list):
        raise ValueError("no items.data list")
    items, currencies = [], []
    for entry in items_data:
        item, currency = price_item(entry)
        items.append(item)
        currencies.append(currency)
    currency = raw.get("currency") if isinstance(raw.get("currency"), str) else next(filter(None, currencies), None)
    if not currency:
        raise ValueError("no currency")
    # `discount` is also one of `discounts` in API versions that have both: once each, by id.
    objects = {}
    for item in (raw.get("discount"), *(raw.get("discounts") or [])):
        if isinstance(item, dict):
            objects.setdefault(item.get("id") or len(objects), item)
    discounts = [found for found in (discount(item, currency) for item in objects.values()) if found is not None]
    customer = raw.get("customer")
    customer = customer.get("id") if isinstance(customer, dict) else customer
    return Subscription(raw.get("id"), customer, currency, str(raw.get("status")), start, items,
                        trial_end=unix_time(raw.get("trial_end")), canceled_at=unix_time(raw.get("canceled_at")),
                        ended_at=unix_time(raw.get("ended_at")), discounts=discounts)


def price_item(entry):
    """(revenue.Item, currency) of a subscription item: its price, else its legacy plan."""
    from cxcheck.revenue import Item, main_unit

    if not isinstance(entry, dict):
        raise ValueError("an item that is not an object")
    price, plan = entry.get("price"), entry.get("plan")
    quantity = entry.get("quantity") if isinstance(entry.get("quantity"), int) else 1
    if isinstance(price, dict) and isinstance(price.get("recurring"), dict):
        recurring = price["recurring"]
        amount, decimal = price.get("unit_amount"), price.get("unit_amount_decimal")
        interval, count, usage = recurring.get("interval"), recurring.get("interval_count"), recurring.get("usage_type")
        scheme, currency = price.get("billing_scheme"), price.get("currency")
    elif isinstance(plan, dict):
        amount, decimal = plan.get("amount"), plan.get("amount_decimal")
        interval, count, usage = plan.get("interval"), plan.get("interval_count"), plan.get("usage_type")
        scheme, currency = plan.get("billing_scheme"), plan.get("currency")
    else:
        raise ValueError("an item without a recurring price")
    if interval not in ("day", "week", "month", "year"):
        raise ValueError(f"a price interval that is not day, week, month or year ({interval!r})")
    minor = number(decimal) if decimal is not None else number(amount)
    value = None if minor is None or scheme == "tiered" or not isinstance(currency, str) else main_unit(minor, currency)
    return Item(value, interval, count if isinstance(count, int) and count > 0 else 1, quantity,
                usage == "metered"), currency


def discount(raw, currency: str):
    """A revenue.Discount from a discount object (its coupon inline, or under `source` in later API
    versions); None for no discount or one not expanded (an id)."""
    from cxcheck.revenue import Discount, main_unit

    if not isinstance(raw, dict):
        return None
    coupon = raw.get("coupon")
    if not isinstance(coupon, dict) and isinstance(raw.get("source"), dict):
        coupon = raw["source"].get("coupon")
    if not isinstance(coupon, dict):
        return None
    forever = coupon.get("duration") == "forever"
    percent, amount = number(coupon.get("percent_off")), number(coupon.get("amount_off"))
    if percent:
        return Discount(percent=percent, forever=forever)
    if amount:
        return Discount(amount=main_unit(amount, coupon.get("currency") or currency), forever=forever)
    return None

