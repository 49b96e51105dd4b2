"""Record a HAR with the real Chromium: headless Debian chromium driven through the DevTools
protocol over --remote-debugging-pipe (no extra package: the protocol is JSON messages ended by a
NUL byte on fds 3 and 4). The browser does what a user does (opens pages, types into forms,
clicks buttons and links); the Network domain's events become a HAR 1.2 log the way DevTools'
"Save all as HAR" writes it: one entry per request, redirects as their own entries, request
headers as sent (cookies included), response bodies of documents and XHR, `_resourceType`.

Only 127.0.0.1 is ever contacted: the profile is fresh and every background service is off."""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
         "--no-default-browser-check", "--remote-debugging-pipe"]
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TEXT_TYPES = ("Document", "XHR", "Fetch")


class BrowserError(AssertionError):
    pass


def _high_fd(fd: int) -> int:
    """The same pipe end on a descriptor above 4, so dup2 onto 3 and 4 in the child cannot clash."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Chromium:
    """One headless Chromium, one page, and the network log of everything that page loads."""

    def __init__(self, binary: str, profile: Path, timeout: float = 30.0):
        self.timeout = timeout
        to_browser_r, self._to_browser = map(_high_fd, os.pipe())
        self._from_browser, from_browser_w = map(_high_fd, os.pipe())

        def wire():                      # in the child, before exec: the pipe ends become fds 3 and 4
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        profile.mkdir(parents=True, exist_ok=True)
        # Chromium's own temp dirs (a socket below them: a short path), removed at close.
        self._tmp = tempfile.mkdtemp(prefix="cxcheck-har-")
        self._stderr = open(profile / "chromium.log", "wb")
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
                                     env={"PATH": CLEAN_PATH, "HOME": str(profile), "TMPDIR": self._tmp},
                                     close_fds=False,
                                     preexec_fn=wire, start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._messages: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 0
        self.events: list[dict] = []
        self.session = None
        self.bodies: dict[str, tuple[str, bool]] = {}
        self._pending_bodies: list[str] = []
        try:
            self._attach()
        except BaseException:
            self.close()
            raise

    # -- the pipe --------------------------------------------------------------------------
    def _read(self):
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._messages.put(None)
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                self._messages.put(json.loads(raw))

    def _take(self, deadline: float):
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError("Chromium did not answer in time")
        try:
            message = self._messages.get(timeout=left)
        except queue.Empty:
            raise BrowserError("Chromium did not answer in time") from None
        if message is None:
            raise BrowserError(f"Chromium exited ({self.proc.poll()})")
        if "method" in message:
            self.events.append(message)
            self._on_event(message)
        return message

    def send(self, method: str, params: dict | None = None, session: bool = True) -> dict:
        self._next_id += 1
        number = self._next_id
        message = {"id": number, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._take(deadline)
            if answer.get("id") == number:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def wait_event(self, method: str, since: int, timeout: float | None = None) -> dict:
        """The first event `method` at index >= since in self.events (waiting for it if needed)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for event in self.events[since:]:
                if event["method"] == method:
                    return event
            since = len(self.events)
            self._take(deadline)

    # -- the page --------------------------------------------------------------------------
    def _attach(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.send("Network.enable", {"maxPostDataSize": 65536})
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _on_event(self, event: dict):
        # Bodies are fetched when a document or XHR finishes, before a later navigation can evict them.
        if event["method"] == "Network.loadingFinished":
            request_id = event["params"]["requestId"]
            sent = self._request(request_id)
            if sent and sent["params"].get("type") in TEXT_TYPES:
                self._pending_bodies.append(request_id)

    def _request(self, request_id: str):
        return next((e for e in reversed(self.events) if e["method"] == "Network.requestWillBeSent"
                     and e["params"]["requestId"] == request_id), None)

    def _fetch_bodies(self):
        while self._pending_bodies:
            request_id = self._pending_bodies.pop(0)
            try:
                result = self.send("Network.getResponseBody", {"requestId": request_id})
            except BrowserError:
                continue
            self.bodies[request_id] = (result["body"], result["base64Encoded"])

    def add_script(self, source: str):
        """JavaScript run in every page before its own scripts (as a tag manager's snippet would be)."""
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": source})

    def _wait_load(self, since: int):
        self.wait_event("Page.loadEventFired", since)
        self._quiet()
        self._fetch_bodies()

    def _quiet(self, settle: float = 0.3):
        """Until no request is in flight (beacons and pixels after the load event included)."""
        deadline = time.monotonic() + self.timeout
        while True:
            started = {e["params"]["requestId"] for e in self.events if e["method"] == "Network.requestWillBeSent"}
            ended = {e["params"]["requestId"] for e in self.events
                     if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")}
            if started <= ended:
                try:
                    self._take(min(deadline, time.monotonic() + settle))
                except BrowserError:
                    return
                continue
            self._take(deadline)

    def navigate(self, url: str):
        since = len(self.events)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"{url}: {result['errorText']}")
        self._wait_load(since)

    def evaluate(self, expression: str, settle: bool = False):
        """Run JavaScript in the page (awaiting a promise it returns); with settle, until the
        requests it made are done (an XHR or fetch of a single-page app)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        if settle:
            self._quiet()
            self._fetch_bodies()
        return result["result"].get("value")

    def type_into(self, selector: str, text: str):
        """Focus the field and type `text` into it as keystrokes (Input.insertText), as a user does."""
        self.evaluate(f"(() => {{ const f = document.querySelector({json.dumps(selector)}); "
                      f"if (!f) throw new Error('no ' + {json.dumps(selector)}); f.focus(); f.value = ''; }})()")
        self.send("Input.insertText", {"text": text})

    def click(self, selector: str):
        """Click an element that loads a new page, and wait for that page."""
        since = len(self.events)
        self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                      f"if (!e) throw new Error('no ' + {json.dumps(selector)}); e.click(); }})()")
        self._wait_load(since)

    def close(self):
        from engines import stop_process

        try:
            os.close(self._to_browser)
        except OSError:
            pass
        stop_process(self.proc, 10)        # and the renderer and GPU helpers left in its session
        self._reader.join(timeout=5)
        os.close(self._from_browser)
        self._stderr.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- the HAR ---------------------------------------------------------------------------
    def har(self) -> dict:
        return events_to_har(self.events, self.bodies)


def _headers(mapping: dict) -> list[dict]:
    out = []
    for name, value in (mapping or {}).items():
        for line in str(value).split("\n"):          # DevTools joins repeated headers with newlines
            out.append({"name": name, "value": line})
    return out


def _iso(wall: float) -> str:
    return datetime.datetime.fromtimestamp(wall, datetime.UTC).isoformat().replace("+00:00", "Z")


def _entry(sent: dict, response: dict | None, extra_request: dict | None, extra_response: dict | None,
           body: tuple[str, bool] | None) -> dict:
    request = sent["request"]
    headers = dict(request.get("headers", {}))
    if extra_request:
        headers = extra_request.get("headers", headers)      # what went on the wire: Cookie included
    url = request["url"] + request.get("urlFragment", "")
    har_request = {
        "method": request["method"], "url": url, "httpVersion": "HTTP/1.1", "headers": _headers(headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
        "cookies": [], "headersSize": -1, "bodySize": 0,
    }
    post = request.get("postData")
    if post is None and request.get("postDataEntries"):
        import base64

        post = "".join(base64.b64decode(e.get("bytes", "")).decode("utf-8", "replace")
                       for e in request["postDataEntries"])
    if post is not None:
        mime = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        har_request["postData"] = {"mimeType": mime, "text": post}
        if mime.startswith("application/x-www-form-urlencoded"):
            har_request["postData"]["params"] = [{"name": k, "value": v}
                                                 for k, v in parse_qsl(post, keep_blank_values=True)]
        har_request["bodySize"] = len(post.encode())
    status, status_text, resp_headers, mime = 0, "", {}, ""
    if response:
        status, status_text = response.get("status", 0), response.get("statusText", "")
        resp_headers, mime = response.get("headers", {}), response.get("mimeType", "")
    if extra_response and extra_response.get("headers"):
        resp_headers = extra_response["headers"]             # Set-Cookie included
    content = {"size": 0, "mimeType": mime}
    if body is not None:
        text, encoded = body
        content["text"] = text
        content["size"] = len(text)
        if encoded:
            content["encoding"] = "base64"
    location = next((v for k, v in resp_headers.items() if k.lower() == "location"), "")
    return {
        "startedDateTime": _iso(sent.get("wallTime", time.time())),
        "time": 0,
        "request": har_request,
        "response": {"status": status, "statusText": status_text, "httpVersion": "HTTP/1.1",
                     "headers": _headers(resp_headers), "cookies": [], "content": content,
                     "redirectURL": location, "headersSize": -1, "bodySize": content["size"]},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
        "_resourceType": sent.get("type", "Other").lower(),
    }


def events_to_har(events: list[dict], bodies: dict) -> dict:
    """DevTools' Network events as a HAR 1.2 log, entries in the order requests were sent."""
    extra_request: dict[str, list] = {}
    extra_response: dict[str, list] = {}
    responses: dict[str, dict] = {}
    for event in events:
        params = event.get("params", {})
        if event["method"] == "Network.requestWillBeSentExtraInfo":
            extra_request.setdefault(params["requestId"], []).append(params)
        elif event["method"] == "Network.responseReceivedExtraInfo":
            extra_response.setdefault(params["requestId"], []).append(params)
        elif event["method"] == "Network.responseReceived":
            responses[params["requestId"]] = params["response"]
    entries, hops = [], {}
    pending: dict[str, dict] = {}                 # requestId -> its latest requestWillBeSent
    for event in events:
        if event["method"] != "Network.requestWillBeSent":
            continue
        params = event["params"]
        rid = params["requestId"]
        hop = hops.get(rid, 0)
        if params.get("redirectResponse") and rid in pending:
            # The redirect ends the previous request of this id: an entry of its own.
            entries.append(_entry(pending[rid], params["redirectResponse"],
                                  _nth(extra_request, rid, hop - 1), _nth(extra_response, rid, hop - 1), None))
        pending[rid] = params
        hops[rid] = hop + 1
    for rid, params in pending.items():
        hop = hops[rid] - 1
        entries.append(_entry(params, responses.get(rid), _nth(extra_request, rid, hop),
                              _nth(extra_response, rid, hop), bodies.get(rid)))
    entries.sort(key=lambda e: e["startedDateTime"])
    return {"log": {"version": "1.2", "creator": {"name": "cxcheck tests (Chromium DevTools protocol)",
                                                  "version": "1"},
                    "pages": [], "entries": entries}}


def _nth(table: dict, rid: str, index: int):
    items = table.get(rid, [])
    return items[index] if 0 <= index < len(items) else None
