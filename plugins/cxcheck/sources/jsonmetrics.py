"""Any JSON endpoint that counts transactions: GET a URL, take the successes and the total with
JMESPath expressions (`--success-path`, `--total-path`).

For endpoints that take the window as a query parameter (burn rates), the check gives the URL for
each window. Every way the answer cannot give two finite, non-negative numbers is a SourceError
naming the URL and the path: the plugin entry makes it UNKNOWN.
"""

from __future__ import annotations

import math

from cxcheck.runtime import ConfigError, Deadline, HttpOptions, SourceError, excerpt, log

MAX_BODY = 8 * 1024 * 1024


def compile_path(expr: str, option: str):
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expr)
    except JMESPathError as exc:
        raise ConfigError(f"{option} {expr!r}: invalid JMESPath: {str(exc).splitlines()[0]}") from None


class JsonMetrics:
    """Counts from one JSON endpoint, read with the survey APIs' client (one session, the token
    kept to the endpoint's host, 429 and Retry-After inside the run's deadline)."""

    def __init__(self, url: str, success_path: str, total_path: str, http: HttpOptions, deadline: Deadline,
                 headers: dict | None = None):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--json-url {url!r}: an http:// or https:// URL")
        self.url = url
        self.paths = {"success": (success_path, compile_path(success_path, "--success-path")),
                      "total": (total_path, compile_path(total_path, "--total-path"))}
        self.http = http
        self.deadline = deadline
        self.headers = {"Accept": "application/json", **(headers or {})}
        self._client = None

    def fetch(self, url: str | None = None) -> tuple[float, float]:
        """(successes, total) from the endpoint, or from `url` on its host (the URL for a window)."""
        if self._client is None:
            from cxcheck.sources.apiclient import ApiClient  # the HTTP stack, only once it is used

            self._client = ApiClient("JSON endpoint", self.url, self.http, self.deadline, headers=self.headers,
                                     max_body=MAX_BODY, max_redirects=3)
        url = url or self.url
        response = self._client.get(url, what="counts")
        if response.status != 200:
            raise SourceError(f"JSON endpoint {url} answered HTTP {response.status}")
        from cxcheck.http import TransportError

        try:
            document = response.json()
        except TransportError as exc:
            raise SourceError(str(exc)) from None
        values = [self._number(name, document, url) for name in ("success", "total")]
        log.info("JSON %s: success %r, total %r", url, *values)
        return values[0], values[1]

    def _number(self, name: str, document, url: str) -> float:
        expr, compiled = self.paths[name]
        found = compiled.search(document)
        option = f"--{name}-path {expr!r}"
        if found is None:
            raise SourceError(f"{option} found nothing in the answer of {url}")
        if isinstance(found, bool) or not isinstance(found, (int, float, str)):
            raise SourceError(f"{option} gives {_short(found)}, not a number")
        try:
            value = float(found)
        except ValueError:
            raise SourceError(f"{option} gives {_short(found)}, not a number") from None
        if math.isnan(value) or math.isinf(value):
            raise SourceError(f"{option} gives {_short(found)}, not a finite number")
        if value < 0:
            raise SourceError(f"{option} gives {_short(found)}: a count cannot be negative")
        return value

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None


def _short(value, limit: int = 60) -> str:
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return excerpt(text, limit - 3)
