"""Class 4 of issue 9: every input is bounded in size, time and memory.

Secret, variable, scenario and export files and standard input are read with a cap and inside
the deadline: /dev/zero, a FIFO nobody writes, /proc/self/mem and a closed standard input each
give one UNKNOWN line by -t. A hostile 4 MB page is parsed in bounded time and memory; YAML alias
bombs and doubling variables are refused as configuration errors, not by the deadline; JSON
nested 100,000 deep is a clear UNKNOWN.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import MODULES, ROOT, past_the_imports, plugin_env, run_plugin, run_until

LOGIN = ["-u", "http://127.0.0.1:9/login", "--username", "u"]
CHECKOUT_SCENARIO = str(ROOT / "templates" / "scenarios" / "shop-checkout-html.yaml")
FORM = ('<html><form id="f" method="post" action="/login"><input type="email" name="user">'
        '<input type="password" name="pw"><button name="go" value="1">Go</button></form>')
DEEP_JSON = "[" * 100_000 + "]" * 100_000
# -t of the runs that wait on a FIFO nobody writes: time for a fresh interpreter to reach the FIFO on
# a loaded machine (with 1 s, beside two CPU hogs, the deadline once came during the imports; with
# 2 s, once in CI's run: then a longer -t).
WAITS = (2, 4, 8)


def assert_unknown(result, name: str, text: str, timed: bool = False):
    assert result.code == 3, result.stdout
    assert result.status == f"CX {name} UNKNOWN - {text}", result.stdout
    assert result.stderr == "" and len(result.stdout.splitlines()) == 1
    if timed:                               # the run's deadline, judged against its Reference
        assert result.reference is not None and result.overrun < 0.75


def waiting(name: str, *args: str):
    """A run that waits on a FIFO nobody writes, by its -t; tried longer when a busy machine ended
    it in the imports, before it reached the FIFO. The result and its -t."""
    return run_until(past_the_imports, lambda seconds: run_plugin(name, *args, "-t", str(seconds), reference=seconds),
                     deadlines=WAITS)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return str(path)


# -- secret and variable files -------------------------------------------------------------------

def test_password_file_that_never_ends():
    result = run_plugin("check_cx_login", *LOGIN, "--password-file", "/dev/zero")
    assert_unknown(result, "LOGIN", "password file /dev/zero is larger than 64 KiB")


def test_password_file_nobody_writes(fifo):
    result, _ = waiting("check_cx_login", *LOGIN, "--password-file", fifo)
    assert_unknown(result, "LOGIN", f"cannot read password file {fifo}: nothing opened it for writing within "
                                     "the deadline (a FIFO without a writer?)", timed=True)


def test_password_file_that_cannot_be_read():
    result = run_plugin("check_cx_login", *LOGIN, "--password-file", "/proc/self/mem")
    assert_unknown(result, "LOGIN", "cannot read password file /proc/self/mem: Input/output error")


def test_empty_password_file(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = run_plugin("check_cx_login", *LOGIN, "--password-file", str(empty))
    assert_unknown(result, "LOGIN", f"password file {empty} is empty")


def test_variable_file_that_never_ends():
    result = run_plugin("check_cx_checkout", "--scenario", CHECKOUT_SCENARIO, "--var", "base_url=http://127.0.0.1:9",
                        "--var-file", "password=/dev/zero")
    assert_unknown(result, "CHECKOUT", "variable password file /dev/zero is larger than 64 KiB")


def test_file_reference_nobody_writes(tmp_path, fifo):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: s\nbase_url: http://127.0.0.1:9\nvariables:\n  pw: ${{file:{fifo}}}\n"
                        "steps:\n  - get: /\n    headers: {X-Pw: '${pw}'}\n")
    result, _ = waiting("check_cx_checkout", "--scenario", str(scenario))
    assert_unknown(result, "CHECKOUT", f"{scenario}: variable 'pw': ${{file:{fifo}}}: cannot read file {fifo}: "
                                       "nothing opened it for writing within the deadline (a FIFO without a writer?)",
                   timed=True)


# -- scenario files ------------------------------------------------------------------------------

def test_scenario_nobody_writes(fifo):
    result, _ = waiting("check_cx_login", "--scenario", fifo)
    assert_unknown(result, "LOGIN", f"cannot read scenario {fifo}: nothing opened it for writing within the "
                                    "deadline (a FIFO without a writer?)", timed=True)


def test_scenario_that_never_ends():
    result = run_plugin("check_cx_login", "--scenario", "/dev/zero")
    assert_unknown(result, "LOGIN", "scenario /dev/zero is larger than 1 MiB")


def test_yaml_alias_bomb(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    laughs = "".join(f"  {b}: &{b} [*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a}]\n"
                     for a, b in zip("abcdefgh", "bcdefghi"))
    bomb.write_text("name: lol\nbase_url: http://127.0.0.1:9\nvariables:\n  a: &a lol\n" + laughs
                    + "steps:\n  - get: /\n    json: *i\n")
    result = run_plugin("check_cx_checkout", "--scenario", str(bomb), "-t", "30")
    assert_unknown(result, "CHECKOUT", f"{bomb}: more than 100000 values once its YAML aliases are expanded "
                                       "(an alias bomb?)")


def test_variables_that_double(tmp_path):
    scenario = tmp_path / "double.yaml"
    doubling = "".join(f"  v{n + 1}: '${{v{n}}}${{v{n}}}'\n" for n in range(60))
    scenario.write_text("name: d\nbase_url: http://127.0.0.1:9\nvariables:\n  v0: xxxxxxxx\n" + doubling
                        + "steps:\n  - get: /\n    headers: {X-Big: '${v60}'}\n")
    result = run_plugin("check_cx_checkout", "--scenario", str(scenario), "-t", "30")
    assert_unknown(result, "CHECKOUT", f"{scenario}: variable 'v17': substituting variables makes a value longer "
                                       "than 1024 KiB (variables that double?)")


# -- exports and standard input ------------------------------------------------------------------

def run_closed_stdin(name: str, *args: str):
    """The plugin with its standard input closed (`<&-`), as some schedulers start it."""
    command = ["sh", "-c", 'exec "$@" <&-', "sh", sys.executable, "-m", MODULES[name], *args]
    proc = subprocess.run(command, capture_output=True, text=True, env=plugin_env(), timeout=60)
    from conftest import PluginRun

    return PluginRun(proc.returncode, proc.stdout, proc.stderr, 0.0)


@pytest.mark.parametrize("option", ["--csv", "--jsonl"])
def test_export_from_a_closed_stdin(option):
    result = run_closed_stdin("check_cx_nps", option, "-")
    assert_unknown(result, "NPS", "cannot read standard input: it is closed")


@pytest.mark.parametrize("option", ["--csv", "--jsonl"])
def test_export_nobody_writes(fifo, option):
    result, _ = waiting("check_cx_nps", option, fifo)
    assert_unknown(result, "NPS", f"cannot read {fifo}: nothing opened it for writing within the deadline "
                                  "(a FIFO without a writer?)", timed=True)


@pytest.mark.parametrize("option, text", [
    ("--csv", "/dev/zero: the first line is longer than 1024 KB, not the header of an export"),
    ("--jsonl", "/dev/zero: line 1 is longer than 1024 KB, not JSON Lines"),
])
def test_export_that_never_ends(option, text):
    assert_unknown(run_plugin("check_cx_nps", option, "/dev/zero"), "NPS", text)


@pytest.mark.parametrize("option", ["--csv", "--jsonl"])
def test_export_that_cannot_be_read(option):
    result = run_plugin("check_cx_nps", option, "/proc/self/mem")
    assert_unknown(result, "NPS", "cannot read /proc/self/mem: Input/output error")


# -- JSON nested 100,000 deep --------------------------------------------------------------------

def test_deeply_nested_json_in_a_journey(site, tmp_path):
    api = site({"/deep": (200, {"Content-Type": "application/json"}, DEEP_JSON)})
    scenario = tmp_path / "deep.yaml"
    scenario.write_text(f"name: deep\nbase_url: {api.url}\nsteps:\n  - get: /deep\n    expect: {{json: {{'[0]': 1}}}}\n")
    result = run_plugin("check_cx_checkout", "--scenario", str(scenario))
    assert_unknown(result, "CHECKOUT", f"response of {api.url}/deep is JSON nested too deeply to read")


def test_deeply_nested_json_from_an_api(site):
    api = site({"/responses": (200, {"Content-Type": "application/json"}, DEEP_JSON)})
    result = run_plugin("check_cx_nps", "--json-url", api.url + "/responses")
    assert_unknown(result, "NPS", f"response of {api.url}/responses is JSON nested too deeply to read")


def test_deeply_nested_json_line_is_rejected_and_counted(tmp_path):
    export = tmp_path / "deep.jsonl"
    good = '{"score": 10, "created_at": "2026-10-30T10:00:00Z"}\n'
    export.write_text(good * 40 + DEEP_JSON + "\n")
    result = run_plugin("check_cx_nps", "--jsonl", str(export), "--now", "2026-11-01T00:00:00Z")
    assert result.code == 0, result.stdout
    assert "1 rejected: JSON nested too deeply (line 41)" in result.long_output
    assert result.perfdata["rejected"][0] == "1c"


# -- a hostile page ------------------------------------------------------------------------------

def peak_run(name: str, *args: str, env=None, tmp_path) -> tuple[subprocess.CompletedProcess, int]:
    """The plugin run as the engine runs it, with its own peak resident size (VmHWM, kB)."""
    probe = tmp_path / "peak.py"
    probe.write_text(                   # run as a program, it ends with os._exit: read the peak there
        "import os, runpy, sys\n"
        "def peak(code, exit=os._exit):\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "    sys.stderr.write('peak_kb=%s\\n' % hwm)\n"
        "    sys.stderr.flush()\n"
        "    exit(code)\n"
        "os._exit = peak\n"
        f"sys.argv = [{name!r}] + sys.argv[1:]\n"
        f"runpy.run_module({MODULES[name]!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, str(probe), *args], capture_output=True, text=True, timeout=120,
                          env=plugin_env(env))
    return proc, int(proc.stderr.rsplit("peak_kb=", 1)[1])


@pytest.mark.parametrize("garbage", ["<a ", "<a", '<div class="', "<!--", "<?", "</a", "<div>", "<form", "</form"])
def test_hostile_page_is_parsed_in_bounded_time_and_memory(site, tmp_path, garbage):
    page = FORM + garbage * ((4_000_000 - len(FORM)) // len(garbage))
    server = site({"/login": (200, {"Content-Type": "text/html"},
                              lambda handler, body: page if handler.command == "GET" else "<p>Welcome</p>")})
    proc, peak_kb = peak_run("check_cx_login", "-u", server.url + "/login", "--username", "u", "--password-env",
                             "CX_PW", "-t", "20", env={"CX_PW": "correct-horse"}, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("CX LOGIN OK - logged in as u*** in ")
    assert peak_kb < 120 * 1024, f"peak {peak_kb} kB for a 4 MB page"       # 50-78 MB measured


@pytest.mark.parametrize("page, fields", [
    ('<div><form id="a"><div><input name="u"></div></div><input name="after"></form>', ["u", "after"]),
    ('<div><form id="a"><input name="u"></form></div><input name="outside">', ["u"]),
    ('<table><form id="a"><tr><td><input name="u"></td></tr></form></table>', ["u"]),
    ('<script>w("<form id=x><input name=z></form>")</script><FORM ID="a"><input name="u"></FORM >', ["u"]),
])
def test_the_linear_parser_keeps_fields_with_their_form_as_browsers_do(page, fields):
    """libxml2 would close a form with the element it was opened in; browsers keep it open
    until its </form>, and so does parse_forms."""
    from cxcheck.journey.forms import parse_forms

    assert [(f.id, f.field_names()) for f in parse_forms(page)] == [("a", fields)]
