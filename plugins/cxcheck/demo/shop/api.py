"""The shop's machine side: the JSON API (token login, orders), health, /metrics, and the
request log tests read back through /admin/requests."""

from __future__ import annotations

from cxcheck.demo.shop.state import PRODUCTS, TOKEN_TTL


def api_order(order: dict) -> dict:
    (sku, quantity), *_ = order["lines"].items()
    return {"id": order["id"], "status": order["status"], "sku": sku, "quantity": quantity,
            "lines": [{"sku": k, "quantity": q} for k, q in order["lines"].items()],
            "total": round(order["total"] / 100, 2), "created": order["created"]}


class ApiRoutes:
    """Request handler part: JSON in, JSON out; bearer tokens instead of sessions."""

    def api_user(self) -> str | None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        email = self.shop.token_user(token.strip()) if scheme.lower() == "bearer" else None
        if email is None:
            self.json(401, {"error": "missing or invalid token"}, {"WWW-Authenticate": 'Bearer realm="cxshop"'})
        return email

    def r_api_login(self):
        data = self.json_body()
        if data is None:
            return
        email, password = data.get("email"), data.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            self.json(400, {"error": "email and password are required"})
        elif not self.shop.check_password(email, password):
            self.json(401, {"error": "invalid credentials"})
        else:
            self.json(200, {"token": self.shop.issue_token(email), "expires_in": TOKEN_TTL})

    def r_api_order_create(self):
        email = self.api_user()
        data = email and self.json_body()
        if not data:
            return
        sku, quantity = data.get("sku"), data.get("quantity", 1)
        if not isinstance(sku, str) or sku not in PRODUCTS:
            self.json(400, {"error": f"unknown sku {sku!r}"})
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 99:
            self.json(400, {"error": "quantity must be a whole number from 1 to 99"})
        elif (order := self.shop.place_order(email, {sku: quantity}, source="api")) is None:
            self.json(402, {"status": "declined", "error": "payment declined"})
        else:
            self.json(201, api_order(order), {"Location": f"/api/orders/{order['id']}"})

    def r_api_order_get(self, number):
        email = self.api_user()
        if email is None:
            return
        order = self.shop.order(number)
        if order is None or order["user"] != email:     # someone else's order does not exist for you
            self.json(404, {"error": "no such order"})
        else:
            self.json(200, api_order(order))

    def r_api_health(self):
        self.json(200, {"status": "ok"})

    def r_metrics(self):
        self.respond(200, self.shop.metrics_text(), "text/plain; version=0.0.4; charset=utf-8")

    def r_requests_get(self):
        self.json(200, self.shop.stats["requests"])

    def r_requests_clear(self):
        self.shop.clear_requests()
        self.json(200, {"cleared": True})
