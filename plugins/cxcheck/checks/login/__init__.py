"""check_cx_login: can a customer log in, and how long does it take?

Without a scenario it does what a customer does: open the login page, find the login form (the
one with exactly one password field), type the username and password, click the button, follow
the redirects. The login failed when the final status is >= 400, when the login page comes back
(a password form is still there), or when an explicit expectation fails.
"""

from __future__ import annotations

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases import journey_checks
from cxcheck.runtime import ConfigError, MaybeContext, fmt_seconds, mask_identity, web_url

EXAMPLES = """
  # log into a shop's HTML login page, password from an environment variable
  check_cx_login -u https://shop.example.com/accounts/login/ --username shopper@example.com \\
      --password-env SHOP_PASSWORD -w 2 -c 5

  # the same, password from a file, then check a members-only page shows the account
  check_cx_login -u https://shop.example.com/accounts/login/ --username shopper@example.com \\
      --password-file /etc/cxcheck/shop.pw --then-url /accounts/ --then-text shopper@example.com

  # a login page whose form a script builds (a single-page app): log in with headless Chromium
  check_cx_login -u https://shop.example.com/spa/login/ --browser --username shopper@example.com \\
      --password-env SHOP_PASSWORD --expect-url '/accounts/$' -t 20 --screenshot-dir /var/tmp/cxcheck

  # a JSON API login (token) described in a scenario; ${username} and ${password} are set for it
  check_cx_login --scenario /etc/cxcheck/api-login.yaml --username api@example.com \\
      --password-env API_PASSWORD -t 15
"""


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_login", description=__doc__.strip().splitlines()[0],
                            examples=EXAMPLES, metric_help="the login time in seconds",
                            thresholds=runtime.CEILING)
    login = parser.add_argument_group("login")
    login.add_argument("-u", "--url", metavar="URL", help="the login page")
    login.add_argument("--scenario", metavar="FILE", help="a scenario for logins that are not one form")
    login.add_argument("--username", metavar="NAME", help="the account to log in as")
    parser.add_secret("password", "password", login)
    login.add_argument("--username-field", metavar="NAME", help="the form field for the username "
                       "(default: type=email, or a name containing user, email, login)")
    login.add_argument("--password-field", metavar="NAME", help="the form field for the password "
                       "(default: the form's one password input)")
    login.add_argument("--form", metavar="SELECTOR", help="the login form: #id, name or index "
                       "(default: the form with exactly one password field)")
    login.add_argument("--button", metavar="NAME", help="the submit button to click (default: the form's first)")
    login.add_argument("--browser", action="store_true",
                       help="log in with headless Chromium: for a login page whose form a script builds "
                            "(the fields found by their type and label, the submit button clicked)")
    journey_checks.add_variable_options(login)
    journey_checks.add_screenshot_options(login)
    expect = parser.add_argument_group("what counts as logged in")
    expect.add_argument("--expect-text", metavar="TEXT", action="append", default=[],
                        help="text the page after logging in shows, repeatable")
    expect.add_argument("--expect-url", metavar="REGEX", help="the URL the login ends at matches this")
    expect.add_argument("--expect-cookie", metavar="NAME", help="a cookie the login sets")
    expect.add_argument("--then-url", metavar="URL", help="after logging in, open this members-only page")
    expect.add_argument("--then-text", metavar="TEXT", action="append", default=[],
                        help="text --then-url must show (such as the account's e-mail), repeatable")
    parser.add_http_options()
    return parser


def _login_page_returned(response, cookies) -> list[str]:
    from cxcheck.journey.forms import parse_forms

    if "html" not in response.headers.get("content-type", "html") or "password" not in response.text.lower():
        return []           # no password field, so not the login page: no need to parse it
    for form in parse_forms(response.text):
        if len(form.inputs_of_type("password")) == 1:
            return ["the login page came back (wrong credentials?)"]
    return []


def _form_scenario(args, password: str):
    """The two steps of an HTML login: fetch the page, submit its login form."""
    from cxcheck.journey import forms
    from cxcheck.journey.scenario import Scenario, Step, SubmitForm

    def choose(page_forms):
        if args.form is not None:
            selector = int(args.form) if args.form.isdigit() else args.form
            return forms.select_form(page_forms, selector)
        try:
            return forms.login_form(page_forms)
        except forms.FormError:
            if any(len(f.inputs_of_type("password")) == 1 for f in page_forms):
                raise
            raise forms.FormError("there is no login form in the page's HTML (no form with exactly one password "
                                  "field); if a script builds it, log in with --browser") from None

    def fill(form):
        user = args.username_field or forms.username_field(form).name
        secret = args.password_field
        if secret is None:
            fields = form.inputs_of_type("password")
            if len(fields) != 1:
                raise forms.FormError(f"form {form.describe()} has {len(fields)} password fields; "
                                      "name one with --password-field")
            secret = fields[0].name
        # Variables, not values: a substituted secret never sits in a data structure we log.
        return {user: "${username}", secret: "${password}"}

    steps = [
        Step(name="login_page", method="GET", url=args.url),
        Step(name="login", submit_form=SubmitForm(form=choose, fields=fill, button=args.button)),
    ]
    return Scenario(name="login", steps=steps, source="check_cx_login")


def _expectations(step, args):
    """--expect-* on the step that completes the login."""
    step.expect = journey_checks.login_expect(step.expect, args, "contains")
    checks = [_login_page_returned]
    if args.expect_cookie:
        name = args.expect_cookie
        checks.append(lambda response, cookies: [] if name in cookies else [f"no cookie {name} was set"])
    step.verify = lambda response, cookies: [r for check in checks for r in check(response, cookies)]


def _then_step(args):
    from cxcheck.journey.scenario import Step

    return Step(name="then", method="GET", url=args.then_url,
                expect={"contains": list(args.then_text)} if args.then_text else {})


class Login(nagiosplugin.Resource):
    """Runs the login journey once; the login time excludes the --then-url check."""

    def __init__(self, run: runtime.Run, journey, then: bool):
        self.run = run
        self.journey = journey
        self.then = then
        self.result = None

    @property
    def name(self):
        return "CX LOGIN"

    def probe(self):
        from cxcheck.journey.results import trace_lines

        self.result = result = self.journey.run()
        self.run.trace(trace_lines(result))
        journey_checks.evidence_longoutput(self.run, result)
        login_steps = [s for s in result.steps if not (self.then and s.name == "then")]
        completed = all(s.ran and s.ok for s in login_steps)
        login_time = sum(s.elapsed for s in login_steps) if completed else None
        yield journey_checks.outcome_metric(journey_checks.Outcome.of(result))
        yield nagiosplugin.Metric(journey_checks.TIME, journey_checks.seconds(login_time), "s", min=0,
                                  context=journey_checks.TIME)
        yield from journey_checks.step_metrics({s.name: s.elapsed for s in result.steps})


class LoginSummary(nagiosplugin.Summary):
    def __init__(self, account: str):
        self.account = account

    def _who(self):
        return f" as {self.account}" if self.account else ""

    def ok(self, results):
        return f"logged in{self._who()} in {fmt_seconds(results[journey_checks.TIME].metric.value)}"

    def problem(self, results):
        outcome = results[journey_checks.OUTCOME]
        if outcome.state != nagiosplugin.Ok:
            return f"login{self._who()} failed at {outcome.hint}"
        return f"logged in{self._who()} in {journey_checks.timed(results)}{journey_checks.slowest(results)}"

    def verbose(self, results):
        return []


@runtime.plugin("CX LOGIN", build_parser)
def main(run: runtime.Run):
    args = run.args
    if bool(args.url) == bool(args.scenario):
        raise ConfigError("give the login page with -u URL, or a --scenario FILE (one of them)")
    if args.url:
        web_url("-u", args.url)     # before anything else: a wrong URL is the first thing to fix
    if args.then_url:
        web_url("--then-url", args.then_url, relative=True)
    password = runtime.read_secret(env=args.password_env, path=args.password_file, what="password")
    plain, secret = journey_checks.variables_from_args(args)
    if args.url:
        if not args.username:
            raise ConfigError("--username is required with -u")
        if password is None:
            raise ConfigError("give the password with --password-env VAR or --password-file PATH")
        if args.browser:
            from cxcheck.checks.login.browser import login_scenario

            scenario = login_scenario(args)
        else:
            scenario = _form_scenario(args, password)
    else:
        if args.browser:
            raise ConfigError("--browser goes with -u: a scenario runs in a browser when it says 'browser: true'")
        from cxcheck.journey.scenario import load

        scenario = load(args.scenario)
    if args.username:
        plain.setdefault("username", args.username)
    if password is not None:
        secret.setdefault("password", password)
    if args.then_text and not args.then_url:
        raise ConfigError("--then-text needs --then-url")
    if scenario.browser:
        from cxcheck.checks.login.browser import expectations, then_step
    else:
        expectations, then_step = _expectations, _then_step
    expectations(scenario.steps[-1], args)
    if args.then_url:
        if any(s.name == "then" for s in scenario.steps):
            raise ConfigError(f"{scenario.source}: a step named 'then' clashes with --then-url")
        scenario.steps.append(then_step(args))
    journey = journey_checks.make_journey(run, scenario, plain, secret,
                                    on_step=lambda name: setattr(run, "activity", f"step {name}"))
    ranges = {s.name: (s.warning, s.critical) for s in scenario.steps}
    return nagiosplugin.Check(
        Login(run, journey, then=bool(args.then_url)),
        journey_checks.OutcomeContext(run.timeout_state),
        MaybeContext(journey_checks.TIME, args.warning, args.critical, fmt_metric="login took {valueunit}"),
        *journey_checks.step_contexts(ranges),
        LoginSummary(mask_identity(args.username) if args.username else ""),
    )

