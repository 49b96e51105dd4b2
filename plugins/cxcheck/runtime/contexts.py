"""Contexts and perfdata helpers the checks share."""

from __future__ import annotations

import re

import nagiosplugin


def perf_label(text: str) -> str:
    """A perfdata label that graphs can key on: lower case, [a-z0-9_]."""
    label = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return label or "unnamed"


def range_or_default(given: str | None, default: str | None) -> str | None:
    """A -w/-c range as given ('' gives none), or the default of the plugin's mode."""
    if given is not None:
        return given or None
    return default


class MaybeContext(nagiosplugin.ScalarContext):
    """A ScalarContext whose metric may be None (perfdata U: a step that did not run, a value
    with no data) and whose ranges may be absent: only a range that was given is judged (an
    absent one is not nagiosplugin's default 0:, which would flag every negative value)."""

    def __init__(self, name, warning=None, critical=None, **kwargs):
        super().__init__(name, warning, critical, **kwargs)
        self.judged = (warning is not None, critical is not None)
        # As given: nagiosplugin prints the range 0: as nothing, which perfdata reads as no threshold.
        self.texts = (str(warning) if warning is not None else None, str(critical) if critical is not None else None)

    def evaluate(self, metric, resource):
        if metric.value is not None:
            for state, bound in self.given():
                if not bound.match(metric.value):
                    return self.result_cls(state, violation(bound, metric.value), metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        value, uom = ("U", "") if metric.value is None else (metric.value, metric.uom)
        return nagiosplugin.Performance(metric.name, value, uom, *self.texts, metric.min, metric.max)

    def given(self):
        """(state, range) for each range that was given, critical first."""
        return [(state, bound) for state, bound, judged in ((nagiosplugin.Critical, self.critical, self.judged[1]),
                                                            (nagiosplugin.Warn, self.warning, self.judged[0]))
                if judged]


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


class Note(nagiosplugin.Result):
    """An OK result whose hint is for the long output only: a judgement worth a line that left the
    state (and the status line) alone, such as "too few answers last week to compare"."""


def notes(results) -> list[str]:
    """The hints of the Note results, in the order the contexts judged."""
    return [result.hint for result in results if isinstance(result, Note)]


class Fact(nagiosplugin.Context):
    """A metric the summary words (its value is not a number): never judged, not in perfdata."""

    def evaluate(self, metric, resource):
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        return None


def violation(bound: nagiosplugin.Range, value: float | None = None, say=None) -> str:
    """How a value breaks a range, one wording for every check: "> 5", "< 30", "inside 3:7".
    With the value, a range bounded on both sides names the side it left. `say` words a bound
    (durations: "> 8h"); by default as a number."""
    if bound.invert:
        finite = float("-inf") < bound.start and bound.end < float("inf")
        if say is not None and finite:
            return f"inside {say(bound.start)}:{say(bound.end)}"
        return f"inside {str(bound).lstrip('@')}"
    say = say or (lambda number: f"{number:g}")
    below = value < bound.start if value is not None else bound.end == float("inf")
    return f"< {say(bound.start)}" if below else f"> {say(bound.end)}"


def perf_value(value: float | None, digits: int = 2):
    """Perfdata precision, one rule: rounded to `digits` decimals, whole numbers without a point
    (75 not 75.0, 66.67 not 66.66666666666667); None stays None (U)."""
    if value is None:
        return None
    value = round(value, digits)
    return int(value) if float(value).is_integer() else value


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def fmt_number(value: float | None, digits: int = 1) -> str:
    """A number in words: at most `digits` decimals, no trailing zeros (32.5, 30); None is "-"."""
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_percent(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else fmt_number(value, digits) + "%"


def fmt_count(value: float) -> str:
    """A count, whole or (extrapolated by Prometheus) to one decimal."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def plural(count: float, word: str) -> str:
    """'1 request', '3 requests', '2.5 requests'."""
    return f"{fmt_count(count)} {word}{'' if count == 1 else 's'}"
