"""English: VADER, with the words of shops and support it lacks (en_lexicon.tsv: "late",
"refund" contexts, "crashes", "laggy", ...) and the complaints stated as facts (en_patterns.tsv:
"still no refund", "never arrived", "9 days late"), whose valences are added to VADER's sum
before its normalisation. Typos are corrected to words of our lexicon before VADER reads them."""

from __future__ import annotations

import re

from cxcheck.sentiment.compound import normalise, total_of
from cxcheck.sentiment.words import Patterns, Vocabulary, fold, load_lexicon, load_words

TYPED_WORD = re.compile(r"[A-Za-z]+")


class English:
    def __init__(self):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.vader = SentimentIntensityAnalyzer()
        domain = load_lexicon("en_lexicon.tsv")
        self.vader.lexicon.update(domain)
        self.patterns = Patterns("en_patterns.tsv")
        self.typos = dict(line.split("\t") for line in _typo_lines())
        self.vocabulary = Vocabulary(domain, known=load_words("stopwords_en.txt") | set(self.vader.lexicon))

    def __call__(self, text: str) -> float:
        text = TYPED_WORD.sub(self._corrected, text.replace("’", "'"))
        compound = self.vader.polarity_scores(text)["compound"]
        extra = self.patterns.valence(fold(text))
        return normalise(total_of(compound) + extra) if extra else compound

    def _corrected(self, match) -> str:
        word = match.group(0)
        lower = word.lower()
        if lower in self.vader.lexicon:
            return word
        if lower in self.typos:
            return self.typos[lower]
        found = self.vocabulary.find(lower)
        return found if found else word


def _typo_lines():
    from cxcheck.sentiment.words import data_lines

    return data_lines("en_typos.tsv")
