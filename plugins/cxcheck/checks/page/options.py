"""check_cx_page's options beyond the page itself: the ranges of each metric (and how -w/-c
join them), and the browser's."""

from __future__ import annotations

import argparse
import re

from cxcheck import runtime
from cxcheck.runtime import ConfigError

TIMES = ("ttfb", "dcl", "load", "lcp")
# Metrics with ranges of their own: name -> (unit the ranges are in, what it is).
RANGED = {
    "ttfb": ("seconds", "time to first byte"), "dcl": ("seconds", "DOMContentLoaded"),
    "load": ("seconds", "the load event"), "lcp": ("seconds", "Largest Contentful Paint"),
    "cls": ("unitless", "Cumulative Layout Shift"), "requests": ("count", "requests the page made"),
    "bytes": ("bytes", "bytes received"),
}
# Perfdata labels, in this order whatever nagiosplugin does.
PERFDATA = (*RANGED, "failed_resources", "js_errors", "browser_memory", "dialogs")
WINDOW = re.compile(r"(\d{2,5})x(\d{2,5})")
WINDOW_LIMITS = (100, 10000)


def window_size(text: str) -> tuple[int, int]:
    match = WINDOW.fullmatch(text.strip().lower())
    if not match or not all(WINDOW_LIMITS[0] <= int(side) <= WINDOW_LIMITS[1] for side in match.groups()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a window size WIDTHxHEIGHT such as 1366x768 "
                                         f"(each side {WINDOW_LIMITS[0]} to {WINDOW_LIMITS[1]} pixels)")
    return int(match[1]), int(match[2])


def add_range_options(parser):
    ranges = parser.add_argument_group("per-metric ranges (Nagios range syntax; seconds also as 500ms, 2s)")
    for name, (unit, what) in RANGED.items():
        kind = runtime.DurationRange if unit == "seconds" else runtime.nagios_range
        for level in ("warning", "critical"):
            ranges.add_argument(f"--{level}-{name}", type=kind, metavar="RANGE",
                                help=f"{level} range for {what} ({unit})")


def add_browser_options(parser):
    browser = parser.add_argument_group("browser")
    browser.add_argument("--insecure", action="store_true", help="accept invalid TLS certificates")
    browser.add_argument("--user-agent", metavar="TEXT", help="the browser's User-Agent (default Chromium's own)")
    browser.add_argument("--window", type=window_size, default=(1366, 768), metavar="WxH",
                         help="the browser window's size in pixels (default 1366x768)")
    browser.add_argument("--memory-cap", type=runtime.positive_int, default=1024, metavar="MB",
                         help="the page's renderer using more memory than this is ended and the load fails "
                              "(default 1024 MB; an empty page's takes some 150 MB)")


def metric_ranges(args) -> dict[str, tuple[str | None, str | None]]:
    """name -> (warning, critical): -w/-c on --metric, --warning-NAME/--critical-NAME on each."""
    from cxcheck.runtime.thresholds import threshold_order

    ranges = {}
    for name in RANGED:
        pair, options = [], []
        for level, short, general in (("warning", "-w", args.warning), ("critical", "-c", args.critical)):
            own = getattr(args, f"{level}_{name}")
            if name == args.metric and general is not None:
                if own is not None:
                    raise ConfigError(f"{short} and --{level}-{name} both set a {level} range for {name}: give one")
                own = general
            pair.append(own)
            options.append(short if name == args.metric and general is not None else f"--{level}-{name}")
        threshold_order(*pair, options=tuple(options))
        ranges[name] = tuple(pair)
    return ranges
