"""Any JSON endpoint that counts transactions: GET a URL, take the successes and the total with
JMESPath expressions (`--success-path`, `--total-path`).

`${window}` in the URL is replaced per window, for endpoints that take the window as a query
parameter (burn rates). Every way the answer cannot give two finite, non-negative numbers is a
SourceError naming the URL and the path: the check makes it UNKNOWN.
"""

from __future__ import annotations

import math

from cxcheck.runtime import ConfigError, Deadline, HttpOptions, log

MAX_BODY = 8 * 1024 * 1024


class SourceError(ConfigError):
    """The endpoint could not give the numbers (a ConfigError: the plugin ends UNKNOWN)."""


def compile_path(expr: str, option: str):
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expr)
    except JMESPathError as exc:
        raise ConfigError(f"{option} {expr!r}: invalid JMESPath: {str(exc).splitlines()[0]}") from None


class JsonMetrics:
    def __init__(self, url: str, success_path: str, total_path: str, http: HttpOptions, deadline: Deadline):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--json-url {url!r}: an http:// or https:// URL")
        self.url = url
        self.paths = {"success": (success_path, compile_path(success_path, "--success-path")),
                      "total": (total_path, compile_path(total_path, "--total-path"))}
        self.http = http
        self.deadline = deadline
        self._session = None

    def fetch(self, window: str | None = None) -> tuple[float, float]:
        """(successes, total) from the endpoint, with ${window} in the URL replaced by `window`."""
        from cxcheck.http import TransportError, fetch, new_session

        url = self.url.replace("${window}", window) if window else self.url
        if self._session is None:
            self._session = new_session(self.http, max_redirects=3)
        try:
            response = fetch(self._session, "GET", url, self.deadline, max_body=MAX_BODY,
                             headers={"Accept": "application/json"})
        except TransportError as exc:
            raise SourceError(f"JSON endpoint: {exc}") from None
        if response.status != 200:
            raise SourceError(f"JSON endpoint {url} answered HTTP {response.status}")
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
            raise SourceError(f"{option} gives {found!r}, not a finite number")
        if value < 0:
            raise SourceError(f"{option} gives {found!r}: a count cannot be negative")
        return value

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None


def _short(value, limit: int = 60) -> str:
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
