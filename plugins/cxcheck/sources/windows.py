"""What every source tallying rows into windows shares: the windows (since, until], the span
they cover (what to ask an API for), and which of them a time falls in."""

from __future__ import annotations


class Windows:
    def __init__(self, windows):
        self.windows = windows

    @property
    def oldest(self) -> float:
        return min(window.since for window in self.windows)

    @property
    def newest(self) -> float:
        return max(window.until for window in self.windows)

    def holding(self, when: float, tallies) -> list:
        """The tallies of the windows `when` falls in."""
        return [tally for window, tally in zip(self.windows, tallies) if window.since < when <= window.until]
