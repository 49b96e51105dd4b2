"""What check_cx_conversion and check_cx_churn share: the share of customers who did something
(converted; left) among those who could (entered the funnel; were customers), over --window, and
the same share in the same window --compare-to earlier (default a week: the same hours of the same
weekday). Judged in the order the numbers are trusted: rows readable (--max-rejected, for sources
that read rows), enough volume (--min-volume), then the ranges (-w/-c in %; with --significant
only when the whole Wilson interval is outside) and the change from the earlier window (with
--significant, only when the two-proportion z-test says the windows differ).

Windows are computed in UTC from --now (default: the time of the run) and said so in the long
output; a source with its own calendar (Mixpanel's project time zone) says which dates it read,
and one whose figures settle only later (Mixpanel's conversion window) moves the windows back by
that much, so that both windows compared are equally final.
A rate plugin declares a `Rate` and its parser; `rate_check()` does the rest.
"""

from __future__ import annotations

import time

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases.samples import RejectsRows, add_max_rejected, add_window_arguments
from cxcheck.runtime import Duration, Record, perf_value


class Rate:
    """What a rate plugin measures. Subclasses set the attributes and the methods."""

    name = ""               # "conversion": in the status line and the perfdata label
    words = ""              # the share in words when its label would not do ("failure rate"); default name
    kind = ""               # the registry kind of its sources ("funnel")
    what = ""               # option groups: "where the funnel is (one of)"
    base = ""               # perfdata label of who could ("entered")
    hits = ""               # perfdata label of who did ("converted")
    worse = "drop"          # the change that alerts: "drop" (--max-drop) or "rise" (--max-rise)
    volume = ""             # who --min-volume counts, for its help: "customers entering the funnel"
    default_window = "1d"
    default_compare = "7d"  # None: the window before (the window's own length earlier)
    rows = False            # its sources read rows: rejects are counted, --max-rejected applies

    @property
    def said(self) -> str:
        return self.words or self.name

    def read(self, source, windows: list, rejects) -> tuple[list, int]:
        """One observation per window (each with a stats.Proportion `proportion`), and the number
        of rows read (0 for sources without rows)."""
        raise NotImplementedError

    def base_words(self, observation) -> str:
        """Who could, in words: 'entered', 'deals closed'."""
        return self.base

    def counts(self, observation) -> str:
        """The counts behind the share, in words: '62 of 2000 entered'."""
        raise NotImplementedError

    def parts(self, observation) -> list[tuple[str, float | int | None, str]]:
        """(label, value, uom) of more perfdata."""
        return []

    def highlights(self, observation) -> str:
        """Words for the status line after the share: ', worst step payment 45%'."""
        return ""

    def details(self, observation) -> list[str]:
        """Long output lines about the window."""
        return []


class Window(Record):
    """(since, until]: the times a window holds, unix seconds."""

    _fields = ("since", "until")

    def __init__(self, since: float, until: float):
        self.since, self.until = since, until

    def __str__(self):
        from cxcheck.runtime.times import iso_time

        return f"{iso_time(self.since)}..{iso_time(self.until)}"


def add_rate_arguments(parser: runtime.Parser, rate: Rate) -> None:
    """The rate's sources, and the window and statistics options."""
    from cxcheck.sources.registry import add_source_arguments

    reading = add_source_arguments(parser, rate.kind, rate.what)
    if rate.rows:
        add_max_rejected(reading.group, rate.said)
    worse = "lower" if rate.worse == "drop" else "higher"
    judge = add_window_arguments(
        parser, ("--min-volume", 1, f"{rate.volume} in the window", "ok", "1: none at all"), f"--max-{rate.worse}",
        f"alert when the {rate.said} is more than PERCENT {worse} than in the earlier window, relative "
        "(3%% -> 2.4%% is a 20%% drop)", metavar="PERCENT", dest="max_change",
        proof="the two-proportion z-test says the two windows differ", window=rate.default_window,
        examples="1h, 1d or 30d", tests=" and of the two-proportion test")
    judge.add_argument("--change-state", choices=["warning", "critical"], default="warning",
                       help=f"state of a {rate.worse} beyond --max-{rate.worse} (default warning)")
    judge.add_argument("--compare-to", type=Duration, metavar="DURATION",
                       help="compare with the same window this much earlier (default " + (
                           "7d: the same hours a week before, which takes the weekday's habits out of the comparison"
                           if rate.default_compare == "7d" else "--window: the window just before") + ")")
    judge.add_argument("--no-compare", action="store_true",
                       help="read the current window only (one query less: Mixpanel's rate limit)")


class Rates(nagiosplugin.Resource, RejectsRows):
    """One read of the source for the current window and the earlier one."""

    def __init__(self, rate: Rate, read, window: Duration, compare_to: Duration | None, now: float,
                 confidence_level: float):
        from cxcheck.sources.rows import Rejects

        self.rate, self.read_windows = rate, read
        self.window, self.compare_to, self.now = window, compare_to, now
        self.confidence = confidence_level
        self.windows = [Window(now - window, now)]
        if compare_to:
            self.windows.append(Window(now - compare_to - window, now - compare_to))
        self.rejects = Rejects()
        self.observations: list = []
        self.current = self.previous = self.interval = None
        self.read = 0                   # rows the source used (not rejected)

    @property
    def name(self):
        return f"CX {self.rate.name.upper()}"

    @property
    def measures(self) -> str:
        return self.rate.said

    @property
    def sample_size(self) -> int:
        return self.current.responses

    def probe(self):
        rate = self.rate
        self.observations, self.read = self.read_windows(self.windows, self.rejects)
        self.current = self.observations[0].proportion
        self.previous = self.observations[1].proportion if self.compare_to else None
        self.interval = self.current.interval(self.confidence)
        yield nagiosplugin.Metric(rate.name, perf_value(self.current.value), "%", min=0, max=100, context=rate.name)
        yield nagiosplugin.Metric(rate.base, self.current.responses, "c", min=0, context=rate.base)
        yield nagiosplugin.Metric(rate.hits, self.current.hits, "c", min=0, context=rate.hits)
        if rate.rows:
            yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")
        if self.compare_to:
            yield nagiosplugin.Metric(f"{rate.name}_previous", perf_value(self.previous.value), "%", min=0,
                                      max=100, context=f"{rate.name}_previous")
        for label, value, uom in rate.parts(self.observations[0]):
            limits = (0, 100) if uom == "%" else (0, None)
            # One context for them all: their labels (funnel steps) are known only once read.
            yield nagiosplugin.Metric(label, perf_value(value), uom, min=limits[0], max=limits[1], context="part")


def rate_check(run: runtime.Run, rate: Rate) -> nagiosplugin.Check:
    """The whole check for a rate plugin's run: source, resource, contexts, summary."""
    from cxcheck.bases.rate_verdicts import rate_verdicts
    from cxcheck.sources.registry import open_source

    args = run.args
    if args.no_compare and args.max_change:
        raise runtime.ConfigError(f"--max-{rate.worse} compares with an earlier window: not with --no-compare")
    source = open_source(run, rate.kind)
    compare_to = None if args.no_compare else (
        args.compare_to or (Duration(rate.default_compare) if rate.default_compare else args.window))
    if compare_to and not getattr(source, "can_compare", True):
        raise runtime.ConfigError(f"{source.name} cannot give an earlier window ({source.why_not_compare}); "
                                  "add that, or give --no-compare")
    now = args.now if args.now is not None else time.time()
    # A source whose figures of a window go on changing after it ends (Mixpanel counts conversions
    # up to the funnel's conversion window later) is read at windows that have settled.
    now -= getattr(source, "settles", 0)
    resource = Rates(rate, lambda windows, rejects: rate.read(source, windows, rejects), args.window, compare_to,
                     now, args.confidence)
    return nagiosplugin.Check(resource, *rate_verdicts(resource, args, run.state(args.low_volume_state),
                                                       run.state(args.change_state)))
