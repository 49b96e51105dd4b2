"""Review exports on disk: CSV and JSON Lines, one review a row (a store console's download, a
review tool's export, a script's output). Streamed: one row in memory at a time."""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.exports import add_date_format, csv_cells, first_field, jsonl_objects
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
    add_date_format(options)
    options.add("--version-column", "--version-field", dest="version_column", metavar="NAME",
                help="the app version column or field (default: version, app_version or app_version_name if present)")
    options.add("--comment-column", "--comment-field", dest="comment_column", metavar="NAME",
                help="the free text column or field, for --sentiment (default: comment, text, body, review or "
                     "content if present; a title column is read with it)")


def read_review_csv(path: str, rejects: Rejects, args):
    parse_time = TimeParser(args.date_format)
    titles = (None, TITLE_NAMES) if args.comment_column is None else None      # read with the text they head
    for line, (stars, date, version, text, title) in csv_cells(path, rejects, [
            (args.stars_column, STAR_NAMES, "stars", "--stars-column", True),
            (args.date_column, DATE_NAMES, "date", "--date-column", True),
            (args.version_column, VERSION_NAMES), (args.comment_column, TEXT_NAMES), titles]):
        found = review(stars, date, parse_time, rejects, line, version, title, text)
        if found:
            yield found


def read_review_jsonl(path: str, rejects: Rejects, args):
    parse_time = TimeParser(args.date_format)
    for number, item in jsonl_objects(path, rejects):
        title = item.get("title") if args.comment_column is None else None
        stars, date = first_field(item, args.stars_column, STAR_NAMES), first_field(item, args.date_column, DATE_NAMES)
        found = review(stars, date, parse_time, rejects, number, first_field(item, args.version_column, VERSION_NAMES),
                       title, first_field(item, args.comment_column, TEXT_NAMES))
        if found:
            yield found


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
