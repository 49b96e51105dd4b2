"""The one table of cxcheck's plugins: each one's console script (its parser's prog), the module
whose main() runs it, and the name its service has by default in the monitoring engines.

Everything that lists plugins reads this table: `cxcheck config` and its engine writers, the
worker (which plugins it serves), the tests (which modules run as the engine runs them). A test
checks it against pyproject's [project.scripts]. A new plugin is one line here.
"""

from __future__ import annotations

from cxcheck.runtime import ConfigError


class PluginEntry:
    """`name`: the console script; `module`: where main() is; `service`: its service's default
    name in Nagios and Centreon ("CX NPS"), lowercased and dashed in Icinga 2 ("cx-nps");
    `schedule`: how often its checks run, the shipped templates' intervals: "journey" (a real
    session every 5 minutes, retried a minute apart), "metric" (cheap queries every minute),
    "survey" (scores that move over days: hourly), "support" (waits: every 15 minutes), "browser"
    (Chromium: every 5 minutes, one retry), "ratings" (store reviews come in over days: every 6
    hours). Its templates are named after it: cx-<short>-service
    (Nagios), cxcheck-<short> (Centreon), cx-<schedule>-service (Icinga 2)."""

    __slots__ = ("name", "module", "service", "schedule")

    def __init__(self, name: str, module: str, service: str, schedule: str):
        self.name, self.module, self.service, self.schedule = name, module, service, schedule

    @property
    def short(self) -> str:
        """The name without check_cx_: what `cxcheck config nps` accepts, and Icinga's cx_nps."""
        return self.name[len("check_cx_"):]

    @property
    def icinga_command(self) -> str:
        return f"cx_{self.short}"

    @property
    def icinga_service(self) -> str:
        return self.service.lower().replace(" ", "-")

    def main(self):
        """The plugin's entry point (importing the plugin's module)."""
        # __import__ rather than importlib: -X importtime (the import guard) sees the statement's path.
        return __import__(self.module, fromlist=["main"]).main

    def build_parser(self):
        """The plugin's own option parser, built without I/O."""
        return self.main().build_parser()

    def __repr__(self):
        return f"PluginEntry({self.name!r})"


PLUGINS = [
    PluginEntry("check_cx_login", "cxcheck.checks.login", "CX login", "journey"),
    PluginEntry("check_cx_checkout", "cxcheck.checks.checkout", "CX checkout", "journey"),
    PluginEntry("check_cx_transaction", "cxcheck.checks.transaction", "CX orders", "journey"),
    PluginEntry("check_cx_nps", "cxcheck.checks.nps", "CX NPS", "survey"),
    PluginEntry("check_cx_csat", "cxcheck.checks.csat", "CX CSAT", "survey"),
    PluginEntry("check_cx_support", "cxcheck.checks.support", "CX support", "support"),
    PluginEntry("check_cx_apdex", "cxcheck.checks.apdex", "CX apdex", "metric"),
    PluginEntry("check_cx_conversion", "cxcheck.checks.conversion", "CX conversion", "metric"),
    PluginEntry("check_cx_churn", "cxcheck.checks.churn", "CX churn", "survey"),
    PluginEntry("check_cx_page", "cxcheck.checks.page", "CX page", "browser"),
    PluginEntry("check_cx_ratings", "cxcheck.checks.ratings", "CX ratings", "ratings"),
    PluginEntry("check_cx_payments", "cxcheck.checks.payments", "CX payments", "support"),
    PluginEntry("check_cx_revenue", "cxcheck.checks.revenue", "CX revenue", "survey"),
]
BY_NAME = {entry.name: entry for entry in PLUGINS}


def find(text: str | None) -> PluginEntry:
    """The plugin named `text`: its console script (check_cx_nps) or its short name (nps)."""
    entry = BY_NAME.get(text or "") or BY_NAME.get(f"check_cx_{text}")
    if entry is None:
        raise ConfigError(f"{text!r} is not a plugin; one of {', '.join(BY_NAME)}")
    return entry
