"""Words out of what customers type, and the lexicons that give them a valence.

Customers type fast: accents left out ("recu", "decu"), letters repeated for emphasis ("nuuul",
"sooo slow"), one letter off ("remboursemnt", "dissapointed"). Text is folded (lower case, no
accents, one apostrophe) before any lookup, and a word a lexicon does not know is tried with its
repeats collapsed, then one edit away from a word it knows (only words of 6 letters or more:
shorter ones are too often another real word)."""

from __future__ import annotations

import re
import unicodedata
from importlib import resources

WORD = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+(?:[.,/]\d+)?|[!?]")
REPEATS = re.compile(r"([a-z])\1{2,}")
SENTENCE_END = frozenset(".!?;\n")
FUZZY_FROM = 6


def fold(text: str) -> str:
    """Lower case, accents and ligatures dropped, typographic apostrophes made plain."""
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'").lower()
    text = text.replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(folded: str) -> list[str]:
    """Words, numbers and ! ? of folded text; '.' ',' ';' stay as clause marks ('.')."""
    out = []
    for piece in re.split(r"([.;,:\n()\[\]]+)", folded):
        if piece and piece[0] in ".;,:\n()[]":
            out.append(".")
        else:
            out.extend(WORD.findall(piece))
    return out


def data_lines(name: str):
    """The lines of a shipped data file without comments and blanks."""
    text = resources.files("cxcheck.sentiment").joinpath("data", name).read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def load_lexicon(name: str) -> dict[str, float]:
    """word-or-phrase<TAB>valence (-4..4), folded."""
    lexicon = {}
    for line in data_lines(name):
        word, _, valence = line.rpartition("\t")
        lexicon[fold(word.strip())] = float(valence)
    return lexicon


def load_words(name: str) -> frozenset[str]:
    return frozenset(fold(word) for line in data_lines(name) for word in line.split())


class Patterns:
    """Complaints stated as facts, which no single word carries ("still no refund", "9 days
    late", "toujours pas reçu"): valence<TAB>regular expression over folded text."""

    def __init__(self, name: str):
        self.rules = []
        for line in data_lines(name):
            valence, _, expression = line.partition("\t")
            self.rules.append((float(valence), re.compile(expression.strip())))

    def valence(self, folded: str) -> float:
        return sum(valence * len(rule.findall(folded)) for valence, rule in self.rules)


class Vocabulary:
    """Finds the lexicon's word a typed word stands for: itself, repeats collapsed, or one edit away."""

    def __init__(self, words, known=frozenset()):
        self.words = set(words)
        self.known = known          # real words of the language that are not typos of lexicon words
        self.near: dict[str, set[str]] = {}
        for word in self.words:
            if len(word) >= FUZZY_FROM and " " not in word:
                for variant in (word, *deletions(word)):
                    self.near.setdefault(variant, set()).add(word)
        self.cache: dict[str, str | None] = {}

    def find(self, word: str) -> str | None:
        if word in self.words:
            return word
        found = self.cache.get(word, "")
        if found == "":
            found = self.cache[word] = self._typo(word)
        return found

    def _typo(self, word: str) -> str | None:
        collapsed = REPEATS.sub(r"\1\1", word)
        for candidate in (collapsed, REPEATS.sub(r"\1", word)):
            if candidate in self.words:
                return candidate
        if len(word) < FUZZY_FROM or word in self.known or not word.isalpha():
            return None
        matches = set(self.near.get(word, ()))
        for variant in deletions(word):
            matches |= self.near.get(variant, set())
        matches = {m for m in matches if m[0] == word[0] and one_edit(word, m)}
        return matches.pop() if len(matches) == 1 else None


def deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def one_edit(typed: str, known: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped (the index of deletions
    also pairs words two edits apart: "caisse" and "cassee")."""
    if abs(len(typed) - len(known)) > 1:
        return False
    if len(typed) == len(known):
        differ = [i for i, (a, b) in enumerate(zip(typed, known)) if a != b]
        return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                    and typed[differ[0]] == known[differ[1]] and typed[differ[1]] == known[differ[0]])
    shorter, longer = sorted((typed, known), key=len)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))
