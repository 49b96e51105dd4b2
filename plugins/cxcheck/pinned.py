"""Headers the administrator gives (--header) stay on the hosts the check targets.

Authorization, Cookie or an API key given with --header go to the check's URL and the hosts a
scenario names, never to another host that a redirect, a form action or a URL handed out by a
server leads to; a step's own headers do not follow a redirect to another host either. Their
values are credentials: registered with the masker.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from cxcheck.runtime import MASKABLE, masker

# --header values under these names are credentials: masked like a password.
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}


def origin(url: str) -> tuple[str, int | None]:
    """(host, port) of a URL: what a header is pinned to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "", None
    return (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(parts.scheme)


class Session(requests.Session):
    """A requests session whose administrator headers (--header: Authorization, Cookie, API
    keys) go only to the hosts the check targets: the first URL it fetches and those `target()`
    names, never to another host a redirect, a form action or a later step leads to. A step's
    own headers do not follow a redirect to another host either."""

    def __init__(self):
        super().__init__()
        self.pinned: dict[str, str] = {}
        self.targets: set = set()
        self._sending: tuple = ((), None)     # (the request's own header names, its origin)

    def target(self, url: str):
        self.targets.add(origin(url))

    def is_target(self, url: str) -> bool:
        host, port = origin(url)
        return (host, port) in self.targets or (port == 443 and url.startswith("https:") and (host, 80) in self.targets)

    def pin(self, prepared, own=()):
        """The administrator's headers on a request to a target; a request's own win."""
        if not self.is_target(prepared.url):
            return
        for name, value in self.pinned.items():
            if name.lower() == "cookie" and prepared.headers.get("Cookie") and "cookie" not in own:
                prepared.headers["Cookie"] += "; " + value          # with the session's cookies
            elif name.lower() not in own:
                prepared.headers[name] = value

    def rebuild_auth(self, prepared_request, response):
        super().rebuild_auth(prepared_request, response)     # drops Authorization to another host
        own, started_at = self._sending
        if started_at is not None and origin(prepared_request.url) != started_at:
            for name in list(prepared_request.headers):
                if name.lower() in own:
                    del prepared_request.headers[name]
        for name, value in self.pinned.items():
            if prepared_request.headers.get(name) == value:
                del prepared_request.headers[name]
        self.pin(prepared_request, own if origin(prepared_request.url) == started_at else ())


def register_credentials(name: str, value: str):
    """A credential header's value with the masker, and its parts that travel alone: the token
    after "Bearer", the password inside "Basic", each cookie's value. Parts shorter than MASKABLE
    (`lang=en`, `X-Org: 7`) are no credentials: withholding every text that holds them would
    hide the output for nothing."""
    import base64
    import binascii

    parts = [value]
    if name.lower() == "cookie":
        parts += [pair.partition("=")[2].strip() for pair in value.split(";")]
    else:
        scheme, _, credential = value.partition(" ")
        parts.append(credential.strip())
        if scheme.lower() == "basic":
            try:
                parts.append(base64.b64decode(credential.strip(), validate=True).decode().partition(":")[2])
            except (binascii.Error, UnicodeDecodeError):
                pass
    for part in parts:
        if len(part) >= MASKABLE:
            masker.register(part)
