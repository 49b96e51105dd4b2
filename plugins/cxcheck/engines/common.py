"""What the engine writers share: the secret of a command (a file or an environment variable,
never a value), the mode of a plugin with several, a journey's base_url and account, and names."""

from __future__ import annotations

from urllib.parse import urlsplit

from cxcheck.runtime import ConfigError

SERVICE_NAMES = {"check_cx_login": "CX login", "check_cx_checkout": "CX checkout",
                 "check_cx_transaction": "CX orders", "check_cx_nps": "CX NPS", "check_cx_csat": "CX CSAT",
                 "check_cx_support": "CX support", "check_cx_apdex": "CX apdex",
                 "check_cx_conversion": "CX conversion", "check_cx_churn": "CX churn", "check_cx_page": "CX page",
                 "check_cx_ratings": "CX ratings"}
BEARER = ("check_cx_transaction", "check_cx_apdex")         # their token is a bearer token (also --bearer-env/-file)
JOURNEYS = ("check_cx_checkout", "check_cx_transaction")


class Secret:
    """Where a secret is: kind "file" (a path) or "env" (a variable name)."""

    def __init__(self, kind: str, where: str, what: str):
        self.kind, self.where, self.what = kind, where, what


def password(given) -> Secret | None:
    if given.plugin == "check_cx_login":
        path, env = given.take("password_file"), given.take("password_env")
    elif given.plugin in JOURNEYS:
        path, env = given.take_var("var_file", "password"), given.take_var("var_env", "password")
    else:
        return None
    if path and env:
        raise ConfigError("give the password by environment variable or by file, not both")
    return Secret("file", path, "password") if path else Secret("env", env, "password") if env else None


def token(given) -> Secret | None:
    """The bearer token (check_cx_transaction, check_cx_apdex) or API token (the others)."""
    path, env = given.take("token_file"), given.take("token_env")
    what = "bearer token" if given.plugin in BEARER else "API token"
    return Secret("file", path, what) if path else Secret("env", env, what) if env else None


def mode(given) -> str:
    """login, journey (a scenario), prometheus, json (check_cx_transaction), csv or api (check_cx_nps),
    shipped (the plugins of shipped.MODES)."""
    from cxcheck.engines.shipped import PLUGINS

    args = given.args
    if given.plugin in PLUGINS:
        return "shipped"
    if given.plugin == "check_cx_login":
        from cxcheck.runtime import web_url

        if bool(args.url) == bool(args.scenario):
            raise ConfigError("give the login page with -u URL, or a --scenario FILE (one of them)")
        if args.url:
            web_url("-u", args.url)
            if not args.username:
                raise ConfigError("--username is required with -u")
        return "login"
    if given.plugin == "check_cx_nps":
        return "csv" if getattr(args, "csv", None) else "api"
    if given.plugin == "check_cx_transaction":
        if getattr(args, "prometheus", None):
            return "prometheus"
        if getattr(args, "json_url", None):
            return "json"
    if not getattr(args, "scenario", None):
        raise ConfigError(f"{given.plugin} needs --scenario FILE (or, for real users, --prometheus or --json-url)")
    return "journey"


def journey_account(given) -> tuple[str | None, str | None, list[str]]:
    """(base_url, email, notes) of a journey: from --var, else the scenario's own defaults; the notes
    name the environment variables the scenario's ${env:...} defaults read where the check runs."""
    from cxcheck.engine_config import scenario_variables
    from cxcheck.journey.variables import REFERENCE

    args = given.args
    overridden = {name for option in ("var", "var_file", "var_env") for name, _ in getattr(args, option, None) or []}
    variables = scenario_variables(getattr(args, "scenario", None))
    base_url = given.take_var("var", "base_url") or variables.get("base_url")
    email = given.take_var("var", "email") or variables.get("email")
    envs = sorted({ref[4:] for name, value in variables.items() if name not in overridden
                   for ref in REFERENCE.findall(value) if ref.startswith("env:")})
    notes = [f"the scenario reads {env} from the environment: set it in the engine's environment, or give "
             "its variable by file (--var-file NAME=PATH)" for env in envs]
    return base_url, email, notes


def browser_journey(given) -> bool:
    """A checkout journey that runs in Chromium (its scenario says browser: true): the browser
    templates' intervals and ranges suit it."""
    from cxcheck.engine_config import readable_scenario

    scenario = given.plugin == "check_cx_checkout" and readable_scenario(getattr(given.args, "scenario", None))
    return bool(scenario and scenario.browser)


def default_host(given, fallback: str = "shop") -> str:
    args = given.args
    url = getattr(args, "url", None)
    if url and urlsplit(url).hostname:
        return urlsplit(url).hostname
    for item in getattr(args, "var", None) or []:
        if item[0] == "base_url" and urlsplit(item[1]).hostname:
            return urlsplit(item[1]).hostname
    return fallback


def refuse(text: str, engine: str):
    raise ConfigError(f"{engine}: {text}")


def thresholds(given) -> list[tuple[str, str]]:
    """(dest, value) of -w and -c: both when either is given (an empty range for the other, as the
    command ran without it), none when neither is (the template's recommended ranges apply)."""
    if "warning" not in given.options and "critical" not in given.options:
        return []
    return [(dest, given.take(dest) or "") for dest in ("warning", "critical")]
