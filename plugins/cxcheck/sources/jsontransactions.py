"""Transactions' success from any JSON endpoint: GET a URL, take the successes and the total with
JMESPath expressions (`--success-path`, `--total-path`). An endpoint that takes the window as a
parameter gets ${window} in its URL, as written (1.5d).

Every way the answer cannot give two finite, non-negative numbers is a SourceError naming the URL
and the path: the plugin entry makes it UNKNOWN.
"""

from __future__ import annotations

import math

from cxcheck.runtime import excerpt, log
from cxcheck.sources.base import SourceError
from cxcheck.sources.jsonendpoint import JsonEndpoint, compile_path, found
from cxcheck.sources.transactions import Measure, counted, in_window

MAX_BODY = 8 * 1024 * 1024


class JsonTransactions(JsonEndpoint):
    help = "a URL answering JSON with the counts (with --success-path and --total-path)"
    token_name = "bearer token"
    headers = {"Accept": "application/json"}
    max_body, max_redirects = MAX_BODY, 3
    counts_total = True
    needs = ("--success-path", "--total-path")

    @classmethod
    def add_arguments(cls, options):
        options.add("--success-path", metavar="JMESPATH", help="--json-url: where the successful transactions are")
        options.add("--total-path", metavar="JMESPATH", help="--json-url: where all transactions are")

    def __init__(self, value, run):
        super().__init__(value, run)
        args = self.args
        self.paths = {"success": (args.success_path, compile_path(args.success_path, "--success-path")),
                      "total": (args.total_path, compile_path(args.total_path, "--total-path"))}
        self.templates = [value]

    def on_request(self, what: str) -> None:
        """The check says which window it queries: a request adds nothing."""

    def read_transactions(self, window: str | None, quiet_below: float) -> Measure:
        success, total = self.fetch(in_window(self.value, window))
        return counted(window, success, total, f"JSON endpoint{f' ({window})' if window else ''}")

    def fetch(self, url: str) -> tuple[float, float]:
        """(successes, total) from the endpoint's answer at `url` (on its host: the token stays there)."""
        response = self.client.get(url, what="counts")
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
        option = f"--{name}-path {expr!r}"
        raw = found(compiled, option, document, url)
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise SourceError(f"{option} gives {_short(raw)}, not a number")
        try:
            value = float(raw)
        except ValueError:
            raise SourceError(f"{option} gives {_short(raw)}, not a number") from None
        if math.isnan(value) or math.isinf(value):
            raise SourceError(f"{option} gives {_short(raw)}, not a finite number")
        if value < 0:
            raise SourceError(f"{option} gives {_short(raw)}: a count cannot be negative")
        return value

def _short(value, limit: int = 60) -> str:
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return excerpt(text, limit - 3)
