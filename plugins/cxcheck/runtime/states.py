"""The four monitoring-plugin states, by name, code and nagiosplugin object."""

import nagiosplugin

STATE_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
STATE_NAMES = {code: name.upper() for name, code in STATE_CODES.items()}
STATE_OBJECTS = {
    "ok": nagiosplugin.Ok,
    "warning": nagiosplugin.Warn,
    "critical": nagiosplugin.Critical,
    "unknown": nagiosplugin.Unknown,
}
