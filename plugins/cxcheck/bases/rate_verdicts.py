"""The verdicts of a rate check: Contexts judge, the Summary words what they judged.

Order of trust (bases/samples.py): rows readable (RejectedContext), enough volume
(LowSampleContext, --min-volume), then the ranges (StatisticContext) and the change from the earlier
window (ChangeContext).
"""

from __future__ import annotations

import nagiosplugin

from cxcheck.bases.samples import LowSampleContext, RejectedContext, StatisticContext, Trust, in_unit, range_text
from cxcheck.runtime import MaybeContext, Note, fmt_percent, notes


def low_volume(metric, verdicts) -> str:
    resource, minimum = verdicts.resource, verdicts.args.min_volume
    text = f"low volume: {metric.value} {resource.rate.base_words(resource.observations[0])} in {resource.window}"
    return text + (f", under --min-volume {minimum}" if minimum > 1 else "")


def rate_verdicts(resource, args, low_volume_state, change_state) -> list:
    """The contexts and the summary of a rate check over `resource` (a rates.Rates)."""
    rate, verdicts = resource.rate, Trust(resource, args, args.min_volume)
    contexts = [
        StatisticContext(rate.name, verdicts, args.warning, args.critical, args.significant, in_unit("%")),
        LowSampleContext(rate.base, verdicts, low_volume_state, low_volume),
        MaybeContext(rate.hits),
        MaybeContext("part"),
    ]
    if rate.rows:
        contexts.append(RejectedContext(verdicts))
    if resource.compare_to:
        contexts.append(ChangeContext(f"{rate.name}_previous", verdicts, change_state))
    return [*contexts, RateSummary(resource, args)]


class ChangeContext(nagiosplugin.ScalarContext):
    """The change from the earlier window, relative, in the direction that hurts; with
    --significant it counts only when the two-proportion z-test rejects one shared rate."""

    def __init__(self, name: str, verdicts: Trust, state):
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
            return Note(nagiosplugin.Ok, f"the same {resource.window} {earlier}: {previous.responses} {words}, too "
                                         f"few to compare (--min-volume {args.min_volume})", metric)
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
            if z is None or z < needed:     # said, not alerted on
                shown = "-" if z is None else f"{z:.2f}"
                return self.result_cls(nagiosplugin.Ok, f"{text}, not significantly (z {shown} < {needed:.2f})", metric)
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
        return (f"{r.rate.said} {fmt_percent(r.current.value)} ({r.rate.counts(observation)}) over {r.window}"
                if r.current.responses else f"no {r.rate.base_words(observation)} in {r.window}")

    def _earlier(self) -> str:
        r = self.resource
        if r.previous is None or r.previous.value is None:
            return ""
        return f", {fmt_percent(r.previous.value)} {r.compare_to} earlier"

    def _change(self, results):
        """The change's result, None without an earlier window."""
        name = f"{self.resource.rate.name}_previous"
        return results[name] if name in results else None

    def ok(self, results):
        r = self.resource
        low = results[r.rate.base]
        if low.hint:                    # --low-volume-state ok: still say why nothing was judged
            shown = f"; {r.rate.said} {fmt_percent(r.current.value)} not judged" if r.current.responses else ""
            return low.hint + shown
        text = self._share() + r.rate.highlights(r.observations[0])
        share = results[r.rate.name]
        if share.hint:                  # outside a range, not significantly
            text += f", {share.hint}"
        elif self.args.warning or self.args.critical:
            text += f", {range_text(nagiosplugin.Range(self.args.warning or self.args.critical), '%')}"
        change = self._change(results)
        if change is not None and change.hint and not isinstance(change, Note):     # beyond, not significantly
            return text + f", {change.hint}"
        return text + self._earlier()

    def problem(self, results):
        worst, r = results.first_significant, self.resource
        share, change = results[r.rate.name], self._change(results)
        if worst is share or (change is not None and worst is change):
            # The share judged: its breach and its change, whichever alert, in one line.
            text = self._share()
            if share.state != nagiosplugin.Ok:
                text += f" ({share.hint})"
            if change is not None and change.state != nagiosplugin.Ok:
                text += ("," if share.state != nagiosplugin.Ok else "") + f" {change.hint}"
                return text + r.rate.highlights(r.observations[0])
            return text + r.rate.highlights(r.observations[0]) + self._earlier()
        if worst.metric.name == r.rate.base and r.current.responses:
            return f"{worst.hint}; {r.rate.said} {fmt_percent(r.current.value)} not judged"
        return worst.hint

    def verbose(self, results):
        r = self.resource
        problems = [f"{str(result.state).upper()}: {result.hint}" for result in results
                    if result.state != nagiosplugin.Ok and result.hint]
        change = self._change(results)
        if change is not None and change.state == nagiosplugin.Ok and change.hint and not isinstance(change, Note):
            previous, current = r.previous, r.current
            problems.append(f"{change.hint}: {previous.hits} of {previous.responses} {r.compare_to} earlier, "
                            f"{current.hits} of {current.responses} now")
        lines = [f"window {r.windows[0]} (UTC): {r.rate.counts(r.observations[0])}"]
        lines += r.rate.details(r.observations[0])
        if r.previous is not None:
            lines.append(f"earlier window {r.windows[1]} (UTC): {r.rate.counts(r.observations[1])}, "
                         f"{r.rate.said} {fmt_percent(r.previous.value)}")
            earlier_note = r.rate.details(r.observations[1])[:1]
            lines += [] if earlier_note == r.rate.details(r.observations[0])[:1] else earlier_note
        if r.interval:
            low, high = r.interval
            lines.append(f"{r.confidence * 100:g}% interval of the {r.rate.said}: "
                         f"{fmt_percent(low)}..{fmt_percent(high)}")
        if r.rate.rows:
            lines.append(f"{r.read} rows used, {r.rejects.count} rejected")
        return problems + notes(results) + lines + r.rejects.lines()
