"""Any JSON endpoint holding survey responses: --items JMESPath to the list, --next to the
next page's URL, field names configurable."""

from __future__ import annotations

from urllib.parse import urljoin

from cxcheck.sources.apiclient import ApiClient
from cxcheck.sources.responses import Rejects, SourceError, TimeParser, item_record


def read(client: ApiClient, rejects: Rejects, url: str, items_path: str, next_path: str | None,
         score_field: str, date_field: str, date_formats=()):
    items_expr = compile_path(items_path, "--items")
    next_expr = compile_path(next_path, "--next") if next_path else None
    parse_time = TimeParser(date_formats)
    page = 1
    while url:
        body = client.get_json(url, what=f"page {page}")
        items = items_expr.search(body)
        if not isinstance(items, list):
            raise SourceError(f"{url}: --items {items_path} does not give a list")
        for index, item in enumerate(items):
            where = f"page {page} item {index + 1}"
            found = item_record(item, score_field, date_field, parse_time, rejects, where)
            if found:
                yield found
        following = next_expr.search(body) if next_expr else None
        url = urljoin(url, following) if isinstance(following, str) and following else None
        page += 1


def compile_path(expression: str, option: str):
    """A JMESPath expression, or a one-line SourceError naming the option."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        reason = " ".join(str(exc).split())
        raise SourceError(f"{option} {expression!r} is not a JMESPath expression: {reason}") from None
