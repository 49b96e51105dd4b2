"""Configuration mistakes are UNKNOWN with the fix, never a CRITICAL step that pages someone: a
scenario's base_url without a scheme (from --var or from the scenario's own variables), a proxy
without one, a CA file without a certificate, a client certificate OpenSSL cannot load. Each is
found before any request: a server here counts the connections it is offered, and gets none."""

from __future__ import annotations

import subprocess

import pytest
from conftest import need_binary, run_plugin

SCENARIO = """name: shop
base_url: ${base_url}
variables:
  base_url: %(default)s
steps:
  - name: home
    get: /
"""
BROWSER_SCENARIO = """name: shop
browser: true
base_url: ${base_url}
steps:
  - name: home
    goto: /
"""


@pytest.fixture
def silent_site(raw_server):
    """A TCP server that only counts the connections it is offered."""
    seen = []
    server = raw_server(lambda conn, stopping: seen.append(conn))
    server.seen = seen
    return server


def scenario(tmp_path, default="https://shop.example.com", text=SCENARIO):
    path = tmp_path / "shop.yaml"
    path.write_text(text % {"default": default} if "%(default)s" in text else text)
    return str(path)


@pytest.mark.parametrize("plugin", ["check_cx_checkout", "check_cx_transaction"])
def test_a_base_url_without_a_scheme_from_var_is_unknown_with_the_full_url(plugin, tmp_path, silent_site):
    host = silent_site.url.removeprefix("http://")
    result = run_plugin(plugin, "--scenario", scenario(tmp_path), "--var", f"base_url={host}")
    name = plugin.removeprefix("check_cx_").upper()
    assert (result.code, result.stdout) == (
        3, f"CX {name} UNKNOWN - --var base_url needs a full URL such as https://{host}, not '{host}'\n")
    assert silent_site.seen == []


def test_a_base_url_without_a_scheme_in_the_scenario_names_its_variable(tmp_path):
    path = scenario(tmp_path, default="shop.example.com")
    result = run_plugin("check_cx_checkout", "--scenario", path)
    assert (result.code, result.stdout) == (
        3, f"CX CHECKOUT UNKNOWN - {path}: variable 'base_url' needs a full URL such as https://shop.example.com, "
           "not 'shop.example.com'\n")


def test_a_base_url_of_another_scheme_is_named(tmp_path):
    result = run_plugin("check_cx_checkout", "--scenario", scenario(tmp_path), "--var", "base_url=ftp://shop/")
    assert (result.code, result.text) == (
        3, "CX CHECKOUT UNKNOWN - --var base_url ftp://shop/: unsupported scheme ftp:// (cxcheck checks web pages: "
           "http:// or https://)")


def test_a_browser_journey_checks_its_base_url_before_starting_a_browser(tmp_path):
    path = scenario(tmp_path, text=BROWSER_SCENARIO)
    result = run_plugin("check_cx_checkout", "--scenario", path, "--var", "base_url=shop.example.com")
    assert (result.code, result.text) == (
        3, "CX CHECKOUT UNKNOWN - --var base_url needs a full URL such as https://shop.example.com, "
           "not 'shop.example.com'")


def test_scenario_check_run_says_it_the_same_way(tmp_path):
    result = run_plugin("cxcheck", "scenario", "check", scenario(tmp_path), "--run", "--var", "base_url=shop:8000")
    assert (result.code, result.stdout) == (
        3, "error: --var base_url needs a full URL such as https://shop:8000, not 'shop:8000'\n")


@pytest.fixture(scope="module")
def client_files(tmp_path_factory):
    openssl = need_binary("openssl", "openssl")
    work = tmp_path_factory.mktemp("client")
    for name in ("one", "two"):
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                        "-keyout", str(work / f"{name}.key"), "-out", str(work / f"{name}.pem")],
                       check=True, capture_output=True, timeout=60)
    subprocess.run([openssl, "rsa", "-in", str(work / "one.key"), "-aes256", "-passout", "pass:secret", "-out",
                    str(work / "locked.key")], check=True, capture_output=True, timeout=60)
    (work / "junk.pem").write_text("not a certificate\n")
    return work


@pytest.mark.parametrize("options, message", [
    (["--proxy", "proxy.example.com:3128"],
     "--proxy needs a URL such as http://proxy.example.com:3128, not 'proxy.example.com:3128'"),
    (["--proxy", "ftp://proxy.example.com"],
     "--proxy ftp://proxy.example.com: unsupported scheme ftp:// (http://, https:// or socks5://)"),
    (["--ca-file", "{work}/junk.pem"], "--ca-file {work}/junk.pem: no certificate in it (a PEM bundle of CA "
                                      "certificates)"),
    (["--client-cert", "{work}/junk.pem"], "--client-cert {work}/junk.pem: not a PEM certificate and its private key"),
    (["--client-cert", "{work}/one.pem", "--client-key", "{work}/two.key"],
     "--client-cert {work}/one.pem with --client-key {work}/two.key: the key is not the certificate's"),
    (["--client-cert", "{work}/one.pem", "--client-key", "{work}/locked.key"],
     "--client-key {work}/locked.key: the key is encrypted; give it without a passphrase (readable by the nagios "
     "user only)"),
])
def test_transport_settings_are_checked_before_any_request(options, message, client_files, tmp_path, silent_site):
    options = [option.format(work=client_files) for option in options]
    result = run_plugin("check_cx_checkout", "--scenario", scenario(tmp_path), "--var",
                        f"base_url={silent_site.url}", *options)
    assert (result.code, result.stdout) == (3, f"CX CHECKOUT UNKNOWN - {message.format(work=client_files)}\n")
    assert silent_site.seen == []


def test_good_client_files_pass(client_files, tmp_path, silent_site):
    """The same checks let a real certificate and its key through: the run reaches the site."""
    result = run_plugin("check_cx_checkout", "--scenario", scenario(tmp_path), "--var", f"base_url={silent_site.url}",
                        "--client-cert", str(client_files / "one.pem"), "--client-key", str(client_files / "one.key"),
                        "--ca-file", str(client_files / "two.pem"), "-t", "1")
    assert result.code == 2 and "timed out" in result.text, result.stdout
    assert silent_site.seen


def test_a_proxy_that_refuses_is_named_as_the_proxy(tmp_path, silent_site):
    from conftest import free_port

    port = free_port()
    result = run_plugin("check_cx_checkout", "--scenario", scenario(tmp_path), "--var", f"base_url={silent_site.url}",
                        "--proxy", f"http://127.0.0.1:{port}")
    host = silent_site.url.removeprefix("http://")
    assert result.code == 2
    assert result.text == (f"CX CHECKOUT CRITICAL - shop failed at step home: the proxy (--proxy) failed on the way to "
                           f"{host}: Connection refused")


@pytest.mark.parametrize("url, message", [
    ("${api}/orders", "URL '127.0.0.1:8000/orders' needs a full URL such as http://127.0.0.1:8000/orders"),
    ("${other}/orders", "URL 'ftp://files.example.com/orders': unsupported scheme ftp:// (http:// or https://)"),
])
def test_a_step_url_that_cannot_be_a_web_pages_is_the_scenarios_mistake(url, message, tmp_path, silent_site):
    """A variable holding host:port (joined to base_url it would be a path: a 404, CRITICAL) or a URL
    of another scheme: UNKNOWN naming the step, before any request."""
    path = tmp_path / "api.yaml"
    path.write_text("name: api\nbase_url: ${base_url}\nvariables: {api: '127.0.0.1:8000', "
                    "other: 'ftp://files.example.com'}\nsteps:\n  - name: home\n    get: /\n"
                    f"  - name: orders\n    get: {url}\n")
    result = run_plugin("check_cx_checkout", "--scenario", str(path), "--var", f"base_url={silent_site.url}")
    assert (result.code, result.stdout) == (3, f"CX CHECKOUT UNKNOWN - {path}: step 'orders': {message}\n")
    assert silent_site.seen == []
