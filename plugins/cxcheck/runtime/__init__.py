"""What every cxcheck plugin shares, one concern a module:

- values: Record (small value objects without dataclasses) and the errors (ConfigError,
  SourceError, DeadlineExceeded);
- states: the four states by name and code;
- secrets: reading secrets (and bearer tokens) from environment or file, masking them in outside text;
- inputs: local files and standard input read with a size cap and inside the deadline;
- durations: the one duration grammar (90m, 1.5d, 1h30m, seconds);
- deadline: one deadline from -t and the SIGALRM backstop;
- options: the shared parser and option types;
- thresholds: -w/-c hints in the metric's direction (CEILING or FLOOR, declared by each plugin);
- targets: web URLs, proxies and TLS files checked before any request;
- contexts: MaybeContext (U perfdata, ranges judged only when given) and perfdata helpers;
- plugin: the console-script entry that never breaks the monitoring-plugin protocol.

Heavy modules (requests, yaml, jmespath) are imported where used, never here: every check run
pays for this package's imports. The names below are the package's interface.
"""

from cxcheck.runtime.contexts import (
    Fact,
    MaybeContext,
    Note,
    PerfOnly,
    fmt_count,
    fmt_number,
    fmt_percent,
    fmt_seconds,
    notes,
    perf_label,
    perf_value,
    plural,
    violation,
)
from cxcheck.runtime.deadline import HARD_MARGIN, Backstop, Deadline, atomic, start_thread
from cxcheck.runtime.durations import Duration, DurationRange, parse_duration, say_duration, seconds_text
from cxcheck.runtime.inputs import input_name, open_input, read_text
from cxcheck.runtime.options import (
    HttpOptions,
    Parser,
    add_http_arguments,
    confidence,
    header,
    nagios_range,
    name_value,
    non_negative_float,
    positive_float,
    positive_int,
    refuse_on_argv,
    timeout_seconds,
)
from cxcheck.runtime.plugin import Run, clean_text, log, plugin, render, run_plugin
from cxcheck.runtime.secrets import (
    MASK,
    MASKABLE,
    MAX_SECRET,
    Masker,
    MaskingStream,
    excerpt,
    install_masking,
    mask_identity,
    masker,
    read_secret,
    read_token,
)
from cxcheck.runtime.states import STATE_CODES, STATE_NAMES, STATE_OBJECTS
from cxcheck.runtime.targets import web_url
from cxcheck.runtime.thresholds import CEILING, FLOOR
from cxcheck.runtime.values import ConfigError, DeadlineExceeded, Record, SourceError

__all__ = [
    "Backstop", "CEILING", "ConfigError", "Deadline", "DeadlineExceeded", "Duration", "DurationRange", "FLOOR",
    "Fact", "HARD_MARGIN", "HttpOptions", "MASK", "MASKABLE", "MAX_SECRET", "Masker", "MaskingStream", "MaybeContext",
    "Note", "Parser", "PerfOnly", "Record", "Run", "STATE_CODES", "STATE_NAMES", "STATE_OBJECTS", "SourceError",
    "add_http_arguments", "atomic", "clean_text", "confidence", "excerpt", "fmt_count", "fmt_number", "fmt_percent",
    "fmt_seconds", "header", "input_name", "install_masking", "log", "mask_identity", "masker", "nagios_range",
    "name_value", "non_negative_float", "notes", "open_input", "parse_duration", "perf_label", "perf_value", "plugin",
    "plural", "positive_float", "positive_int", "read_secret", "read_text", "read_token", "refuse_on_argv", "render",
    "run_plugin", "say_duration", "seconds_text", "start_thread", "timeout_seconds", "violation", "web_url",
]
