"""check_cx_login against things that go wrong: each runs the real entry point and asserts the
state and a one-line reason."""

from __future__ import annotations

import socket
import struct

import pytest
from conftest import run_plugin, run_until

PASSWORD = "pa55|word-XYZ"          # a pipe, too: it must not break the status line
ENV = {"CX_PW": PASSWORD}

LOGIN_PAGE = """<html><body>
<form id="login_form" method="post" action="/login"><input type="hidden" name="csrf" value="t0k">
<input type="email" name="login-username"><input type="password" name="login-password">
<button type="submit" name="login_submit" value="Log In">Log In</button></form>
<form id="register_form" method="post" action="/register"><input type="email" name="email">
<input type="password" name="password1"><input type="password" name="password2">
<button type="submit" name="register">Register</button></form></body></html>"""


def login(url: str, *extra: str, env=None, **kw):
    return run_plugin("check_cx_login", "-u", url, "--username", "shopper@example.com",
                      "--password-env", "CX_PW", *extra, env=env or ENV, **kw)


def assert_one_line(result, state: str):
    assert result.status.startswith(f"CX LOGIN {state} - "), result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr == ""


def test_connection_refused():
    with socket.socket() as sock:   # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = login(f"http://127.0.0.1:{port}/login")
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert "connection refused" in result.text
    assert result.perfdata["time"][0] == "U"


def test_host_name_that_does_not_resolve():
    # In an empty network namespace the resolver fails at once: no query leaves the machine.
    result = login("http://shop.invalid/login", netns=True)
    if "unshare" in result.stderr:
        pytest.skip(f"cannot create a network namespace here: {result.stderr.strip()}")
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert "cannot resolve host name shop.invalid" in result.text


def test_server_that_never_answers_holds_the_deadline(raw_server):
    server = raw_server(lambda conn, stop: stop.wait(30))
    result = login(server.url + "/login", "-t", "1.5", reference=1.5)
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert "timed out after 1.5 s" in result.text
    assert result.overrun < 1


def test_drip_server_exits_by_deadline_with_timeout_state(raw_server):
    def drip(conn, stop):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(60):
            if stop.wait(1.0):
                return
            conn.sendall(b"x")

    server = raw_server(drip)
    result, seconds = run_until(lambda result: "login_page" in result.text, lambda seconds: login(
        server.url + "/login", "-t", str(seconds), "--timeout-state", "warning", reference=seconds))
    assert result.code == 1
    assert_one_line(result, "WARNING")
    assert f"timed out after {seconds} s" in result.text
    assert result.overrun < 1


def test_connection_reset_mid_body(raw_server):
    def reset(conn, stop):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    result = login(raw_server(reset).url + "/login")
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert "login_page" in result.text and ("broken mid-body" in result.text or "reset" in result.text)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_critical(site, status):
    page = site({"/login": (status, {"Content-Type": "text/html"}, "<h1>down</h1>")})
    result = login(page.url + "/login")
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert f"HTTP {status}" in result.text


def test_redirect_loop(site):
    page = site({"/login": (302, {"Location": "/login"}, "")})
    result = login(page.url + "/login")
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert "too many redirects" in result.text


def test_huge_body_is_capped(raw_server):
    sent = []

    def huge(conn, stop):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        for _ in range(1600):          # 100 MiB if the client read it all
            if stop.is_set():
                return
            conn.sendall(frame)
            sent.append(len(chunk))

    server = raw_server(huge)
    result = login(server.url + "/login", "-t", "20")
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert "byte cap" in result.text
    assert sum(sent) < 50 * 1024 * 1024, "the client kept reading far past its cap"


def test_huge_body_memory_stays_small(raw_server, tmp_path):
    def huge(conn, stop):
        conn.recv(65536)
        # Chunked, no length announced: the cap has to hold while reading.
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        frame = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        for _ in range(1600):
            if stop.is_set():
                return
            conn.sendall(frame)

    server = raw_server(huge)
    probe = tmp_path / "rss.py"
    # VmHWM is this process image's own peak; ru_maxrss would carry pytest's size over the fork.
    # Run as a program, the plugin ends with os._exit once its result is out: read it there.
    probe.write_text(
        "import os, runpy, sys\n"
        "def peak(code, exit=os._exit):\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "    sys.stderr.write('maxrss_kb=%s\\n' % hwm)\n"
        "    sys.stderr.flush()\n"
        "    exit(code)\n"
        "os._exit = peak\n"
        "sys.argv = ['check_cx_login'] + sys.argv[1:]\n"
        "runpy.run_module('cxcheck.checks.login', run_name='__main__')\n")
    import subprocess
    import sys

    from conftest import plugin_env

    proc = subprocess.run([sys.executable, str(probe), "-u", server.url + "/", "--username", "u",
                           "--password-env", "CX_PW"], capture_output=True, text=True, timeout=60,
                          env=plugin_env(ENV))
    assert proc.returncode == 2, proc.stdout
    assert "byte cap" in proc.stdout
    rss_kb = int(proc.stderr.strip().rsplit("maxrss_kb=", 1)[1])
    assert rss_kb < 100 * 1024, f"peak RSS {rss_kb} kB for a capped read"


def test_self_signed_certificate(site, self_signed):
    page = site({"/login": (200, {"Content-Type": "text/html"}, LOGIN_PAGE),
                 "/login-ok": (200, {}, "")}, certfile=self_signed)
    result = login(page.url + "/login")
    assert result.code == 2
    assert_one_line(result, "CRITICAL")
    assert "self-signed certificate" in result.text


@pytest.mark.parametrize("trust", ["--insecure", "--ca-file"])
def test_self_signed_certificate_trusted(site, self_signed, trust):
    welcome = (200, {"Content-Type": "text/html"}, "<p>Welcome back</p>")
    page = site({"/login": (200, {"Content-Type": "text/html"}, LOGIN_PAGE), "/done": welcome}, certfile=self_signed)
    page.routes["/login"] = (200, {"Content-Type": "text/html"},
                             lambda handler, body: LOGIN_PAGE if handler.command == "GET" else "<p>Welcome back</p>")
    args = ["--insecure"] if trust == "--insecure" else ["--ca-file", self_signed]
    result = login(page.url + "/login", *args, "--expect-text", "Welcome back")
    assert result.code == 0, result.stdout
    assert result.status.startswith("CX LOGIN OK - logged in as s***@example.com in ")


def test_malformed_yaml(tmp_path):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("name: x\nsteps:\n  - get: /a\n   expect: [\n")
    result = run_plugin("check_cx_login", "--scenario", str(scenario))
    assert result.code == 3
    assert_one_line(result, "UNKNOWN")
    assert "malformed YAML" in result.text and str(scenario) in result.text and "line" in result.text


def test_unknown_step_key(tmp_path):
    scenario = tmp_path / "typo.yaml"
    scenario.write_text("name: x\nbase_url: http://127.0.0.1:9\nsteps:\n"
                        "  - name: home\n    get: /\n  - name: login\n    submti_form: {}\n")
    result = run_plugin("check_cx_login", "--scenario", str(scenario))
    assert result.code == 3
    assert_one_line(result, "UNKNOWN")
    assert "step 'login'" in result.text and "'submti_form'" in result.text and str(scenario) in result.text


def test_bad_range():
    result = run_plugin("check_cx_login", "-u", "http://127.0.0.1:9/", "--username", "u",
                        "--password-env", "CX_PW", "-w", "abc", env=ENV)
    assert result.code == 3
    assert_one_line(result, "UNKNOWN")
    assert "'abc' is not a Nagios range" in result.text


def test_unreadable_password_file(tmp_path):
    missing = tmp_path / "nope.pw"
    result = run_plugin("check_cx_login", "-u", "http://127.0.0.1:9/", "--username", "u",
                        "--password-file", str(missing))
    assert result.code == 3
    assert_one_line(result, "UNKNOWN")
    assert f"cannot read password file {missing}" in result.text


def test_password_file_that_is_a_directory(tmp_path):
    result = run_plugin("check_cx_login", "-u", "http://127.0.0.1:9/", "--username", "u",
                        "--password-file", str(tmp_path))
    assert result.code == 3
    assert_one_line(result, "UNKNOWN")
    assert "Is a directory" in result.text


def test_usage_errors_are_one_line():
    result = run_plugin("check_cx_login", "--no-such-option")
    assert result.code == 3
    assert_one_line(result, "UNKNOWN")
    result = run_plugin("check_cx_login")
    assert result.code == 3 and "give the login page" in result.text


def test_deadline_counts_from_start_whatever_the_steps(raw_server):
    """A journey of several slow-but-answering steps still ends by -t."""
    def slow(conn, stop):
        while not stop.is_set():
            data = conn.recv(65536)
            if not data:
                return
            if stop.wait(0.8):
                return
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")

    result = login(raw_server(slow).url + "/login", "-t", "2", reference=2)
    assert result.code == 2 and "timed out after 2 s" in result.text
    assert result.overrun < 1
