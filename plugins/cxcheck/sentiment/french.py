"""French: this package's own lexicon (fr_lexicon.tsv, words and set phrases on VADER's -4..4
scale) and rules in VADER's manner, for the way French customers write:

- negation: "ne ... pas/plus/jamais/rien" around the word ("je ne recommande pas"), "pas", "jamais",
  "sans", "aucun" before it ("pas content"), the spoken "pas" after it without "ne" ("marche
  pas"); a negated valence turns and shrinks (x -0.74, VADER's factor);
- set phrases read as one ("pas terrible", "pas mal", "rien à redire", "à fuir") before words;
- boosters and dampeners before a word ("très", "trop", "vraiment"; "un peu", "plutôt");
- "mais": what comes after counts more (x1.5) than what came before (x0.5);
- exclamation marks strengthen the whole; complaints stated as facts (fr_patterns.tsv:
  "toujours pas reçu", "9 jours de retard") add their valence.
"""

from __future__ import annotations

from cxcheck.sentiment.compound import normalise
from cxcheck.sentiment.words import Patterns, Vocabulary, fold, load_lexicon, load_words, tokens

NEGATED = -0.74                 # VADER's N_SCALAR
BOOST = 0.293                   # VADER's B_INCR
BEFORE = frozenset({"pas", "jamais", "rien", "aucun", "aucune", "sans", "ni", "guere", "nullement", "personne"})
AFTER_NE = frozenset({"pas", "plus", "jamais", "rien", "guere", "point", "aucun", "aucune"})
SPOKEN_AFTER = frozenset({"pas", "jamais", "plus"})
NE = frozenset({"ne", "n"})
BOOSTERS = frozenset({"tres", "trop", "vraiment", "tellement", "hyper", "ultra", "extremement", "completement",
                      "totalement", "absolument", "vachement", "si", "franchement", "carrement", "particulierement",
                      "super", "grave", "bien", "fort", "tout", "toujours"})
DAMPENERS = frozenset({"peu", "assez", "plutot", "legerement", "moyennement", "presque", "relativement"})
ELISION = ("qu'", "l'", "d'", "j'", "n'", "c'", "m'", "s'", "t'")
LONGEST_PHRASE = 5


class French:
    def __init__(self):
        lexicon = load_lexicon("fr_lexicon.tsv")
        self.words = {word: valence for word, valence in lexicon.items() if " " not in word}
        self.phrases = {tuple(split_elisions(word.split())): valence for word, valence in lexicon.items()
                        if " " in word or "'" in word}
        self.patterns = Patterns("fr_patterns.tsv")
        self.vocabulary = Vocabulary(self.words, known=load_words("stopwords_fr.txt"))

    def __call__(self, text: str) -> float:
        folded = fold(text)
        words = split_elisions(tokens(folded))
        valences = self._valences(words)
        if "mais" in words:
            turn = len(words) - 1 - words[::-1].index("mais")
            valences = [(at, value * (0.5 if at < turn else 1.5)) for at, value in valences]
        total = sum(value for _, value in valences) + self.patterns.valence(folded)
        if total:
            total += min(words.count("!"), 4) * 0.292 * (1 if total > 0 else -1)
        return normalise(total)

    def _valences(self, words: list[str]) -> list[tuple[int, float]]:
        out, at = [], 0
        while at < len(words):
            phrase = self._phrase(words, at)
            if phrase:
                length, valence = phrase
                out.append((at, valence))
                at += length
                continue
            word = self._word(words[at])
            if word is not None:
                out.append((at, self._modified(words, at, self.words[word])))
            at += 1
        return out

    def _phrase(self, words: list[str], at: int):
        for length in range(min(LONGEST_PHRASE, len(words) - at), 1, -1):
            valence = self.phrases.get(tuple(words[at:at + length]))
            if valence is not None:
                return length, valence
        return None

    def _word(self, word: str) -> str | None:
        found = self.vocabulary.find(word)
        if found is None and len(word) > 3:
            for ending in ("es", "s", "x", "e"):          # plural and feminine of a listed word
                if word.endswith(ending) and word[:-len(ending)] in self.words:
                    return word[:-len(ending)]
        return found

    def _modified(self, words: list[str], at: int, valence: float) -> float:
        clause = clause_before(words, at, 3)
        sign = 1 if valence > 0 else -1
        for distance, word in enumerate(reversed(clause)):
            scale = (1.0, 0.95, 0.9)[distance]
            if word in BOOSTERS:
                valence += sign * BOOST * scale
            elif word in DAMPENERS:
                valence -= sign * BOOST * scale
        if self._negated(words, at, clause):
            valence *= NEGATED
        return valence

    def _negated(self, words: list[str], at: int, clause: list[str]) -> bool:
        if any(word in BEFORE for word in clause):
            return True
        after = words[at + 1:at + 4]
        after = after[:after.index(".")] if "." in after else after
        if any(word in NE for word in clause) and any(word in AFTER_NE for word in after):
            return True
        # Spoken French drops the "ne": "marche pas", unless "pas" goes with the next word ("pas cher").
        return bool(after) and after[0] in SPOKEN_AFTER and (len(after) < 2 or self._word(after[1]) is None)


def clause_before(words: list[str], at: int, most: int) -> list[str]:
    before = words[max(at - most, 0):at]
    return before[len(before) - before[::-1].index("."):] if "." in before else before


def split_elisions(words: list[str]) -> list[str]:
    """'n'est' -> 'n', 'est'; "j'attends" -> 'j', 'attends' (the lexicon knows the word, not the elision)."""
    out = []
    for word in words:
        while word.startswith(ELISION) and len(word) > 2:
            head, _, word = word.partition("'")
            out.append(head)
        out.append(word)
    return out
