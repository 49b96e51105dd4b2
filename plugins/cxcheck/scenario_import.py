"""`cxcheck scenario import FILE`: a browser recording turned into a scenario, printed as YAML.

A HAR file (DevTools "Save all as HAR", any browser) or a Chrome DevTools Recorder JSON export.
The scenario is validated as `cxcheck scenario check` would before it is written; secrets are
`${env:...}` placeholders with a comment naming the variable to set, their values are never
written; what was left out of the recording is listed at the top of the file.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from cxcheck.runtime import ConfigError, input_name

MAX_RECORDING = 256 * 1024 * 1024
EXAMPLES = """
examples:
  # DevTools > Network > "Save all as HAR" after walking the journey in the browser
  cxcheck scenario import checkout.har -o checkout.yaml
  # a Chrome DevTools Recorder export (Recorder > Export > JSON)
  cxcheck scenario import login.json --name login -o login.yaml
  # then: review it, set the variables it names, try it, run it as the check will
  CX_LOGIN_PASSWORD=... cxcheck scenario check checkout.yaml --run
"""


def add_import_parser(verbs):
    import argparse

    command = verbs.add_parser(
        "import", help="turn a browser recording (HAR, or a DevTools Recorder JSON export) into a scenario",
        description=__doc__.strip().splitlines()[0], epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("file", help="the recording; - reads standard input")
    command.add_argument("--keep-host", action="append", default=[], metavar="HOST",
                         help="keep requests to HOST (host or host:port) as well, repeatable; by default only "
                              "the host of the first page is kept")
    command.add_argument("--name", help="the journey's name (default: the Recorder's title, or the site's host)")
    command.add_argument("-o", "--output", metavar="FILE", help="write the scenario to FILE (default: stdout)")
    command.set_defaults(handler=run)


def _load(path: str):
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_RECORDING + 1)
        else:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_RECORDING + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_RECORDING:
        raise ConfigError(f"{path}: larger than {MAX_RECORDING >> 20} MiB; save the HAR without content, or "
                          "record a shorter journey")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; a HAR file or a Recorder export is JSON") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON (line {exc.lineno} column {exc.colno}: {exc.msg}); a HAR file or "
                          "a Recorder export is JSON") from None


def draft(path: str, data, name: str | None, keep_hosts) -> tuple:
    """(draft, kind, dropped) of a parsed recording."""
    if isinstance(data, dict) and "log" in data:
        from urllib.parse import urlsplit

        from cxcheck.journey import har
        from cxcheck.journey.har_steps import draft_from_hits

        hits, origin, dropped, others = har.page_requests(har.read(data, path), keep_hosts)
        try:
            result = draft_from_hits(hits, origin, name or urlsplit(origin).hostname or "journey")
        except har.HarError as exc:
            raise har.HarError(f"{path}: {exc}") from None
        if others:
            result.notes.insert(0, "other hosts, left out (--keep-host HOST keeps one): " + ", ".join(sorted(others)))
        return result, "a HAR file", dropped
    if isinstance(data, dict) and "steps" in data:
        from cxcheck.journey.recorder import draft_from_flow

        return draft_from_flow(data, path, name, keep_hosts), "a Chrome DevTools Recorder export", Counter()
    raise ConfigError(f"{path}: neither a HAR file (log.entries) nor a Recorder export (title, steps)")


def render(result, source: str, kind: str, dropped: Counter, target: str) -> str:
    import yaml

    def dump(value, flow=None) -> str:
        return yaml.safe_dump(value, sort_keys=False, default_flow_style=flow, allow_unicode=True, width=110)

    envs = " ".join(f"{s.env}=..." for s in result.secrets)
    lines = [f"# Imported by `cxcheck scenario import` from {source} ({kind}): {len(result.steps)} steps.",
             "# Review it, try it once with a trace, then run it as the check will:",
             f"#   {envs + ' ' if envs else ''}cxcheck scenario check {target} --run",
             f"#   {envs + ' ' if envs else ''}check_cx_checkout --scenario {target}",
             "# --var base_url=URL aims it at another copy of the site (staging, a second region)."]
    if result.secrets:
        lines += ["#", "# Secrets are not in this file. Set these environment variables where the check runs",
                  "# (or pass the values with --var-env NAME=ENVVAR or --var-file NAME=PATH):"]
        lines += [f"#   {s.env:<24} {s.what}" for s in result.secrets]
    if dropped:
        from cxcheck.journey.har import SINGULAR

        left = ", ".join(f"{count} {SINGULAR.get(reason, reason) if count == 1 else reason}"
                         for reason, count in sorted(dropped.items(), key=lambda i: -i[1]))
        lines += ["#", f"# Left out of the recording: {left}."]
    if result.notes:
        lines += ["#", "# Notes:"] + [f"#   {note}" for note in result.notes]
    if result.untranslated:
        lines += ["#", "# Recorder steps not translated (an HTTP journey cannot replay them):"]
        lines += [f"#   step {number} ({step_type}): {reason}" for number, step_type, reason in result.untranslated]
    lines += ["", dump({"name": result.name}, False).rstrip(), "base_url: ${base_url}", "variables:"]
    secret_of = {s.variable: s for s in result.secrets}
    for variable, value in result.variables.items():
        line = "  " + dump({variable: value}, False).rstrip()
        if variable in secret_of:
            line += f"   # secret: set {secret_of[variable].env}"
        elif variable == "base_url":
            line += "   # --var base_url=URL to aim elsewhere"
        lines.append(line)
    lines.append("steps:")
    for step in result.steps:
        step = {k: v for k, v in step.items() if v not in ({}, None)}
        body = dump([step]).rstrip().splitlines()
        lines += [""] + [f"  {line}" for line in body]
    return "\n".join(lines) + "\n"


def validate(text: str, source: str):
    """The scenario as `cxcheck scenario check` reads it; an error here is a bug of the importer."""
    import yaml

    from cxcheck.journey.results import check_references
    from cxcheck.journey.scenario import from_dict

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"the imported scenario is not valid YAML ({exc}); a bug: please report") from None
    scenario = from_dict(data, source=source)
    check_references(scenario, set())
    return scenario


def run(args) -> int:
    from cxcheck.journey.scenario import MAX_STEPS

    try:
        result, kind, dropped = draft(args.file, _load(args.file), args.name, args.keep_host)
        if not result.steps:
            raise ConfigError(f"{args.file}: nothing in the recording becomes a step (see --keep-host)")
        if len(result.steps) > MAX_STEPS:
            raise ConfigError(f"{args.file}: {len(result.steps)} page requests, more than the {MAX_STEPS} steps a "
                              "journey may have: record a shorter journey, or split it")
        result.scrub()
        target = args.output or "FILE"
        text = render(result, input_name(args.file), kind, dropped, target)
        leaked = result.leaked(text)
        if leaked:
            raise ConfigError(f"the value of {leaked[0].env} would be written out; not writing (a bug: please report)")
        validate(text, target)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 3
    else:
        sys.stdout.write(text)
    summary = f"imported {len(result.steps)} steps from {args.file}" + (f" into {args.output}" if args.output else "")
    if result.secrets:
        summary += "; set " + ", ".join(s.env for s in result.secrets) + " before running it"
    if result.untranslated:
        summary += f"; {len(result.untranslated)} Recorder steps not translated (listed at the top)"
    print(summary, file=sys.stderr)
    return 0
