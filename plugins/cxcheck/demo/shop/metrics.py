"""/metrics: the shop's counters in the Prometheus text exposition format 0.0.4."""

from __future__ import annotations


def label_escape(value) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def labels(**pairs) -> str:
    return ",".join(f'{k}="{label_escape(v)}"' for k, v in pairs.items())


def exposition(counters: dict) -> str:
    """The text for one scrape, from ShopState.counters()."""
    out = ["# HELP cxshop_orders_total Orders submitted, by outcome (web and API).",
           "# TYPE cxshop_orders_total counter"]
    out += [f'cxshop_orders_total{{outcome="{k}"}} {v}' for k, v in counters["orders"].items()]
    out += ["# HELP cxshop_checkout_duration_seconds From the first checkout page to the placed order.",
            "# TYPE cxshop_checkout_duration_seconds histogram"]
    out += [f'cxshop_checkout_duration_seconds_bucket{{le="{b}"}} {n}' for b, n in counters["checkout_buckets"]]
    out += [f'cxshop_checkout_duration_seconds_bucket{{le="+Inf"}} {counters["checkout_count"]}',
            f"cxshop_checkout_duration_seconds_sum {counters['checkout_sum']!r}",
            f"cxshop_checkout_duration_seconds_count {counters['checkout_count']}",
            "# HELP cxshop_requests_total HTTP requests answered, by method, route and status.",
            "# TYPE cxshop_requests_total counter"]
    out += [f"cxshop_requests_total{{{labels(method=m, path=p, code=c)}}} {n}"
            for (m, p, c), n in sorted(counters["requests_total"].items())]
    out += ["# HELP cxshop_request_duration_seconds Time to answer, by route (Server-Timing).",
            "# TYPE cxshop_request_duration_seconds summary"]
    for route, (total, count) in sorted(counters["request_seconds"].items()):
        out += [f"cxshop_request_duration_seconds_sum{{{labels(path=route)}}} {total!r}",
                f"cxshop_request_duration_seconds_count{{{labels(path=route)}}} {count}"]
    return "\n".join(out) + "\n"
