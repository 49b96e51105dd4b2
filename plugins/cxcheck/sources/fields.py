"""The fields a source reads from the records of an API's answer, checked answer by answer.

A field absent from every record of an answer (absent, not null: APIs say "no value" with null)
is an API or configuration mismatch, never customer data: a property renamed or never created,
an API version that moved it, a field ref or a property name mistyped in the configuration.
Counting each record as unreadable would bury it among rejects; HubSpot, which leaves an unknown
property out of its answer without an error, would even make every ticket "not replied yet".
So the run stops UNKNOWN naming the field and the source. Where the API can list what exists
(HubSpot's properties, SurveyMonkey's survey details, Typeform's form definition), the source
asks once per run, when an answer first lacks a field, and names the one the account lacks; a
field the listing knows is data after all (every respondent skipped it). When the API refuses
to list (a token without that scope), the plain rule holds.
"""

from __future__ import annotations

from cxcheck.runtime import SourceError


class Fields:
    """`names` expected in every record (a dict) of an answer: `saw()` each record, `check()`
    after the answer's last one. `listing()`, when given, returns the names the API knows."""

    def __init__(self, service: str, names, records: str = "records", listing=None, listed: str = "",
                 advice: str = "an API or configuration mismatch, not customer data"):
        self.service, self.names, self.records = service, tuple(names), records
        self.listing, self.listed, self.advice = listing, listed, advice
        self.known: set | None = None
        self.missing, self.count = set(self.names), 0

    def saw(self, record) -> None:
        if isinstance(record, dict):
            self.count += 1
            if self.missing:
                self.missing.difference_update(record)

    def check(self, where: str) -> list[str]:
        """After the records of one answer (`where`: "page 2 of the tickets"). A field none of
        them had is a SourceError naming it, unless the API's listing knows it: those names are
        returned (the field exists, no record of this answer has it)."""
        missing, count = sorted(self.missing), self.count
        self.missing, self.count = set(self.names), 0
        if not count or not missing:
            return []
        if self.listing is not None:
            self.known, self.listing = self.listing(), None      # asked once; None: it would not list
        if self.known is not None:
            unknown = [name for name in missing if name not in self.known]
            if not unknown:
                return missing
            raise SourceError(f"{self.service}: no {quoted(unknown)} {self.listed}, and none in the {count} "
                              f"{self.records} of {where}: {self.advice}")
        raise SourceError(f"{self.service} answered {where} without {quoted(missing)} in any of its {count} "
                          f"{self.records}: {self.advice}")


def quoted(names) -> str:
    names = [repr(name) for name in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
