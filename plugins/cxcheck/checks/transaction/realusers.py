"""check_cx_transaction --prometheus / --json-url: the success ratio real customers had, read from a
transactions source in the main window and in each burn-rate window; the verdicts are in verdicts.py."""

from __future__ import annotations

import nagiosplugin

from cxcheck import runtime, slo
from cxcheck.bases.samples import LowSampleContext, StatisticContext
from cxcheck.checks.transaction.verdicts import (
    LOW_VOLUME,
    SUCCESS,
    TOTAL,
    BurnContext,
    RealUsersSummary,
    Volume,
    WindowBurnContext,
    burn_label,
    pair_label,
)
from cxcheck.runtime import ConfigError, fmt_count, fmt_percent, perf_value
from cxcheck.runtime.contexts import range_or_default
from cxcheck.sources.transactions import WINDOW

DEFAULT_WARNING, DEFAULT_CRITICAL = None, "50:"


class RealUsers(nagiosplugin.Resource):
    """Measures every window once; yields the main window's success and total, each burn window's
    burn rate, and each pair's two burn rates for its BurnContext to judge."""

    def __init__(self, run: runtime.Run, measure, window: str | None, pairs: list[slo.BurnPair],
                 slo_percent: float | None, sources: list):
        self.run = run
        self.measure = measure
        self.window = window
        self.pairs = pairs
        self.budget = None if slo_percent is None else slo.error_budget(slo_percent)
        self.sources = sources
        self.measures: dict = {}          # window -> Measure, for the contexts' volume rule

    @property
    def name(self):
        return "CX TRANSACTION"

    @property
    def main(self):
        return self.measures[self.window]

    def probe(self):
        measures = self.measures
        try:
            self.run.activity = "querying the success ratio"
            measures[self.window] = self.measure(self.window)
            for window in slo.windows(self.pairs):
                if window not in measures:
                    self.run.activity = f"querying the {window} window"
                    measures[window] = self.measure(window)
        finally:
            for source in self.sources:
                self.run.trace(getattr(source, "warnings", []))
                source.close()
        self.run.trace([describe(m) for m in measures.values()])
        main = self.main
        ratio = None if main.ratio is None else 100.0 * main.ratio
        yield nagiosplugin.Metric(SUCCESS, perf_value(ratio, 4), "%", min=0, max=100, context=SUCCESS)
        if main.total is not None:
            yield nagiosplugin.Metric(TOTAL, perf_value(main.total, 3), "c", min=0, context=TOTAL)
        burns = {}
        for window in slo.windows(self.pairs):
            ratio = measures[window].ratio
            # A window without any transaction burnt nothing.
            burns[window] = 0.0 if ratio is None else slo.burn_rate(1.0 - ratio, self.budget)
            yield nagiosplugin.Metric(burn_label(window), burns[window], "", min=0, context=burn_label(window))
        for number, pair in enumerate(self.pairs):
            yield nagiosplugin.Metric(pair_label(number, pair), (burns[pair.long], burns[pair.short]),
                                      context=pair_label(number, pair))


def window_options(args, source) -> tuple[str | None, list[slo.BurnPair]]:
    """The main window (None: the queries have no ${window}) and the burn pairs the options ask for."""
    if args.min_volume is not None and not source.counts_total:
        raise ConfigError("--min-volume needs the total: add --total-query")
    if args.burn_windows and args.slo is None:
        raise ConfigError("--burn-windows needs --slo (the objective the budget comes from)")
    pairs = []
    if args.slo is not None:
        pairs = args.burn_windows or slo.parse_burn_windows(slo.DEFAULT_BURN_WINDOWS)
        missing = [t for t in source.templates if WINDOW not in t]
        if missing:
            raise ConfigError(f"--slo: burn rates need {WINDOW} in every query (or the JSON URL), "
                              f"e.g. increase(x[{WINDOW}]); {missing[0]!r} has none")
    uses_window = any(WINDOW in t for t in source.templates)
    if args.window is not None:
        if not uses_window:
            raise ConfigError(f"--window needs {WINDOW} in the queries (or the JSON URL)")
        return str(args.window), pairs
    if uses_window:
        if not pairs:
            raise ConfigError(f"the queries use {WINDOW}: give --window (or --slo for burn rates)")
        return pairs[0].long, pairs
    return None, pairs


def describe(m) -> str:
    """One -v line per window queried."""
    ratio = "-" if m.ratio is None else fmt_percent(100.0 * m.ratio, 3)
    if m.success is not None:
        text = f"{fmt_count(m.success)} of {fmt_count(m.total)} transactions succeeded ({ratio})"
    elif m.total is not None:
        text = f"success ratio {ratio} of {fmt_count(m.total)} transactions"
    else:
        text = f"success ratio {ratio}"
    return (f"window {m.window}: " if m.window else "") + text


def real_check(run: runtime.Run, args) -> nagiosplugin.Check:
    from cxcheck.sources.registry import open_source

    source = open_source(run, "transactions")
    window, pairs = window_options(args, source)
    measure = lambda window: source.read_transactions(window, min_volume(args))
    return judge(run, args, RealUsers(run, measure, window, pairs, args.slo, [source]))


def min_volume(args) -> float:
    return args.min_volume if args.min_volume is not None else 1.0


def judge(run: runtime.Run, args, resource: RealUsers) -> nagiosplugin.Check:
    """The check of a resource: the contexts and summary the options ask for."""
    volume = Volume(min_volume(args), resource)
    contexts = [
        StatisticContext(SUCCESS, volume, range_or_default(args.warning, DEFAULT_WARNING),
                         range_or_default(args.critical, DEFAULT_CRITICAL)),
        LowSampleContext(TOTAL, volume, run.state(args.low_volume_state), lambda metric, verdicts: LOW_VOLUME),
    ]
    shown = {}      # each window once, with the rate of the first pair using it
    for pair in resource.pairs:
        for w in pair.windows:
            shown.setdefault(w, pair)
    contexts += [WindowBurnContext(w, pair, volume) for w, pair in shown.items()]
    contexts += [BurnContext(pair_label(number, pair), pair, volume) for number, pair in enumerate(resource.pairs)]
    return nagiosplugin.Check(resource, *contexts, RealUsersSummary(resource.window, args.min_volume))
