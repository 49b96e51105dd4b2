"""The verdicts on real users' success: Contexts judge, the Summary words what they judged.

Order of trust: enough transactions to judge (Volume: --min-volume, and none at all is never
enough; bases/samples.py's LowSampleContext), then the success ratio against -w/-c
(StatisticContext) and each burn-rate pair (BurnContext: both windows over the pair's rate, the
workbook's multiwindow rule).
"""

from __future__ import annotations

import nagiosplugin

from cxcheck import slo
from cxcheck.runtime import PerfOnly, fmt_count, fmt_percent, perf_label, perf_value, plural

SUCCESS, TOTAL = "success", "total"                 # perfdata labels
LOW_VOLUME, NOT_JUDGED = "low volume", "not judged"


def burn_label(window: str) -> str:
    return "burn_" + perf_label(window)


def pair_label(number: int, pair: slo.BurnPair) -> str:
    """The pair's metric and context: not in perfdata, unique even if a pair is given twice."""
    return f"burn pair {number + 1} {pair}"


class Volume:
    """Too few transactions to judge: under --min-volume, or none at all (a ratio of 0/0).
    Without the total (a ratio query alone) the volume is not known and not held against it.
    Of the main window, as bases/samples.py's contexts ask: `low_sample`, `judged`."""

    unreadable = False              # counts, not rows: nothing to reject

    def __init__(self, min_volume: float, resource):
        self.min_volume, self.resource = min_volume, resource

    def low(self, measure) -> bool:
        if measure.total is None:
            return False
        return measure.ratio is None or measure.total < self.min_volume

    @property
    def low_sample(self) -> bool:
        return self.low(self.resource.main)

    @property
    def judged(self) -> bool:
        return not self.low_sample


class WindowBurnContext(PerfOnly):
    """One window's burn rate in perfdata, with the rate of (the first) pair using it as warning
    (ticket) or critical (page); judged only in pairs. Hint NOT_JUDGED: too few transactions."""

    def __init__(self, window: str, pair: slo.BurnPair, volume: Volume):
        rate = f"{pair.rate:g}"
        super().__init__(burn_label(window), warning=rate if pair.ticket else None,
                         critical=None if pair.ticket else rate)
        self.window = window
        self.volume = volume

    def evaluate(self, metric, resource):
        low = self.volume.low(resource.measures[self.window])
        return self.result_cls(nagiosplugin.Ok, NOT_JUDGED if low else None, metric)

    def performance(self, metric, resource):
        return nagiosplugin.Performance(metric.name, perf_value(metric.value, 4), metric.uom, self.warning,
                                        self.critical, metric.min, metric.max)


class BurnContext(nagiosplugin.Context):
    """A pair fires when both its windows burn faster than its rate and both had volume enough:
    CRITICAL (a page) or, for a ticket pair, WARNING."""

    def __init__(self, name: str, pair: slo.BurnPair, volume: Volume):
        super().__init__(name)
        self.pair = pair
        self.volume = volume

    def evaluate(self, metric, resource):
        long_burn, short_burn = metric.value
        judged = not any(self.volume.low(resource.measures[w]) for w in self.pair.windows)
        if judged and self.pair.fires(long_burn, short_burn):
            state = nagiosplugin.Warn if self.pair.ticket else nagiosplugin.Critical
            return self.result_cls(state, describe_burn(self.pair, long_burn, short_burn), metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        return None


def describe_burn(pair: slo.BurnPair, long_burn: float, short_burn: float) -> str:
    kind = "ticket" if pair.ticket else "page"
    return (f"error budget burning {long_burn:.1f}x over {pair.long} and {short_burn:.1f}x "
            f"over {pair.short} (> {pair.rate:g}, {kind})")


class RealUsersSummary(nagiosplugin.Summary):
    def __init__(self, window: str | None, min_volume: float | None):
        self.window = window
        self.min_volume = min_volume

    def _main(self, results) -> str:
        success = results[SUCCESS]
        total = results[TOTAL] if TOTAL in results else None
        within = f" in {self.window}" if self.window else ""
        if total is not None and total.hint == LOW_VOLUME:
            count = total.metric.value
            text = f"low volume: {plural(count, 'transaction')}{within}"
            if self.min_volume is not None:
                text += f", under --min-volume {self.min_volume:g}"
            if success.metric.value is not None:
                text += f"; success {fmt_percent(success.metric.value, 3)} not judged"
            return text
        text = f"success {fmt_percent(success.metric.value, 3)}"
        if total is not None:
            text += f" of {fmt_count(total.metric.value)} transactions"
        text += within
        if success.state != nagiosplugin.Ok:
            text += f" ({success.hint})"
        return text

    def _burn(self, results) -> str:
        pairs = [r for r in results if isinstance(r.context, BurnContext)]     # worst first
        if not pairs:
            return ""
        fired = [r.hint for r in pairs if r.state != nagiosplugin.Ok]
        if fired:
            return ", " + "; ".join(fired)
        judged = [r for r in results.results if isinstance(r.context, WindowBurnContext) and r.hint != NOT_JUDGED]
        if not judged:
            return ", burn rate not judged (low volume in every window)"
        worst = max(judged, key=lambda r: r.metric.value)
        return f", error budget burn at most {worst.metric.value:.2f}x ({worst.context.window})"

    def ok(self, results):
        return self._main(results) + self._burn(results)

    def problem(self, results):
        return self._main(results) + self._burn(results)

    def verbose(self, results):
        return []
