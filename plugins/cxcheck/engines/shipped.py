"""How the shipped Nagios and Centreon commands run the survey, help-desk, Apdex and rate plugins and
check_cx_page:
one `Mode` per option that selects where the numbers come from (--csv, --zendesk, --log, ...), with
the command and service template that run it, the settings the command takes from custom
variables (Nagios `_CX_NAME`) or macros (Centreon `CX_NAME`: the same names), what it always
passes, and the macro its token is in. A way of running a plugin no command covers is refused
with the way out (Icinga 2's CheckCommands take every option: see icinga2.ARGUMENTS)."""

from __future__ import annotations

from cxcheck.engines import common

SURVEY = (("csv", "CSV"), ("window", "WINDOW"), ("min_responses", "MIN_RESPONSES"))
ZENDESK = (("zendesk", "ZENDESK"), ("zendesk_email", "ZENDESK_EMAIL"))
SUPPORT = (("metric", "METRIC"), ("window", "WINDOW"))
APDEX = (("target", "TARGET"), ("min_volume", "MIN_VOLUME"))
RATE = (("window", "WINDOW"), ("min_volume", "MIN_VOLUME"))


class Mode:
    """`selector`: the option that selects this way; `nagios`: (service template, command);
    `centreon`: the service template, None where none is shipped; `settings`: (option dest,
    variable name) the command reads; `required`: options it passes that have no default worth
    keeping; `fixed`: options it always passes; `secret`: the Centreon password macro of the
    token (the Nagios command reads the file $USER3$/$_SERVICECX_SECRET$), None: no token."""

    def __init__(self, plugin: str, selector: str, nagios: tuple[str, str], centreon: str | None, settings=(),
                 required=(), fixed=(), secret: str | None = None):
        self.plugin, self.selector, self.nagios, self.centreon = plugin, selector, nagios, centreon
        self.settings, self.required, self.fixed, self.secret = settings, required, fixed, secret


MODES = [
    Mode("check_cx_csat", "zendesk", ("cx-csat-zendesk-service", "check_cx_csat_zendesk"), "cxcheck-csat-zendesk",
         ZENDESK + SURVEY[1:], required=("zendesk_email",), secret="CX_TOKEN"),
    Mode("check_cx_csat", "csv", ("cx-csat-service", "check_cx_csat"), "cxcheck-csat", SURVEY),
    Mode("check_cx_support", "zendesk", ("cx-support-zendesk-service", "check_cx_support_zendesk"),
         "cxcheck-support-zendesk", ZENDESK + SUPPORT, required=("zendesk_email",), secret="CX_TOKEN"),
    Mode("check_cx_support", "hubspot", ("cx-support-hubspot-service", "check_cx_support_hubspot"),
         "cxcheck-support-hubspot", SUPPORT, fixed=("hubspot",), secret="CX_TOKEN"),
    Mode("check_cx_support", "csv", ("cx-support-service", "check_cx_support"), "cxcheck-support",
         (("csv", "CSV"), *SUPPORT)),
    Mode("check_cx_apdex", "log", ("cx-apdex-service", "check_cx_apdex"), "cxcheck-apdex",
         (("log", "LOG"), ("log_format", "LOG_FORMAT"), *APDEX)),
    Mode("check_cx_apdex", "prometheus", ("cx-apdex-prometheus-service", "check_cx_apdex_prometheus"),
         "cxcheck-apdex-prometheus", (("prometheus", "PROMETHEUS"), ("histogram", "HISTOGRAM"), ("window", "WINDOW"),
                                      *APDEX)),
    Mode("check_cx_conversion", "prometheus", ("cx-conversion-service", "check_cx_conversion_prometheus"),
         "cxcheck-conversion", (("prometheus", "PROMETHEUS"), ("entered_query", "ENTERED_QUERY"),
                                ("converted_query", "CONVERTED_QUERY"), *RATE, ("max_change", "MAX_DROP")),
         required=("entered_query", "converted_query"), fixed=("significant",)),
    Mode("check_cx_conversion", "mixpanel", ("cx-conversion-service", "check_cx_conversion_mixpanel"),
         "cxcheck-conversion-mixpanel", (("mixpanel", "PROJECT"), ("funnel_id", "FUNNEL_ID"),
                                         ("service_account", "SERVICE_ACCOUNT"), ("region", "REGION"),
                                         ("project_timezone", "TIMEZONE"), *RATE, ("max_change", "MAX_DROP")),
         required=("funnel_id", "service_account"), fixed=("significant",), secret="CX_SECRET"),
    Mode("check_cx_churn", "events_csv", ("cx-churn-service", "check_cx_churn_events"), "cxcheck-churn",
         (("events_csv", "CSV"), *RATE, ("max_change", "MAX_RISE")), fixed=("significant",)),
    Mode("check_cx_churn", "pipedrive", ("cx-churn-service", "check_cx_churn_pipedrive"), "cxcheck-churn-pipedrive",
         (("pipedrive", "COMPANY"), *RATE, ("max_change", "MAX_RISE")), fixed=("significant",), secret="CX_TOKEN"),
    Mode("check_cx_churn", "hubspot", ("cx-churn-service", "check_cx_churn_hubspot"), None,
         (*RATE, ("max_change", "MAX_RISE")), fixed=("hubspot", "significant"), secret="CX_TOKEN"),
    Mode("check_cx_page", "url", ("cx-page-service", "check_cx_page"), "cxcheck-page",
         (("url", "URL"), ("metric", "METRIC"))),
    Mode("check_cx_ratings", "app_store", ("cx-ratings-service", "check_cx_ratings_app_store"),
         "cxcheck-ratings-app-store", (("app_store", "APP_STORE"), ("country", "COUNTRY"), *RATE)),
    Mode("check_cx_ratings", "csv", ("cx-ratings-export-service", "check_cx_ratings"), "cxcheck-ratings",
         (("csv", "CSV"), *RATE)),
]
PLUGINS = {mode.plugin for mode in MODES}


def find(given) -> Mode | None:
    """The way the given options run the plugin, None when no shipped command runs it so."""
    return next((mode for mode in MODES if mode.plugin == given.plugin and mode.selector in given.options), None)


def mode(given, engine: str) -> Mode:
    """find(), refusing a way no command of `engine` runs, with the ways there are."""
    found = find(given)
    if found is None or engine == "centreon" and found.centreon is None:
        ways = [f"--{m.selector.replace('_', '-')}" for m in MODES if m.plugin == given.plugin
                and (engine != "centreon" or m.centreon)]
        common.refuse(f"the shipped commands run {given.plugin} with {' or '.join(ways)}; for this one use "
                      f"--engine icinga2 (cx_{given.plugin[len('check_cx_'):]} takes it) or a command of your own",
                      engine)
    return found


def settings(mode: Mode, given, engine: str, comments: list) -> list[tuple[str, str]]:
    """(variable name, value) of the settings given; the options the command passes itself taken."""
    command = mode.nagios[1] if engine == "nagios" else f"{mode.centreon} template's"
    missing = [dest for dest in mode.required if dest not in given.options]
    if missing:
        flags = " and ".join(f"--{dest.replace('_', '-')}" for dest in missing)
        common.refuse(f"the {command} command passes {flags}: give {'it' if len(missing) == 1 else 'them'}", engine)
    for dest in mode.fixed:
        if given.take(dest) is None and dest == "significant":
            comments.append(f"The {command} command always passes --significant (judges only what the tests "
                            "confirm); your command did not.")
    return [(name, given.take(dest)) for dest, name in mode.settings if dest in given.options]
