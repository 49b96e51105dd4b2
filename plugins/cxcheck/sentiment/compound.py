"""VADER's compound valence: a sentence's sum of word valences normalised into -1..1, and back
(English adds its complaint patterns to VADER's sum; French sums its own)."""

from __future__ import annotations

import math

ALPHA = 15.0                    # VADER's normalisation: compound = sum / sqrt(sum^2 + ALPHA)


def normalise(total: float) -> float:
    return total / math.sqrt(total * total + ALPHA)


def total_of(compound: float) -> float:
    """The valence sum a compound came from (the inverse of normalise)."""
    compound = max(min(compound, 0.9999), -0.9999)
    return compound * math.sqrt(ALPHA / (1 - compound * compound))
