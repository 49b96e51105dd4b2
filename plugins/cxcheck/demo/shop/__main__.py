"""python -m cxcheck.demo.shop: serve the demo shop until Ctrl-C or SIGTERM (SIGUSR1 reopens the
access log after a rotation, as it does for nginx)."""

from __future__ import annotations

import argparse
import signal
import sys

from cxcheck.demo.shop.server import DemoShop, StartError


def reopen(shop: DemoShop) -> None:
    try:
        shop.reopen_access_log()
    except OSError as error:              # the old file stays in use; the shop keeps serving
        print(f"cannot reopen access log {error.filename}: {error.strerror}", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxcheck.demo.shop", description="Serve the demo shop.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port (default 8080)")
    parser.add_argument("--latency", action="append", default=[], metavar="PATH=SECONDS",
                        help="add latency to paths under PATH (repeatable)")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of orders declined, 0..1")
    parser.add_argument("--fail-every", type=int, default=0, metavar="N", help="decline exactly every Nth order")
    parser.add_argument("--seed", type=int, help="seed for --failure-rate")
    parser.add_argument("--echo-password", action="store_true", help="echo a rejected password into the page")
    parser.add_argument("--access-log", metavar="PATH",
                        help="append each request to PATH in nginx's combined format plus $request_time")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    faults = {"failure_rate": args.failure_rate, "fail_every": args.fail_every, "seed": args.seed,
              "echo_password": args.echo_password, "latency": {}}
    for item in args.latency:
        path, sep, seconds = item.partition("=")
        try:
            faults["latency"][path] = float(seconds)
        except ValueError:
            sep = ""
        if not sep or not path.startswith("/"):
            parser.error(f"--latency wants PATH=SECONDS, e.g. /accounts/=0.5, not {item!r}")
    try:
        shop = DemoShop(args.host, args.port, faults, verbose=args.verbose, access_log=args.access_log)
    except ValueError as error:
        parser.error(str(error))
    # SIGTERM ends the process as Ctrl-C does, so the with-block closes the socket either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGUSR1, lambda *_: reopen(shop))
    try:
        with shop:
            print(f"serving on {shop.url}", flush=True)
            while not shop.stopping.wait(3600):
                pass
    except KeyboardInterrupt:
        pass
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
