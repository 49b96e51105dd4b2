"""cxcheck: monitoring plugins for customer-facing indicators."""

__version__ = "0.1.0"
