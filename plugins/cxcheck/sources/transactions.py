"""Transactions' success as every transactions source gives it: per window, the successes and the
total, or a ratio (with the total when it is known); the window reaches the queries or the URL as
${window}."""

from __future__ import annotations

from cxcheck.runtime import ConfigError, Duration, Record

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


def counted(window: str | None, success: float, total: float, what: str) -> Measure:
    if success < 0 or total < 0:
        raise ConfigError(f"{what}: negative counts (success {success:g}, total {total:g})")
    # increase()/rate() extrapolate each series on its own: 5.0634 successes of 5.0632 is the
    # same count, a clear excess is two queries counting different things.
    if success > total * 1.01 + 0.5:
        raise ConfigError(f"{what}: more successes ({success:g}) than transactions ({total:g}); "
                          "do both count the same thing over the same window?")
    return Measure(window, min(success / total, 1.0) if total > 0 else None, total, success)
