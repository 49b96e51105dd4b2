"""Class 8 of issue 9: a resolver that never answers cannot hold a run past -t + 0.5 s.

For real: a DNS server on 127.0.0.x that reads queries and never replies, and the plugin run in
a private mount namespace (`unshare -m`) where its own resolv.conf names that server (with the
resolver's longest waits) and its own nsswitch.conf asks DNS for host names. Nothing else on the
machine sees either file. glibc's resolver retries its interrupted waits itself, so no signal
handler of the main thread ever runs while it waits: the backstop's thread ends the run.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import MODULES, Reference, plugin_env, wait_for

HOST = "shop.cxcheck.test"


class SilentDns:
    """UDP and TCP port 53 on a loopback address: queries are read and counted, never answered."""

    def __init__(self):
        self.queries = 0
        self.stopping = threading.Event()
        for last in range(77, 120):
            self.address = f"127.0.0.{last}"
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket()
            try:
                udp.bind((self.address, 53))
                tcp.bind((self.address, 53))
                break
            except OSError:
                udp.close()
                tcp.close()
        else:
            pytest.skip("no free port 53 on 127.0.0.77-119")
        tcp.listen(8)
        self.sockets = (udp, tcp)
        for sock in self.sockets:
            sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        udp, tcp = self.sockets
        held = []
        while not self.stopping.is_set():
            try:
                udp.recvfrom(4096)
                self.queries += 1
            except OSError:
                pass
            try:
                held.append(tcp.accept()[0])     # accepted, never answered
                self.queries += 1
            except OSError:
                pass
        for conn in held:
            conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def silent_resolver(tmp_path):
    """(command prefix that runs a program seeing only the silent DNS server, the server)."""
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if not unshare or not mount:
        pytest.skip("unshare and mount (util-linux) are needed")
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a mount namespace here: {probe.stderr.strip()}")
    dns = SilentDns()
    resolv, nsswitch = tmp_path / "resolv.conf", tmp_path / "nsswitch.conf"
    resolv.write_text(f"nameserver {dns.address}\noptions timeout:30 attempts:5\n")
    nsswitch.write_text("hosts: dns\n")
    script = (f'{mount} --bind {resolv} /etc/resolv.conf && {mount} --bind {nsswitch} /etc/nsswitch.conf '
              '&& exec "$@"')
    yield [unshare, "-m", "sh", "-c", script, "sh"], dns
    dns.stop()


def start(prefix, *args: str) -> subprocess.Popen:
    command = [*prefix, sys.executable, "-m", MODULES["check_cx_login"], "-u", f"http://{HOST}/login",
               "--username", "u", "--password-env", "CX_PW", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, env=plugin_env({"CX_PW": "correct-horse"}))


def test_silent_resolver_cannot_hold_the_run_past_the_deadline(silent_resolver):
    prefix, dns = silent_resolver
    reference = Reference(MODULES["check_cx_login"], 2)        # conftest.Reference: a busy machine slows both
    started = time.monotonic()
    proc = start(prefix, "-t", "2")
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    took = time.monotonic() - started
    assert dns.queries >= 1, "the resolver never asked the silent server: the test proves nothing"
    assert (proc.returncode, out, err) == (2, "CX LOGIN CRITICAL - timed out after 2 s while step login_page\n", "")
    assert took < reference.elapsed() + 0.75


def test_timeout_state_applies(silent_resolver):
    prefix, dns = silent_resolver
    for seconds in (1, 4, 10):          # a busy machine may not reach the step within 1 s: a longer -t
        proc = start(prefix, "-t", str(seconds), "--timeout-state", "unknown")
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        if "login_page" in out:
            break
    assert (proc.returncode, out, err) == (3, f"CX LOGIN UNKNOWN - timed out after {seconds} s while step "
                                              "login_page\n", "")


def test_sigterm_while_the_resolver_waits(silent_resolver):
    prefix, dns = silent_resolver
    proc = start(prefix, "-t", "30")
    try:
        wait_for(lambda: dns.queries, what="the resolver's first query")
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert (proc.returncode, out, err) == (3, "CX LOGIN UNKNOWN - stopped by SIGTERM while step login_page\n", "")
    assert took < 0.5
