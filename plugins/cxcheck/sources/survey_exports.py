"""Survey answers exported to disk: a CSV export (--csv) or JSON Lines (--jsonl), the score and
date columns found by name or given; both stream through sources/exports.py."""

from __future__ import annotations

from datetime import UTC, datetime

from cxcheck.runtime.times import FUTURE, TimeParser
from cxcheck.sources.base import Source
from cxcheck.sources.exports import (
    DATE_NAMES,
    _pick,
    _shown,
    add_date_format,
    csv_export,
    first_field,
    jsonl_items,
    optional_column,
    wide_rows,
)
from cxcheck.sources.rows import Rejects, reject_date
from cxcheck.sources.scores import NPS_SCALE, Scale, parse_score, score_problem, scored_item

SCORE_NAMES = ("score", "rating", "nps", "likelihood")
COMMENT_NAMES = ("comment", "comments", "feedback", "reason", "verbatim", "text")


def read_csv(path: str, rejects: Rejects, score_column=None, date_column=None, date_formats=(),
             scale: Scale = NPS_SCALE, comments=None, comment_column=None):
    """Yield (time, score) from a CSV export; count the rows that cannot be read. With `comments`,
    each answer's free text (--comment-column) goes to comments(time, text) as it is read."""
    scores = scale.fast
    parse_time = TimeParser(date_formats)
    iso_first, fromisoformat, utc, latest = not date_formats, datetime.fromisoformat, UTC, parse_time.latest
    with csv_export(path) as (names, reader):
        score_at = _pick(names, score_column, SCORE_NAMES, "score", "--score-column", path)
        date_at = _pick(names, date_column, DATE_NAMES, "date", "--date-column", path)
        column = f"column {_shown([names[date_at]])}"
        comment_at = optional_column(names, comment_column, COMMENT_NAMES, path, "comment", "--comment-column",
                                     comments is not None) if comments is not None else None
        for row in wide_rows(reader, max(score_at, date_at, comment_at or 0), rejects):
            raw = row[score_at]
            score = scores.get(raw)
            if score is None:
                score = parse_score(raw, scale)
            if score is None:
                rejects.add(score_problem(raw, scale), reader.line_num)
                continue
            raw = row[date_at]
            when = None
            if iso_first:
                # The common case, ISO 8601, straight to C; anything else takes the slow path.
                try:
                    stamp = fromisoformat(raw)
                    when = (stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=utc)).timestamp()
                except (ValueError, OverflowError):
                    pass
            if when is None:
                when = parse_time(raw)
            if when is None:
                reject_date(rejects, parse_time.problem, reader.line_num, raw, column)
                continue
            if when > latest:
                rejects.add(FUTURE, reader.line_num)
                continue
            if comment_at is not None:
                comments(when, row[comment_at])
            yield when, score


def read_jsonl(path: str, rejects: Rejects, score_field=None, date_field=None, date_formats=(),
               scale: Scale = NPS_SCALE, comments=None, comment_field=None):
    """Yield (time, score) from JSON Lines: one object per line; with `comments`, as read_csv."""
    parse_time = TimeParser(date_formats)
    score_key, date_key = score_field or "score", date_field or "created_at"
    for number, item in jsonl_items(path, rejects):
        found = scored_item(item, score_key, date_key, parse_time, rejects, number, scale, f"field {date_key!r}")
        if found:
            if comments is not None:
                comments(found[0], first_field(item, comment_field, COMMENT_NAMES))
            yield found


def add_field_arguments(options) -> None:
    """Which column or field holds the score and the date: exports and JSON endpoints alike."""
    options.add("--score-column", "--score-field", dest="score_column", metavar="NAME",
                help="the score column or field (default: the first named like score, rating, nps, "
                     "likelihood; JSON: score); NAME#2 is the second of two columns so named")
    options.add("--date-column", "--date-field", dest="date_column", metavar="NAME",
                help="the date column or field (default: the first named like date, created_at, "
                     "submitted_at, timestamp; JSON: created_at)")
    add_date_format(options)
    options.add("--comment-column", "--comment-field", dest="comment_column", metavar="NAME",
                help="the free text column or field, for --sentiment (default: the first named comment, "
                     "comments, feedback, reason, verbatim, text)")


class Export(Source):
    """A survey export on disk (- for standard input), read by `reader` with the field options."""

    add_arguments = staticmethod(add_field_arguments)
    reader = staticmethod(read_csv)
    has_comments = True

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        self.reading_input()
        args = self.args
        return self.reader(self.value, rejects, args.score_column, args.date_column, args.date_format, scale,
                           self.comments, getattr(args, "comment_column", None))


class CsvExport(Export):
    name = "CSV export"
    option, metavar = "--csv", "FILE"
    help = "a CSV export (- for standard input)"


class JsonLinesExport(Export):
    name = "JSON Lines export"
    option, metavar = "--jsonl", "FILE"
    help = "JSON Lines, one response object per line"
    reader = staticmethod(read_jsonl)
