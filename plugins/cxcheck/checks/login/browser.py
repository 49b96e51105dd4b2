"""check_cx_login --browser: the login as a browser journey, for pages whose form a script builds.

The steps: open the page and wait for its login form (a visible password input, the only one of
its form); type the username into the text or e-mail input before it and the password into it;
click the form's submit button. Logged in means, as over HTTP: no login form on the page the
click led to, and what --expect-url, --expect-text and --expect-cookie ask for.
"""

from __future__ import annotations

from cxcheck.bases import journey_checks
from cxcheck.journey.browser_steps import BrowserStep, Target
from cxcheck.journey.scenario import Scenario
from cxcheck.runtime import ConfigError

CAME_BACK = "the login page came back (wrong credentials?)"


def _field(name: str | None, part: str) -> Target:
    """--username-field/--password-field/--button name a form field; else the login form's part."""
    if name is None:
        return Target("login", part)
    return Target("css", '[name="{}"]'.format(name.replace("\\", "\\\\").replace('"', '\\"')))


def login_scenario(args) -> Scenario:
    if args.form is not None:
        raise ConfigError("--form does not go with --browser: the login form is the one with the password "
                          "field (name the fields with --username-field/--password-field)")
    password = _field(args.password_field, "password")
    steps = [
        BrowserStep(name="login_page", action="goto", argument=args.url, wait_for=password),
        BrowserStep(name="credentials", action="fill",
                    argument=[[_field(args.username_field, "username"), "${username}"], [password, "${password}"]]),
        BrowserStep(name="login", action="click", argument=_field(args.button, "submit")),
    ]
    return Scenario(name="login", steps=steps, source="check_cx_login", browser=True)


def expectations(step: BrowserStep, args):
    """--expect-* (and the form gone) on the step that completes the login."""
    step.expect = journey_checks.login_expect(step.expect, args, "text")
    step.checks = list(step.checks) + [("absent", Target("login", "password"), CAME_BACK)]
    if args.expect_cookie:
        step.checks.append(("cookie", args.expect_cookie, f"no cookie {args.expect_cookie} was set"))


def then_step(args) -> BrowserStep:
    return BrowserStep(name="then", action="goto", argument=args.then_url,
                       expect={"text": list(args.then_text)} if args.then_text else {})
