"""What negative comments are about: the words and word pairs they use most, stop words left out.

Counted once per comment (a comment repeating "late late late" is one comment about lateness),
words folded for counting ("livraison" and "Livraison", "reçu" and "recu") and shown as most
often typed; a plural counts with its singular when both occur. Pairs are neighbours in a clause once stop
words are out ("still waiting for the refund" gives "waiting refund"); a pair is shown only when
more than one comment uses it, and a word only when no pair as frequent already says it.
"""

from __future__ import annotations

import re
from collections import Counter

from cxcheck.sentiment.words import fold, load_words

MIN_LETTERS = 3
# Phrases that are one thing: kept whole ("mise à jour", not "mise" and "jour").
SET_PHRASES = re.compile(r"\b(?:mises? [àa] jour|service client|service après[- ]vente|point relais|"
                         r"customer service|money back|tracking number)\b", re.IGNORECASE)
CLAUSE = re.compile(r"[.,;:!?()\[\]\n]+")
TYPED_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


class Themes:
    def __init__(self):
        self.stop_words = load_words("stopwords_en.txt") | load_words("stopwords_fr.txt")
        self.words: Counter = Counter()
        self.pairs: Counter = Counter()
        self.typed: dict[str, Counter] = {}
        self.comments = 0

    def add(self, text: str) -> None:
        self.comments += 1
        text = SET_PHRASES.sub(lambda match: match.group(0).replace(" ", "-"), text)
        words, pairs = set(), set()
        for clause in CLAUSE.split(text):           # a pair never spans a comma: "basket, still no refund"
            kept = []
            for raw in TYPED_WORD.findall(clause):
                key = fold(raw)
                if "'" in key and key not in self.stop_words:      # "j'attends", "l'appli": the word after
                    key, raw = key.rsplit("'", 1)[1], re.split("['’]", raw)[-1]
                if len(key) < MIN_LETTERS or key in self.stop_words or not key.replace("-", "").isalpha():
                    continue
                kept.append(key)
                self.typed.setdefault(key, Counter())[raw.lower()] += 1
            words.update(kept)
            pairs.update(f"{a} {b}" for a, b in zip(kept, kept[1:]) if a != b)
        self.words.update(words)
        self.pairs.update(pairs)

    def top(self, most: int = 5) -> list[tuple[str, int]]:
        """The most frequent words and pairs, (as typed, comments), pairs first when as frequent."""
        words = self._merged_plurals()
        candidates = [(pair, n) for pair, n in self.pairs.items() if n > 1] + list(words.items())
        candidates.sort(key=lambda item: (-item[1], -item[0].count(" "), item[0]))
        chosen, covered = [], {}
        for key, n in candidates:
            if all(covered.get(word) == n for word in key.split()):
                continue            # said already by a pair as frequent ("late delivery" covers "late")
            chosen.append((key, n))
            covered.update((word, n) for word in key.split() if word not in covered)
            if len(chosen) == most:
                break
        return [(self._shown(key), n) for key, n in chosen]

    def _merged_plurals(self) -> Counter:
        words = Counter(self.words)
        for key in list(words):
            for ending in ("s", "x"):
                if key.endswith(ending) and key[:-1] in words:
                    words[key[:-1]] += words.pop(key)
                    break
        return words

    def _shown(self, key: str) -> str:
        return " ".join(self.typed[word].most_common(1)[0][0] if word in self.typed else word
                        for word in key.split())


def describe(themes: list[tuple[str, int]]) -> str:
    """'delivery (12), still waiting (5), refund (4)'."""
    return ", ".join(f"{theme} ({count})" for theme, count in themes)
