"""cxcheck: monitoring plugins for customer-facing indicators."""

from cxcheck import startup  # first: a stop signal from here on gets its status line

startup.guard()

__version__ = "0.1.0"
