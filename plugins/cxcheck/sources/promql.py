"""Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/): instant
queries, one number each; the base of every source that reads a Prometheus server (a funnel, a
latency histogram, the transactions' success).

GET {base}/api/v1/query?query=Q[&time=T] answers
`{"status":"success","data":{"resultType":"vector"|"scalar","result":...}}`, values as strings
("0.97", "NaN", "+Inf"). Errors come as HTTP 400 (bad_data), 422 (execution), 503 (timeout,
canceled) with `{"status":"error","errorType":...,"error":...}`. Every way a query cannot give one
finite number is a SourceError whose message names the query and the reason: the plugin entry
makes it UNKNOWN (the monitoring cannot tell, the customers are not known to fail).
"""

from __future__ import annotations

import math
from urllib.parse import urljoin

from cxcheck.runtime import log
from cxcheck.sources.base import ApiSource, SourceError

MAX_BODY = 8 * 1024 * 1024
MAX_ERROR_TEXT = 300


class NoData(SourceError):
    """The query ran but gave no finite number: an empty result, NaN or Inf."""


class PrometheusSource(ApiSource):
    """A source whose option names a Prometheus server (--prometheus URL): a bearer token when
    given, every query through the source's one client, evaluated at `time` (None: now)."""

    name = "Prometheus"
    option, metavar = "--prometheus", "URL"
    endpoint = True
    token_required = False
    token_name = "bearer token"
    max_body, max_redirects = MAX_BODY, 3

    def __init__(self, value, run):
        super().__init__(value, run)
        self.base_url = value.rstrip("/") + "/"
        self.time: str | None = None
        self.warnings: list[str] = []       # Prometheus' own, for the long output

    def on_request(self, what: str) -> None:
        """The reader says what it queries (which window, which bound): a request adds nothing."""

    def query(self, query: str) -> float:
        """The one finite number an instant query gives."""
        import json

        from cxcheck.sources.apiclient import shorten  # loaded with the client

        params = {"query": query} if self.time is None else {"query": query, "time": self.time}
        response = self.client.get(urljoin(self.base_url, "api/v1/query"), params=params, what="query")
        where = f"query {shorten(query)!r}"
        try:
            body = json.loads(response.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or "status" not in body:
            hint = " (is the URL a Prometheus server?)" if response.status in (200, 404) else ""
            raise SourceError(f"Prometheus {response.url.split('?')[0]} answered HTTP {response.status}, "
                              f"not a Prometheus API answer{hint}")
        if body.get("status") != "success":
            kind = body.get("errorType") or "error"
            error = shorten(str(body.get("error") or "no reason given"), MAX_ERROR_TEXT)
            raise SourceError(f"Prometheus {kind} (HTTP {response.status}) for {where}: {error}")
        if response.status != 200:
            raise SourceError(f"Prometheus answered HTTP {response.status} for {where}")
        for warning in body.get("warnings") or []:
            self.warnings.append(f"Prometheus warning for {where}: {shorten(str(warning), MAX_ERROR_TEXT)}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise SourceError(f"Prometheus answer for {where} has no data")
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar":
            sample = result
        elif kind == "vector":
            if not isinstance(result, list):
                raise SourceError(f"Prometheus answer for {where} is malformed (result is not a list)")
            if not result:
                raise NoData(f"{where} returned no data (empty result: no such series or no samples; "
                             "if it counts nothing yet, append 'or vector(0)')")
            if len(result) > 1:
                labels = ", ".join(_labels(s.get("metric")) for s in result[:3] if isinstance(s, dict))
                more = ", ..." if len(result) > 3 else ""
                raise SourceError(f"{where} returned {len(result)} series ({labels}{more}); "
                                  "aggregate it to one, e.g. sum(...)")
            sample = result[0].get("value") if isinstance(result[0], dict) else None
        elif kind == "matrix":
            raise SourceError(f"{where} returned a range vector; an instant query must give one number "
                              "(wrap it in sum(rate(...)) or similar)")
        else:
            raise SourceError(f"{where} returned a {kind or 'missing'} result, not a number")
        value = _sample_value(sample, where)
        log.info("Prometheus %s = %r", query, value)
        return value


def _labels(metric) -> str:
    if not isinstance(metric, dict) or not metric:
        return "{}"
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def _sample_value(sample, where: str) -> float:
    if not isinstance(sample, list) or len(sample) != 2:
        raise SourceError(f"Prometheus answer for {where} is malformed (a sample is [time, value])")
    try:
        value = float(sample[1])
    except (TypeError, ValueError):
        raise SourceError(f"{where} returned {sample[1]!r}, not a number") from None
    if math.isnan(value):
        raise NoData(f"{where} returned NaN (a division by zero: no traffic in the window?)")
    if math.isinf(value):
        raise NoData(f"{where} returned {'+' if value > 0 else '-'}Inf (a division by zero?)")
    return value
