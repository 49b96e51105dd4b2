"""Churn as every churn source gives it: per window, who could be lost (deals closed, customers
active at the window's start) and who was, with the value lost per currency and the reasons
given. Deal sources put each closed deal in the windows it falls in through `DealWindows`."""

from __future__ import annotations

import math
from collections import Counter

from cxcheck.runtime import Record
from cxcheck.sources.windows import Windows

NO_REASON = "(no reason given)"


class Churn(Record):
    """One window's tally. `base` and `lost` are counts; `values` maps a currency ('' when the
    source has none) to the value lost in it; `noun` says what the base counts."""

    _fields = ("base", "lost", "values", "reasons", "noun", "note", "currency")

    def __init__(self, noun: str, note: str = "", currency: str = ""):
        self.base = self.lost = 0
        self.values: Counter = Counter()
        self.reasons: Counter = Counter()
        self.noun, self.note, self.currency = noun, note, currency

    @property
    def proportion(self):
        from cxcheck.stats import Proportion

        return Proportion(self.lost, self.base)

    def lose(self, value=None, currency: str = "", reason=None) -> None:
        self.lost += 1
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            self.values[currency or self.currency] += value
        self.reasons[str(reason).strip() if reason not in (None, "") else NO_REASON] += 1

    @property
    def lost_value(self) -> float | None:
        """The value lost in the account's currency; None when nothing was valued."""
        return self.values.get(self.currency) if self.values else None

    def other_currencies(self) -> dict:
        return {currency: value for currency, value in sorted(self.values.items()) if currency != self.currency}


class DealWindows(Windows):
    """Closed deals put into the windows they were closed in: base is won + lost."""

    def __init__(self, windows, noun: str, note: str = "", currency: str = ""):
        super().__init__(windows)
        self.tallies = [Churn(noun, note, currency) for _ in windows]

    def add(self, won: bool, closed: float, value=None, currency: str = "", reason=None) -> None:
        for tally in self.holding(closed, self.tallies):
            tally.base += 1
            if not won:
                tally.lose(value, currency, reason)


def number(raw) -> float | None:
    """A money amount as APIs give it: a number, or a numeric string (HubSpot's properties)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw) if math.isfinite(raw) else None
    if isinstance(raw, str) and raw.strip():
        try:
            value = float(raw)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None
