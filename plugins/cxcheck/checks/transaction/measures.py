"""How check_cx_transaction measures customers' success in one window: Prometheus queries (a ratio,
or successes and a total) or a JSON endpoint's counts, with ${window} replaced by the window."""

from __future__ import annotations

from cxcheck.runtime import ConfigError, Duration, Record, fmt_count, fmt_percent

WINDOW = "${window}"


class Measure(Record):
    _fields = ("window", "ratio", "total", "success")

    def __init__(self, window: str | None, ratio: float | None, total: float | None, success: float | None = None):
        self.window = window          # as written; None: the queries have no ${window}
        self.ratio = ratio            # 0..1; None without any transaction
        self.total = total            # None when the source gives a ratio only
        self.success = success


def in_window(text: str | None, window: str | None, promql: bool = False) -> str | None:
    """The query or URL for a window: PromQL says 1.5d as 1d12h, a URL gets it as written."""
    if not (text and window):
        return text
    return text.replace(WINDOW, Duration(window).prometheus if promql else window)


def describe(m: Measure) -> str:
    """One -v line per window queried."""
    ratio = "-" if m.ratio is None else fmt_percent(100.0 * m.ratio, 3)
    if m.success is not None:
        text = f"{fmt_count(m.success)} of {fmt_count(m.total)} transactions succeeded ({ratio})"
    elif m.total is not None:
        text = f"success ratio {ratio} of {fmt_count(m.total)} transactions"
    else:
        text = f"success ratio {ratio}"
    return (f"window {m.window}: " if m.window else "") + text


def counted(window: str | None, success: float, total: float, what: str) -> Measure:
    if success < 0 or total < 0:
        raise ConfigError(f"{what}: negative counts (success {success:g}, total {total:g})")
    # increase()/rate() extrapolate each series on its own: 5.0634 successes of 5.0632 is the
    # same count, a clear excess is two queries counting different things.
    if success > total * 1.01 + 0.5:
        raise ConfigError(f"{what}: more successes ({success:g}) than transactions ({total:g}); "
                          "do both count the same thing over the same window?")
    return Measure(window, min(success / total, 1.0) if total > 0 else None, total, success)


def json_measure(source):
    """window -> Measure from a JsonMetrics source."""

    def measure(window):
        success, total = source.fetch(in_window(source.url, window))
        return counted(window, success, total, f"JSON endpoint{f' ({window})' if window else ''}")

    return measure


def prometheus_measure(source, ratio_query, success_query, total_query, min_volume: float):
    """window -> Measure from a Prometheus source. A ratio or success query without data while the
    total is under min_volume is a quiet night (0/0), not an unknown."""
    from cxcheck.sources.prometheus import NoData

    def measure(window):
        total = source.query(in_window(total_query, window, promql=True)) if total_query else None
        if total is not None and total < 0:
            raise ConfigError(f"--total-query gives {total:g}: a count cannot be negative")
        quiet = total is not None and total < max(min_volume, 1e-12)
        if ratio_query:
            try:
                ratio = source.query(in_window(ratio_query, window, promql=True))
            except NoData:
                if not quiet:
                    raise
                ratio = None      # 0/0 on a quiet night: not judged, not UNKNOWN
            if ratio is not None and not -1e-9 <= ratio <= 1 + 1e-9:
                raise ConfigError(f"--ratio-query gives {ratio:g}, not a fraction between 0 and 1 "
                                  "(multiplied by 100 already?)")
            if total == 0:
                ratio = None
            return Measure(window, None if ratio is None else min(max(ratio, 0.0), 1.0), total)
        try:
            success = source.query(in_window(success_query, window, promql=True))
        except NoData:
            if not quiet:
                raise
            success = 0.0
        return counted(window, success, total, "--success-query and --total-query")

    return measure
