"""`cxcheck demo`: the demo shop on a free loopback port and every plugin run against it, each
printed as the command line an administrator would configure and the output Nagios would show.

Nothing to configure: the demo account's password goes to the plugins through an environment
variable, as it would on a poller.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from cxcheck.demo import business
from cxcheck.runtime import STATE_NAMES

PASSWORD_ENV = "CXCHECK_DEMO_PASSWORD"
WRONG_ENV, WRONG_PASSWORD = "CXCHECK_DEMO_WRONG", "not-the-password"
NPS_NOW = "2026-11-01T00:00:00Z"


@dataclass
class DemoRun:
    title: str
    script: str           # console script name, shown
    module: str           # what actually runs, so the demo works from a checkout too
    args: list
    expected: int         # the exit code this run should give
    why: str = ""
    prepare: object = None  # called first: the final args, or a string saying why the run is skipped
    skipped: bool = False
    env: dict = field(default_factory=dict)     # set for this run, and shown before the command
    shows: str = ""         # what the output must say, too, for the state to be the expected one

    @property
    def command(self) -> str:
        """The command line as an administrator would type it, its variables in front."""
        variables = [f"{name}={shlex.quote(value)}" for name, value in self.env.items()]
        return " ".join([*variables, self.script, *map(shlex.quote, self.args)])

    def as_expected(self, code: int, output: str) -> bool:
        return code == self.expected and self.shows in output


def scenarios_dir() -> Path:
    """Example scenarios: a checkout's templates/, a pip install's share/, or the .deb's."""
    here = Path(__file__).resolve()
    candidates = [here.parents[3] / "templates" / "scenarios",
                  Path(sysconfig.get_path("data")) / "share" / "cxcheck" / "scenarios",
                  Path(sys.prefix) / "share" / "cxcheck" / "scenarios",
                  Path("/usr/share/cxcheck/scenarios")]
    for candidate in candidates:
        if (candidate / "shop-checkout-html.yaml").exists():
            return candidate
    raise FileNotFoundError("example scenarios not found (looked in " + ", ".join(map(str, candidates)) + ")")


def sample_export(name: str = "nps_sample.csv") -> Path:
    return Path(__file__).resolve().parent / "data" / name


def demo_runs(url: str, access_log: str | None = None, state_file: str | None = None) -> list[DemoRun]:
    """Every plugin against the shop; with the shop's access log, check_cx_apdex on it last, once
    the other runs have been its customers."""
    from cxcheck.demo.shop import DEMO_ACCOUNTS
    from cxcheck.demo.shop.browser import MISSING_IMAGE

    account = next(iter(DEMO_ACCOUNTS))
    scenarios = scenarios_dir()
    shop_vars = ["--var", f"base_url={url}", "--var", f"email={account}", "--var-env", f"password={PASSWORD_ENV}"]
    # What only a browser sees; skipped, saying what to install, where Chromium or Selenium is missing.
    page = ["-u", f"{url}/catalogue/slow-widget/?ms=300", "--fail-on-resource-errors", "-w", "3", "-c", "6"]
    # A browser's step on a busy machine may pass the scenario's 2 s: the demo's are looser.
    browser_login = ["--scenario", str(scenarios / "shop-login-browser.yaml"), *shop_vars, "-w", "10", "-c", "20",
                     *[arg for step in ("login_page", "submit") for level, limit in (("warning", 5), ("critical", 10))
                       for arg in (f"--step-{level}", f"{step}={limit}")]]
    apdex = []
    if access_log:
        state = ["--state-file", state_file] if state_file else []
        apdex.append(DemoRun("What did the shop's customers wait for? (its own access log)", "check_cx_apdex",
                             "cxcheck.checks.apdex",
                             ["--log", access_log, "-T", "0.5", *state, "-w", "0.85:", "-c", "0.7:"], 0))
    return [
        DemoRun("Can a customer log in?", "check_cx_login", "cxcheck.checks.login",
                ["-u", f"{url}/accounts/login/", "--username", account, "--password-env", PASSWORD_ENV,
                 "--then-url", f"{url}/accounts/", "--then-text", account, "-w", "2", "-c", "5"], 0),
        DemoRun("The same login with a wrong password", "check_cx_login", "cxcheck.checks.login",
                ["-u", f"{url}/accounts/login/", "--username", account, "--password-env", WRONG_ENV],
                2, "the shop rejects the password: CRITICAL, as it should", env={WRONG_ENV: WRONG_PASSWORD},
                shows="the login page came back"),
        DemoRun("How long does the checkout take, step by step?", "check_cx_checkout", "cxcheck.checks.checkout",
                ["--scenario", str(scenarios / "shop-checkout-html.yaml"), *shop_vars, "-w", "5", "-c", "10"], 0),
        DemoRun("Do orders succeed? (synthetic, through the JSON API)", "check_cx_transaction",
                "cxcheck.checks.transaction",
                ["--scenario", str(scenarios / "shop-checkout-api.yaml"), *shop_vars, "--attempts", "3"], 0),
        DemoRun("What does a customer's browser see? (a slow third-party widget, a missing photo)", "check_cx_page",
                "cxcheck.checks.page", page, 2, "the widget's photo is gone (404): only a browser sees it",
                prepare=lambda: browser_missing() or page, shows=MISSING_IMAGE),
        DemoRun("Can a customer log in where only JavaScript builds the form? (a journey in the browser)",
                "check_cx_checkout", "cxcheck.checks.checkout", browser_login, 0,
                prepare=lambda: browser_missing() or browser_login),
        DemoRun("Is the Net Promoter Score above its floor?", "check_cx_nps", "cxcheck.checks.nps",
                ["--csv", str(sample_export()), "--now", NPS_NOW, "--window", "30d", "-w", "30:", "-c", "10:"], 0),
        DemoRun("Are customers satisfied with the help they got (CSAT)?", "check_cx_csat", "cxcheck.checks.csat",
                ["--csv", str(sample_export("csat_sample.csv")), "--now", NPS_NOW, "-w", "80:", "-c", "70:"], 0),
        DemoRun("How long do customers wait for a first reply?", "check_cx_support", "cxcheck.checks.support",
                ["--csv", str(sample_export("tickets_sample.csv")), "--now", NPS_NOW, "-w", "4h", "-c", "8h"], 0),
        DemoRun("How many tickets have waited over a day unsolved?", "check_cx_support", "cxcheck.checks.support",
                ["--csv", str(sample_export("tickets_sample.csv")), "--now", NPS_NOW, "--metric", "backlog",
                 "--older-than", "24h", "-w", "20", "-c", "40"], 0),
        DemoRun("Do customers who start the checkout finish it? (the shop's /metrics through Prometheus)",
                "check_cx_conversion", "cxcheck.checks.conversion", business.conversion_args("PROMETHEUS_URL"), 0,
                "13 baskets (12 demo customers, the checkout run), 7 orders: above the floor; no week-old data",
                prepare=lambda: funnel_through_prometheus(url)),
        DemoRun("Are we losing subscribers? (a sample export of subscription events)", "check_cx_churn",
                "cxcheck.checks.churn", business.churn_args(), 1,
                "October's cancellations doubled, significantly: WARNING; the ceiling is breached only by the "
                "point estimate"),
        DemoRun("Do customers' card payments go through? (a sample of Stripe's payments export)",
                "check_cx_payments", "cxcheck.checks.payments", business.payments_args(), 1,
                "a bank's outage: declines rose from 2.5% a week before to 6.43%, significantly: WARNING"),
        DemoRun("Is recurring revenue holding up? (a sample of Stripe's subscriptions export)", "check_cx_revenue",
                "cxcheck.checks.revenue", business.revenue_args(), 0),
        *apdex,
    ]


def browser_missing() -> str | None:
    """Why the browser runs are skipped here (the browser layer's own words: what to install), or
    None when Chromium, its driver and Selenium are all here."""
    import importlib.util

    from cxcheck.browser import launch
    from cxcheck.browser.session import NEED_SELENIUM
    from cxcheck.runtime import ConfigError

    if importlib.util.find_spec("selenium") is None:
        return f"skipped: {NEED_SELENIUM}"
    try:
        launch.find(launch.CHROMIUM, "CXCHECK_CHROMIUM", "Chromium")
        launch.find(launch.CHROMEDRIVER, "CXCHECK_CHROMEDRIVER", "chromedriver")
    except ConfigError as error:
        return f"skipped: {error}"
    return None


_prometheus = []


def funnel_through_prometheus(url: str):
    """Customers walk the funnel while a private Prometheus scrapes the shop: the conversion run's
    args, or why it cannot run here."""
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    prometheus = business.DemoPrometheus(url)
    if prometheus.binary is None:
        return "skipped: Prometheus is not installed (Debian package prometheus)"
    try:
        _prometheus.append(prometheus.start())
        account, password = next(iter(DEMO_ACCOUNTS.items()))
        before = prometheus.value(business.SEEN) or 0
        ordered = business.walk_the_funnel(url, scenarios_dir() / "shop-checkout-html.yaml", account, password)
        prometheus.wait(lambda: (prometheus.value(business.SEEN) or 0) >= before + ordered, 30,
                        "the orders in Prometheus")
    except RuntimeError as error:
        return f"skipped: the demo's Prometheus did not get the funnel: {str(error).splitlines()[0]}"
    return business.conversion_args(prometheus.url)


def stop_prometheus():
    while _prometheus:
        _prometheus.pop().stop()


def run_all(runs: list[DemoRun], out=sys.stdout) -> int:
    env = dict(os.environ)
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    env[PASSWORD_ENV] = next(iter(DEMO_ACCOUNTS.values()))
    plugins_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [plugins_root, env.get("PYTHONPATH")]))
    surprises = 0
    for run in runs:
        if not prepare(run, out):
            continue
        print(f"\n# {run.title}", file=out)
        print(f"$ {run.command}", file=out)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", run.module, *run.args], env={**env, **run.env},
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        took = time.monotonic() - started
        print(proc.stdout.rstrip("\n"), file=out)
        state = STATE_NAMES.get(proc.returncode, f"exit {proc.returncode}")
        expected = run.as_expected(proc.returncode, proc.stdout)
        verdict = "as expected" if expected else f"UNEXPECTED, wanted {STATE_NAMES.get(run.expected)}" + (
            f" saying {run.shows!r}" if run.shows else "")
        note = f"; {run.why}" if run.why and expected else ""
        print(f"[exit {proc.returncode} {state}, {took:.2f} s, {verdict}{note}]", file=out)
        if proc.stderr.strip():
            print(proc.stderr.rstrip("\n"), file=out)
        surprises += not expected
    return surprises


def prepare(run: DemoRun, out) -> bool:
    """Whether the run can happen here; a skipped one is said where it would have run."""
    if run.prepare is None:
        return True
    prepared = run.prepare()
    if isinstance(prepared, str):
        run.skipped = True
        print(f"\n# {run.title}\n[{prepared}]", file=out)
        return False
    run.args = prepared
    return True


def summary(runs: list[DemoRun], surprises: int) -> str:
    """The last line: how many runs gave what was expected, and how many did not run at all."""
    ran = [run for run in runs if not run.skipped]
    line = f"{len(ran) - surprises} of {len(ran)} plugin runs gave the expected state"
    skipped = len(runs) - len(ran)
    if skipped:
        line += f"; {skipped} of the {len(runs)} did not run here (skipped, said above)"
    return line + "; the shop is stopped."


def demo(serve: bool = False, port: int = 0, access_log: str | None = None) -> int:
    import tempfile

    from cxcheck.demo.shop import DemoShop, StartError

    with tempfile.TemporaryDirectory(prefix="cxcheck-demo-") as scratch:
        # Without --access-log the shop still logs, to a scratch file: check_cx_apdex reads it.
        log = access_log or (None if serve else os.path.join(scratch, "access.log"))
        try:
            shop = DemoShop(port=port, access_log=log).start()
        except StartError as error:
            print(f"cxcheck demo: {error}", file=sys.stderr)
            return 2
        try:
            print(f"demo shop on {shop.url}" + (f", access log {access_log}" if access_log else ""), flush=True)
            if serve:
                return _serve(shop, access_log)
            runs = demo_runs(shop.url, log, os.path.join(scratch, "apdex-state.json"))
            surprises = run_all(runs)
        finally:
            stop_prometheus()
            shop.stop()
    print("\n" + summary(runs, surprises))
    return 1 if surprises else 0


def _serve(shop, access_log: str | None) -> int:
    import signal


    def stop(signum, frame):
        raise KeyboardInterrupt         # the same way out as Ctrl-C: the demo's Prometheus stopped too

    signal.signal(signal.SIGTERM, stop)
    try:
        return _serving(shop, access_log)
    except KeyboardInterrupt:           # also while the funnel's Prometheus is still being prepared
        return 0


def _serving(shop, access_log: str | None) -> int:
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    account, password = next(iter(DEMO_ACCOUNTS.items()))
    print(f"account {account}, password in ${PASSWORD_ENV} for the commands below\n")
    print(f"export {PASSWORD_ENV}={shlex.quote(password)}")
    # What each run needs is made here too (the funnel's Prometheus, kept up with the shop), or the
    # command is left out with the reason: nothing printed needs what the demo does not give.
    for run in demo_runs(shop.url, access_log):
        if prepare(run, sys.stdout):
            print(f"# {run.title}\n{run.command}\n")
    if not access_log:
        print("# the shop's customers' Apdex: start with --access-log PATH, then check_cx_apdex --log PATH -T 0.5\n")
    slow = '{"latency": {"/checkout/payment/": 3}}'
    print(f"slow a step down:  curl -X POST -d '{slow}' {shop.url}/admin/faults")
    print(f"fail half the orders:  curl -X POST -d '{{\"failure_rate\": 0.5}}' {shop.url}/admin/faults")
    print(f"only a browser sees:  {shop.url}/spa/login/  {shop.url}/catalogue/slow-widget/  {shop.url}/js-error/")
    print("Ctrl-C stops the shop.", flush=True)
    while True:
        time.sleep(3600)
