"""Pages that attack the browser a check drives, served on 127.0.0.1 (issue 21, classes 2 and 4).

- /alert/, /confirm/, /prompt/: a dialog opened by a script while the page loads; /dialogs/
  opens three (one of each) and then shows "after the dialogs"; /dialog-later/ opens one from
  its load event (one from a later timer may come after the check has read the page);
  /dialog-click/ opens one when its button is pressed; /leave/ asks (beforeunload) whether to
  leave it once its button was pressed; /dialog-hang/ opens one and
  then waits for an image that never comes;
- /download/: a page whose script starts a download of /big.bin (20 MB, Content-Disposition:
  attachment); /big.bin itself, opened directly;
- /busy/: a script in an endless loop;
- /memory/: a script that allocates (and touches) 2 GB in 100 MB arrays;
- /images/: 10,000 images, each answered after a few milliseconds;
- /websocket/: a page that opens a WebSocket the server floods with 64 KB frames, each shown.

Run by hand (`python tests/hostile_pages.py`) it prints its URL and serves until interrupted.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOWNLOAD_SIZE = 20 * 1024 * 1024
IMAGES = 10_000
# A 1x1 transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def html(title: str, body: str) -> bytes:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>".encode()


PAGES = {
    "/plain/": html("plain", "<h1>A plain page</h1>"),
    "/alert/": html("alert", '<script>alert("hostile alert");</script><p>after the dialogs</p>'),
    "/confirm/": html("confirm", '<script>confirm("hostile confirm?");</script><p>after the dialogs</p>'),
    "/prompt/": html("prompt", '<script>prompt("hostile prompt", "x");</script><p>after the dialogs</p>'),
    "/dialogs/": html("dialogs", '<script>alert("one"); confirm("two?"); prompt("three", "");</script>'
                                 "<p>after the dialogs</p>"),
    "/dialog-later/": html("later", "<p>after the dialogs</p><script>window.addEventListener('load', () => "
                                    "alert('late alert'));</script>"),
    "/dialog-click/": html("click", '<button id="go" onclick="alert(\'clicked\'); '
                                    'document.body.insertAdjacentHTML(\'beforeend\', \'<p>pressed</p>\')">Go</button>'),
    "/leave/": html("leave", '<button id="go" onclick="document.body.insertAdjacentHTML(\'beforeend\', '
                             '\'<p>pressed</p>\')">Go</button><script>window.addEventListener("beforeunload", '
                             '(event) => { event.preventDefault(); event.returnValue = "stay?"; });</script>'),
    "/download/": html("download", '<p>downloading</p><a id="get" href="/big.bin" download>file</a>'
                                   "<script>document.getElementById('get').click();</script>"),
    "/dialog-hang/": html("hang", '<script>alert("before the hang");</script><img src="/hang.gif">'),
    "/busy/": html("busy", "<script>for (;;) {}</script>"),
    "/memory/": html("memory", "<script>const kept = []; for (let i = 0; i < 20; i++) "
                               "{ const a = new Uint8Array(100 * 1024 * 1024); a.fill(i + 1); kept.push(a); }"
                               "</script><p>allocated</p>"),
    "/images/": html("images", "".join(f'<img src="/img/{n}.gif" width="1" height="1">' for n in range(IMAGES))),
    "/websocket/": html("websocket", "<div id='log'></div><script>"
                                     "const ws = new WebSocket('ws://' + location.host + '/ws');"
                                     "ws.onmessage = (m) => { document.getElementById('log').textContent = "
                                     "m.data.length + ' ' + Date.now(); };</script>"),
}


class HostilePages:
    """The server; a context manager. `requests` lists the paths asked for."""

    def __init__(self):
        pages = self
        self.requests: list[str] = []
        self.stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.split("?")[0]
                pages.requests.append(path)
                if path == "/ws":
                    return pages.flood(self)
                if path == "/big.bin":
                    return self.send(200, "application/octet-stream", None, DOWNLOAD_SIZE,
                                     {"Content-Disposition": 'attachment; filename="big.bin"'})
                if path == "/hang.gif":
                    pages.stopping.wait(60)
                    return None
                if path.startswith("/img/"):
                    time.sleep(0.005)
                    return self.send(200, "image/gif", PIXEL)
                if path in PAGES:
                    return self.send(200, "text/html; charset=utf-8", PAGES[path])
                return self.send(404, "text/plain", b"not found")

            def send(self, status, kind, body, size=None, headers=None):
                size = len(body) if body is not None else size
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(size))
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if body is not None:
                    self.wfile.write(body)
                    return
                chunk = b"\0" * 65536
                try:
                    for _ in range(size // len(chunk)):
                        self.wfile.write(chunk)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None     # a browser killed mid-answer
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def flood(self, handler):
        """A WebSocket handshake, then 64 KB text frames as fast as the browser takes them."""
        key = handler.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        handler.send_response(101)
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        handler.end_headers()
        handler.wfile.flush()
        payload = b"x" * 65536
        frame = struct.pack("!BBQ", 0x81, 127, len(payload)) + payload
        handler.connection.settimeout(1.0)
        while not self.stopping.is_set():
            try:
                handler.connection.sendall(frame)
            except TimeoutError:
                continue
            except OSError:
                return
        handler.close_connection = True

    def __enter__(self) -> HostilePages:
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


if __name__ == "__main__":
    with HostilePages() as served:
        print(served.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
