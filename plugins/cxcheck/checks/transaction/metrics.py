"""What both modes of check_cx_transaction share: the metric names and the -w/-c defaults."""

from __future__ import annotations

SUCCESS, ATTEMPTS, FAILURES, TOTAL = "success", "attempts", "failures", "total"


def range_or_default(given: str | None, default: str | None) -> str | None:
    """A -w/-c range as given ('' means none), or the mode's default."""
    if given is not None:
        return given or None
    return default

