"""How close the sentiment scorer's negative share comes to a human reader's, per language.

Reads the hand-labelled feedback of bench/sentiment/ (see its README: a tuning part and a
held-out part per language) and prints, for each file and scorer, the human negative share, the
scorer's, the gap in points (the target: within 10), and per comment the accuracy, precision and
recall of "negative". Scorers: plain VADER (its own lexicon, as shipped), the plain lexicon (for
French: this package's lexicon summed word by word, no rules), and cxcheck's (--language en|fr,
and auto: each comment's language detected). Run by hand: `python bench/bench_sentiment.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from cxcheck.sentiment import NEGATIVE_AT, scorer  # noqa: E402

DATA = ROOT / "bench" / "sentiment"
FILES = [("en", "en-tune"), ("en", "en-heldout"), ("fr", "fr-tune"), ("fr", "fr-heldout")]


def labelled(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / f"{name}.tsv").read_text(encoding="utf-8").splitlines():
        label, _, text = line.partition("\t")
        if text:
            rows.append((label, text))
    return rows


def plain_vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda text: analyzer.polarity_scores(text)["compound"]


def plain_french_lexicon():
    from cxcheck.sentiment.compound import normalise
    from cxcheck.sentiment.words import fold, load_lexicon, tokens

    lexicon = {word: value for word, value in load_lexicon("fr_lexicon.tsv").items() if " " not in word}
    return lambda text: normalise(sum(lexicon.get(word, 0.0) for word in tokens(fold(text))))


def figures(rows, score) -> dict:
    started = time.perf_counter()
    said = [score(text) <= NEGATIVE_AT for _, text in rows]
    elapsed = time.perf_counter() - started
    truth = [label == "neg" for label, _ in rows]
    hits = sum(s and t for s, t in zip(said, truth))
    n = len(rows)
    return {"human": 100 * sum(truth) / n, "said": 100 * sum(said) / n,
            "accuracy": 100 * sum(s == t for s, t in zip(said, truth)) / n,
            "precision": 100 * hits / sum(said) if any(said) else 0.0,
            "recall": 100 * hits / sum(truth) if any(truth) else 0.0,
            "ms": 1000 * elapsed / n, "n": n,
            "false_positive": sum(s and not t for s, t in zip(said, truth)) / max(n - sum(truth), 1)}


def main(argv: list[str]) -> int:
    show_errors = "--errors" in argv        # the misjudged comments of the tuning files only
    scorers = {"plain VADER": lambda language: plain_vader(),
               "plain lexicon": lambda language: plain_french_lexicon() if language == "fr" else None,
               "cxcheck --language": lambda language: scorer(language),
               "cxcheck auto": lambda language: scorer("auto")}
    print(f"{'file':<11} {'scorer':<19} {'n':>4} {'human neg':>9} {'said neg':>8} {'gap':>6} "
          f"{'accuracy':>8} {'precision':>9} {'recall':>6} {'ms/comment':>10}")
    for language, name in FILES:
        rows = labelled(name)
        for label, make in scorers.items():
            score = make(language)
            if score is None:
                continue
            f = figures(rows, score)
            print(f"{name:<11} {label:<19} {f['n']:>4} {f['human']:>8.1f}% {f['said']:>7.1f}% "
                  f"{f['said'] - f['human']:>+6.1f} {f['accuracy']:>7.1f}% {f['precision']:>8.1f}% "
                  f"{f['recall']:>5.1f}% {f['ms']:>10.3f}")
        # The sample's negative share is one mix; from the recall and the false-positive rate the
        # gap follows for any other: said = recall * share + false positives * (1 - share).
        f = figures(rows, scorer(language))
        gaps = "  ".join(f"{share:.0%}: {100 * (f['recall'] / 100 * share + f['false_positive'] * (1 - share)) - 100 * share:+.1f}"
                         for share in (0.1, 0.3, 0.5, 0.7, 0.9))
        print(f"{'':<11} gap at other true negative shares: {gaps}")
        if show_errors and name.endswith("tune"):
            score = scorer(language)
            for label, text in rows:
                value = score(text)
                if (value <= NEGATIVE_AT) != (label == "neg"):
                    print(f"    {label} {value:+.2f} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
