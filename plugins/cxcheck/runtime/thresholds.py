"""Threshold hints: -w/-c that cannot be what was meant, answered with the fix in the metric's own
direction (a floor or a ceiling, declared by each plugin) and in the units they were written in."""

from __future__ import annotations

import re

import nagiosplugin

from cxcheck.runtime.values import ConfigError

# Which way a metric is judged, declared by each plugin (Parser(thresholds=...)) and by each of its
# per-metric ranges: a ceiling alerts above (times, churn), a floor below (scores, shares, Apdex).
CEILING, FLOOR = "ceiling", "floor"


def _range_text(given) -> str:
    """A range as the user wrote it (a DurationRange remembers 4h; nagiosplugin reads 14400)."""
    return getattr(given, "text", None) or str(given)


def _bound(given, end: bool) -> str:
    """One bound of a range in the user's own words: 4h stays 4h, 0.85 stays 0.85."""
    text = _range_text(given).lstrip("@")
    start, colon, finish = text.rpartition(":")
    return finish if end or not colon else start


def _floors_written_as_ceilings(warning, critical, options: tuple[str, str]) -> None:
    """On a floor, a bare number (80: alert outside 0..80) alerts on every good value: nearly always
    a floor written without its colon. The advice adds the colons and puts the higher floor on -w."""
    given = [(option, value) for option, value in zip(options, (warning, critical)) if value]
    bare = [(option, value) for option, value in given if re.fullmatch(r"[^:@~]+", _range_text(value).strip())]
    if not bare:
        return
    floors = []              # (text, where it starts alerting) of each range, as a floor
    for option, value in given:
        text = _range_text(value).strip()
        if (option, value) in bare:
            floors.append((text + ":", nagiosplugin.Range(str(value)).end))
        else:
            floors.append((text, nagiosplugin.Range(str(value)).start))
    if len(floors) == 2 and floors[0][1] < floors[1][1]:
        floors.reverse()
    advice = " ".join(f"{option} {text}" for (option, _), (text, _) in zip(given, floors))
    shown = " ".join(f"{option} {_range_text(value)}" for option, value in bare)
    above = " and ".join(_bound(value, True) for _, value in bare)
    verb = "alerts" if len(bare) == 1 else "alert"
    raise ConfigError(f"{shown} {verb} above {above}, but here higher is better: a floor ends in a colon "
                      f"(alert below it); did you mean {advice}?")


def threshold_order(warning: str | None, critical: str | None, options: tuple[str, str] = ("-w", "-c"),
                    thresholds: str = CEILING) -> None:
    """Thresholds that cannot be what was meant, with the fix in the metric's own direction and
    units: -w 5 -c 2 (critical before it ever warns) on a ceiling; on a floor, -w 80 -c 70 (bare
    numbers alert above) and -w 70: -c 80:. `options` names the pair as the user gave it (a check
    with ranges per metric has several); `thresholds` is CEILING or FLOOR."""
    if thresholds == FLOOR:
        _floors_written_as_ceilings(warning, critical, options)
    if not warning or not critical:
        return
    low, high = nagiosplugin.Range(str(warning)), nagiosplugin.Range(str(critical))
    if low.invert or high.invert:
        return
    w, c = options
    shown_w, shown_c = _range_text(warning), _range_text(critical)
    fix = f"did you mean {w} {shown_c} {c} {shown_w}?"
    if low.start == high.start and low.end > high.end:        # alert above: higher is worse
        raise ConfigError(f"the critical threshold ({c} {shown_c}) is below the warning one ({w} {shown_w}): "
                          f"a value over {_bound(critical, True)} is critical before it ever warns; {fix}")
    if low.end == high.end and low.start < high.start:        # alert below: higher is better
        raise ConfigError(f"the critical threshold ({c} {shown_c}) is above the warning one ({w} {shown_w}): "
                          f"a value under {_bound(critical, False)} is critical before it ever warns; {fix}")
