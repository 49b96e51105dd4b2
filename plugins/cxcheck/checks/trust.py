"""Can a check's numbers be trusted? Judged before any threshold: the rows read must be readable
(--max-rejected) and enough to say something (a minimum sample). Shared by the survey checks and
check_cx_support; the resource says `rejected_share`, `read`, `sample_size` and what it
`measures` (for the words "the NPS would lie")."""

from __future__ import annotations

import nagiosplugin


class RejectsRows:
    """A resource that reads rows (`read`) and counts the unreadable ones (`rejects`)."""

    @property
    def rejected_share(self) -> float:
        total = self.read + self.rejects.count
        return 100.0 * self.rejects.count / total if total else 0.0


class Trust:
    """What the contexts need to know of each other: are the numbers to be trusted?"""

    def __init__(self, resource, args, minimum: int | None):
        self.resource, self.args, self.minimum = resource, args, minimum

    @property
    def unreadable(self) -> bool:
        return self.resource.rejected_share > self.args.max_rejected

    @property
    def low_sample(self) -> bool:
        return self.minimum is not None and self.resource.sample_size < self.minimum

    @property
    def judged(self) -> bool:
        return not self.unreadable and not self.low_sample


class CountContext(nagiosplugin.Context):
    """A count in perfdata (c, from 0)."""

    def performance(self, metric, resource):
        return nagiosplugin.Performance(metric.name, metric.value, "c", min=0)


class RejectedContext(CountContext):
    def __init__(self, verdicts: Trust):
        super().__init__("rejected")
        self.verdicts = verdicts

    def evaluate(self, metric, resource):
        if self.verdicts.unreadable:
            share = resource.rejected_share
            worst = resource.rejects.worst()        # the commonest reason, its value and what to do
            return self.result_cls(nagiosplugin.Unknown, f"{metric.value} of {resource.read + metric.value} rows "
                                   f"rejected ({share:.1f}% > {self.verdicts.args.max_rejected:g}%): "
                                   f"the {resource.measures} would lie" + (f"; {worst}" if worst else ""), metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)
