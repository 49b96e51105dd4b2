"""What both modes of check_cx_transaction share: the metric names, how their values are worded,
the -w/-c defaults, and contexts for metrics that are shown or worded but not judged alone."""

from __future__ import annotations

import nagiosplugin

SUCCESS, ATTEMPTS, FAILURES, TOTAL = "success", "attempts", "failures", "total"


def range_or_default(given: str | None, default: str | None) -> str | None:
    """A -w/-c range as given ('' means none), or the mode's default."""
    if given is not None:
        return given or None
    return default


def fmt_percent(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


def fmt_count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class PerfOnly(nagiosplugin.Context):
    """Perfdata with (optional) ranges shown, never judged on its own."""

    def __init__(self, name, warning=None, critical=None):
        super().__init__(name)
        self.warning = nagiosplugin.Range(warning) if warning else ""
        self.critical = nagiosplugin.Range(critical) if critical else ""

    def evaluate(self, metric, resource):
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        value = "U" if metric.value is None else metric.value
        return nagiosplugin.Performance(metric.name, value, "" if metric.value is None else metric.uom,
                                        self.warning, self.critical, metric.min, metric.max)


class Fact(nagiosplugin.Context):
    """A metric the summary words (its value is not a number): never judged, not in perfdata."""

    def evaluate(self, metric, resource):
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        return None
