"""What the engine writers share: the host a service belongs to, what a journey reads from the
environment, whether it runs in a browser, where a secret is, and the refusal of what an engine
cannot hold."""

from __future__ import annotations

from urllib.parse import urlsplit

from cxcheck.runtime import ConfigError

# Their numbers can come from real users' metrics (--prometheus, --json-url): the shipped
# templates have a "-prometheus" variant with the metric schedule for them.
REAL_USERS = ("check_cx_transaction", "check_cx_apdex")


def real_users(given) -> bool:
    return given.plugin in REAL_USERS and bool({"prometheus", "json_url"} & set(given.values))


def template_stem(given) -> str:
    """What the Nagios family's service templates are named from (cx-STEM-service, cxcheck-STEM):
    the plugin's short name, STEM-prometheus for real users' numbers, browser-journey for a
    journey or login in Chromium."""
    if real_users(given):
        return f"{given.entry.short}-prometheus"
    if given.plugin != "check_cx_page" and browser_run(given):
        return "browser-journey"
    return given.entry.short


def refuse(text: str, engine: str):
    raise ConfigError(f"{engine}: {text}")


def default_host(given, fallback: str = "shop") -> str:
    """The site's host name: from -u, from --var base_url=, from the scenario's own base_url."""
    from cxcheck.engines.config import readable_scenario

    urls = [getattr(given.args, "url", None)]
    urls += [value for name, value in getattr(given.args, "var", None) or [] if name == "base_url"]
    scenario = readable_scenario(given)
    urls.append(scenario.variables.get("base_url") if scenario else None)
    for url in urls:
        if url and urlsplit(url).hostname:
            return urlsplit(url).hostname
    return fallback


def environment_notes(given) -> list[str]:
    """What the journey's scenario reads from the environment where the check runs (its
    ${env:...} defaults the options do not override)."""
    from cxcheck.engines.config import readable_scenario
    from cxcheck.journey.variables import REFERENCE

    scenario = readable_scenario(given)
    if scenario is None:
        return []
    given_names = {name for option in ("var", "var_file", "var_env") for name, _ in getattr(given.args, option, None)
                   or []}
    envs = sorted({ref[4:] for name, value in scenario.variables.items() if name not in given_names
                   for ref in REFERENCE.findall(value) if ref.startswith("env:")})
    return [f"The scenario reads {env} from the environment: set it in the engine's environment, or give its "
            "variable by file (--var-file NAME=PATH)." for env in envs]


def browser_run(given) -> bool:
    """A run in Chromium (check_cx_page, a login with --browser, a scenario with browser: true):
    the browser templates' intervals suit it."""
    from cxcheck.engines.config import readable_scenario

    if given.plugin == "check_cx_page" or getattr(given.args, "browser", False):
        return True
    scenario = readable_scenario(given)
    return bool(scenario and scenario.browser)


def secret_names(spec) -> str:
    """What a secret option holds, as a comment says it."""
    return "password" if spec.secret == "password" else "token"


def environment_variables(given) -> list[tuple[str, str]]:
    """(scenario variable, environment variable) of each --var-env NAME=VAR given."""
    return [tuple(item.partition("=")[::2]) for item in given.values.get("var_env", [])]


def host_and_service(given, host: str | None, service: str | None, illegal: str, engine: str) -> tuple[str, str]:
    """The names of the Nagios family's service: the host (--host, else the site's) and the service
    (--service, else the table's), each as the engine takes it."""
    return (object_name(host or default_host(given), "host", illegal, engine),
            object_name(service or given.entry.service, "service", illegal, engine))


def object_name(value: str, what: str, illegal: str, engine: str) -> str:
    """A host or service name the engine takes as it is, else refused naming the characters."""
    bad = sorted({char for char in value if char in illegal or char < " "})
    if not value or bad:
        shown = " ".join(repr(char)[1:-1] for char in bad) or "nothing"
        refuse(f"{what} {value!r}: the engine refuses {shown} in object names; choose another with --{what}",
               engine)
    return value
