"""The verdicts of a rate check: Contexts judge, the Summary words what they judged.

Order of trust: rows readable (trust.RejectedContext), enough volume (VolumeContext), then the ranges
(ranges.FloorContext) and the change from the earlier window (ChangeContext).
"""

from __future__ import annotations

import nagiosplugin

from cxcheck.bases.ranges import breach_text, breached_not_significantly, range_text
from cxcheck.bases.trust import CountContext, Trust
from cxcheck.runtime import fmt_percent


class RateVerdicts(Trust):
    """Trust in a rate's window: readable rows (sources with rows), enough volume (--min-volume)."""

    def __init__(self, resource, args):
        super().__init__(resource, args, args.min_volume)

    @property
    def unreadable(self) -> bool:
        return self.resource.rate.rows and super().unreadable

    @property
    def low_volume(self) -> bool:
        return self.low_sample


class VolumeContext(CountContext):
    """Under --min-volume nothing is judged, and the state is --low-volume-state."""

    def __init__(self, name: str, verdicts: RateVerdicts, state):
        super().__init__(name)
        self.verdicts, self.state = verdicts, state

    def evaluate(self, metric, resource):
        if self.verdicts.low_volume and not self.verdicts.unreadable:
            words = resource.rate.base_words(resource.observations[0])
            text = f"low volume: {metric.value} {words} in {resource.window}"
            if self.verdicts.args.min_volume > 1:
                text += f", under --min-volume {self.verdicts.args.min_volume}"
            return self.result_cls(self.state, text, metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)


class ChangeContext(nagiosplugin.ScalarContext):
    """The change from the earlier window, relative, in the direction that hurts; with
    --significant it counts only when the two-proportion z-test rejects one shared rate."""

    def __init__(self, name: str, verdicts: RateVerdicts, state):
        super().__init__(name)
        self.verdicts, self.state = verdicts, state

    def evaluate(self, metric, resource):
        args, rate = self.verdicts.args, resource.rate
        previous, current = resource.previous, resource.current
        earlier = f"{resource.compare_to} earlier"
        if not self.verdicts.judged or not args.max_change:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        if previous.responses < args.min_volume:
            words = rate.base_words(resource.observations[1])
            resource.notes.append(f"the same {resource.window} {earlier}: {previous.responses} {words}, too few to "
                                  f"compare (--min-volume {args.min_volume})")
            return self.result_cls(nagiosplugin.Ok, None, metric)
        change = relative_change(previous.value, current.value, rate.worse)
        if change is None or change <= args.max_change:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        verb = "dropped" if rate.worse == "drop" else "rose"
        size = "from 0" if change == float("inf") else f"{change:.0f}% from {fmt_percent(previous.value)}"
        text = f"{verb} {size} {earlier} (> {args.max_change:g}%)"
        if args.significant:
            from cxcheck.stats import one_sided_p, two_proportion_z, z_score

            higher, lower = (previous, current) if rate.worse == "drop" else (current, previous)
            z, needed = two_proportion_z(higher, lower), z_score(resource.confidence)
            if z is None or z < needed:
                shown = "-" if z is None else f"{z:.2f}"
                resource.not_significant = f"{text}, not significantly (z {shown} < {needed:.2f})"
                resource.notes.append(f"{resource.not_significant}: {previous.hits} of {previous.responses} {earlier}, "
                                      f"{current.hits} of {current.responses} now")
                return self.result_cls(nagiosplugin.Ok, None, metric)
            text += f", significantly (z {z:.2f} >= {needed:.2f}, p {one_sided_p(z):.2g})"
        return self.result_cls(self.state, text, metric)

    def performance(self, metric, resource):
        value, uom = ("U", "") if metric.value is None else (metric.value, metric.uom)
        return nagiosplugin.Performance(metric.name, value, uom, None, None, metric.min, metric.max)


def relative_change(previous: float | None, current: float | None, worse: str) -> float | None:
    """By how many percent the share moved the way that hurts (negative: the good way); None
    when either is unknown, infinite for a rise from 0."""
    if previous is None or current is None:
        return None
    moved = previous - current if worse == "drop" else current - previous
    if previous == 0:
        return float("inf") if moved > 0 else None
    return 100.0 * moved / previous


class RateSummary(nagiosplugin.Summary):
    def __init__(self, resource, args):
        self.resource, self.args = resource, args

    def _share(self) -> str:
        r = self.resource
        observation = r.observations[0]
        return (f"{r.rate.name} {fmt_percent(r.current.value)} ({r.rate.counts(observation)}) over {r.window}"
                if r.current.responses else f"no {r.rate.base_words(observation)} in {r.window}")

    def _earlier(self) -> str:
        r = self.resource
        if r.previous is None or r.previous.value is None:
            return ""
        return f", {fmt_percent(r.previous.value)} {r.compare_to} earlier"

    def ok(self, results):
        r = self.resource
        low = results[r.rate.base]
        if low.hint:                    # --low-volume-state ok: still say why nothing was judged
            shown = f"; {r.rate.name} {fmt_percent(r.current.value)} not judged" if r.current.responses else ""
            return low.hint + shown
        text = self._share() + r.rate.highlights(r.observations[0])
        breached = breached_not_significantly(self.args, r.current.value)
        if breached is not None:
            text += f", {breach_text(breached, r.current.value, '%')} but not significantly"
        elif self.args.warning or self.args.critical:
            text += f", {range_text(nagiosplugin.Range(self.args.warning or self.args.critical), '%')}"
        if r.not_significant:
            return text + f", {r.not_significant}"
        return text + self._earlier()

    def problem(self, results):
        worst, r = results.first_significant, self.resource
        share, change = results[r.rate.name], results[f"{r.rate.name}_previous"] if r.previous else None
        if worst is share or (change is not None and worst is change):
            # The share judged: its breach and its change, whichever alert, in one line.
            text = self._share()
            if share.state != nagiosplugin.Ok:
                context = share.metric.contextobj
                bound = context.critical if share.state == nagiosplugin.Critical else context.warning
                significantly = "significantly " if self.args.significant else ""
                text += f" {significantly}{breach_text(bound, r.current.value, '%')}"
            if change is not None and change.state != nagiosplugin.Ok:
                text += ("," if share.state != nagiosplugin.Ok else "") + f" {change.hint}"
                return text + r.rate.highlights(r.observations[0])
            return text + r.rate.highlights(r.observations[0]) + self._earlier()
        if worst.metric.name == r.rate.base and r.current.responses:
            return f"{worst.hint}; {r.rate.name} {fmt_percent(r.current.value)} not judged"
        return worst.hint

    def verbose(self, results):
        r = self.resource
        problems = [f"{str(result.state).upper()}: {result.hint}" for result in results
                    if result.state != nagiosplugin.Ok and result.hint]
        lines = [f"window {r.windows[0]} (UTC): {r.rate.counts(r.observations[0])}"]
        lines += r.rate.details(r.observations[0])
        if r.previous is not None:
            lines.append(f"earlier window {r.windows[1]} (UTC): {r.rate.counts(r.observations[1])}, "
                         f"{r.rate.name} {fmt_percent(r.previous.value)}")
            earlier_note = r.rate.details(r.observations[1])[:1]
            lines += [] if earlier_note == r.rate.details(r.observations[0])[:1] else earlier_note
        if r.interval:
            low, high = r.interval
            lines.append(f"{r.confidence * 100:g}% interval of the {r.rate.name}: "
                         f"{fmt_percent(low)}..{fmt_percent(high)}")
        if r.rate.rows:
            lines.append(f"{r.read} rows used, {r.rejects.count} rejected")
        return problems + r.notes + lines + r.rejects.lines()
