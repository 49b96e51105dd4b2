"""When a request reaches the network.

A step's time starts when its request reaches the network (connecting, or writing it on a
kept-alive connection), as curl's does, not when Python starts assembling it: requests and
urllib3 spend about a millisecond building the request, the pool and the connection object
before the first packet, which is not the site's time. Neither has a hook for that moment, so
the connections our sessions use note it in `first_contact.at` (fetch() sets it to None first).
"""

from __future__ import annotations

import threading
import time

import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.poolmanager

first_contact = threading.local()


def note_contact():
    if getattr(first_contact, "at", 0.0) is None:
        first_contact.at = time.perf_counter()


def _noting(base):
    class Connection(base):
        def connect(self):
            note_contact()                  # a new connection: from its first packet
            return super().connect()

        def request(self, *args, **kwargs):
            if self.sock is not None:       # a kept-alive one: from writing the request
                note_contact()
            return super().request(*args, **kwargs)

        def request_chunked(self, *args, **kwargs):
            if self.sock is not None:
                note_contact()
            return super().request_chunked(*args, **kwargs)

    Connection.__name__ = Connection.__qualname__ = f"Noting{base.__name__}"
    return Connection


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _noting(urllib3.connection.HTTPConnection)


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _noting(urllib3.connection.HTTPSConnection)


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


def _use_noting_pools(manager):
    # Only managers with urllib3's plain pools (a SOCKS proxy's have their own connections).
    if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = _POOLS
    return manager


class NotingAdapter(requests.adapters.HTTPAdapter):
    """requests' own adapter (urllib3), its connections noting their first contact."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        _use_noting_pools(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        return _use_noting_pools(super().proxy_manager_for(proxy, **proxy_kwargs))
