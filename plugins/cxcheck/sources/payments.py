"""Payments as every payments source gives them: per window, the attempts that succeeded, failed
or are still pending, the reasons of the failures, the successful ones refunded since, and the
disputes received in the window (None when the source does not read disputes). Amounts are kept
per currency in the currency's main unit, never converted."""

from __future__ import annotations

from collections import Counter

from cxcheck.runtime import Record
from cxcheck.sources.windows import Windows

NO_REASON = "(no reason given)"


class Payments(Record):
    _fields = ("succeeded", "failed", "pending", "refunded", "disputes", "reasons", "failed_amounts", "notes")

    def __init__(self, notes=()):
        self.succeeded = self.failed = self.pending = self.refunded = 0
        self.disputes: int | None = None
        self.reasons: Counter = Counter()
        self.failed_amounts: Counter = Counter()      # currency -> amount of the failed attempts
        self.notes = list(notes)      # lines on how the source read them (test mode, the key)

    @property
    def attempted(self) -> int:
        """Payments with an outcome: a pending one has not failed nor succeeded yet."""
        return self.succeeded + self.failed

    @property
    def proportion(self):
        from cxcheck.stats import Proportion

        return Proportion(self.failed, self.attempted)

    @property
    def refund_rate(self) -> float | None:
        return 100.0 * self.refunded / self.succeeded if self.succeeded else None

    @property
    def dispute_rate(self) -> float | None:
        if self.disputes is None or not self.succeeded:
            return None
        return 100.0 * self.disputes / self.succeeded


class PaymentWindows(Windows):
    """Payments put into the windows (since, until] they were made in."""

    def __init__(self, windows, notes=()):
        super().__init__(windows)
        self.tallies = [Payments(notes) for _ in windows]

    def _of(self, when: float):
        return self.holding(when, self.tallies)

    def add(self, when: float, outcome: str, amount: float | None = None, currency: str = "", reason=None,
            refunded: bool = False) -> bool:
        """One attempt: `outcome` succeeded, failed or pending. False when it is in no window."""
        tallies = self._of(when)
        for tally in tallies:
            if outcome == "succeeded":
                tally.succeeded += 1
                tally.refunded += bool(refunded)
            elif outcome == "failed":
                tally.failed += 1
                tally.reasons[str(reason).strip() if reason not in (None, "") else NO_REASON] += 1
                if amount is not None:
                    tally.failed_amounts[currency.upper()] += amount
            else:
                tally.pending += 1
        return bool(tallies)

    def reading_disputes(self) -> None:
        for tally in self.tallies:
            tally.disputes = 0

    def dispute(self, when: float) -> None:
        for tally in self._of(when):
            tally.disputes += 1
