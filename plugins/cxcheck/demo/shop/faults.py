"""Misbehaving on request: the fault knobs (set at start or through /admin/faults) and the fixed
/fault/* endpoints (hang, drip, reset, big, redirect loop, any status, slow)."""

from __future__ import annotations

import copy
import random
import socket
import struct
import threading

from cxcheck.demo.shop import pages

MiB = 1024 * 1024
DEFAULT_FAULTS = {"latency": {}, "failure_rate": 0.0, "seed": None, "fail_every": 0, "status": {},
                  "echo_password": False, "down": False}


def check_knob(name, value):
    """A fault knob's value, normalised, or ValueError saying what is wrong with it: the admin
    endpoint answers 400 with that text, so a typo in a test fails loudly instead of doing nothing."""
    def number(v, what, low, high):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
            raise ValueError(f"{what} must be a number from {low} to {high}, not {v!r}")
        return v

    def paths(v, what):
        if not isinstance(v, dict) or not all(isinstance(k, str) and k.startswith("/") for k in v):
            raise ValueError(f"{name} must map paths starting with / to {what}")
        return v

    if name == "latency":
        return {k: float(number(v, f"latency[{k}]", 0, 600)) for k, v in paths(value, "seconds").items()}
    if name == "status":
        return {k: int(number(v, f"status[{k}]", 200, 599)) for k, v in paths(value, "status codes").items()}
    if name == "failure_rate":
        return float(number(value, name, 0, 1))
    if name == "fail_every":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"fail_every must be a whole number >= 0, not {value!r}")
        return value
    if name in ("echo_password", "down"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value
    if name == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, str))):
            raise ValueError(f"seed must be a number, a string or null, not {value!r}")
        return value
    raise ValueError(f"unknown fault knob {name!r} (knobs: {', '.join(DEFAULT_FAULTS)}, reset)")


class FaultKnobs:
    """The knobs, and the random generator and order count that failure_rate and fail_every use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._knobs = copy.deepcopy(DEFAULT_FAULTS)
        self._rng = random.Random(None)
        self._order_attempts = 0

    def snapshot(self) -> dict:
        with self._lock:
            return copy.deepcopy(self._knobs)

    def set(self, changes: dict) -> dict:
        """Merge knobs in (each knob is replaced whole); {"reset": true} starts from the defaults."""
        if not isinstance(changes, dict):
            raise ValueError("faults must be a JSON object")
        changes = dict(changes)
        reset = changes.pop("reset", False)
        checked = {name: check_knob(name, value) for name, value in changes.items()}
        with self._lock:
            self._knobs = copy.deepcopy(DEFAULT_FAULTS) if reset else self._knobs
            self._knobs.update(checked)
            if reset or "seed" in checked:
                self._rng = random.Random(self._knobs["seed"])
            if reset or "fail_every" in checked:
                self._order_attempts = 0      # "every Nth" counts from when the knob was set
            return copy.deepcopy(self._knobs)

    def declines(self) -> bool:
        """Whether the next order's payment is declined."""
        with self._lock:
            self._order_attempts += 1
            every = self._knobs["fail_every"]
            if every:
                return self._order_attempts % every == 0
            rate = self._knobs["failure_rate"]
            return rate > 0 and self._rng.random() < rate


class FaultRoutes:
    """Request handler part: the knobs applied to each request, /admin/faults, and /fault/*. Each
    fault waits on the shop's stop event, so stop() never waits for one."""

    def injected_fault(self) -> bool:
        """Apply the fault knobs; True when the request has been answered by them."""
        faults = self.shop.faults
        prefixes = [p for p in faults["latency"] if self.url_path.startswith(p)]
        if prefixes:
            self.shop.stopping.wait(faults["latency"][max(prefixes, key=len)])
        if faults["down"]:
            self.respond(503, pages.problem("Down for maintenance", "The shop is down for maintenance."),
                         headers={"Retry-After": "30"})
            return True
        forced = faults["status"].get(self.url_path)
        if forced:
            self.respond(forced, pages.problem(f"Error {forced}", f"Status {forced} forced by the fault knobs."))
            return True
        return False

    def r_faults_get(self):
        self.json(200, self.shop.faults)

    def r_faults_post(self):
        data = self.json_body()
        if data is not None:
            try:
                self.json(200, self.shop.set_faults(data))
            except ValueError as error:
                self.json(400, {"error": str(error)})

    def r_hang(self):
        self.shop.stopping.wait(600)

    def r_drip(self):
        interval = self.query_number("interval", 1.0, 0.01, 60)
        self.start(200, "text/plain", 1000)
        for _ in range(1000 if self.command != "HEAD" else 0):
            if self.shop.stopping.wait(interval):
                self.close_connection = True
                return
            self.wfile.write(b"x")       # wfile is unbuffered: each byte leaves at once

    def r_reset(self):
        self.close_connection = True
        self.start(200, "text/plain", 100_000)
        self.wfile.write(b"x" * 1000)
        # Linger 0 turns close() into a TCP RST. makefile() holds a reference on the socket:
        # close the reader too, or close() would not reach the kernel.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()

    def r_big(self):
        size = int(self.query_number("mb", 100, 0, 10240) * MiB)
        self.start(200, "application/octet-stream", size)
        chunk = memoryview(b"x" * 65536)
        left = size if self.command != "HEAD" else 0
        while left > 0:                  # a client that leaves raises ConnectionError: we stop
            if self.shop.stopping.is_set():
                self.close_connection = True
                return
            self.wfile.write(chunk[:left])
            left -= min(left, len(chunk))

    def r_redirect_loop(self):
        self.redirect(f"/fault/redirect-loop?n={int(self.query_number('n', 0, 0, 1e9)) + 1}")

    def r_status(self, code):
        if 200 <= code <= 599:
            self.respond(code, f"status {code}\n", "text/plain")
        else:
            self.respond(400, "status must be 200..599\n", "text/plain")

    def r_slow(self):
        self.shop.stopping.wait(self.query_number("ms", 200, 0, 600_000) / 1000)
        self.respond(200, "ok\n", "text/plain")
