"""One scorer for a run: English, French, or each comment in the language it is written in."""

from __future__ import annotations

from cxcheck.sentiment.words import fold, load_words, tokens


class Scorer:
    """text -> compound valence in -1..1; `language` en, fr or auto (per comment, by its stop words)."""

    def __init__(self, language: str):
        self.language = language
        self.analyzers: dict = {}
        self.stop_words = None
        self.seen = {"en": 0, "fr": 0}     # a comment without stop words takes the run's usual language

    def __call__(self, text: str) -> float:
        return self.analyzer(self.language_of(text))(text)

    def language_of(self, text: str) -> str:
        if self.language != "auto":
            return self.language
        if self.stop_words is None:
            self.stop_words = {language: load_words(f"stopwords_{language}.txt") for language in ("en", "fr")}
        words = tokens(fold(text))
        english = sum(word in self.stop_words["en"] for word in words)
        french = sum(word in self.stop_words["fr"] for word in words)
        if french == english:
            return "fr" if self.seen["fr"] > self.seen["en"] else "en"
        language = "fr" if french > english else "en"
        self.seen[language] += 1
        return language

    def analyzer(self, language: str):
        if language not in self.analyzers:
            if language == "fr":
                from cxcheck.sentiment.french import French

                self.analyzers[language] = French()
            else:
                from cxcheck.sentiment.english import English

                self.analyzers[language] = English()
        return self.analyzers[language]
