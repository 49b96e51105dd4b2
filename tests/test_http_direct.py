"""The direct wire (cxcheck/http_direct.py): what a check reads through http.client is what it read
through urllib3, its connections are kept alive, and what it does not do still goes to urllib3.

Servers are raw sockets on 127.0.0.1 so that each answer is exactly the bytes a test names
(chunked, gzip members, repeated headers, a connection closed under a reused request).
"""

from __future__ import annotations

import gzip
import threading
import tracemalloc
import zlib

import pytest

from cxcheck.http import MAX_BODY, TransportError, fetch, new_session
from cxcheck.http_contact import NotingAdapter
from cxcheck.http_direct import DirectAdapter
from cxcheck.runtime import Deadline, HttpOptions


def read_request(conn) -> tuple[str, dict, bytes] | None:
    """One request off a connection: (request line, headers lowercased, body); None at its end."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    while len(body) < int(headers.get("content-length", 0)):
        body += conn.recv(65536)
    return line, headers, body


def http_server(raw_server, answer, keep_alive: bool = True):
    """A server answering each request with the bytes answer(request line, headers, body, n)
    gives; the requests it read are in .seen."""
    seen, lock = [], threading.Lock()

    def handle(conn, stop):
        while not stop.is_set():
            request = read_request(conn)
            if request is None:
                return
            with lock:
                seen.append(request)
                number = len(seen)
            reply = answer(*request, number)
            if reply is None:           # close without answering
                conn.close()
                return
            conn.sendall(reply)
            if not keep_alive:
                conn.close()
                return

    server = raw_server(handle)
    server.seen = seen
    return server


def reply(status="200 OK", headers=(), body=b"", chunked=False) -> bytes:
    lines = [f"HTTP/1.1 {status}", *[f"{k}: {v}" for k, v in headers]]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]) if part) + b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


PAGE = b"<html><body>" + b"welcome back, shopper " * 40 + b"</body></html>"


def deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ANSWERS = {
    "content-length": lambda path: reply(headers=[("Content-Type", "text/html; charset=utf-8")], body=PAGE),
    "chunked": lambda path: reply(headers=[("Content-Type", "text/html")], body=PAGE, chunked=True),
    "gzip": lambda path: reply(headers=[("Content-Encoding", "gzip")], body=gzip.compress(PAGE)),
    "two gzip members": lambda path: reply(headers=[("Content-Encoding", "gzip")],
                                          body=gzip.compress(PAGE[:100]) + gzip.compress(PAGE[100:])),
    "deflate": lambda path: reply(headers=[("Content-Encoding", "deflate")], body=zlib.compress(PAGE)),
    "raw deflate": lambda path: reply(headers=[("Content-Encoding", "deflate")], body=deflate_raw(PAGE)),
    "repeated headers": lambda path: reply(headers=[("X-Tag", "a"), ("X-Tag", "b"), ("Set-Cookie", "s=1; Path=/"),
                                                    ("Set-Cookie", "t=2; Path=/")], body=b"{}"),
    "no content": lambda path: reply("204 No Content"),
    "redirect with a cookie": lambda path: (
        reply("302 Found", [("Location", "/next"), ("Set-Cookie", "session=abc; Path=/; HttpOnly")])
        if path == "/" else reply(body=b"arrived")),
}


@pytest.fixture
def wires(monkeypatch):
    """Which adapters' requests went through urllib3: DirectAdapter's must not, but on purpose."""
    through_urllib3, urllib3_send = [], NotingAdapter.send

    def noting_send(self, request, *args, **kwargs):
        through_urllib3.append((type(self).__name__, request.url))
        return urllib3_send(self, request, *args, **kwargs)

    monkeypatch.setattr(NotingAdapter, "send", noting_send)
    return through_urllib3


def session_on(adapter_class):
    session = new_session(HttpOptions())
    session.mount("http://", adapter_class())
    return session


def read_through(adapter_class, server, method="GET", path="/", **kwargs):
    session = session_on(adapter_class)
    try:
        first = fetch(session, method, server.url + path, Deadline(10), **kwargs)
        again = fetch(session, method, server.url + path, Deadline(10), **kwargs)     # cookies sent back
        return first, again, dict(session.cookies)
    finally:
        session.close()


def seen_as_sent(seen) -> list:
    return [(line, {k: v for k, v in headers.items() if k != "host"}, body) for line, headers, body in seen]


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_both_wires_read_the_same_answer(raw_server, wires, case):
    results = {}
    for adapter_class in (NotingAdapter, DirectAdapter):
        server = http_server(raw_server, lambda line, headers, body, n: ANSWERS[case](line.split()[1]))
        first, again, cookies = read_through(adapter_class, server)
        results[adapter_class.__name__] = (
            [(r.status, r.url.replace(server.url, ""), dict(r.headers), r.body, r.text,
              [(h.method, h.url.replace(server.url, ""), h.status) for h in r.hops]) for r in (first, again)],
            cookies, seen_as_sent(server.seen))
    assert results["DirectAdapter"] == results["NotingAdapter"]
    assert {name for name, _ in wires} == {"NotingAdapter"}
    if case == "gzip":
        assert results["DirectAdapter"][0][0][3] == PAGE


def test_a_form_post_reaches_the_server_as_through_urllib3(raw_server, wires):
    sent = {}
    for adapter_class in (NotingAdapter, DirectAdapter):
        server = http_server(raw_server, lambda line, headers, body, n: reply(body=b"ok"))
        read_through(adapter_class, server, "POST", "/login", data={"user": "ana", "pass": "é&="})
        sent[adapter_class.__name__] = seen_as_sent(server.seen)
    assert sent["DirectAdapter"] == sent["NotingAdapter"]
    assert {name for name, _ in wires} == {"NotingAdapter"}
    assert sent["DirectAdapter"][0][2] == b"user=ana&pass=%C3%A9%26%3D"


def pages_through_the_direct_wire(server, count: int) -> list[bytes]:
    session = session_on(DirectAdapter)
    try:
        return [fetch(session, "GET", f"{server.url}/step{n}", Deadline(10)).body for n in range(count)]
    finally:
        session.close()


def test_a_journeys_requests_share_one_connection(raw_server, wires):
    server = http_server(raw_server, lambda line, headers, body, n: reply(body=b"page %d" % n))
    assert pages_through_the_direct_wire(server, 3) == [b"page 1", b"page 2", b"page 3"]
    assert len(server.connections) == 1
    assert wires == []


def test_a_connection_the_server_closed_while_idle_is_replaced(raw_server, wires):
    server = http_server(raw_server, lambda line, headers, body, n: reply(body=b"page %d" % n), keep_alive=False)
    assert pages_through_the_direct_wire(server, 3) == [b"page 1", b"page 2", b"page 3"]
    assert len(server.connections) == 3


def test_a_get_the_server_drops_on_a_reused_connection_is_sent_again_afresh(raw_server, wires):
    # The second request arrives on the kept-alive connection and the server closes it unanswered
    # (as a server's keep-alive timeout racing the request does): a GET is sent once more.
    server = http_server(raw_server, lambda line, headers, body, n: None if n == 2 else reply(body=b"page %d" % n))
    assert pages_through_the_direct_wire(server, 2) == [b"page 1", b"page 3"]
    assert len(server.connections) == 2


def test_a_post_the_server_drops_is_never_sent_twice(raw_server, wires):
    server = http_server(raw_server, lambda line, headers, body, n: None if n == 2 else reply(body=b"page %d" % n))
    session = session_on(DirectAdapter)
    try:
        fetch(session, "GET", f"{server.url}/cart", Deadline(10))
        with pytest.raises(TransportError, match=r"^connection to 127\.0\.0\.1:\d+ reset"):
            fetch(session, "POST", f"{server.url}/order", Deadline(10), data={"sku": "W-2"})
    finally:
        session.close()
    assert [line for line, _, _ in server.seen] == ["GET /cart HTTP/1.1", "POST /order HTTP/1.1"]


def test_a_small_gzip_body_that_inflates_past_the_cap_stops_at_the_cap(raw_server, wires):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), 9)        # 64 MB in about 64 KB
    server = http_server(raw_server, lambda line, headers, body, n: reply(headers=[("Content-Encoding", "gzip")],
                                                                          body=bomb))
    session = session_on(DirectAdapter)
    tracemalloc.start()
    try:
        with pytest.raises(TransportError, match=f"answered more than the {MAX_BODY} byte cap"):
            fetch(session, "GET", server.url + "/", Deadline(10))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        session.close()
    assert peak < 3 * MAX_BODY, f"{peak} bytes at the peak"


def test_a_body_that_stalls_is_a_timeout_not_a_connection_failure(raw_server, wires):
    def stall(conn, stop):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
        stop.wait(5)

    server = raw_server(stall)
    session = session_on(DirectAdapter)
    try:
        with pytest.raises(TransportError, match=r"^127\.0\.0\.1:\d+ did not answer within the timeout$"):
            fetch(session, "GET", server.url + "/", Deadline(10), timeout=0.3)
    finally:
        session.close()


def test_an_encoding_it_does_not_decode_goes_to_urllib3(raw_server, wires):
    server = http_server(raw_server, lambda line, headers, body, n: reply(body=b"plain"))
    session = new_session(HttpOptions(headers={"Accept-Encoding": "br"}))
    try:
        assert fetch(session, "GET", server.url + "/", Deadline(10)).body == b"plain"
    finally:
        session.close()
    assert wires == [("DirectAdapter", server.url + "/")]
    assert server.seen[0][1]["accept-encoding"] == "br"


def test_a_proxy_is_still_spoken_to_through_urllib3(raw_server, wires):
    proxy = http_server(raw_server, lambda line, headers, body, n: reply(body=b"from the proxy"))
    session = new_session(HttpOptions(proxy=proxy.url))
    try:
        response = fetch(session, "GET", "http://shop.invalid/account", Deadline(10))
    finally:
        session.close()
    assert response.body == b"from the proxy"
    assert proxy.seen[0][0] == "GET http://shop.invalid/account HTTP/1.1"     # the proxy's absolute form
    assert wires == [("DirectAdapter", "http://shop.invalid/account")]


HEADS = {
    "usual": b"Content-Type: text/html; charset=utf-8\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\n"
             b"X-Empty:\r\nX-Spaced:   padded value  \r\n\r\n",
    "LF line ends": b"Content-Type: text/plain\nContent-Length: 4\n\n",
    "no blank line (EOF)": b"Content-Length: 4\r\n",
    "folded": b"X-Long: first\r\n  second\r\nContent-Length: 0\r\n\r\n",
    "a line without a colon": b"Content-Length: 0\r\nnot a header\r\nX-After: 1\r\n\r\n",
    "a space in the name": b"Bad Name: 1\r\nContent-Length: 0\r\n\r\n",
    "a stray CR": b"X-Odd: a\rb\r\nContent-Length: 0\r\n\r\n",
    "latin-1 bytes": b"Content-Disposition: attachment; filename=\"caf\xe9.txt\"\r\n\r\n",
    "an empty name": b": value\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(HEADS))
def test_the_head_reads_as_http_clients_email_parser_reads_it(case):
    import http.client
    import io

    from cxcheck.http_direct import read_head

    ours, theirs = read_head(io.BytesIO(HEADS[case])), http.client.parse_headers(io.BytesIO(HEADS[case]))
    assert (ours.items(), ours.get_payload(), [type(d) for d in ours.defects]) == \
           (theirs.items(), theirs.get_payload(), [type(d) for d in theirs.defects])
