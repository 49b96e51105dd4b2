"""`cxcheck worker`: options, where the core's socket is, and the start of the worker."""

from __future__ import annotations

import argparse
import gc
import os

from cxcheck.runtime.options import non_negative_float, positive_float, positive_int

DEBIAN_NAGIOS_CFG = "/etc/nagios4/nagios.cfg"
DEBIAN_QUERY_SOCKET = "/var/lib/nagios4/rw/nagios.qh"     # nagios4-core's compiled-in default

DESCRIPTION = """\
Run cxcheck's plugins for a Nagios 4 core (or Naemon) as a check worker: the core hands every
check_cx_* command to this process through its query handler socket, and each check runs in a
warm child of a process that has imported everything once, instead of a new interpreter.
Output and exit code are those of the same command run as a process."""

EPILOG = """\
examples:
  cxcheck worker                                    # reads query_socket from /etc/nagios4/nagios.cfg
  cxcheck worker --query-socket /var/lib/nagios4/rw/nagios.qh -v
  cxcheck worker --plugin-dir /usr/local/lib/nagios/plugins --max-children 64

Run it as the core's user (the socket is mode 0660). The Debian package ships the systemd unit
cxcheck-worker.service: systemctl enable --now cxcheck-worker."""


def add_arguments(parser: argparse.ArgumentParser):
    parser.description, parser.epilog = DESCRIPTION, EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--query-socket", metavar="PATH", help="the core's query handler socket")
    where.add_argument("--nagios-cfg", metavar="PATH",
                       help=f"read query_socket from this main configuration file (default {DEBIAN_NAGIOS_CFG})")
    parser.add_argument("--plugin-dir", metavar="DIR", action="append", dest="plugin_dirs",
                        help="where commands name the plugins ($USER1$), repeatable (default "
                             "/usr/lib/nagios/plugins); commands are routed by plugin name as well")
    parser.add_argument("--max-children", type=positive_int, default=32, metavar="N",
                        help="checks running at a time; more wait for a free child (default 32)")
    parser.add_argument("--jobs-per-child", type=positive_int, default=1000, metavar="N",
                        help="checks a child runs one after another before it exits (default 1000); what a "
                             "check changes in the process is put back before the next, and a child a check "
                             "left something in (a thread, an open file) is replaced. 1: a fresh fork for "
                             "every check, at several times the CPU")
    parser.add_argument("--name", default="cxcheck", help="the worker's name in the core's log (default cxcheck)")
    parser.add_argument("--max-backoff", type=positive_float, default=10.0, metavar="SECONDS",
                        help="longest wait between attempts to reach the core (default 10)")
    parser.add_argument("--drain", type=non_negative_float, default=20.0, metavar="SECONDS",
                        help="on SIGTERM or SIGINT, answer the jobs in flight for up to this long first "
                             "(default 20; a second signal stops at once)")
    parser.add_argument("--fd-store", action="store_true",
                        help="keep the connections to the core in the service manager's file descriptor "
                             "store, so that a restart hands them, and the jobs that came meanwhile, to the "
                             "next worker: no check is lost (systemd FileDescriptorStoreMax=, as the packaged "
                             "unit sets it; on by itself where systemd says $FDSTORE)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="-v a line per job on stderr, -vv in the core's log too, -vvv debugging")


class SetupError(Exception):
    """The worker cannot start: one line for the administrator."""


def query_socket(args) -> str:
    """--query-socket, or query_socket from the core's configuration file (the core's default
    when the file does not set it)."""
    if args.query_socket:
        return args.query_socket
    path = args.nagios_cfg or DEBIAN_NAGIOS_CFG
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise SetupError(f"cannot read {path}: {exc.strerror or exc} (give --query-socket or --nagios-cfg)") from None
    found = DEBIAN_QUERY_SOCKET
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "query_socket" and not line.lstrip().startswith("#"):
            found = value.strip()
    return found


def run(args) -> int:
    from cxcheck.worker import handover, registry
    from cxcheck.worker.log import Log
    from cxcheck.worker.loop import Worker
    from cxcheck.worker.protocol import register_request

    log = Log(args.verbose)
    notifier = handover.Notifier()
    notifier.fd_store = args.fd_store or os.environ.get("FDSTORE", "0") not in ("", "0")
    passed = handover.listen_fds()
    try:
        path = query_socket(args)
        register_request(args.name, "check_cx", 1)
        if notifier.fd_store and not notifier.present:
            raise SetupError("--fd-store needs a service manager (no NOTIFY_SOCKET in the environment)")
    except (SetupError, ValueError) as exc:
        log.info(f"error: {exc}")
        return 2
    for what in registry.preload():
        log.info(f"could not preload {what}: runs that use it will import it themselves")
    broken = []
    plugins = registry.discover(broken)
    for what in broken:
        log.info(f"not serving {what}: the core runs that plugin itself")
    keys = {}
    for key, name in registry.routing_keys(plugins, args.plugin_dirs or registry.DEFAULT_PLUGIN_DIRS).items():
        try:
            register_request(f"{args.name}:{key}", key, 1)
            keys[key] = name
        except ValueError as exc:
            log.info(f"not registering {key!r}: {exc}")
    if not keys:
        log.info("error: no plugin to serve")
        return 2
    # Everything imported so far is kept out of the collector's reach: a child's collections then
    # never touch (and copy) the parent's pages.
    gc.collect()
    gc.freeze()
    worker = Worker(path, plugins, keys, args.name, args.max_children, log, max_backoff=args.max_backoff,
                    drain=args.drain, jobs_per_child=args.jobs_per_child, notifier=notifier)
    log.info(f"starting (pid {os.getpid()}): {len(plugins)} plugins, core socket {path}")
    return worker.run(passed)
