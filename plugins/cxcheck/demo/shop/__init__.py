"""The demo shop: a small web shop on the standard library, the target of cxcheck's tests and of
`cxcheck demo`.

It behaves like a django-oscar shop where the plugins care (sessions, CSRF tokens, two forms on
the login page, a multi-step checkout, a JSON API, Prometheus metrics), measures its own time per
request (Server-Timing header and /admin/requests) so tests can compare a plugin's figures with
the server's, and misbehaves on request through fault knobs and /fault/* endpoints.

    from cxcheck.demo.shop import DemoShop
    with DemoShop(faults={"fail_every": 2}) as shop:
        print(shop.url)

    python -m cxcheck.demo.shop --port 8080 --latency /accounts/=0.5 --failure-rate 0.1

Modules, one concern each: state (accounts, sessions, orders, counters), faults (knobs and
/fault/*), handler (request plumbing), web / api / browser (what each URL does), routes (the URL table),
pages (HTML), metrics (/metrics text), access_log (nginx's combined format), server (DemoShop).
"""

from cxcheck.demo.shop.server import DemoShop, StartError
from cxcheck.demo.shop.state import DEMO_ACCOUNTS, PRODUCTS, SHIPPING

__all__ = ["DEMO_ACCOUNTS", "PRODUCTS", "SHIPPING", "DemoShop", "StartError"]
