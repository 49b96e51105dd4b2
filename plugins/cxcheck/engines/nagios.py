"""Nagios 4 (and Naemon, Centreon Engine object files): a `define service` using the cx-* service
templates and the commands of templates/nagios/. Settings go in the custom variables the
commands read (_CX_URL, _CX_SCENARIO, ...), options no variable takes in _CX_OPTIONS; a password
file is a name under $USER3$, an environment variable is named by $USER4$ (resource.cfg)."""

from __future__ import annotations

import os
import shlex

from cxcheck.engines import common, shipped

ENGINE = "nagios"
TEMPLATES = {"login": "cx-login-service", "prometheus": "cx-transaction-prometheus-service", "csv": "cx-nps-service",
             "check_cx_checkout": "cx-checkout-service", "check_cx_transaction": "cx-transaction-service"}
SECRET_DIRECTORY = "/etc/cxcheck/secrets"          # $USER3$ in resource.cfg.example


def _value(name: str, value: str) -> str:
    """A custom variable's value as the commands insert it: in single quotes (but _CX_OPTIONS, which
    is shell words), one line."""
    value = str(value)
    if "\n" in value or "'" in value and name != "_CX_OPTIONS":
        common.refuse(f"{name} {value!r}: the commands insert it in single quotes, so it cannot hold a quote or a "
                      "line break", ENGINE)
    return value.replace(";", "\\;")               # `;` starts a comment in object files


def _secret(variables: list, comments: list, secret, command: str) -> str:
    """The secret's directive (or command for the environment style); returns the check_command."""
    if secret.kind == "file":
        directory, name = os.path.split(os.path.abspath(secret.where))
        variables.append(("_CX_SECRET", name))
        comments += [f"The {secret.what}: the file $USER3$/{name}; resource.cfg needs $USER3$={directory}",
                     "(one file per secret, readable by the nagios user only)."]
        return ""
    comments += [f"The {secret.what}: the environment variable {secret.where} of the Nagios daemon; resource.cfg "
                 f"needs $USER4$={secret.where},",
                 "and the daemon its value: systemctl edit nagios4, [Service] EnvironmentFile=/etc/cxcheck/"
                 f"nagios.env (mode 0600, {secret.where}=...)."]
    return f"{command}_env"


def _login(given, variables, comments) -> str:
    url = given.take("url")
    if url:
        variables.append(("_CX_URL", url))
    username = given.take("username")
    if username:
        variables.append(("_CX_USERNAME", username))
    secret = common.password(given)
    if secret is None:
        common.refuse("give the password with --password-env VAR or --password-file PATH, as the check takes it",
                      ENGINE)
    return _secret(variables, comments, secret, "check_cx_login")


def _journey(given, variables, comments) -> str:
    base_url, email, notes = common.journey_account(given)
    variables.append(("_CX_SCENARIO", given.take("scenario")))
    if given.plugin == "check_cx_transaction" and given.options.get("attempts"):
        variables.append(("_CX_ATTEMPTS", given.take("attempts")))
    # The command always passes --var base_url=, --var email= and the password: an empty one would
    # override the scenario's own default, so the defaults are written out here.
    for name, value, option in (("_CX_URL", base_url, "--var base_url=URL"), ("_CX_USERNAME", email,
                                                                               "--var email=ADDRESS")):
        if value is None:
            common.refuse(f"the {given.plugin} command passes {option.split('=')[0]}; give {option} (or set it under "
                          "variables in a scenario that can be read here)", ENGINE)
        variables.append((name, value))
    secret = common.password(given)
    if secret is None:
        common.refuse(f"the {given.plugin} command passes the scenario's password: give --var-file password=PATH or "
                      "--var-env password=VAR", ENGINE)
    comments += [note[0].upper() + note[1:] + "." for note in notes]
    return _secret(variables, comments, secret, given.plugin)


def _prometheus(given, variables, comments) -> str:
    if given.options.get("ratio_query") or not given.options.get("success_query"):
        common.refuse("the check_cx_transaction_prometheus command takes --success-query and --total-query", ENGINE)
    for name, dest in (("_CX_PROMETHEUS", "prometheus"), ("_CX_SUCCESS_QUERY", "success_query"),
                       ("_CX_TOTAL_QUERY", "total_query"), ("_CX_MIN_VOLUME", "min_volume")):
        if given.options.get(dest):
            variables.append((name, given.take(dest)))
    if "token_file" not in given.options:
        return ""                                 # --token-env VAR stays an option: it names, it does not hold
    _secret(variables, comments, common.token(given), "")
    return "check_cx_transaction_prometheus_token"


def _csv(given, variables, comments) -> str:
    for name, dest in (("_CX_CSV", "csv"), ("_CX_WINDOW", "window"), ("_CX_MIN_RESPONSES", "min_responses")):
        if given.options.get(dest):
            variables.append((name, given.take(dest)))
    return ""


def _shipped(given, variables, comments) -> tuple[str, str]:
    """(template, check_command) of a plugin of shipped.MODES; its token a file in $USER3$."""
    mode = shipped.mode(given, ENGINE)
    template, command = mode.nagios
    variables += [(f"_CX_{name}", value) for name, value in shipped.settings(mode, given, ENGINE, comments)]
    if mode.secret:
        secret = common.token(given)
        if secret is None or secret.kind != "file":
            common.refuse(f"the {command} command reads the token from a file in $USER3$: give --token-file PATH",
                          ENGINE)
        _secret(variables, comments, secret, "")
    if given.plugin == "check_cx_apdex" and mode.selector == "log":
        comments.append("It reads the log: the Nagios (or NRPE) that runs it must be on the web server.")
    return template, command


def service(given, host: str | None = None, service: str | None = None) -> str:
    kind = common.mode(given)
    if kind == "json":
        common.refuse("the shipped commands run check_cx_transaction with --scenario or --prometheus; for --json-url "
                      "use --engine icinga2 (cx_transaction takes it) or a command of your own", ENGINE)
    if kind == "api":
        common.refuse("the shipped check_cx_nps command reads a --csv export; a survey API needs a command of your own "
                      "(cxcheck-commands.cfg shows the shape)", ENGINE)
    variables, comments = [], []
    if kind == "shipped":
        template, command = _shipped(given, variables, comments)
    else:
        writer = {"login": _login, "journey": _journey, "prometheus": _prometheus, "csv": _csv}[kind]
        command = writer(given, variables, comments)
        template = "cx-browser-journey-service" if common.browser_journey(given) else \
            TEMPLATES.get(kind) or TEMPLATES[given.plugin]
    ranges = common.thresholds(given)
    if not ranges:
        comments.append(f"No -w/-c given: the {template} template's ranges apply.")
    variables += [(f"_CX_{dest.upper()}", value) for dest, value in ranges]
    if "timeout" in given.options:
        variables.append(("_CX_TIMEOUT", given.take("timeout")))
    extra = given.rest_argv()
    if extra:
        variables.append(("_CX_OPTIONS", " ".join(shlex.quote(token) for token in extra)))
    host = host or common.default_host(given)
    lines = [f"# {given.plugin} for Nagios 4 (also Naemon, Centreon Engine): paste into a cfg_dir file beside",
             "# cxcheck-commands.cfg and cxcheck-templates.cfg (templates/nagios/), then check: nagios4 -v nagios.cfg",
             f"# The host {host} must be defined (use cx-shop-host,generic-host for a shop seen from outside)."]
    lines += [f"# {line}" for line in comments]
    lines += ["define service {", f"    {'use':<28}{template},generic-service",
              f"    {'host_name':<28}{_value('host', host)}",
              f"    {'service_description':<28}{_value('service', service or common.SERVICE_NAMES[given.plugin])}"]
    if command:
        lines.append(f"    {'check_command':<28}{command}")
    lines += [f"    {name:<28}{_value(name, value)}".rstrip() for name, value in variables]
    return "\n".join(lines + ["}"]) + "\n"
