"""Expectations on a step's response: the customer saw what they should have.

The reasons quote outside text (the final URL, header and JSON values, and the scenario's texts
once variables are substituted into them): each quote is masked where it enters the reason.
"""

from __future__ import annotations

import re

from cxcheck.http import Response, TransportError
from cxcheck.runtime import masker


def _quoted(value) -> str:
    return masker.mask(repr(value))


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
            reasons.append(f"page lacks {_quoted(text)}")
    for text in expect.get("not_contains", []):
        if text in response.text:
            reasons.append(f"page shows {_quoted(text)}")
    if "regex" in expect and not re.search(expect["regex"], response.text):
        reasons.append(f"page does not match /{masker.mask(expect['regex'])}/")
    if "url_matches" in expect and not re.search(expect["url_matches"], response.url):
        reasons.append(f"ended at {masker.mask(response.url)}, expected a URL matching "
                       f"/{masker.mask(expect['url_matches'])}/")
    for name, pattern in expect.get("header", {}).items():
        value = response.headers.get(name)
        if value is None:
            reasons.append(f"no {masker.mask(name)} header")
        elif not re.search(pattern, value):
            reasons.append(f"header {masker.mask(name)}: {_quoted(value)} does not match /{masker.mask(pattern)}/")
    for expr, wanted in expect.get("json", {}).items():
        try:
            got = _json_path(expr, response)
        except TransportError as exc:
            reasons.append(str(exc))
            break
        if not _same(got, wanted):
            reasons.append(f"JSON {masker.mask(expr)} is {_quoted(got)}, expected {_quoted(wanted)}")
    return reasons


def _same(got, wanted) -> bool:
    if got == wanted:
        return True
    # YAML says 201, the API says "201" (or the reverse): the customer sees the same thing.
    if isinstance(wanted, (int, float, str)) and isinstance(got, (int, float, str)) \
            and not isinstance(got, bool) and not isinstance(wanted, bool):
        return str(got) == str(wanted)
    return False
