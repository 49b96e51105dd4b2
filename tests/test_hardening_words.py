"""Class 2 of issue 9: masking never mangles the plugin's own words.

A short or common password (`s`, `O`, `time`, `login`, `LOGIN`, `step`, `password`) must leave
the status prefix, the plugin's fixed text, perfdata labels and units exactly as a long random
password leaves them. Outside text that holds a password shorter than MASKABLE characters is
withheld whole (***), so neither the password's position nor its length shows.
"""

from __future__ import annotations

import re

import pytest
from conftest import run_plugin

USER = "ann@example.com"
REFERENCE = "k9-Zx7-qW2-vL4-long"
WEAK = ["s", "O", "time", "login", "LOGIN", "step", "password"]
FORM = ('<html><form id="f" method="post" action="/accounts/login/"><input type="email" name="user">'
        '<input type="password" name="pw"><button name="go" value="1">Go</button></form></html>')
HTML = {"Content-Type": "text/html"}
URL = re.compile(r"http://[^\s,]+")


def normal(text: str) -> str:
    """Timings vary from run to run: the rest must not."""
    return re.sub(r"\d+\.\d+", "N", text)


def login(url: str, password: str, *args: str):
    return run_plugin("check_cx_login", "-u", url, "--username", USER, "--password-env", "CX_PW", *args,
                      env={"CX_PW": password})


def assert_same_words(weak, reference, password):
    """The weak password's output is the reference's, except outside text withheld whole."""
    assert weak.code == reference.code
    assert weak.stderr == reference.stderr == ""
    ours, theirs = normal(weak.stdout).splitlines(), normal(reference.stdout).splitlines()
    assert len(ours) == len(theirs), weak.stdout
    for mine, expected in zip(ours, theirs):
        # Each URL (outside text) is shown as the reference shows it, or withheld whole.
        pattern = "".join(f"(?:{re.escape(part)}|\\*\\*\\*)" if URL.fullmatch(part) else re.escape(part)
                          for part in re.split(f"({URL.pattern})", expected))
        assert re.fullmatch(pattern, mine), f"{password!r} changed\n{expected}\ninto\n{mine}"


@pytest.fixture
def shop(site):
    def answer(handler, body):
        if handler.command == "GET":
            return FORM
        return (302, {"Location": "/accounts/?from=login&at=time"}, "") if b"pw=" in body and b"go=1" in body else FORM
    return site({"/accounts/login/": (200, HTML, answer), "/accounts/": (200, HTML, "<p>Welcome</p>")})


@pytest.mark.parametrize("password", WEAK)
@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"]])
def test_weak_password_leaves_a_successful_login_untouched(shop, password, verbosity):
    url = shop.url + "/accounts/login/"
    reference = login(url, REFERENCE, *verbosity)
    assert reference.code == 0, reference.stdout
    assert re.fullmatch(r"CX LOGIN OK - logged in as a\*\*\*@example\.com in \d\.\d{3} s \| "
                        r"step_login=[\d.]+s;;;0 step_login_page=[\d.]+s;;;0 time=[\d.]+s;;;0", reference.status)
    assert_same_words(login(url, password, *verbosity), reference, password)


@pytest.mark.parametrize("password", WEAK)
def test_weak_password_leaves_a_failure_untouched(site, password):
    page = site({"/accounts/login/": (200, HTML, FORM)})          # the login page comes back
    url = page.url + "/accounts/login/"
    reference = login(url, REFERENCE, "-v")
    assert reference.status.startswith("CX LOGIN CRITICAL - login as a***@example.com failed at step login: "
                                       "the login page came back (wrong credentials?) | "), reference.stdout
    assert_same_words(login(url, password, "-v"), reference, password)


@pytest.mark.parametrize("password", ["s", "time", "login"])
def test_outside_text_holding_a_short_password_is_withheld_whole(shop, password):
    result = login(shop.url + "/accounts/login/", password, "--expect-url", "^never$", "-v")
    assert result.code == 2
    # The URL holds the password: it is withheld, not cut up around it.
    assert result.text == ("CX LOGIN CRITICAL - login as a***@example.com failed at step login: "
                           "ended at ***, expected a URL matching /^never$/")
    assert " -> GET *** 200, " in result.long_output[1]
    for line in result.long_output:       # *** stands alone: nothing shows where the password was
        assert not re.search(r"\S\*\*\*|\*\*\*[^\s,]", line), line
    assert result.stderr == ""


def test_a_long_password_is_cut_out_of_the_text_around_it(shop):
    result = login(shop.url + "/accounts/login/", "accounts", "--expect-url", "^never$")     # 8: MASKABLE
    assert result.text == ("CX LOGIN CRITICAL - login as a***@example.com failed at step login: "
                           f"ended at {shop.url}/***/?from=login&at=time, expected a URL matching /^never$/")
