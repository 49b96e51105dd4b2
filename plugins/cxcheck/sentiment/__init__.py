"""The sentiment of what customers write, scored offline with lexicons and rules.

English is VADER (the `vaderSentiment` package and its lexicon, MIT licence) with the complaint
vocabulary of shops and support added; French is this package's own lexicon and rules (negation
"ne ... pas", "pas terrible", boosters, "mais"). Both add the complaints customers state as facts
("delivery was 9 days late", "toujours pas remboursé") and forgive typos (missing accents,
repeated letters, one letter off). Nothing is downloaded: the lexicons ship in `data/`.

A comment's score is a compound valence in -1..1 as VADER defines it; at or below
`NEGATIVE_AT` it is negative. One comment's score is often wrong; the share of negative
comments over hundreds of them is what the checks judge (bench/bench_sentiment.py measures it
against a human reader's labels). Imported only by runs that ask for --sentiment.
"""

from __future__ import annotations

LANGUAGES = ("en", "fr", "auto")
NEGATIVE_AT = -0.05             # VADER's own cut: a compound at or below it is negative


def scorer(language: str):
    """A callable text -> compound valence for `language` (en, fr or auto: per comment)."""
    from cxcheck.sentiment.scoring import Scorer

    return Scorer(language)
