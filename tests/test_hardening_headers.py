"""Class 3 of issue 9: headers given by the administrator stay on the target host.

`--header` values (Authorization, Cookie, API keys) go to the host of the check's URL and, for a
scenario, to the hosts its steps name; never to another host reached by a redirect, a form
action or a URL a server handed out. Two servers on 127.0.0.1 on different ports are two hosts
(an origin is host and port).
"""

from __future__ import annotations

from conftest import run_plugin

HEADERS = {"Authorization": "Bearer admin-token-123", "X-Api-Key": "key-456-secret", "Cookie": "admin=cookie-789"}
ARGS = [arg for name, value in HEADERS.items() for arg in ("--header", f"{name}: {value}")]
HTML = {"Content-Type": "text/html"}
FORM = ('<html><form method="post" action="{action}"><input type="email" name="user">'
        '<input type="password" name="pw"><button name="go" value="1">Go</button></form></html>')


def received(server) -> list[dict]:
    """The administrator's headers each request to `server` carried."""
    return [{name: value for name, value in headers.items() if name in HEADERS}
            for _, _, headers, _ in server.requests]


def sent_everything(server):
    assert server.requests and all(got == HEADERS for got in received(server)), received(server)


def sent_nothing(server):
    assert server.requests and all(got == {} for got in received(server)), received(server)


def login(url: str, *args: str):
    return run_plugin("check_cx_login", "-u", url, "--username", "ann@example.com", "--password-env", "CX_PW",
                      *ARGS, *args, env={"CX_PW": "correct-horse-battery"})


def test_not_to_the_host_of_a_form_action(site):
    other = site({"/login": (200, HTML, "<p>Welcome</p>")})
    target = site({"/login": (200, HTML, FORM.format(action=other.url + "/login"))})
    result = login(target.url + "/login", "-v")
    assert result.code == 0, result.stdout
    sent_everything(target)
    sent_nothing(other)
    assert result.stderr == ""


def test_not_to_the_host_a_redirect_leads_to(site):
    other = site({"/welcome": (200, HTML, "<p>Welcome</p>")})
    target = site({"/login": (200, HTML, lambda handler, body: FORM.format(action="/login")
                              if handler.command == "GET" else (302, {"Location": other.url + "/welcome"}, "")),
                   "/again": (302, {"Location": "/login"}, "")})
    result = login(target.url + "/again")
    assert result.code == 0, result.stdout
    sent_everything(target)          # a redirect on the same host keeps them
    sent_nothing(other)


def test_scenario_hosts_named_get_them_a_url_from_a_server_does_not(site, tmp_path):
    handed_out = site({"/elsewhere": (200, {"Content-Type": "application/json"}, "{}")})
    named = site({"/api": (200, {"Content-Type": "application/json"}, "{}")})
    target = site({"/start": (200, {"Content-Type": "application/json"}, '{"next": "%s/elsewhere"}' % handed_out.url),
                   "/jump": (307, {"Location": handed_out.url + "/elsewhere"}, "")})
    scenario = tmp_path / "hosts.yaml"
    scenario.write_text(f"""name: hosts
base_url: {target.url}
steps:
  - name: start
    get: /start
    headers: {{X-Step-Key: step-secret}}
    extract: {{next: {{json: next}}}}
  - name: named
    get: {named.url}/api
  - name: handed_out
    get: "${{next}}"
  - name: jump
    get: /jump
    headers: {{X-Step-Key: step-secret}}
""")
    result = run_plugin("check_cx_checkout", "--scenario", str(scenario), *ARGS)
    assert result.code == 0, result.stdout
    sent_everything(target)
    sent_everything(named)
    sent_nothing(handed_out)
    # A step's own header does not follow a redirect to another host either.
    assert all("X-Step-Key" not in headers for _, _, headers, _ in handed_out.requests)
    assert [headers.get("X-Step-Key") for _, path, headers, _ in target.requests] == ["step-secret", "step-secret"]


def test_cookie_header_joins_the_session_cookies(site):
    target = site({"/login": (200, {"Content-Type": "text/html", "Set-Cookie": "csrftoken=abc; Path=/"},
                              lambda handler, body: FORM.format(action="/login") if handler.command == "GET"
                              else "<p>Welcome</p>")})
    result = login(target.url + "/login")
    assert result.code == 0, result.stdout
    assert [headers.get("Cookie") for _, _, headers, _ in target.requests] == \
        ["admin=cookie-789", "csrftoken=abc; admin=cookie-789"]


def test_header_values_are_masked_like_passwords(site):
    target = site({"/login": (200, HTML, lambda handler, body: FORM.format(action="/login")
                              if handler.command == "GET" else
                              (302, {"Location": "/welcome?echo=key-456-secret&auth=admin-token-123"}, "")),
                   "/welcome": (200, HTML, "<p>Welcome</p>")})
    result = login(target.url + "/login", "--expect-url", "^never$", "-v")
    assert result.code == 2
    assert "/welcome?echo=***&auth=***," in result.text
    assert "key-456-secret" not in result.stdout and "admin-token-123" not in result.stdout
