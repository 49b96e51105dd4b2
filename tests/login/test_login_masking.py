"""The password never appears in what a plugin writes, at any verbosity, even when the server
echoes it into the page."""

from __future__ import annotations

import pytest
from conftest import run_plugin

PASSWORD = "Tr0ub4dor&3 p|pe"
FORM = """<html><body><p>{note}</p><form id="login_form" method="post" action="/login">
<input type="email" name="user"><input type="password" name="pw"><button name="go" value="1">Go</button>
</form></body></html>"""


def echoing(handler, body):
    """Answers the login POST with the login page again, the typed password echoed into it."""
    from urllib.parse import parse_qs

    typed = parse_qs(body.decode()).get("pw", [""])[0]
    if handler.command == "POST":
        return FORM.format(note=f"Wrong password, you typed {typed} (raw: {body.decode()})")
    return FORM.format(note="Log in")


@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"], ["-vvv"]])
@pytest.mark.parametrize("source", ["env", "file"])
def test_password_never_printed(site, tmp_path, verbosity, source):
    page = site({"/login": (200, {"Content-Type": "text/html"}, echoing)})
    if source == "env":
        secret, env = ["--password-env", "CX_PW"], {"CX_PW": PASSWORD}
    else:
        path = tmp_path / "pw"
        path.write_text(PASSWORD + "\n")
        secret, env = ["--password-file", str(path)], {}
    result = run_plugin("check_cx_login", "-u", page.url + "/login", "--username", "ann@example.com",
                        *secret, *verbosity, env=env)
    assert result.code == 2, result.stdout
    assert "the login page came back" in result.text
    assert page.requests[-1][3].decode().count("Tr0ub4dor") == 1, "the password was not sent"
    everything = result.stdout + result.stderr
    for form in ("Tr0ub4dor", "p%7Cpe", "Tr0ub4dor%263"):
        assert form not in everything
    if verbosity:
        assert "login: POST" in result.stdout   # -v shows one line per request


def test_secret_in_scenario_variable_is_masked_in_trace(site, tmp_path):
    page = site({"/api/login": (200, {"Content-Type": "application/json"},
                                lambda handler, body: '{"token": "tok-%s"}' % body.decode()[-12:-2])})
    scenario = tmp_path / "api.yaml"
    scenario.write_text(f"""name: api-login
base_url: {page.url}
variables:
  password: ${{env:CX_API_PW}}
steps:
  - name: token
    post: /api/login
    json: {{email: ann@example.com, password: "${{password}}"}}
    extract: {{token: {{json: token}}}}
""")
    result = run_plugin("cxcheck", "scenario", "check", str(scenario), "--run", env={"CX_API_PW": "s3cret-value"})
    assert result.code == 0, result.stdout
    assert "s3cret-value" not in result.stdout
    assert "token: POST" in result.stdout and "extracted: token=***" in result.stdout
