"""Review exports on disk: CSV and JSON Lines, one review a row (a store console's download, a
review tool's export, a script's output). Streamed: one row in memory at a time."""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.exports import csv_export, jsonl_items, optional_column, wide_rows
from cxcheck.sources.reviews import ReviewSource, review
from cxcheck.sources.rows import Rejects

STAR_NAMES = ("stars", "rating", "star_rating", "score")
DATE_NAMES = ("date", "created_at", "submitted_at", "review_date", "updated", "timestamp", "time")
VERSION_NAMES = ("version", "app_version", "app_version_name")
TEXT_NAMES = ("comment", "text", "body", "review", "content")
TITLE_NAMES = ("title",)


def add_review_field_arguments(options) -> None:
    options.add("--stars-column", "--stars-field", dest="stars_column", metavar="NAME",
                help="the 1-5 stars column or field (default: the first named stars, rating, star_rating, score)")
    options.add("--date-column", "--date-field", dest="date_column", metavar="NAME",
                help="the date column or field (default: the first named date, created_at, submitted_at, ...)")
    options.add("--date-format", action="append", default=[], metavar="STRPTIME",
                help="a date format such as %%d/%%m/%%Y %%H:%%M, repeatable (default: ISO 8601 or unix seconds)")
    options.add("--version-column", "--version-field", dest="version_column", metavar="NAME",
                help="the app version column or field (default: version, app_version or app_version_name if present)")
    options.add("--comment-column", "--comment-field", dest="comment_column", metavar="NAME",
                help="the free text column or field, for --sentiment (default: comment, text, body, review or "
                     "content if present; a title column is read with it)")


def read_review_csv(path: str, rejects: Rejects, args):
    parse_time = TimeParser(args.date_format)
    with csv_export(path) as (names, reader):
        stars_at = optional_column(names, args.stars_column, STAR_NAMES, path, "stars", "--stars-column", True)
        date_at = optional_column(names, args.date_column, DATE_NAMES, path, "date", "--date-column", True)
        version_at = optional_column(names, args.version_column, VERSION_NAMES, path)
        text_at = optional_column(names, args.comment_column, TEXT_NAMES, path)
        title_at = optional_column(names, None, TITLE_NAMES, path) if args.comment_column is None else None
        wanted = [at for at in (stars_at, date_at, version_at, text_at, title_at) if at is not None]
        for row in wide_rows(reader, max(wanted), rejects):
            version, title, text = (row[at] if at is not None else None for at in (version_at, title_at, text_at))
            found = review(row[stars_at], row[date_at], parse_time, rejects, reader.line_num, version, title, text)
            if found:
                yield found


def read_review_jsonl(path: str, rejects: Rejects, args):
    parse_time = TimeParser(args.date_format)
    for number, item in jsonl_items(path, rejects):
        if not isinstance(item, dict):
            rejects.add("not a JSON object", number)
            continue
        title = item.get("title") if args.comment_column is None else None
        found = review(field(item, args.stars_column, STAR_NAMES), field(item, args.date_column, DATE_NAMES),
                       parse_time, rejects, number, field(item, args.version_column, VERSION_NAMES), title,
                       field(item, args.comment_column, TEXT_NAMES))
        if found:
            yield found


def field(item: dict, wanted: str | None, names):
    """The named field, or the first of the usual names the item has."""
    if wanted:
        return item.get(wanted)
    return next((item[name] for name in names if name in item), None)


class ReviewExport(ReviewSource):
    add_arguments = staticmethod(add_review_field_arguments)
    reader = staticmethod(read_review_csv)

    def __init__(self, value, run):
        super().__init__(value, run)
        self.versions = False           # until a row carries one

    def read_reviews(self, since: float, until: float, rejects: Rejects):
        self.reading_input()
        for found in self.reader(self.value, rejects, self.args):
            if found.version is not None:
                self.versions = True
            yield found


class ReviewCsvExport(ReviewExport):
    name = "CSV export"
    option, metavar = "--csv", "FILE"
    help = "a CSV export of reviews (- for standard input)"


class ReviewJsonLinesExport(ReviewExport):
    name = "JSON Lines export"
    option, metavar = "--jsonl", "FILE"
    help = "JSON Lines, one review object per line"
    reader = staticmethod(read_review_jsonl)
