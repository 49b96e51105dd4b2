"""A local server answering as Prometheus' HTTP API documents instant queries
(https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries): GET /api/v1/query?query=Q&time=T,
`{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [T, "12"]}]}}`.
Used by the conversion and payments tests."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

JSON = {"Content-Type": "application/json"}


def query(handler) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}


def prometheus_api(site, values: dict, seen: list | None = None, auths: list | None = None):
    """Answers each query with values[(query, time)] (a number, or None for an empty result)."""
    def answer(handler, body):
        params = query(handler)
        if seen is not None:
            seen.append(params)
        if auths is not None:
            auths.append(handler.headers.get("Authorization"))
        value = values[(params["query"], float(params["time"]))]
        result = [] if value is None else [{"metric": {}, "value": [float(params["time"]), str(value)]}]
        return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})

    return site({"/api/v1/query": (200, JSON, answer)})


def windowed(text: str, window: str) -> str:
    return text.replace("${window}", window)
