"""Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/): instant
queries, one number each.

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

from cxcheck.runtime import ConfigError, Deadline, HttpOptions, SourceError, log

MAX_BODY = 8 * 1024 * 1024
MAX_ERROR_TEXT = 300


class NoData(SourceError):
    """The query ran but gave no finite number: an empty result, NaN or Inf."""


class Prometheus:
    """A client for one Prometheus server: the survey APIs' client (one session, the token kept to
    this host, 429 and Retry-After inside the run's deadline)."""

    def __init__(self, url: str, http: HttpOptions, deadline: Deadline, time: str | None = None,
                 headers: dict | None = None):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--prometheus {url!r}: an http:// or https:// URL")
        self.base = url.rstrip("/") + "/"
        self.endpoint = urljoin(self.base, "api/v1/query")
        self.http = http
        self.deadline = deadline
        self.time = time
        self.headers = headers or {}
        self._client = None
        self.warnings: list[str] = []

    def _get(self, query: str):
        if self._client is None:
            from cxcheck.sources.apiclient import ApiClient  # the HTTP stack, only once it is used

            self._client = ApiClient("Prometheus", self.base, self.http, self.deadline, headers=self.headers,
                                     max_body=MAX_BODY, max_redirects=3)
        params = {"query": query}
        if self.time:
            params["time"] = self.time
        return self._client.get(self.endpoint, params=params, what="query")

    def query(self, query: str) -> float:
        """The one finite number an instant query gives."""
        import json

        from cxcheck.sources.apiclient import shorten  # loaded with the client by _get

        response = self._get(query)
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

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None


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
