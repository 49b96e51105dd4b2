"""Class 6 of issue 9: TLS messages name the real cause; a normal run writes nothing to stderr.

An IP address the certificate does not cover is named as such; the hint never suggests
--ca-file when one was given; --insecure is quiet (Icinga 2 reads stdout and stderr as one
stream, so a warning there would become part of the plugin's output).
"""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import ROOT, need_binary, run_plugin

FORM = ('<html><form method="post" action="/login"><input type="email" name="user">'
        '<input type="password" name="pw"><button name="go" value="1">Go</button></form></html>')
ENV = {"CX_PW": "correct-horse-battery"}


def certificate(directory, name: str, san: str) -> str:
    """A self-signed certificate and its key in one PEM file."""
    openssl = need_binary("openssl", "openssl")
    pem, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName={san}", "-keyout", str(key), "-out", str(pem)],
                   check=True, capture_output=True, timeout=60)
    pem.write_text(pem.read_text() + key.read_text())
    return str(pem)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    return {"names-only": certificate(directory, "localhost", "DNS:localhost"),
            "other": certificate(directory, "other", "IP:127.0.0.1")}


def login(url: str, *args: str):
    return run_plugin("check_cx_login", "-u", url, "--username", "ann@example.com", "--password-env", "CX_PW",
                      *args, env=ENV)


def tls_site(site, certfile):
    return site({"/login": (200, {"Content-Type": "text/html"},
                            lambda handler, body: FORM if handler.command == "GET" else "<p>Welcome</p>")},
                certfile=certfile)


def test_ip_address_the_certificate_does_not_cover(site, certs):
    server = tls_site(site, certs["names-only"])
    port = server.url.rsplit(":", 1)[1]
    result = login(server.url + "/login", "--ca-file", certs["names-only"])
    assert result.code == 2
    assert result.text == ("CX LOGIN CRITICAL - login as a***@example.com failed at step login_page: TLS error with "
                           f"127.0.0.1:{port}: the certificate is not valid for IP address 127.0.0.1")
    assert result.stderr == ""


def test_no_ca_file_hint_when_one_was_given(site, self_signed, certs):
    server = tls_site(site, self_signed)
    port = server.url.rsplit(":", 1)[1]
    result = login(server.url + "/login", "--ca-file", certs["other"])
    assert result.code == 2
    assert result.text == ("CX LOGIN CRITICAL - login as a***@example.com failed at step login_page: TLS error with "
                           f"127.0.0.1:{port}: self-signed certificate (not trusted by --ca-file {certs['other']})")


def test_ca_file_hint_when_none_was_given(site, self_signed):
    server = tls_site(site, self_signed)
    result = login(server.url + "/login")
    assert result.code == 2
    assert result.text.endswith(": self-signed certificate (use --ca-file to trust it, or --insecure)")


def test_insecure_is_quiet(site, self_signed):
    server = tls_site(site, self_signed)
    for verbosity in ([], ["-v"], ["-vvv"]):
        result = login(server.url + "/login", "--insecure", *verbosity)
        assert result.code == 0, result.stdout
        assert result.stderr == ""
        assert "InsecureRequestWarning" not in result.stdout


@pytest.mark.parametrize("plugin, args", [
    ("check_cx_nps", ["--csv", str(ROOT / "plugins/cxcheck/demo/data/nps_sample.csv"), "--now",
                      "2026-11-01T00:00:00Z", "-vvv"]),
    ("check_cx_nps", ["--csv", "/nonexistent.csv"]),
    ("check_cx_login", ["-u", "http://127.0.0.1:9/login", "--username", "u", "--password-env", "CX_PW", "-vvv"]),
    ("check_cx_login", ["--no-such-option"]),
    ("check_cx_transaction", ["--help"]),
])
def test_a_normal_run_writes_nothing_to_stderr(plugin, args):
    result = run_plugin(plugin, *args, env=ENV)
    assert result.stdout and result.stderr == ""


def test_a_journey_writes_nothing_to_stderr(shop):
    result = run_plugin("check_cx_checkout", "--scenario", str(ROOT / "templates/scenarios/shop-checkout-html.yaml"),
                        "--var", f"base_url={shop.url}", "--var-env", "password=SHOP_PASSWORD", "-vvv",
                        env={"SHOP_PASSWORD": "correct-horse-battery"})
    assert result.stdout and result.stderr == ""


@pytest.fixture
def mutual_tls_site(tmp_path, self_signed):
    """An HTTPS login on 127.0.0.1 that asks for a client certificate, trusts `client.pem` (a
    self-signed one) and greets the certificate's common name after the form is posted."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    client = certificate(tmp_path, "monitoring-client", "DNS:monitoring-client")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            subject = dict(pair[0] for pair in self.connection.getpeercert()["subject"])
            body = (FORM if self.command == "GET" else f"<p>Welcome {subject['commonName']}</p>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(self_signed)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(client)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", client
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_client_certificate_is_presented_for_mutual_tls(mutual_tls_site, self_signed):
    url, client = mutual_tls_site
    result = login(url + "/login", "--ca-file", self_signed, "--client-cert", client,
                   "--expect-text", "Welcome monitoring-client")
    assert (result.code, result.text.split(" - ")[0]) == (0, "CX LOGIN OK"), result.stdout


def test_a_server_that_wants_a_client_certificate_and_gets_none_is_one_tls_line(mutual_tls_site, self_signed):
    url, _ = mutual_tls_site
    result = login(url + "/login", "--ca-file", self_signed)
    # The server's alert, or its end of the connection when it closes first (a race in the kernel).
    assert result.code == 2, result.stdout
    assert re.fullmatch(r"CX LOGIN CRITICAL - login as a\*\*\*@example\.com failed at step login_page: TLS error with "
                        r"127\.0\.0\.1:\d+: (the server asks for a client certificate \(--client-cert\)|"
                        r"EOF occurred in violation of protocol)", result.text), result.stdout
    assert result.stderr == ""
