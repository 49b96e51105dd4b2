"""The verdicts of check_cx_ratings: Contexts judge, the Summary words what they judged.

Order of trust (bases/samples.py): reviews readable (RejectedContext), enough reviews
(LowSampleContext, --min-volume), then the floors on the average and the ceilings on the low
share (StatisticContext, with --significant by their own intervals), the drop from the previous
window (DropContext) and the ceilings on the negative comments (--sentiment)."""

from __future__ import annotations

import time

import nagiosplugin

from cxcheck.bases.samples import LowSampleContext, RejectedContext, StatisticContext, Trust, in_unit, range_text
from cxcheck.runtime import MaybeContext, Note, fmt_number, notes

# What a range's hint ("< 4") is about, in the status line and the long output.
NAMES = {"rating": "rating", "low_share": "low share", "negative_share": "negative comments"}


def stars(value: float | None) -> str:
    return "-" if value is None else fmt_number(value, 2)


def percent(value: float | None) -> str:
    return "-" if value is None else fmt_number(value) + "%"


def few_reviews(metric, verdicts) -> str:
    count = f"only {metric.value} reviews" if metric.value else "no reviews"
    return f"{count} in {verdicts.resource.window} (at least {verdicts.minimum} needed to judge)"


def ratings_verdicts(resource, args, low_volume_state) -> list:
    """The contexts and the summary of check_cx_ratings over `resource` (a resource.Ratings)."""
    verdicts = Trust(resource, args, args.min_volume)
    contexts = [
        StatisticContext("rating", verdicts, args.warning, args.critical, args.significant),
        StatisticContext("low_share", verdicts, args.warning_low_share, args.critical_low_share, args.significant,
                         in_unit("%"), interval_of=lambda r: r.low_interval),
        LowSampleContext("reviews", verdicts, low_volume_state, few_reviews),
        RejectedContext(verdicts),
        DropContext(verdicts),
    ]
    if resource.comments is not None:
        from cxcheck.bases.comments import negative_share_context

        contexts.append(negative_share_context(verdicts, args))
    return [*contexts, RatingsSummary(resource, args)]


class DropContext(MaybeContext):
    """The average's drop in stars from the previous window; with --significant only when the
    whole interval of the drop exceeds --max-drop."""

    def __init__(self, verdicts: Trust):
        super().__init__("rating_previous")
        self.verdicts = verdicts

    def evaluate(self, metric, resource):
        args = self.verdicts.args
        if not args.max_drop or metric.value is None or not self.verdicts.judged:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        if resource.previous.responses < args.min_volume:
            return Note(nagiosplugin.Ok, f"previous {resource.window}: {resource.previous.responses} reviews, too "
                                         f"few to compare (--min-volume {args.min_volume})", metric)
        drop = metric.value - resource.current.value
        if drop <= args.max_drop:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        text = f"dropped {stars(drop)} stars from {stars(metric.value)} in the previous {resource.window} " \
               f"(> {args.max_drop:g})"
        if args.significant:
            from cxcheck.stats import drop_lower_bound

            least, level = drop_lower_bound(resource.previous, resource.current, resource.confidence), \
                f"{resource.confidence * 100:g}%"
            if least <= args.max_drop:
                return Note(nagiosplugin.Ok, f"{text}, not significantly: at {level} the drop may be as small as "
                                             f"{stars(max(least, 0))}", metric)
            text += f", significantly: at least {stars(least)} at {level}"
        return self.result_cls(nagiosplugin.Warn, text, metric)


class RatingsSummary(nagiosplugin.Summary):
    def __init__(self, resource, args):
        self.resource, self.args = resource, args

    def _score(self) -> str:
        r = self.resource
        if r.current.value is None:
            return f"no reviews in {r.window}"
        low, high = r.interval
        return (f"rating {stars(r.current.value)} ({r.confidence * 100:g}% CI {stars(low)}..{stars(high)}, "
                f"n={r.current.responses}) over {r.window}, {percent(r.low_share().value)} low (1-2 stars)")

    def _after(self) -> str:
        r, text = self.resource, ""
        if r.previous_whole and r.previous.value is not None:
            text += f", previous {stars(r.previous.value)}"
        if r.comments is not None:
            from cxcheck.bases.comments import share_words

            text += f"; {share_words(r.comments)}"
        if not r.whole:
            text += f" ({r.source.name} covers only since {when(r.source.covered_since)})"
        return text

    def ok(self, results):
        volume = results["reviews"]
        if volume.hint:
            shown = f"; rating {stars(self.resource.current.value)} not judged" if self.resource.current.responses \
                else ""
            return volume.hint + shown
        args, bounds = self.args, []
        for name, given, unit in (("rating", args.warning or args.critical, ""),
                                  ("low_share", args.warning_low_share or args.critical_low_share, "%")):
            if results[name].hint:              # outside a range, not significantly
                bounds.append(f"{NAMES[name]} {results[name].hint}")
            elif given:
                bounds.append(("" if name == "rating" else "low share ") + range_text(nagiosplugin.Range(given), unit))
        return self._score() + (f", {', '.join(bounds)}" if bounds else "") + self._after()

    def problem(self, results):
        worst = results.first_significant
        name = worst.metric.name
        if name == "negative_share":         # after the share it judges: "negative comments 50% (> 45%)"
            return f"{self._score()}{self._after()} ({worst.hint})"
        if name in NAMES:
            return f"{self._score()} ({NAMES[name]} {worst.hint}){self._after()}"
        if name == "rating_previous":
            return f"{self._score()}, {worst.hint}" + self._after()
        if name == "reviews" and self.resource.current.responses:
            return f"{worst.hint}; rating {stars(self.resource.current.value)} not judged"
        return worst.hint

    def verbose(self, results):
        r = self.resource
        problems = [f"{str(result.state).upper()}: " + " ".join(filter(None, (NAMES.get(result.metric.name),
                                                                                 result.hint)))
                    for result in results if result.state != nagiosplugin.Ok and result.hint]
        lines = [f"{r.window} to {when(r.now)}: " + star_counts(r.current.counts)]
        lines.append(f"previous {r.window}: " + (star_counts(r.previous.counts) if r.previous_whole else
                                                 f"not whole in what {r.source.name} gives, not compared"))
        lines += coverage_lines(r) + version_lines(r)
        if r.overall is not None:
            lines.append(f"{r.source.name} average of all ratings: {stars(r.overall[0])} ({r.overall[1]} ratings)")
        if r.comments is not None:
            from cxcheck.bases.comments import lines as comment_lines

            lines += comment_lines(r.comments, self.args.themes, r.confidence, r.window)
        lines.append(f"{r.read} reviews read, {r.rejects.count} rejected")
        return problems + notes(results) + lines + r.rejects.lines("item")


def star_counts(counts: list[int]) -> str:
    n = sum(counts)
    if not n:
        return "no reviews"
    return f"{n} reviews: " + ", ".join(f"{stars_} {'star' if stars_ == 1 else 'stars'} {count}"
                                        for stars_, count in zip(range(5, 0, -1), reversed(counts)))


def coverage_lines(r) -> list[str]:
    if r.whole:
        return []
    note = f": {r.source.coverage_note}" if r.source.coverage_note else ""
    return [f"{r.source.name} gave reviews since {when(r.source.covered_since)} only{note}"]


def version_lines(r) -> list[str]:
    if not r.source.versions:
        return [f"versions: {r.source.name} gives no app version per review"] if r.current.responses else []
    worst = r.most_complained_version()
    if worst is None:
        return []
    version, lows, reviews, average = worst
    low_total = sum(r.current.counts[:2])
    return [f"most complained-about version: {version} ({lows} of the {low_total} low reviews; {reviews} reviews "
            f"of it average {stars(average)})"]


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
