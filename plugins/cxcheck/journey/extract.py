"""Values taken from a response into variables for the steps after it."""

from __future__ import annotations

import re

from cxcheck.http import Response, TransportError
from cxcheck.journey.expect import _json_path
from cxcheck.runtime import masker


class ExtractError(Exception):
    """A value the journey needs is not in the response."""


def extract(rules: dict, response: Response, cookies) -> dict[str, str]:
    values = {}
    for var, (kind, expr) in rules.items():
        if kind == "json":
            try:
                found = _json_path(expr, response)
            except TransportError as exc:
                raise ExtractError(f"extract {var}: {exc}") from None
            if found is None:
                raise ExtractError(f"extract {var}: JSON {masker.mask(expr)} not found in the response")
            value = found if isinstance(found, str) else _json_text(found)
        elif kind == "regex":
            match = re.search(expr, response.text)
            if not match:
                raise ExtractError(f"extract {var}: /{masker.mask(expr)}/ does not match the page")
            value = match.group(1) or ""
        elif kind == "header":
            value = response.headers.get(expr)
            if value is None:
                raise ExtractError(f"extract {var}: no {masker.mask(expr)} header in the response")
        else:
            value = cookies.get(expr)
            if value is None:
                raise ExtractError(f"extract {var}: no cookie {masker.mask(expr)} was set")
        values[var] = value
    return values


def _json_text(value) -> str:
    import json

    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))
