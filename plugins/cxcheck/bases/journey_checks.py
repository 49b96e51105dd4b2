"""What the journey checks (login, checkout, transaction) share: the scenario and variable
options, the outcome of a journey as a nagiosplugin context, and per-step perfdata."""

from __future__ import annotations

import argparse

import nagiosplugin

from cxcheck import __version__, runtime
from cxcheck.runtime import ConfigError, MaybeContext, fmt_seconds, name_value, perf_label

OUTCOME = "outcome"
TIME = "time"


def add_variable_options(group):
    group.add_argument("--var", type=name_value, action="append", default=[], metavar="NAME=VALUE",
                       help="set a scenario variable, repeatable")
    group.add_argument("--var-env", type=name_value, action="append", default=[], metavar="NAME=ENVVAR",
                       help="set a scenario variable from an environment variable (secret), repeatable")
    group.add_argument("--var-file", type=name_value, action="append", default=[], metavar="NAME=PATH",
                       help="set a scenario variable from a file's content (secret), repeatable")
    try:
        runtime.refuse_on_argv(group, "--password", "give it to the scenario with --var-env password=ENVVAR "
                                                    "or --var-file password=PATH")
    except argparse.ArgumentError:
        pass                # the plugin takes --password-env/--password-file itself and refuses --password already


def variables_from_args(args) -> tuple[dict, dict]:
    """(plain, secret) variables from --var, --var-env and --var-file."""
    plain = dict(args.var)
    secret = {}
    for name, env in args.var_env:
        secret[name] = runtime.read_secret(env=env, what=f"variable {name}")
    for name, path in args.var_file:
        secret[name] = runtime.read_secret(path=path, what=f"variable {name}")
    return plain, secret


def step_ranges(args, steps) -> dict[str, tuple[str | None, str | None]]:
    """Per-step (warning, critical): the scenario's, overridden by --step-warning/--step-critical."""
    names = [s.name for s in steps]
    ranges = {s.name: (s.warning, s.critical) for s in steps}
    for option, index in (("step_warning", 0), ("step_critical", 1)):
        for name, text in getattr(args, option, None) or []:
            if name not in ranges:
                raise ConfigError(f"--{option.replace('_', '-')} {name}: no such step (steps: {', '.join(names)})")
            try:
                runtime.nagios_range(text)
            except Exception:
                raise ConfigError(f"--{option.replace('_', '-')} {name}={text}: not a Nagios range") from None
            pair = list(ranges[name])
            pair[index] = text
            ranges[name] = tuple(pair)
    return ranges


def step_label(name: str) -> str:
    return "step_" + perf_label(name)


def step_contexts(ranges: dict) -> list:
    return [MaybeContext(step_label(name), warning, critical, fmt_metric=f"step {name} took {{valueunit}}")
            for name, (warning, critical) in ranges.items()]


def step_metrics(durations: dict) -> list:
    """One metric per step, None (perfdata U) for a step that did not run."""
    return [nagiosplugin.Metric(step_label(name), seconds(value), "s", min=0, context=step_label(name))
            for name, value in durations.items()]


def seconds(value: float | None) -> float | None:
    """Perfdata precision: microseconds, not the float's 16 digits."""
    return None if value is None else round(value, 6)       # 0.5 stays 0.5 s, never a count


class Outcome:
    """Whether the journey completed; the value of the outcome metric."""

    def __init__(self, failed_step=None, reason=None, timed_out=False):
        self.failed_step = failed_step
        self.reason = reason
        self.timed_out = timed_out

    @classmethod
    def of(cls, result) -> Outcome:
        failed = result.failed
        if failed is None:
            return cls()
        return cls(failed.name, failed.reason, failed.timed_out)

    @property
    def ok(self) -> bool:
        return self.failed_step is None

    def __str__(self):
        return "completed" if self.ok else f"step {self.failed_step}: {self.reason}"


class OutcomeContext(nagiosplugin.Context):
    """A failed step is CRITICAL (the customer cannot do it); a deadline passed is --timeout-state."""

    def __init__(self, timeout_state):
        super().__init__(OUTCOME)
        self.timeout_state = timeout_state

    def evaluate(self, metric, resource):
        outcome = metric.value
        if outcome.ok:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        state = self.timeout_state if outcome.timed_out else nagiosplugin.Critical
        return self.result_cls(state, str(outcome), metric)

    def performance(self, metric, resource):
        return None


def outcome_metric(outcome: Outcome) -> nagiosplugin.Metric:
    return nagiosplugin.Metric(OUTCOME, outcome, context=OUTCOME)


def timed(results) -> str:
    """The journey's time, with its range's hint when out of it: '6.100 s (> 5)'."""
    time = results[TIME]
    text = fmt_seconds(time.metric.value)
    return f"{text} ({time.hint})" if time.state != nagiosplugin.Ok else text


def slowest(results, others: bool = False) -> str:
    """', slowest step payment 2.300 s (> 2)': the worst step over its range as its context judged
    it (with `others`, '; also over range: ...' the rest); '' when none is."""
    slow = sorted((r for r in results if r.metric.name.startswith("step_") and r.state != nagiosplugin.Ok),
                  key=lambda r: (-int(r.state), -(r.metric.value or 0)))
    if not slow:
        return ""
    worst = slow[0]
    text = f", slowest step {worst.metric.name[len('step_'):]} {fmt_seconds(worst.metric.value)} ({worst.hint})"
    if others and len(slow) > 1:
        text += "; also over range: " + ", ".join(r.metric.name[len("step_"):] for r in slow[1:])
    return text


def add_screenshot_options(group):
    group.add_argument("--screenshot-dir", metavar="DIR",
                       help="browser journeys: save a PNG of the page where a step failed in DIR (the file "
                            "is named in the long output)")
    group.add_argument("--screenshot-keep", type=runtime.positive_int, default=20, metavar="N",
                       help="keep the newest N screenshots of this journey in --screenshot-dir (default 20)")


# HTTP options a browser cannot take as they are: refused, not silently ignored.
BROWSERLESS = (("ca_file", "--ca-file"), ("client_cert", "--client-cert"), ("proxy", "--proxy"),
               ("header", "--header"))


def make_journey(run: runtime.Run, scenario, plain: dict, secret: dict, on_step=None):
    """The runner the scenario needs: Chromium for `browser: true` (the browser layer imported
    only then), else the HTTP engine. Options that only one of them takes are refused for the other."""
    args = run.args
    if not scenario.browser:
        if getattr(args, "screenshot_dir", None):
            raise ConfigError("--screenshot-dir: screenshots come from a browser; this journey runs over "
                              "HTTP (a scenario with 'browser: true', or check_cx_login --browser)")
        from cxcheck.journey.runner import Journey  # the HTTP stack: only once the scenario and options are good

        return Journey(scenario, run.http_options(), run.deadline, overrides=plain, secret_overrides=secret,
                       on_step=on_step)
    for name, option in BROWSERLESS:
        if getattr(args, name, None):
            raise ConfigError(f"{option}: not available with a browser (scenario {scenario.source} runs in "
                              "Chromium)")
    from cxcheck.journey.browser_runner import BrowserJourney, Evidence

    evidence = Evidence(args.screenshot_dir, args.screenshot_keep) if getattr(args, "screenshot_dir", None) else None
    default_agent = f"cxcheck/{__version__}"
    options = {"insecure": bool(args.insecure),
               "user_agent": args.user_agent if args.user_agent != default_agent else None}
    return BrowserJourney(scenario, run.deadline, overrides=plain, secret_overrides=secret, on_step=on_step,
                          evidence=evidence, browser_options=options)


def evidence_longoutput(run: runtime.Run, result, prefix: str = ""):
    """The screenshot of a failed browser step and the dialogs pages opened (dismissed), at
    every verbosity: what the customer saw."""
    for step in result.steps:
        run.longoutput.extend(f"{prefix}dialog dismissed at step {step.name}: {dialog}" for dialog in step.dialogs)
        if step.dialog_count > len(step.dialogs):
            run.longoutput.append(f"{prefix}dialogs dismissed at step {step.name}: "
                                  f"{step.dialog_count - len(step.dialogs)} more")
    failed = result.failed
    if failed is not None and failed.screenshot:
        run.longoutput.append(f"{prefix}screenshot of step {failed.name}: {failed.screenshot}")


def login_expect(expect: dict, args, text_key: str) -> dict:
    """A login's last step's expectations with --expect-text (under the runner's key for page
    text) and --expect-url added."""
    expect = dict(expect)
    if args.expect_text:
        expect[text_key] = list(expect.get(text_key, [])) + args.expect_text
    if args.expect_url:
        expect["url_matches"] = args.expect_url
    return expect
