"""Any JSON endpoint as a source (--json-url URL): the base of the survey answers, funnel counts
and transactions read from a URL that answers JSON, each value taken where a JMESPath expression
the administrator gives finds it. A token, when given, goes as Bearer to the URL's host only."""

from __future__ import annotations

from cxcheck.sources.base import ApiSource, SourceError


class JsonEndpoint(ApiSource):
    name = "JSON endpoint"
    option, metavar = "--json-url", "URL"
    endpoint = True
    token_required = False


def compile_path(expression: str, option: str):
    """A JMESPath expression, or a one-line SourceError naming the option."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        reason = " ".join(str(exc).split())
        raise SourceError(f"{option} {expression!r} is not a JMESPath expression: {reason}") from None


def found(compiled, said: str, document, url: str):
    """What `compiled` finds in the answer of `url`; nothing is a SourceError naming the option and
    its expression as `said` ("--total-path 'orders.total'")."""
    value = compiled.search(document)
    if value is None:
        raise SourceError(f"{said} found nothing in the answer of {url}")
    return value
