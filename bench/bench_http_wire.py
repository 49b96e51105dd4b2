"""CPU of a login's requests through each wire, and of a whole check_cx_login run, in one warm process.

What a warm `cxcheck worker` child spends per check, without the core around it: the demo shop
runs in its own process (its CPU is not counted), this process logs in again and again and reads
its own CPU (time.process_time). Three rows, interleaved round by round:

- urllib3: the login's three requests (GET the page, POST the form, follow its redirect) through
  fetch() on a session whose wire is urllib3 (requests' adapter, as before http_direct);
- direct: the same through the session the checks get (http_direct's wire);
- check_cx_login: the whole plugin run, in process (options, journey, nagiosplugin, output).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import time

import lib

sys.path.insert(0, str(lib.PLUGINS))

from cxcheck.demo.shop import DEMO_ACCOUNTS
from cxcheck.http import fetch, new_session
from cxcheck.http_contact import NotingAdapter
from cxcheck.runtime import Deadline, HttpOptions

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def login_requests(url: str, username: str, password: str, through_urllib3: bool):
    session = new_session(HttpOptions())
    if through_urllib3:
        session.mount("http://", NotingAdapter())
    try:
        page = fetch(session, "GET", url, Deadline(10))
        token = CSRF.search(page.text).group(1)
        done = fetch(session, "POST", url, Deadline(10), data={"csrfmiddlewaretoken": token,
                                                                "login-username": username, "login-password": password})
        assert done.status == 200 and len(done.hops) == 2, (done.status, done.hops)
    finally:
        session.close()


def whole_check(url: str, username: str):
    from cxcheck.checks import login

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        login.main(["-u", url, "--username", username, "--password-env", "BENCH_PASSWORD"])
    assert " OK - " in out.getvalue(), out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--logins", type=int, default=200, help="logins a round, a row (default 200)")
    args = parser.parse_args(argv)
    username, password = next(iter(DEMO_ACCOUNTS.items()))
    os.environ["BENCH_PASSWORD"] = password
    shop = subprocess.Popen([sys.executable, "-m", "cxcheck.demo.shop", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(lib.PLUGINS)})
    try:
        url = shop.stdout.readline().split()[-1] + "/accounts/login/"
        rows = {"urllib3": lambda: login_requests(url, username, password, True),
                "direct": lambda: login_requests(url, username, password, False),
                "check_cx_login": lambda: whole_check(url, username)}
        samples = {name: [] for name in rows}
        for number in range(args.rounds + 1):
            for name, run in rows.items():
                started = time.process_time()
                for _ in range(args.logins):
                    run()
                if number:                          # round 0 warms up
                    samples[name].append((time.process_time() - started) / args.logins)
    finally:
        shop.kill()
        shop.wait()
    print(f"CPU per login in one warm process ({args.rounds} rounds of {args.logins}, medians; "
          f"load {os.getloadavg()[0]:.2f}):")
    for name, values in samples.items():
        print(f"  {name:15} {lib.spread(values, 1000, 2)} ms")
    ratios = [d / u for d, u in zip(samples["direct"], samples["urllib3"])]
    print(f"  direct / urllib3: {lib.median(ratios):.2f} (median of rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
