"""Icinga 2: an `object Service` using the CheckCommands (cx_login, cx_checkout, cx_transaction,
cx_nps, cx_csat, cx_support, cx_apdex, cx_conversion, cx_churn, cx_page) and service templates of
templates/icinga2/. Every option is the custom variable
cx_<option> the CheckCommand reads; a secret is a file (cx_password_file, cx_token_file) or a
constant named after the environment variable, defined where only root and Icinga can read it,
which Icinga hands to the plugin in its environment, never on the command line."""

from __future__ import annotations

import re

from cxcheck.engines.common import browser_journey, default_host, journey_account, mode, password, refuse, token

ENGINE = "icinga2"
COMMON = {"warning", "critical", "timeout", "timeout_state", "verbose", "insecure", "ca_file", "client_cert",
          "client_key", "proxy", "user_agent", "header"}
# The arguments of each shipped CheckCommand, by the plugin option's dest (tests check them against
# templates/icinga2/cxcheck-commands.conf).
SCREENSHOTS = {"screenshot_dir", "screenshot_keep"}        # a browser login or journey's evidence
ARGUMENTS = {
    "cx_login": COMMON | SCREENSHOTS | {"url", "scenario", "username", "username_field", "password_field", "form",
                                        "button", "expect_text", "expect_url", "expect_cookie", "then_url",
                                        "then_text", "browser"},
    "cx_checkout": COMMON | SCREENSHOTS | {"scenario", "runs", "step_warning", "step_critical"},
    "cx_transaction": COMMON | SCREENSHOTS | {"scenario", "attempts", "interval", "time_warning", "time_critical",
                                              "prometheus", "ratio_query", "success_query", "total_query", "time",
                                              "json_url", "success_path", "total_path", "min_volume",
                                              "low_volume_state", "window", "slo", "burn_windows"},
    "cx_nps": COMMON | {"csv", "api_url", "window", "now", "min_responses", "significant"},
}
SOURCES = COMMON | {"csv", "jsonl", "zendesk", "zendesk_email", "hubspot", "api_url", "window", "now",
                    "low_sample_state"}
RATES = COMMON | {"window", "compare_to", "no_compare", "now", "min_volume", "low_volume_state", "significant",
                  "change_state", "api_url", "max_change"}
ARGUMENTS |= {
    "cx_csat": SOURCES | {"min_responses", "max_drop", "significant", "hubspot_survey_id", "scale", "satisfied"},
    "cx_support": SOURCES | {"metric", "percentile", "hours", "by", "older_than", "min_tickets", "hubspot_pipeline"},
    "cx_apdex": COMMON | {"target", "log", "log_format", "time_field", "state_file", "path_regex", "method",
                          "exclude_status", "window", "now", "min_volume", "low_volume_state", "max_rejected",
                          "prometheus", "histogram", "interpolate"},
    "cx_conversion": RATES | {"prometheus", "entered_query", "converted_query", "ratio_query", "step_query",
                              "mixpanel", "funnel_id", "service_account", "region", "project_timezone",
                              "workspace_id", "json_url", "entered_path", "converted_path"},
    "cx_churn": RATES | {"pipedrive", "hubspot", "won_stage", "lost_stage", "pipeline", "currency", "events_csv",
                         "events_jsonl", "max_rejected"},
}
ARGUMENTS["cx_ratings"] = SOURCES | {"app_store", "country", "app_store_connect", "key_id", "issuer_id", "territory",
                                     "google_play", "trustpilot", "min_volume", "max_drop", "warning_low_share",
                                     "critical_low_share", "significant", "sentiment", "language",
                                     "warning_negative", "critical_negative"}
# A browser takes no CA file, client certificate, proxy or extra headers (cx_page removes them).
ARGUMENTS["cx_page"] = {"warning", "critical", "timeout", "timeout_state", "verbose", "insecure", "user_agent", "url",
                        "metric", "expect_text", "expect_selector", "fail_on_resource_errors", "fail_on_js_errors",
                        "window", *SCREENSHOTS,
                        *(f"{bound}_{metric}" for bound in ("warning", "critical")
                          for metric in ("ttfb", "dcl", "load", "lcp", "cls", "requests", "bytes"))}
RENAMED = {"header": "cx_headers", "method": "cx_methods", "step_query": "cx_step_queries",
           "won_stage": "cx_won_stages", "lost_stage": "cx_lost_stages"}
# --max-drop and --max-rise share a dest; their CheckCommands name the variable after the flag.
RENAMED_IN = {"cx_conversion": {"max_change": "cx_max_drop"}, "cx_churn": {"max_change": "cx_max_rise"},
              "cx_page": {"window": "cx_window_size"}}        # cx_window is a time window elsewhere
TEMPLATES = {"login": "cx-journey-service", "journey": "cx-journey-service", "prometheus": "cx-metric-service",
             "json": "cx-metric-service", "csv": "cx-survey-service", "api": "cx-survey-service",
             "check_cx_csat": "cx-survey-service", "check_cx_support": "cx-support-service",
             "check_cx_apdex": "cx-metric-service", "check_cx_conversion": "cx-metric-service",
             "check_cx_churn": "cx-survey-service", "check_cx_page": "cx-browser-service",
             "check_cx_ratings": "cx-ratings-service"}
SERVICE_NAMES = {"check_cx_login": "cx-login", "check_cx_checkout": "cx-checkout", "check_cx_transaction": "cx-orders",
                 "check_cx_nps": "cx-nps", "check_cx_csat": "cx-csat", "check_cx_support": "cx-support",
                 "check_cx_apdex": "cx-apdex", "check_cx_conversion": "cx-conversion", "check_cx_churn": "cx-churn",
                 "check_cx_page": "cx-page", "check_cx_ratings": "cx-ratings"}
SIGNIFICANT_BY_DEFAULT = ("cx_conversion", "cx_churn")       # cx-rates sets vars.cx_significant = true
# As the shipped apply rule: Mixpanel allows 60 queries an hour per project, two a run.
INTERVALS = {"cx_conversion": "10m"}


def variable(command: str, dest: str) -> str:
    """The custom variable the CheckCommand reads for an option."""
    return RENAMED_IN.get(command, {}).get(dest) or RENAMED.get(dest, f"cx_{dest}")


def _template(given, kind: str) -> str:
    if given.plugin == "check_cx_apdex" and "log" in given.options:
        return "cx-apdex-service"
    if getattr(given.args, "browser", False) or browser_journey(given):
        return "cx-browser-service"
    return TEMPLATES[given.plugin if kind == "shipped" else kind]


def string(value) -> str:
    """An Icinga 2 string literal; `$` doubled, since a `$name$` in a string is a macro."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("$", "$$")
    return f'"{text}"'


def literal(value) -> str:
    if value is False:
        return "false"
    if isinstance(value, bool) or isinstance(value, int) and not isinstance(value, bool):
        return "true"                                   # a flag (store_true, or -v counted)
    if isinstance(value, list):
        return "[ " + ", ".join(string(item) for item in value) + " ]"
    return string(value)


def _secret(variables: list, comments: list, secret, stem: str):
    if secret is None:
        return
    if secret.kind == "file":
        variables.append((f"cx_{stem}_file", secret.where))
        comments.append(f"The {secret.what}: the file {secret.where} on the node that runs the check, readable "
                        "by the icinga user (nagios on Debian) only.")
        return
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", secret.where):
        refuse(f"{secret.where!r} cannot name an Icinga constant; use a file for the {secret.what}", ENGINE)
    variables.append((f"cx_{stem}", ("constant", secret.where)))
    comments += [f"The {secret.what}: the constant {secret.where}, defined once where only root and Icinga read it,",
                 f'e.g. const {secret.where} = "..." in /etc/icinga2/constants.conf; Icinga passes it to the',
                 "plugin in its environment (CXCHECK_PASSWORD, CXCHECK_TOKEN), never on the command line."]


def _journey(given, variables, comments):
    base_url, email, notes = journey_account(given)
    for name, value in (("cx_base_url", base_url), ("cx_username", email)):
        if value is not None:
            variables.append((name, value))
    _secret(variables, comments, password(given), "password")
    for dest, name in (("var", "cx_vars"), ("var_file", "cx_var_files")):
        if dest in given.options:
            variables.append((name, given.take(dest)))
    if "var_env" in given.options:
        refuse("the cx-journey CheckCommands pass only the password through the environment; give the other "
               f"secret variables by file (--var-file NAME=PATH), not {given.options['var_env'].argv()[1]}", ENGINE)
    comments += [note[0].upper() + note[1:] + " (Icinga passes its own environment to plugins)." for note in notes]


def service(given, host: str | None = None, service: str | None = None) -> str:
    kind = mode(given)
    command = f"cx_{given.plugin[len('check_cx_'):]}"
    variables, comments = [], []
    if kind == "journey":
        _journey(given, variables, comments)
    elif kind == "login":
        _secret(variables, comments, password(given), "password")
    else:
        _secret(variables, comments, token(given), "token")
    if command in SIGNIFICANT_BY_DEFAULT and "significant" not in given.options:
        variables.append(("cx_significant", False))             # as the command ran: without it
    for option in given.rest():
        if option.dest not in ARGUMENTS[command]:
            refuse(f"the {command} CheckCommand has no argument for {option.flag}", ENGINE)
        variables.append((variable(command, option.dest), option.value))
    if given.plugin == "check_cx_apdex" and "log" in given.options:
        comments.append("It reads the log: run it on the web server's node (command_endpoint, an agent there).")
    host = host or default_host(given)
    lines = [f"/* {given.plugin} for Icinga 2: put it beside cxcheck-commands.conf and cxcheck-services.conf",
             " * (templates/icinga2/) in the zone's configuration, then check: icinga2 daemon -C",
             f" * The host {host} must exist (import \"cx-shop-host\" for a shop seen from outside)."]
    lines += [f" * {line.replace('*/', '* /')}" for line in comments]
    lines += [" */", f"object Service {string(service or SERVICE_NAMES[given.plugin])} {{",
              f"\timport {string(_template(given, kind))}", "", f"\thost_name = {string(host)}",
              f"\tcheck_command = {string(command)}"]
    if command in INTERVALS:
        lines += [f"\tcheck_interval = {INTERVALS[command]}", f"\tretry_interval = {INTERVALS[command]}"]
    for name, value in variables:
        constant = isinstance(value, tuple) and value[0] == "constant"
        lines.append(f"\tvars.{name} = {value[1] if constant else literal(value)}")
    return "\n".join(lines + ["}"]) + "\n"
