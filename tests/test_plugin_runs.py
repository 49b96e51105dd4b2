"""A plugin run in a fork of the fork server (tests/forkserver.py) is the process `python -m` would
start: what the process sees of itself (tests/process_facts.py: argv, environment, directory,
descriptors, signal dispositions as the kernel has them, standard streams, limits, logging,
warnings, secrets), how it leaves (exit codes, an uncaught exception, threads and atexit, an
uncaught Ctrl-C, SIGALRM), and what every plugin says for representative runs: the same exit
code, stdout and stderr both ways (measured durations aside: they differ run to run)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT, need_browser, run_module, run_plugin
from weblogs import REQUESTS, nginx, write

HERE = str(Path(__file__).resolve().parent)
DATA = ROOT / "plugins" / "cxcheck" / "demo" / "data"
SCENARIOS = ROOT / "templates" / "scenarios"
NOW = "2026-11-01T00:00:00Z"
ACCOUNT, PASSWORD = "shopper@example.com", "correct-horse-battery"
# What only the preload adds: a process that imports requests (every HTTP plugin) has these too.
PRELOADED_FILTERS = [["ignore", None, "DependencyWarning", None, 0], ["always", None, "SecurityWarning", None, 0],
                     ["default", None, "InsecurePlatformWarning", None, 0], ["default", None, "FileModeWarning", None, 0]]


def both(module, *args, **options):
    """The same run as a process and in a fork."""
    return (run_module(module, *args, process=True, **options), run_module(module, *args, **options))


def said(run) -> tuple:
    return run.code, run.stdout, run.stderr


def test_a_fork_sees_what_a_process_sees(tmp_path):
    env = {"FACTS_PGRP": str(os.getpgrp()), "TZ": "America/New_York", "TMPDIR": str(tmp_path)}
    process, fork = both("process_facts", "requests", "facts", env=env, stdin="in\r\nput", cwd=HERE)
    assert process.code == 0, process.stderr
    assert said(fork) == said(process)
    facts = json.loads(fork.stdout)
    assert facts["environ"] == {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                                "PYTHONPATH": str(ROOT / "plugins"), "HOME": os.environ.get("HOME", "/root")}
    assert facts["fds"] == {"0": "pipe", "1": "pipe", "2": "pipe"}
    assert facts["threads"] == ["MainThread"] and facts["status"]["Threads"] == "1"
    assert facts["stdin_text"] == "in\r\nput" and facts["pgrp_is_the_tests"]


def test_what_only_the_preload_changes():
    """Without requests imported, a fork still has its warning filters (the one difference)."""
    process, fork = both("process_facts", "facts", cwd=HERE)
    facts = {"process": json.loads(process.stdout), "fork": json.loads(fork.stdout)}
    filters = facts["fork"].pop("warnings")
    assert sorted(filters) == sorted(facts["process"].pop("warnings") + PRELOADED_FILTERS)
    assert facts["fork"] == facts["process"]


@pytest.mark.parametrize("way_out", ["exit=3", "exit=300", "exit-text", "raise", "thread", "atexit", "unflushed",
                                     "interrupt", "alarm"])
def test_a_fork_leaves_as_a_process_does(way_out):
    process, fork = both("process_facts", way_out, cwd=HERE)
    assert said(fork) == said(process)


@pytest.mark.parametrize("process", [True, False], ids=["process", "fork"])
def test_the_tests_timeout_ends_the_run(process):
    """run_plugin(timeout=...) kills what outlives it and raises, as subprocess.run does."""
    with pytest.raises(subprocess.TimeoutExpired) as timed_out:
        run_module("process_facts", "hang", timeout=1, process=process, cwd=HERE)
    pid = int(timed_out.value.output.split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_nothing_a_run_leaves_reaches_the_next(monkeypatch, tmp_path):
    """A run that registers a secret, adds log handlers, changes its environment, directory,
    umask, signals and warnings, and leaves a descriptor open; and a test process that does the
    same: the next fork sees none of it."""
    fresh = run_module("process_facts", "facts", cwd=HERE)
    run_module("process_facts", "secret", cwd=HERE)
    from cxcheck.runtime.secrets import masker

    monkeypatch.setattr(masker, "_secrets", {"sekret-value-1234"})
    monkeypatch.setenv("LEFT_BEHIND", "1")
    monkeypatch.chdir(tmp_path)
    after = run_module("process_facts", "facts", cwd=HERE)
    assert said(after) == said(fresh)
    assert json.loads(after.stdout)["masked"] == "sekret-value-1234"


# ---------------------------------------------------------------------------------------------
# Every plugin, both ways

MEASURED = re.compile(r"\d+(\.\d+)?")
EXACT, TIMED, DEADLINE = "exact", "timed", "deadline"


def plugin_runs(shop_url: str, api_url: str, hang_url: str, log: str, state_dir: Path) -> dict[str, tuple]:
    """name -> (plugin, args, env, how to compare): representative runs of every plugin, OK to
    UNKNOWN, usage errors and a deadline. EXACT: code, stdout and stderr; TIMED: the numbers of
    stdout left out (durations differ run to run); DEADLINE: the code, stderr and that the run
    timed out (a server that never answers: the step's own timeout and the backstop's alarm fall
    due together, and which of their two lines is said depends on scheduling)."""
    shop = ["--var", f"base_url={shop_url}", "--var", f"email={ACCOUNT}", "--var-env", "password=SHOP_PW"]
    env = {"SHOP_PW": PASSWORD}
    login = ["-u", f"{shop_url}/accounts/login/", "--username", ACCOUNT, "--password-env", "SHOP_PW"]
    # The scenarios' step ranges out of reach of a busy machine: both runs say the same state.
    html_steps = relaxed("login", "payment", "place_order")
    api_steps = relaxed("api_login", "create_order")
    return {
        "login": ("check_cx_login", [*login, "-v"], env, TIMED),
        "login wrong password": ("check_cx_login", login, {"SHOP_PW": "wrong"}, TIMED),
        "login deadline": ("check_cx_login", ["-u", f"{hang_url}/login", "--username", "u", "--password-env",
                                              "SHOP_PW", "-t", "1"], env, DEADLINE),
        "checkout": ("check_cx_checkout", ["--scenario", str(SCENARIOS / "shop-checkout-html.yaml"), *shop, *html_steps,
                                           "-v"],
                     env, TIMED),
        "transaction synthetic": ("check_cx_transaction", ["--scenario", str(SCENARIOS / "shop-checkout-api.yaml"),
                                                           *shop, *api_steps, "--attempts", "2"], env, TIMED),
        "transaction json": ("check_cx_transaction", ["--json-url", f"{api_url}/stats", "--success-path", "ok",
                                                      "--total-path", "all", "-w", "99:"], {}, EXACT),
        "nps": ("check_cx_nps", ["--csv", str(DATA / "nps_sample.csv"), "--now", NOW, "-w", "30:", "-vv"], {}, EXACT),
        "nps usage": ("check_cx_nps", ["--csv", str(DATA / "nps_sample.csv"), "--window", "soon"], {}, EXACT),
        "nps help": ("check_cx_nps", ["--help"], {}, EXACT),
        "csat": ("check_cx_csat", ["--csv", str(DATA / "csat_sample.csv"), "--now", NOW, "-w", "95:"], {}, EXACT),
        "support": ("check_cx_support", ["--csv", str(DATA / "tickets_sample.csv"), "--now", NOW, "-w", "4h",
                                         "-v"], {}, EXACT),
        "support backlog": ("check_cx_support", ["--csv", str(DATA / "tickets_sample.csv"), "--now", NOW,
                                                 "--metric", "backlog", "--older-than", "24h", "-c", "5"], {}, EXACT),
        "apdex": ("check_cx_apdex", ["--log", log, "--state-file", str(state_dir / "apdex.json"), "-T", "0.5",
                                     "-w", "0.9:", "-v"], {}, EXACT),
        "apdex missing log": ("check_cx_apdex", ["--log", log + ".gone", "-T", "0.5"], {}, EXACT),
        "conversion": ("check_cx_conversion", ["--prometheus", api_url, "--entered-query", "entered",
                                               "--converted-query", "converted", "--window", "1h", "--now", NOW,
                                               "--no-compare", "-w", "30:"], {}, EXACT),
        "churn": ("check_cx_churn", ["--events-csv", str(DATA / "churn_sample.csv"), "--now", NOW, "--window", "30d",
                                     "-w", "5", "-c", "8", "--max-rise", "50", "--significant"], {}, EXACT),
        "page": ("check_cx_page", ["-u", f"{shop_url}/catalogue/", "-v"], {}, TIMED),
        "cxcheck config": ("cxcheck", ["config", "check_cx_nps", "--csv", "/var/lib/cx/nps.csv", "-w", "30:",
                                       "--engine", "icinga2"], {}, EXACT),
        "cxcheck version": ("cxcheck", ["--version"], {}, EXACT),
    }


def relaxed(*steps: str) -> list[str]:
    return [option for step in steps for option in ("--step-warning", f"{step}=60", "--step-critical", f"{step}=120")]


@contextmanager
def running_servers(shop_url: str, scratch: Path):
    """An API answering the JSON and Prometheus runs, a server that never answers, an access
    log: plugin_runs()'s first arguments."""
    from conftest import RawServer, Site

    def prometheus(handler, body):
        value = {"entered": "400", "converted": "100"}.get(re.search(r"query=(\w+)", handler.path).group(1))
        return json.dumps({"status": "success", "data": {"resultType": "vector",
                                                          "result": [{"metric": {}, "value": [1, value]}]}})

    json_type = {"Content-Type": "application/json"}
    api = Site({"/stats": (200, json_type, json.dumps({"ok": 97, "all": 100})),
                "/api/v1/query": (200, json_type, prometheus)})
    hang = RawServer(lambda conn, stop: stop.wait(30))
    log = write(scratch / "access.log", [nginx(*request) for request in REQUESTS])
    try:
        yield shop_url, api.url, hang.url, str(log)
    finally:
        api.stop()
        hang.stop()


@pytest.fixture(scope="module")
def servers(shop, tmp_path_factory):
    with running_servers(shop.url, tmp_path_factory.mktemp("logs")) as urls:
        yield urls


CASES = list(plugin_runs("", "", "", "", Path()))


@pytest.mark.parametrize("case", CASES)
def test_every_plugin_says_the_same_in_a_fork(servers, tmp_path, case):
    plugin, args, env, compare = plugin_runs(*servers, tmp_path)[case]
    if plugin == "check_cx_page":
        need_browser()
    process = run_plugin(plugin, *args, env=env, process=True)
    for state in tmp_path.iterdir():        # both runs start from no state
        state.unlink()
    fork = run_plugin(plugin, *args, env=env)
    if compare == EXACT:
        assert said(fork) == said(process)
    else:
        assert (fork.code, fork.stderr) == (process.code, process.stderr)
    if compare == TIMED:
        assert MEASURED.sub("N", fork.stdout) == MEASURED.sub("N", process.stdout)
    if compare == DEADLINE:
        assert all("timed out after 1 s" in run.text for run in (fork, process)), (fork.text, process.text)
    assert process.code in (0, 1, 2, 3) and process.stdout, process.stderr


def test_startup_variables_run_as_a_process():
    """A run that sets what an interpreter reads only at its start gets a fresh interpreter."""
    run = run_module("process_facts", "facts", env={"PYTHONDONTWRITEBYTECODE": "1"}, cwd=HERE)
    assert json.loads(run.stdout)["flags"]["dont_write_bytecode"] == 1
