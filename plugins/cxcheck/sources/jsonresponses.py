"""Any JSON endpoint holding survey responses: --items JMESPath to the list, --next to the
next page's URL, field names configurable; a token, when given, as Bearer. A field the options
name that no item of a page has is a configuration mismatch (sources/fields.py), said as such
rather than as every row rejected."""

from __future__ import annotations

from urllib.parse import urljoin

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import SourceError
from cxcheck.sources.fields import Fields
from cxcheck.sources.jsonendpoint import JsonEndpoint, compile_path
from cxcheck.sources.rows import Rejects
from cxcheck.sources.scores import NPS_SCALE, Scale, scored_item
from cxcheck.sources.survey_exports import add_field_arguments


class JsonResponses(JsonEndpoint):
    help = "a JSON endpoint (with --items, --next)"

    @classmethod
    def add_arguments(cls, options):
        add_field_arguments(options)
        options.add("--items", metavar="JMESPATH", default="@", help="--json-url: where the list is (default @)")
        options.add("--next", metavar="JMESPATH", help="--json-url: where the next page's URL is")

    def __init__(self, value, run):
        super().__init__(value, run)
        self.name = value        # messages name the URL

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        args = self.args
        return read(self.client, rejects, self.value, args.items, args.next, args.score_column or "score",
                    args.date_column or "created_at", args.date_format, scale)


def read(client, rejects: Rejects, url: str, items_path: str, next_path: str | None,
         score_field: str, date_field: str, date_formats=(), scale: Scale = NPS_SCALE):
    items_expr = compile_path(items_path, "--items")
    next_expr = compile_path(next_path, "--next") if next_path else None
    parse_time = TimeParser(date_formats)
    fields = Fields(url, (score_field, date_field), "items",
                    advice="a configuration mismatch (--score-field and --date-field name each item's fields), "
                           "not customer data")
    page = 1
    while url:
        body = client.get_json(url, what=f"page {page}")
        items = items_expr.search(body)
        if not isinstance(items, list):
            raise SourceError(f"{url}: --items {items_path} does not give a list")
        for index, item in enumerate(items):
            where = f"page {page} item {index + 1}"
            fields.saw(item)
            found = scored_item(item, score_field, date_field, parse_time, rejects, where, scale,
                                f"field {date_field!r}")
            if found:
                yield found
        fields.check(f"page {page}")
        following = next_expr.search(body) if next_expr else None
        url = urljoin(url, following) if isinstance(following, str) and following else None
        if url:
            client.follow(url)
        page += 1
