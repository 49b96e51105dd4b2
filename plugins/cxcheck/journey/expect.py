"""Expectations on a step's response: the customer saw what they should have."""

from __future__ import annotations

import re

from cxcheck.http import Response, TransportError


def _json_path(expr: str, response: Response):
    import jmespath  # only steps with JSON expressions pay for it

    return jmespath.search(expr, response.json())


def failures(expect: dict, response: Response, cookies) -> list[str]:
    """The reasons this response fails the step's expectations; empty when it passes."""
    reasons = []
    codes = expect.get("status")
    if codes is None:
        if response.status >= 400:
            reasons.append(f"HTTP {response.status}")
    elif response.status not in codes:
        wanted = " or ".join(str(c) for c in codes)
        reasons.append(f"HTTP {response.status}, expected {wanted}")
    for text in expect.get("contains", []):
        if text not in response.text:
            reasons.append(f"page lacks {text!r}")
    for text in expect.get("not_contains", []):
        if text in response.text:
            reasons.append(f"page shows {text!r}")
    if "regex" in expect and not re.search(expect["regex"], response.text):
        reasons.append(f"page does not match /{expect['regex']}/")
    if "url_matches" in expect and not re.search(expect["url_matches"], response.url):
        reasons.append(f"ended at {response.url}, expected a URL matching /{expect['url_matches']}/")
    for name, pattern in expect.get("header", {}).items():
        value = response.headers.get(name)
        if value is None:
            reasons.append(f"no {name} header")
        elif not re.search(pattern, value):
            reasons.append(f"header {name}: {value!r} does not match /{pattern}/")
    for expr, wanted in expect.get("json", {}).items():
        try:
            got = _json_path(expr, response)
        except TransportError as exc:
            reasons.append(str(exc))
            break
        if not _same(got, wanted):
            reasons.append(f"JSON {expr} is {got!r}, expected {wanted!r}")
    return reasons


def _same(got, wanted) -> bool:
    if got == wanted:
        return True
    # YAML says 201, the API says "201" (or the reverse): the customer sees the same thing.
    if isinstance(wanted, (int, float, str)) and isinstance(got, (int, float, str)) \
            and not isinstance(got, bool) and not isinstance(wanted, bool):
        return str(got) == str(wanted)
    return False
