"""`cxcheck`: the things that are not checks.

  cxcheck demo [--serve] [--access-log PATH]   the demo shop and every plugin run against it
  cxcheck scenario check FILE [--run]    validate a scenario; with --run, run it and trace each step
  cxcheck scenario import RECORDING      a browser recording (HAR, DevTools Recorder JSON) as a scenario
  cxcheck config PLUGIN [OPTIONS]        the service definition for Nagios, Icinga 2 or Centreon
  cxcheck worker [--query-socket PATH]   run the plugins for a Nagios 4 core as its check worker
"""

from __future__ import annotations

import argparse
import os
import sys

from cxcheck import __version__, runtime


def _scenario_parser(sub):
    scenario = sub.add_parser("scenario", help="work with scenario files")
    verbs = scenario.add_subparsers(dest="verb", required=True)
    check = verbs.add_parser("check", help="validate a scenario file; --run runs it once with a trace")
    check.add_argument("file")
    check.add_argument("--run", action="store_true", help="run the journey and print a per-step trace")
    check.add_argument("-t", "--timeout", type=runtime.timeout_seconds, default=30.0, metavar="SECONDS")
    from cxcheck.bases.journey_checks import add_variable_options

    add_variable_options(check)
    # The same TLS/proxy/header options as the plugins, so a trace matches what a check sees.
    runtime.add_http_arguments(check.add_argument_group("HTTP and TLS"))
    from cxcheck.scenario_import import add_import_parser

    add_import_parser(verbs)


def scenario_check(args) -> int:
    from cxcheck.bases.journey_checks import variables_from_args
    from cxcheck.journey.results import check_references, trace_lines
    from cxcheck.journey.runner import Journey
    from cxcheck.journey.scenario import load

    runtime.install_masking()
    # The same bounds as a check: files and requests inside -t, Ctrl-C answered with one line.
    deadline = runtime.Deadline(args.timeout)

    def end(text: str, code: int):
        print(text, flush=True)
        from cxcheck.runtime import processes

        processes.end_all()                 # a browser's, when the scenario ran in one
        os._exit(code)

    backstop = runtime.Backstop(deadline, lambda: end(f"{args.file}: timed out after {args.timeout:g} s", 2),
                                lambda signum: end(f"{args.file}: stopped by {signum.name}", 3))
    backstop.arm()
    try:
        scenario = load(args.file)
        plain, secret = variables_from_args(args)
        if not args.run:
            # Variables given only at run time (--var) are fine; extracted ones must come first.
            check_references(scenario, set(plain) | set(secret) | _run_time_names(scenario))
            print(f"{args.file}: OK, journey {scenario.name!r} with {len(scenario.steps)} steps: "
                  + ", ".join(s.name for s in scenario.steps))
            return 0
        if scenario.browser:
            from cxcheck.journey.browser_runner import BrowserJourney

            journey = BrowserJourney(scenario, deadline, overrides=plain, secret_overrides=secret,
                                     browser_options={"insecure": args.insecure})
        else:
            journey = Journey(scenario, runtime.HttpOptions.from_args(args), deadline,
                              overrides=plain, secret_overrides=secret)
        try:
            result = journey.run()
        except runtime.DeadlineExceeded:
            print(f"{args.file}: timed out after {args.timeout:g} s")
            return 2
    except (runtime.ConfigError, runtime.SourceError) as exc:
        print(f"error: {exc}")
        return 3
    finally:
        backstop.release()
    for line in trace_lines(result, with_variables=True):
        print(line)
    verdict = "completed" if result.ok else f"FAILED at step {result.failed.name}"
    print(f"journey {scenario.name!r} {verdict} in {result.total:.3f} s")
    return 0 if result.ok else 2


def _run_time_names(scenario) -> set:
    """Names a scenario may leave to --var at run time: every reference not extracted by a step."""
    from cxcheck.journey.variables import references

    names = references(scenario.base_url or "")
    for step in scenario.steps:
        names |= references(step.inputs())
    extracted = {name for step in scenario.steps for name in getattr(step, "extract", {})}
    return names - extracted


def build_parser() -> argparse.ArgumentParser:
    from cxcheck.runtime.options import SuggestingParser

    parser = SuggestingParser(prog="cxcheck", description=__doc__.strip().splitlines()[0],
                                     epilog=__doc__.split("\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"cxcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start the demo shop and run every plugin against it")
    demo.add_argument("--serve", action="store_true", help="keep the shop up and print commands to try")
    demo.add_argument("--port", type=int, default=0, help="port for --serve (default: a free one)")
    demo.add_argument("--access-log", metavar="PATH",
                      help="append each request to PATH as nginx logs it (combined, then $request_time)")
    _scenario_parser(sub)
    from cxcheck.engines.config import add_config_parser

    add_config_parser(sub)
    from cxcheck.worker.cli import add_arguments as add_worker_arguments

    add_worker_arguments(sub.add_parser("worker", help="run the plugins for a Nagios 4 core as its check worker"))
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if getattr(args, "handler", None):         # subcommands that live in their own module
        sys.exit(args.handler(args))
    if args.command == "demo":
        from cxcheck.demo.cli import demo

        sys.exit(demo(serve=args.serve, port=args.port, access_log=args.access_log))
    if args.command == "worker":
        from cxcheck.worker.cli import run

        sys.exit(run(args))
    sys.exit(scenario_check(args))


if __name__ == "__main__":
    main()
