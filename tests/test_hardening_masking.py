"""Class 1 of issue 9: a secret never shows, in any rendering a server or a library gives it.

Servers on 127.0.0.1 echo the password (or the API token) back in every form it travels in:
percent-encoded in the ways requests and urllib3 re-quote a URL, backslash-escaped as repr() and
JSON write it, its UTF-8 read as latin-1, HTML-escaped, in base64 of `user:secret` and
`secret:`, inside exception texts, cut by a shortened snippet, one line of a multi-line secret
file. The real plugins run at every verbosity; none of those renderings may reach stdout or
stderr, and the place it stood shows ***.
"""

from __future__ import annotations

import base64
import html
import json
import re
import socket
from urllib.parse import quote, quote_plus

import pytest
from conftest import run_plugin

SECRET = "Tr0ub4dor&3: p|pe/ü\"'\\"
USER = "ann@example.com"
FORM = ('<html><form id="f" method="post" action="/login"><input type="email" name="user">'
        '<input type="password" name="pw"><button name="go" value="1">Go</button></form></html>')
HTML = {"Content-Type": "text/html"}
VERBOSITY = [[], ["-v"], ["-vv"], ["-vvv"]]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def renderings(secret: str) -> set[str]:
    """Every form of the secret that must not be shown (computed here, not by the masker)."""
    raw = secret.encode()
    return {
        secret, quote(secret, safe=""), quote_plus(secret), quote(secret), quote(secret, safe="&|:/'\\"),
        quote(secret, safe="").lower(), quote(quote(secret, safe=""), safe=""), repr(secret)[1:-1],
        repr(raw)[2:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
        raw.decode("latin-1"), html.escape(secret), b64(f"{USER}:{secret}"), b64(f"{secret}:"),
        secret[:6], secret[-8:],        # what a cut after the masking would leave
    }


def assert_hidden(result, secret: str = SECRET):
    everything = result.stdout + result.stderr
    for form in renderings(secret):
        assert form not in everything, f"{form!r} shown:\n{everything}"
    assert "Traceback" not in everything
    assert result.stderr == ""


def login(url: str, *args: str, secret: str = SECRET):
    return run_plugin("check_cx_login", "-u", url, "--username", USER, "--password-env", "CX_PW", *args,
                      env={"CX_PW": secret})


ECHOES_IN_URL = {
    "requests re-quotes it": SECRET,
    "all percent-encoded": quote(SECRET, safe=""),
    "some characters only": quote(SECRET, safe="&|:'\\"),
    "plus for space": quote_plus(SECRET),
    "lower-case hex": re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(SECRET, safe="")),
    "encoded twice": quote(quote(SECRET, safe=""), safe=""),
    "UTF-8 read as latin-1": quote(SECRET.encode().decode("latin-1"), safe=""),
    "JSON-escaped": quote(json.dumps(SECRET), safe=""),
    "repr of bytes": quote(repr(SECRET.encode()), safe=""),
    "base64 of user:secret": b64(f"{USER}:{SECRET}"),
    "base64 of secret:": quote(b64(f"{SECRET}:"), safe=""),
}


@pytest.mark.parametrize("verbosity", VERBOSITY)
@pytest.mark.parametrize("how", sorted(ECHOES_IN_URL))
def test_secret_echoed_in_the_final_url(site, how, verbosity):
    echo = ECHOES_IN_URL[how]
    if how == "requests re-quotes it":          # the Location as a careless server writes it
        echo = echo.encode().decode("latin-1")
    page = site({"/login": (200, HTML, lambda handler, body: FORM if handler.command == "GET" else
                            (302, {"Location": "/welcome?r=" + echo}, "")),
                 "/welcome": (200, HTML, "<p>Welcome</p>")})
    result = login(page.url + "/login", "--expect-url", "^never$", *verbosity)
    assert result.code == 2, result.stdout
    assert result.text.startswith(f"CX LOGIN CRITICAL - login as a***@example.com failed at step login: "
                                  f"ended at {page.url}/welcome?r="), result.stdout
    assert "***" in result.text.split("/welcome?r=", 1)[1]
    assert_hidden(result)
    if verbosity:
        assert f"login: POST {page.url}/login 302 -> GET {page.url}/welcome?r=" in result.stdout


HEADER_ECHOES = {
    "raw": SECRET,
    "repr": repr(SECRET),
    "JSON": json.dumps(SECRET),
    "UTF-8 read as latin-1": SECRET.encode().decode("latin-1"),
    "HTML-escaped": html.escape(SECRET),
    "Basic auth echoed": "Basic " + b64(f"{USER}:{SECRET}"),
    "API key as Basic user": "Basic " + b64(f"{SECRET}:"),
}


@pytest.mark.parametrize("how", sorted(HEADER_ECHOES))
def test_secret_echoed_in_a_header_and_a_json_value(site, tmp_path, how):
    echo = HEADER_ECHOES[how]
    page = site({"/echo": (200, {"Content-Type": "application/json",
                                 "X-Echo": echo.encode("utf-8").decode("latin-1") if how == "raw" else echo},
                           json.dumps({"echo": echo}))})
    scenario = tmp_path / "echo.yaml"
    scenario.write_text(f"""name: echo
base_url: {page.url}
steps:
  - name: header
    get: /echo
    expect: {{header: {{X-Echo: "^never$"}}}}
  - name: json
    get: /echo
    expect: {{json: {{echo: never}}}}
""")
    result = run_plugin("check_cx_login", "--scenario", str(scenario), "--username", USER,
                        "--password-env", "CX_PW", "-v", env={"CX_PW": SECRET})
    assert result.code == 2, result.stdout
    assert "failed at step header: header X-Echo: " in result.text and "does not match /^never$/" in result.text
    assert "***" in result.text
    assert_hidden(result)
    # The same value as a JSON document's string, past the header step.
    scenario.write_text(scenario.read_text().replace("  - name: header\n    get: /echo\n"
                                                     "    expect: {header: {X-Echo: \"^never$\"}}\n", ""))
    result = run_plugin("check_cx_login", "--scenario", str(scenario), "--username", USER,
                        "--password-env", "CX_PW", "-vvv", env={"CX_PW": SECRET})
    assert result.code == 2, result.stdout
    assert "failed at step json: JSON echo is " in result.text and "***" in result.text
    assert_hidden(result)


def test_secret_inside_exception_texts(site):
    with socket.socket() as sock:       # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    userinfo = f"http://{quote(USER, safe='')}:{quote(SECRET, safe='&')}@127.0.0.1:{closed}/"
    page = site({"/login": (200, HTML, lambda handler, body: FORM if handler.command == "GET" else
                            (302, {"Location": userinfo}, "")),
                 "/bad": (200, HTML, lambda handler, body: FORM.replace("/login", "/bad") if handler.command == "GET" else
                          (302, {"Location": "http://[" + quote(SECRET, safe="&|") + "/"}, ""))})
    for verbosity in VERBOSITY:
        result = login(page.url + "/login", *verbosity)
        assert result.code == 2, result.stdout
        assert result.text == f"CX LOGIN CRITICAL - login as a***@example.com failed at step login: " \
                              f"connection refused by 127.0.0.1:{closed}"
        assert_hidden(result)
        result = login(page.url + "/bad", *verbosity)
        assert result.code == 2, result.stdout
        assert "failed at step login: " in result.text and "invalid URL" in result.text
        assert_hidden(result)


@pytest.mark.parametrize("echo", [
    pytest.param("x" * 105 + " token " + SECRET + " end", id="cut-at-120"),
    pytest.param("Authorization: Basic " + b64(f"{SECRET}:"), id="basic-of-token"),
    pytest.param(json.dumps({"error": "bad token", "token": SECRET}), id="json"),
    pytest.param("token=" + quote_plus(SECRET), id="form-encoded"),
])
def test_api_token_echoed_in_a_refusal(site, tmp_path, echo):
    token = tmp_path / "token"
    token.write_text(SECRET + "\n")
    api = site({"/responses": (401, {"Content-Type": "text/plain"}, echo)})
    for verbosity in VERBOSITY:
        result = run_plugin("check_cx_nps", "--json-url", api.url + "/responses", "--token-file", str(token),
                            *verbosity)
        assert result.code == 3, result.stdout
        assert result.text.startswith(f"CX NPS UNKNOWN - {api.url}/responses rejected the token (401): ")
        assert "***" in result.text or "..." in result.text
        assert_hidden(result)


def test_each_line_of_a_multi_line_secret_file(site, tmp_path):
    lines = ["first-line-of-the-secret", "second-line-of-the-secret"]
    secret_file = tmp_path / "pw"
    secret_file.write_text("\n".join(lines) + "\n")
    page = site({"/login": (200, HTML, lambda handler, body: FORM if handler.command == "GET" else
                            (302, {"Location": "/welcome?one=" + lines[1] + "&two=" + quote(lines[0])}, "")),
                 "/welcome": (200, HTML, "<p>Welcome</p>")})
    result = run_plugin("check_cx_login", "-u", page.url + "/login", "--username", USER,
                        "--password-file", str(secret_file), "--expect-url", "^never$", "-vv")
    assert result.code == 2, result.stdout
    assert f"ended at {page.url}/welcome?one=***&two=***," in result.text
    for line in lines:
        assert line not in result.stdout + result.stderr


def test_password_reaches_the_server_unmasked(site):
    """The masking is for what the plugin prints, never for what it sends."""
    page = site({"/login": (200, HTML, lambda handler, body: FORM if handler.command == "GET" else
                            "<p>Welcome</p>")})
    result = login(page.url + "/login")
    assert result.code == 0, result.stdout
    assert page.requests[-1][3] == f"user={quote_plus(USER)}&pw={quote_plus(SECRET)}&go=1".encode()
