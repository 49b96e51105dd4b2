"""The verdicts of check_cx_support: Contexts judge, the Summary words what they judged.

Order of trust (bases/samples.py): rows readable (--max-rejected), enough tickets (--min-tickets),
then the ranges on the percentile or the backlog.
"""

from __future__ import annotations

import nagiosplugin

from cxcheck.bases.samples import LowSampleContext, RejectedContext, StatisticContext, Trust
from cxcheck.runtime import MaybeContext, plural, say_duration


def say(resource):
    """How the judged value is written: a duration, or a count of tickets."""
    return (lambda value: f"{value:g}") if resource.label == "backlog" else say_duration


def few_tickets(metric, verdicts) -> str:
    resource = verdicts.resource
    count = f"only {tickets(metric.value)}" if metric.value else "no tickets"
    return (f"{count} {resource.by} in {resource.window} (at least {verdicts.minimum} needed to judge the "
            f"{resource.args.metric})")


def contexts_for(resource, args, low_sample_state) -> list:
    backlog = resource.label == "backlog"
    verdicts = Trust(resource, args, None if backlog else args.min_tickets)
    judged = StatisticContext("judged", verdicts, args.warning, args.critical, say=say(resource))
    if backlog:
        return [judged, MaybeContext("oldest_unsolved"), RejectedContext(verdicts)]
    return [judged, MaybeContext("median"), LowSampleContext("tickets", verdicts, low_sample_state, few_tickets),
            MaybeContext("waiting"), RejectedContext(verdicts)]


def summary_for(resource, args):
    return BacklogSummary(resource, args) if resource.label == "backlog" else WaitSummary(resource, args)


class SupportSummary(nagiosplugin.Summary):
    def __init__(self, resource, args):
        self.resource, self.args = resource, args

    def limit(self) -> str:
        given = self.args.warning or self.args.critical
        return f", limit {given.text}" if given else ""

    def ok(self, results):
        low_sample = next((r for r in results if r.metric.name == "tickets" and r.hint), None)
        if low_sample is not None:          # --low-sample-state ok: still say why nothing was judged
            return self.problem_text(low_sample)
        return self.described() + self.limit()

    def problem(self, results):
        return self.problem_text(results.first_significant)

    def problem_text(self, worst):
        if worst.metric.name == self.resource.label:
            return self.described(worst.hint)
        shown = worst.metric.name == "tickets" and self.resource.counted
        return worst.hint + (f"; {self.described()}" if shown else "")

    def verbose(self, results):
        r = self.resource
        lines = [f"{str(result.state).upper()}: {result.hint}" for result in results
                 if result.state != nagiosplugin.Ok and result.hint]
        return lines + self.details() + [f"{r.read} rows read, {r.rejects.count} rejected"] + r.rejects.lines()

    def details(self) -> list[str]:
        return []


class WaitSummary(SupportSummary):
    def described(self, breach: str | None = None) -> str:
        r = self.resource
        if r.value is None:
            return f"no tickets {r.by} in the last {r.window}"
        what = f"{WORDS[r.measure]}{' (business hours)' if r.hours == 'business' else ''}"
        text = f"{what} p{r.args.percentile:g} {say_duration(r.value)}"
        text += f" {breach}" if breach else ""
        text += f", median {say_duration(r.median)} over {tickets(r.counted)} {r.by} in the last {r.window}"
        if r.waiting:
            text += f", {r.waiting} still waiting"
        return text

    def details(self) -> list[str]:
        r = self.resource
        if not r.waiting:
            return []
        what = "a first reply" if r.measure == "first-reply" else "a solution"
        how = ("counted with the time waited so far" if r.hours == "calendar" else
               "not counted: their business hours are known only once the wait ends")
        return [f"{tickets(r.waiting)} still waiting for {what}, the longest for {say_duration(r.longest_waiting)} "
                f"({how})"]


class BacklogSummary(SupportSummary):
    def described(self, breach: str | None = None) -> str:
        r = self.resource
        text = f"{tickets(r.value, 'unsolved ')} older than {r.args.older_than}"
        text += f" {breach}" if breach else ""
        if r.oldest is not None:
            text += f", the oldest waiting {say_duration(r.oldest)}"
        return text


WORDS = {"first-reply": "first reply", "resolution": "resolution"}


def tickets(count: int, kind: str = "") -> str:
    return plural(count, f"{kind}ticket")
