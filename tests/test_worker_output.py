"""A check through `cxcheck worker` says byte for byte what the same command says run as a
process: stdout, stderr and exit code, for every check_cx_* plugin (the ones that exist when the
test runs, found as the worker finds them) and for each kind of answer (help, version, usage and
configuration errors, a real run against the demo shop, the plugin's own deadline, secrets from
the job's environment). Runs that print durations are compared with the numbers blanked out,
everything else exactly. The core is the protocol's other end on a private socket (worker_core)."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess

import pytest
from conftest import PLUGINS, ROOT, plugin_env
from engines import write_wrappers
from worker_core import WorkerAgainstCore

from cxcheck.worker import registry

pytestmark = pytest.mark.slow(seconds=23)   # its measured time: the longest files start first (conftest)

PLUGIN_NAMES = sorted(registry.discover())
PASSWORD_ENV = "CX_WORKER_PW"
SCENARIOS = ROOT / "templates" / "scenarios"
NPS_SAMPLE = PLUGINS / "cxcheck" / "demo" / "data" / "nps_sample.csv"


# A fresh fork per job; and one child running every job in turn (what one run leaves behind
# must not show in the next).
MODES = {"fork-per-job": ["--jobs-per-child", "1"], "one-child-for-all": ["--max-children", "1"]}


@pytest.fixture(scope="module", params=list(MODES))
def worker(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("worker")
    plugins = write_wrappers(workdir / "plugins")
    running = WorkerAgainstCore(workdir, plugins, 2 * len(PLUGIN_NAMES), "-v", *MODES[request.param],
                                env=plugin_env())
    running.plugins = plugins
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def password():
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    return DEMO_ACCOUNTS["shopper@example.com"]


def both(worker, argv: list[str], env: dict | None = None) -> tuple[tuple, tuple]:
    """(exit code, stdout, stderr) through the worker and run as a process, the same command line
    (the wrapper in the plugin directory, as $USER1$ would name it)."""
    command = " ".join(shlex.quote(str(a)) for a in [worker.plugins / argv[0], *argv[1:]])
    result = worker.job(command, env=env)
    assert result["exited_ok"] == b"1", result
    status = int(result["wait_status"])
    through = (status >> 8 if status & 0x7F == 0 else -status, result["outstd"], result["outerr"])
    proc = subprocess.run(shlex.split(command), capture_output=True, env=plugin_env(env), timeout=90,
                          stdin=subprocess.DEVNULL)
    return through, (proc.returncode, proc.stdout, proc.stderr)


def blank_numbers(run: tuple) -> tuple:
    """Durations (and the order numbers a journey gets) differ from run to run; the rest may not."""
    return tuple(re.sub(rb"\d+(\.\d+)?", b"N", part) if isinstance(part, bytes) else part for part in run)


@pytest.mark.parametrize("plugin", PLUGIN_NAMES)
@pytest.mark.parametrize("args", [["--help"], ["-V"], ["-w", "abc"], ["--no-such-option"]],
                         ids=["help", "version", "bad-range", "unknown-option"])
def test_every_plugin_answers_usage_alike(worker, plugin, args):
    through, process = both(worker, [plugin, *args])
    assert through == process
    assert through[1], "no output at all"


def test_nps_from_an_export_is_identical(worker):
    through, process = both(worker, ["check_cx_nps", "--csv", NPS_SAMPLE, "--now", "2026-11-01T00:00:00Z",
                                     "--window", "30d", "-w", "30:", "-c", "10:", "-v"])
    assert through == process
    assert through[1].startswith(b"CX NPS OK - NPS 32.6")


@pytest.mark.parametrize("plugin, args", [
    ("check_cx_login", ["-u", "http://127.0.0.1:9/login"]),                        # --username missing
    ("check_cx_checkout", ["--scenario", "/nonexistent/checkout.yaml"]),
    ("check_cx_transaction", ["--scenario", str(SCENARIOS / "shop-checkout-api.yaml"), "--attempts", "0"]),
    ("check_cx_nps", ["--csv", "/nonexistent/export.csv"]),
])
def test_configuration_errors_are_identical(worker, plugin, args):
    if plugin not in PLUGIN_NAMES:
        pytest.skip(f"{plugin} does not exist")
    through, process = both(worker, [plugin, *args])
    assert through == process
    assert through[0] == 3 and b" UNKNOWN - " in through[1]


def test_a_refused_connection_is_identical(worker, password):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    through, process = both(worker, ["check_cx_login", "-u", f"http://127.0.0.1:{port}/login", "--username",
                                     "shopper@example.com", "--password-env", PASSWORD_ENV],
                            env={PASSWORD_ENV: password})
    assert through == process
    assert through[1].startswith(b"CX LOGIN CRITICAL - ") and b"connection refused" in through[1]


def test_the_plugins_own_deadline_holds_in_a_child(worker, shop, password):
    # The SIGALRM backstop is per process: each child has its own. Run as a process, -t counts
    # from the process's start: on a busy machine its imports may take it all, stopping before the step (the line then names none):
    # a longer -t gets both to the hanging step, where their lines are compared.
    for seconds in (2, 5, 10):
        through, process = both(worker, ["check_cx_login", "-u", f"{shop.url}/fault/hang", "--username",
                                         "shopper@example.com", "--password-env", PASSWORD_ENV, "-t", str(seconds)],
                                env={PASSWORD_ENV: password})
        if all(b"failed at step login_page: timed out" in run[1] for run in (through, process)):
            break
    assert blank_numbers(through) == blank_numbers(process)
    assert through[0] == 2 and f"failed at step login_page: timed out after {seconds:g} s".encode() in through[1]


def test_a_login_is_identical_and_the_secret_from_the_jobs_environment_is_masked(worker, shop, password):
    argv = ["check_cx_login", "-u", f"{shop.url}/accounts/login/", "--username", "shopper@example.com",
            "--password-env", PASSWORD_ENV, "--then-url", "/accounts/", "--then-text", "shopper@example.com",
            "-w", "2", "-c", "5", "-vv"]
    through, process = both(worker, argv, env={PASSWORD_ENV: password})
    assert blank_numbers(through) == blank_numbers(process)
    assert through[1].startswith(b"CX LOGIN OK - logged in as s***@example.com")
    for run in (through, process):
        assert password.encode() not in run[1] + run[2]


def test_a_rejected_login_at_full_verbosity_is_identical(worker, shop):
    # The worker's own environment does not have the variable: the job's env brings it, as
    # Nagios does with enable_environment_macros.
    through, process = both(worker, ["check_cx_login", "-u", f"{shop.url}/accounts/login/", "--username",
                                     "shopper@example.com", "--password-env", PASSWORD_ENV, "-vvv"],
                            env={PASSWORD_ENV: "not-the-password"})
    assert blank_numbers(through) == blank_numbers(process)
    assert through[0] == 2 and b"the login page came back" in through[1]
    assert b"not-the-password" not in through[1] + through[2]


@pytest.mark.parametrize("plugin, scenario, extra", [
    ("check_cx_checkout", "shop-checkout-html.yaml", ["-w", "5", "-c", "10"]),
    ("check_cx_transaction", "shop-checkout-api.yaml", ["--attempts", "2"]),
])
def test_journeys_are_identical(worker, shop, password, plugin, scenario, extra):
    if plugin not in PLUGIN_NAMES:
        pytest.skip(f"{plugin} does not exist")
    through, process = both(worker, [plugin, "--scenario", SCENARIOS / scenario, "--var", f"base_url={shop.url}",
                                     "--var-env", f"password={PASSWORD_ENV}", *extra, "-v"],
                            env={PASSWORD_ENV: password})
    assert blank_numbers(through) == blank_numbers(process)
    assert through[0] == 0, through
    assert password.encode() not in through[1] + through[2]


def test_nothing_of_one_job_shows_in_the_next(worker, tmp_path):
    """The first job's secret ("127.0.0.1", masked where the address enters its output) and
    environment must not reach the second: in one child for all jobs, the registered secrets and
    the environment are put back between jobs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/login"
    first = ["check_cx_login", "-u", url, "--username", "x@example.com", "--password-env", PASSWORD_ENV]
    through, process = both(worker, first, env={PASSWORD_ENV: "127.0.0.1"})
    assert through == process and b"connection refused by ***:" in through[1]    # masked in its own output
    secret = tmp_path / "password"
    secret.write_text("not-example\n")
    for argv in (first, [*first[:-2], "--password-file", str(secret)]):
        through, process = both(worker, argv)                              # no environment this time
        assert through == process
    assert b"connection refused by 127.0.0.1:" in through[1] and b"***:" not in through[1]
