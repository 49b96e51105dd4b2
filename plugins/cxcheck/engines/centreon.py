"""Centreon: CLAPI lines (centreon -i FILE) adding a service from the cxcheck-* service templates of
templates/centreon/cxcheck-clapi.txt to a host, with the host's and the service's macros. The
shipped commands take the password from the host's CX_PASSWORD password macro (and a token from
the service's CX_TOKEN): those are set in the UI, never written here."""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit

from cxcheck.engines import common, shipped

ENGINE = "centreon"
TEMPLATES = {"login": "cxcheck-login", "prometheus": "cxcheck-transaction-prometheus", "csv": "cxcheck-nps",
             "check_cx_checkout": "cxcheck-checkout", "check_cx_transaction": "cxcheck-transaction"}
MACROS = {"warning": "CX_WARNING", "critical": "CX_CRITICAL", "timeout": "CX_TIMEOUT", "scenario": "CX_SCENARIO",
          "attempts": "CX_ATTEMPTS", "prometheus": "CX_PROMETHEUS", "success_query": "CX_SUCCESS_QUERY",
          "total_query": "CX_TOTAL_QUERY", "min_volume": "CX_MIN_VOLUME", "csv": "CX_CSV", "window": "CX_WINDOW",
          "min_responses": "CX_MIN_RESPONSES"}


def _field(value) -> str:
    value = str(value)
    if ";" in value or "\n" in value:
        common.refuse(f"{value!r}: CLAPI separates fields with ';' and lines with line breaks", ENGINE)
    return value


def _password_note(secret, comments: list, host: str):
    if secret is not None:
        source = "the file" if secret.kind == "file" else "the environment variable"
        comments.append(f"The password (your command reads it from {source} {secret.where}): set the host's "
                        f"CX_PASSWORD macro to it in the UI (Configuration > Hosts > {host} > Macros).")
        comments.append("It is a password macro, exported to the plugin as NAGIOS__HOSTCX_PASSWORD (enable "
                        "environment macros on the poller); it never sits in this file.")


def _shipped(given, service_macros: list, comments: list) -> str:
    """The template of a plugin of shipped.MODES; its token in the service's password macro."""
    mode = shipped.mode(given, ENGINE)
    service_macros += [(f"CX_{name}", value) for name, value in shipped.settings(mode, given, ENGINE, comments)]
    if mode.secret:
        secret = common.token(given)
        source = ""
        if secret is not None:
            where = "the file" if secret.kind == "file" else "the environment variable"
            source = f" (your command reads it from {where} {secret.where})"
        comments.append(f"The {secret.what if secret else 'API token'}{source}: set the service's {mode.secret} "
                        f"password macro to it in the UI; the plugin reads it from NAGIOS__SERVICE{mode.secret} "
                        "(enable environment macros on the poller). It never sits in this file.")
    if given.plugin == "check_cx_apdex" and mode.selector == "log":
        comments.append("It reads the log: the poller that runs it must be on the web server.")
    return mode.centreon


def service(given, host: str | None = None, service: str | None = None) -> str:
    kind = common.mode(given)
    if kind in ("json", "api"):
        common.refuse("the shipped cxcheck-* commands cover check_cx_transaction with --scenario or --prometheus and "
                      "check_cx_nps with --csv; add a command of your own for this one", ENGINE)
    host = host or common.default_host(given)
    name = service or common.SERVICE_NAMES[given.plugin]
    host_macros, service_macros, comments = [], [], []
    if kind == "login":
        parts = urlsplit(given.take("url") or "")
        if not parts.netloc:
            common.refuse("the cxcheck-login command takes the login page as the host's CX_BASE_URL and the "
                          "service's CX_LOGIN_PATH: give -u URL", ENGINE)
        host_macros.append(("CX_BASE_URL", f"{parts.scheme}://{parts.netloc}"))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        service_macros.append(("CX_LOGIN_PATH", path or "/"))
        if "username" in given.options:
            host_macros.append(("CX_USERNAME", given.take("username")))
        _password_note(common.password(given), comments, host)
    elif kind == "journey":
        base_url, email, notes = common.journey_account(given)
        host_macros += [(macro, value) for macro, value in (("CX_BASE_URL", base_url), ("CX_USERNAME", email))
                        if value is not None]
        _password_note(common.password(given), comments, host)
        comments += [note[0].upper() + note[1:] + "." for note in notes]
    elif kind == "shipped":
        template = _shipped(given, service_macros, comments)
    elif common.token(given) is not None:
        comments.append("The bearer token: set the service's CX_TOKEN password macro in the UI; the plugin reads it "
                        "from NAGIOS__SERVICECX_TOKEN (enable environment macros on the poller).")
        given.options.pop("token_env", None)
        service_macros.append(("CX_OPTIONS", "--bearer-env NAGIOS__SERVICECX_TOKEN"))
    if kind != "shipped":
        template = "cxcheck-browser-journey" if common.browser_journey(given) else \
            TEMPLATES.get(kind) or TEMPLATES[given.plugin]
    ranges = common.thresholds(given)
    if not ranges:
        comments.append(f"No -w/-c given: the {template} template's ranges apply.")
    service_macros += [(MACROS[dest], value) for dest, value in ranges]
    # The other plugins' settings are their modes' (shipped.MODES); what they do not take goes in CX_OPTIONS.
    for dest, macro in (MACROS.items() if kind != "shipped" else [("timeout", "CX_TIMEOUT")]):
        if dest in given.options:
            service_macros.append((macro, given.take(dest)))
    extra = given.rest_argv()
    if extra:
        words = " ".join(shlex.quote(word) for word in extra)
        previous = dict(service_macros).get("CX_OPTIONS")
        service_macros = [m for m in service_macros if m[0] != "CX_OPTIONS"]
        service_macros.append(("CX_OPTIONS", f"{previous} {words}" if previous else words))
    lines = [f"# {given.plugin} for Centreon: import after cxcheck-clapi.txt (templates/centreon/) with",
             "#   centreon -u admin -p '...' -i THIS_FILE      then export the configuration to the poller",
             f"# The host {host} must exist, e.g.: HOST;ADD;{host};{host};ADDRESS;cxcheck-shop;Central;"]
    lines += [f"# {line}" for line in comments]
    lines += [f"HOST;setmacro;{_field(host)};{macro};{_field(value)}" for macro, value in host_macros]
    lines.append(f"SERVICE;ADD;{_field(host)};{_field(name)};{template}")
    lines += [f"SERVICE;setmacro;{_field(host)};{_field(name)};{macro};{_field(value)}"
              for macro, value in service_macros]
    return "\n".join(lines) + "\n"
