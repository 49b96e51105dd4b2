"""Service-level objective maths: error budget, burn rate and the multiwindow, multi-burn-rate
rule of Google's SRE workbook (chapter "Alerting on SLOs"). Pure: numbers in, numbers out.

With an objective of 99.9 % the error budget is 0.1 % of the transactions. A window whose error
ratio is 1.44 % burns it 14.4 times faster than the objective allows; sustained over the budget's
period (30 days) that would spend it in about two days, and one hour of it spends 2 % of it. A
pair of windows (1 h and 5 min) alerts when BOTH burn faster than the pair's rate: the long window
says it matters, the short one that it is still happening (the alert resets soon after it stops).
"""

from __future__ import annotations

import argparse

from cxcheck.runtime import ConfigError, Duration, Record

# The workbook's pairs for a 30-day budget (2 % in 1 h or 5 % in 6 h pages; 10 % in 1 d or 3 d
# opens a ticket), with the short window 1/12 of the long one.
DEFAULT_BURN_WINDOWS = "1h/5m:14.4,6h/30m:6,1d/2h:3:ticket,3d/6h:1:ticket"


class BurnPair(Record):
    """A long and a short window, as written, that must both burn faster than `rate` to fire;
    a ticket pair asks for a ticket (WARNING), the others for a page (CRITICAL)."""

    _fields = ("long", "short", "rate", "ticket")

    def __init__(self, long: str, short: str, rate: float, ticket: bool = False):
        self.long, self.short, self.rate, self.ticket = long, short, rate, ticket

    @property
    def windows(self) -> tuple[str, str]:
        return self.long, self.short

    def fires(self, long_burn: float, short_burn: float) -> bool:
        """The multiwindow rule: both windows over the rate (strictly)."""
        return long_burn > self.rate and short_burn > self.rate

    def __str__(self):
        return f"{self.long}/{self.short}:{self.rate:g}" + (":ticket" if self.ticket else "")


def error_budget(slo_percent: float) -> float:
    """The share of transactions allowed to fail: 99.9 (%) -> 0.001."""
    return 1.0 - slo_percent / 100.0


def burn_rate(error_ratio: float, budget: float) -> float:
    """How many times faster than the objective allows the budget is spent (1: exactly as fast).
    A negative error ratio (extrapolated counters) burns nothing."""
    return max(0.0, error_ratio) / budget


def budget_spent(rate: float, window: float, period: float) -> float:
    """The share of the period's budget a burn rate spends in a window (same time units)."""
    return rate * window / period


def rate_to_spend(share: float, window: float, period: float) -> float:
    """The burn rate that spends `share` of the period's budget in `window`."""
    return share * period / window


def parse_burn_windows(spec: str) -> list[BurnPair]:
    """'1h/5m:14.4,6h/30m:6,1d/2h:3:ticket' -> pairs; a ConfigError names the bad part."""
    pairs = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        where = f"--burn-windows {part!r}"
        fields = part.split(":")
        if len(fields) not in (2, 3) or "/" not in fields[0]:
            raise ConfigError(f"{where}: write LONG/SHORT:RATE or LONG/SHORT:RATE:ticket, e.g. 1h/5m:14.4")
        ticket = False
        if len(fields) == 3:
            if fields[2] != "ticket":
                raise ConfigError(f"{where}: the only marker is ':ticket' (WARNING instead of CRITICAL)")
            ticket = True
        long, short = (_window(text, where) for text in fields[0].split("/", 1))
        if long <= short:
            raise ConfigError(f"{where}: the long window {long} must be longer than the short one {short}")
        try:
            rate = float(fields[1])
        except ValueError:
            raise ConfigError(f"{where}: burn rate {fields[1]!r} is not a number") from None
        if not 0 < rate < float("inf"):
            raise ConfigError(f"{where}: burn rate must be a positive number")
        pairs.append(BurnPair(str(long), str(short), rate, ticket))
    if not pairs:
        raise ConfigError("--burn-windows: no window pair given")
    return pairs


def _window(text: str, where: str) -> Duration:
    try:
        return Duration(text)
    except argparse.ArgumentTypeError as exc:      # the one duration grammar's wording
        raise ConfigError(f"{where}: {exc}") from None


def windows(pairs: list[BurnPair]) -> list[str]:
    """Every window the pairs use, once, in the order they first appear."""
    return list(dict.fromkeys(w for pair in pairs for w in pair.windows))
