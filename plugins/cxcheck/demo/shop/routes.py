"""The URL table, and the request handler that serves it: the plumbing of handler.py with the
route methods of each part of the shop."""

from __future__ import annotations

import re

from cxcheck.demo.shop.api import ApiRoutes
from cxcheck.demo.shop.browser import BrowserRoutes
from cxcheck.demo.shop.faults import FaultRoutes
from cxcheck.demo.shop.handler import RequestHandler
from cxcheck.demo.shop.web import WebRoutes

# path template -> {method: handler suffix}; "*" answers any method. {n} matches digits.
ROUTES = {
    "/": {"GET": "home"},
    "/accounts/login/": {"GET": "login_page", "POST": "login"},
    "/accounts/register/": {"POST": "register"},
    "/accounts/": {"GET": "account"},
    "/accounts/logout/": {"GET": "logout"},
    "/catalogue/": {"GET": "catalogue"},
    "/basket/": {"GET": "basket"},
    "/basket/add/": {"POST": "basket_add"},
    "/checkout/address/": {"GET": "address", "POST": "address_post"},
    "/checkout/shipping/": {"GET": "shipping", "POST": "shipping_post"},
    "/checkout/payment/": {"GET": "payment", "POST": "payment_post"},
    "/checkout/confirm/": {"GET": "confirm", "POST": "confirm_post"},
    "/checkout/thank-you/": {"GET": "thank_you"},
    "/spa/login/": {"GET": "spa_login"},
    "/spa/login.js": {"GET": "spa_login_js"},
    "/spa/session": {"GET": "spa_session"},
    "/catalogue/slow-widget/": {"GET": "slow_widget"},
    "/3p/widget.js": {"GET": "widget_js"},
    "/js-error/": {"GET": "js_error"},
    "/busy-loop/": {"GET": "busy_loop"},
    "/favicon.ico": {"GET": "favicon"},
    "/api/login": {"POST": "api_login"},
    "/api/orders": {"POST": "api_order_create"},
    "/api/orders/{n}": {"GET": "api_order_get"},
    "/api/health": {"GET": "api_health"},
    "/metrics": {"GET": "metrics"},
    "/admin/faults": {"GET": "faults_get", "POST": "faults_post"},
    "/admin/requests": {"GET": "requests_get", "DELETE": "requests_clear"},
    "/admin/requests/clear": {"POST": "requests_clear"},
    "/fault/hang": {"*": "hang"},
    "/fault/drip": {"*": "drip"},
    "/fault/reset": {"*": "reset"},
    "/fault/big": {"*": "big"},
    "/fault/redirect-loop": {"*": "redirect_loop"},
    "/fault/status/{n}": {"*": "status"},
    "/fault/slow": {"*": "slow"},
}
_ROUTE_RE = [(re.compile(re.escape(t).replace(r"\{n\}", r"([0-9]{1,9})")), t) for t in ROUTES]


def find_route(method: str, path: str) -> tuple[str, str, list]:
    """(route template for the metrics, handler suffix, arguments) for a request."""
    method = "GET" if method == "HEAD" else method
    for regex, template in _ROUTE_RE:
        match = regex.fullmatch(path)
        if match:
            name = ROUTES[template].get(method) or ROUTES[template].get("*")
            if name:
                return template, name, [int(g) for g in match.groups()]
            return template, "not_allowed", [sorted(ROUTES[template])]
    if method == "GET" and path + "/" in ROUTES:
        return "other", "append_slash", []
    return "other", "not_found", []


class Handler(WebRoutes, BrowserRoutes, ApiRoutes, FaultRoutes, RequestHandler):
    def find_route(self):
        return find_route(self.command, self.url_path)
