"""Class 1 of issue 21: the API sources' credentials never leave their host, and never show.

- Every API source (Zendesk, HubSpot feedback/tickets/deals, SurveyMonkey, Delighted, Typeform,
  Mixpanel, Pipedrive, the JSON endpoints, Prometheus) against a server on 127.0.0.1 whose every
  answer is a redirect to a server on 127.0.0.2, with a cookie: the second server must receive
  none of the credentials (no header, query parameter, cookie or body carrying the token or its
  Basic encoding), and the run says where it was sent and why it stopped. requests drops
  `Authorization` on such a redirect, not a custom header (Pipedrive's x-api-token, an
  administrator's --header X-Api-Key): those are what this proves.
- A vendor's error text that quotes the secret (Mixpanel: "Invalid secret <the secret> for
  service account ...") is masked at every verbosity.
- The first round's two leftovers: the repr() of a UTF-8 secret misread as latin-1 (C1 controls
  such as \\x82 escaped, as http.client's BadStatusLine and a header shown with repr() give it),
  and a secret's own %XX sequences unquoted by requests in a redirect's Location (-v shows it).

Documentation behind the shapes used: Mixpanel's Query API authentication
(https://docs.mixpanel.com/reference/query-api-authentication: service account as HTTP Basic),
Pipedrive's authentication (x-api-token header, https://pipedrive.readme.io/docs/core-api-concepts-authentication),
and requests' redirect handling (Session.rebuild_auth strips Authorization only,
https://requests.readthedocs.io/en/latest/api/#requests.Session.rebuild_auth).
"""

from __future__ import annotations

import base64
import json
import socket
from urllib.parse import quote

import pytest
from conftest import run_plugin

SECRET = "tok-Secret-9f8e7d-Q2x"         # API tokens are ASCII: HTTP headers carry latin-1 at most
UNICODE_SECRET = "pw-Sëcret-€-9f8e7d"   # a password: its UTF-8 misread as latin-1 has a C1 control
USER = "cx-monitor.1a2b3c"
EMAIL = "agent@example.com"
COOKIE = "sid-Cookie-4711-secret"
VERBOSITY = [[], ["-v"], ["-vv"], ["-vvv"]]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


FORMS = [SECRET, quote(SECRET, safe=""), b64(f"{SECRET}:"), b64(f"{USER}:{SECRET}"), b64(f"{EMAIL}/token:{SECRET}"),
         COOKIE]


@pytest.fixture
def redirected(site):
    """(the API's server, the other host's server): every answer of the first is a 307 to the
    same path and query on the second, with a cookie; the second refuses with 401."""
    elsewhere = site({"*": (401, {"Content-Type": "application/json"}, json.dumps({"error": "who are you?"}))},
                     host="127.0.0.2")
    api = site({"*": (307, {}, lambda handler, body: (307, {"Location": elsewhere.url + handler.path,
                                                            "Set-Cookie": f"sid={COOKIE}; Path=/"}, ""))})
    return api, elsewhere


NOW = ("--now", "2026-11-01T00:00:00Z")
SOURCES = {
    "zendesk-api-token": ("check_cx_csat", lambda url: ["--zendesk", "acme", "--zendesk-email", EMAIL,
                                                        "--token-env", "TK", "--api-url", url, *NOW]),
    "zendesk-oauth-tickets": ("check_cx_support", lambda url: ["--zendesk", "acme", "--token-env", "TK",
                                                               "--api-url", url, *NOW]),
    "hubspot-feedback": ("check_cx_nps", lambda url: ["--hubspot", "--token-env", "TK", "--api-url", url, *NOW]),
    "hubspot-tickets": ("check_cx_support", lambda url: ["--hubspot", "--token-env", "TK", "--api-url", url, *NOW]),
    "hubspot-deals": ("check_cx_churn", lambda url: ["--hubspot", "--token-env", "TK", "--api-url", url, *NOW]),
    "surveymonkey": ("check_cx_nps", lambda url: ["--surveymonkey", "S1", "--question-id", "Q1", "--token-env", "TK",
                                                  "--api-url", url, *NOW]),
    "delighted": ("check_cx_nps", lambda url: ["--delighted", "--token-env", "TK", "--api-url", url, *NOW]),
    "typeform": ("check_cx_nps", lambda url: ["--typeform", "F1", "--field-ref", "nps", "--token-env", "TK",
                                              "--api-url", url, *NOW]),
    "mixpanel": ("check_cx_conversion", lambda url: ["--mixpanel", "12345", "--funnel-id", "7509", "--service-account",
                                                     USER, "--token-env", "TK", "--api-url", url + "/api/query",
                                                     "--no-compare", *NOW]),
    "pipedrive": ("check_cx_churn", lambda url: ["--pipedrive", "acme", "--token-env", "TK", "--api-url", url + "/api",
                                                 *NOW]),
    "json-responses": ("check_cx_nps", lambda url: ["--json-url", url + "/nps", "--token-env", "TK", *NOW]),
    "json-funnel": ("check_cx_conversion", lambda url: ["--json-url", url + "/funnel", "--entered-path", "a",
                                                        "--converted-path", "b", "--token-env", "TK", "--no-compare"]),
    "json-counts": ("check_cx_transaction", lambda url: ["--json-url", url + "/counts", "--success-path", "a",
                                                         "--total-path", "b", "--bearer-env", "TK"]),
    "prometheus-transaction": ("check_cx_transaction", lambda url: ["--prometheus", url, "--ratio-query", "vector(1)",
                                                                    "--bearer-env", "TK"]),
    "prometheus-funnel": ("check_cx_conversion", lambda url: ["--prometheus", url, "--entered-query", "a[${window}]",
                                                              "--converted-query", "b[${window}]", "--token-env",
                                                              "TK", "--no-compare"]),
    "prometheus-histogram": ("check_cx_apdex", lambda url: ["--prometheus", url, "--histogram", "latency_seconds",
                                                            "-T", "0.5", "--bearer-env", "TK"]),
    "administrator-header": ("check_cx_nps", lambda url: ["--json-url", url + "/nps", "--header",
                                                          f"X-Api-Key: {SECRET}", *NOW]),
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_no_credential_follows_a_redirect_to_another_host(redirected, case):
    api, elsewhere = redirected
    plugin, args = SOURCES[case]
    result = run_plugin(plugin, *args(api.url), "-vvv", env={"TK": SECRET})
    assert api.requests, result.stdout
    assert elsewhere.requests, f"the redirect was not followed: {result.stdout}"
    for _, path, headers, body in elsewhere.requests:
        sent = json.dumps([path, headers]) + body.decode("latin-1")
        for form in FORMS:
            assert form not in sent, f"{case}: {form!r} reached the other host: {sent}"
    # What did reach the API's own host: the credential, as documented.
    first = api.requests[0][2]
    assert any(SECRET in value or b64(f"{SECRET}:") in value or b64(f"{USER}:{SECRET}") in value
               or b64(f"{EMAIL}/token:{SECRET}") in value for value in first.values()), first
    assert result.code == 3, result.stdout
    assert f"redirected to {elsewhere.url[7:]}, which answered HTTP 401" in result.text, result.text
    assert "only (point the check at the API's own host)" in result.text
    everything = result.stdout + result.stderr
    assert SECRET not in everything and COOKIE not in everything


@pytest.mark.parametrize("verbosity", VERBOSITY)
def test_mixpanel_error_quoting_the_secret_is_masked(site, verbosity):
    # Mixpanel's answer to a service account whose secret does not match quotes it.
    body = json.dumps({"error": f"Invalid secret {SECRET} for service account {USER}.", "status": "error"})
    api = site({"/api/query/funnels": (200, {"Content-Type": "application/json"}, body)})
    result = run_plugin("check_cx_conversion", "--mixpanel", "12345", "--funnel-id", "7509", "--service-account",
                        USER, "--token-env", "TK", "--api-url", api.url + "/api/query", "--no-compare", *NOW,
                        *verbosity, env={"TK": SECRET})
    assert result.code == 3, result.stdout
    assert result.text == f"CX CONVERSION UNKNOWN - Mixpanel answered an error: Invalid secret *** for service " \
                          f"account {USER}."
    for form in FORMS:
        assert form not in result.stdout + result.stderr


@pytest.mark.parametrize("verbosity", VERBOSITY)
def test_repr_of_a_secret_misread_as_latin1_in_a_bad_status_line(raw_server, verbosity):
    # The server's status line carries the password's UTF-8 bytes: http.client reads the line as
    # latin-1 and its BadStatusLine shows the repr(), where € becomes 'â\x82¬'.
    def answer(conn, stopping):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 " + UNICODE_SECRET.encode() + b"\r\n\r\n")
        conn.close()

    server = raw_server(answer)
    misread = UNICODE_SECRET.encode().decode("latin-1")
    assert "\\x82" in repr(misread)
    result = run_plugin("check_cx_login", "-u", server.url + "/", "--username", EMAIL, "--password-env", "PW",
                        *verbosity, env={"PW": UNICODE_SECRET})
    everything = result.stdout + result.stderr
    for form in (UNICODE_SECRET, repr(misread)[1:-1], ascii(misread)[1:-1], "Sëcret", "S\\xc3\\xabcret"):
        assert form not in everything, f"{form!r} shown: {everything}"
    assert "***" in result.text, result.text


@pytest.mark.parametrize("verbosity", VERBOSITY)
def test_secret_with_its_own_percent_sequences_in_a_location(site, verbosity):
    # A password holding "%41" (an encoded "A"): a careless server writes it raw in a Location,
    # requests unquotes the unreserved %41 to "A" and the -v trace shows the URL it followed.
    secret = "pass%41word-€-long"
    form = ('<html><form id="f" method="post" action="/login"><input type="email" name="user">'
            '<input type="password" name="pw"><button name="go" value="1">Go</button></form></html>')
    page = site({"/login": (200, {"Content-Type": "text/html"}, lambda handler, body: form if handler.command == "GET"
                            else (302, {"Location": "/welcome?r=" + secret.encode().decode("latin-1")}, "")),
                 "/welcome": (200, {"Content-Type": "text/html"}, "<p>Welcome</p>")})
    result = run_plugin("check_cx_login", "-u", page.url + "/login", "--username", EMAIL, "--password-env", "PW",
                        "--expect-url", "^never$", *verbosity, env={"PW": secret})
    assert result.code == 2, result.stdout
    assert f"ended at {page.url}/welcome?r=***," in result.text, result.text
    everything = result.stdout + result.stderr
    for shown in ("passAword", "pass%41word", "%E2%82%AC-long"):
        assert shown not in everything, f"{shown!r} shown: {everything}"
    if verbosity:
        assert f"GET {page.url}/welcome?r=*** 200" in result.stdout


def test_the_other_host_is_really_another_address():
    # The redirect tests rely on 127.0.0.2 being a separate address on the loopback interface.
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
