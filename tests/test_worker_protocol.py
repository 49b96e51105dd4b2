"""cxcheck.worker's pure parts, in-process: the Nagios 4.4.6 worker protocol's bytes (from
base/workers.c and lib/worker.c), the core's command-splitting rules (lib/runcmd.c) checked
against /bin/sh, which plugins the worker registers and where it finds the core's socket."""

from __future__ import annotations

import argparse
import shlex
import subprocess

import pytest
from engines import console_scripts
from hypothesis import given
from hypothesis import strategies as st

from cxcheck.worker import registry
from cxcheck.worker.cli import DEBIAN_QUERY_SOCKET, SetupError, query_socket
from cxcheck.worker.protocol import (
    DEFAULT_TIMEOUT,
    CommandError,
    MessageReader,
    ProtocolError,
    encode_result,
    log_message,
    parse_env,
    parse_job,
    register_request,
    split_command,
    timeval,
)

JOB = (b"job_id=17\0type=0\0command=/usr/lib/nagios/plugins/check_cx_login -u 'http://127.0.0.1/a b'\0"
       b"timeout=30\0\x01\0\0\0")


def test_registration_is_one_plugin_key_and_no_pid():
    assert register_request("cxcheck:check_cx_login", "check_cx_login", 32) == (
        b"@wproc register name=cxcheck:check_cx_login;max_jobs=32;plugin=check_cx_login\0")
    for bad in ("a;b", "with space", ""):
        with pytest.raises(ValueError):
            register_request("cxcheck", bad, 1)


def test_a_job_split_across_reads_and_two_jobs_in_one_read():
    reader = MessageReader()
    received = []
    for i in range(len(JOB)):                   # byte by byte: the end marker itself split too
        received += reader.feed(JOB[i:i + 1])
    assert received == [{"job_id": "17", "type": "0", "timeout": "30",
                         "command": "/usr/lib/nagios/plugins/check_cx_login -u 'http://127.0.0.1/a b'"}]
    two = reader.feed(JOB + JOB.replace(b"job_id=17", b"job_id=18"))
    assert [m["job_id"] for m in two] == ["17", "18"]


def test_a_value_keeps_equals_signs_and_newlines_and_odd_bytes():
    [message] = MessageReader().feed(b"command=check_cx_nps --var a=b=c\nnext \xff\0\x01\0\0\0")
    assert message["command"] == "check_cx_nps --var a=b=c\nnext \udcff"       # round-trips to the same bytes
    assert message["command"].encode("utf-8", "surrogateescape").endswith(b"\xff")


def test_garbage_and_endless_messages_are_protocol_errors():
    with pytest.raises(ProtocolError):
        MessageReader().feed(b"no separator\0\x01\0\0\0")
    with pytest.raises(ProtocolError):
        MessageReader(limit=100).feed(b"x=" + b"y" * 200)


def test_parse_job_defaults_and_env():
    job = parse_job({"job_id": "3", "type": "0", "command": "check_cx_login -V", "timeout": "0",
                     "env": "NAGIOS_HOSTNAME=shop\nNAGIOS_LONGSERVICEOUTPUT=line 1\nline 2\nCX_PW=a=b\n"})
    assert job.timeout == DEFAULT_TIMEOUT                     # the core's own worker does the same
    assert job.env == {"NAGIOS_HOSTNAME": "shop", "NAGIOS_LONGSERVICEOUTPUT": "line 1\nline 2", "CX_PW": "a=b"}
    assert parse_job({"job_id": "4", "command": "x", "timeout": "abc"}).timeout == DEFAULT_TIMEOUT
    with pytest.raises(ProtocolError):
        parse_job({"type": "0", "command": "check_cx_login"})
    assert parse_env("") == {}


def test_result_bytes_echo_the_job_and_cut_nuls():
    job = parse_job(MessageReader().feed(JOB)[0] | {"env": "SECRET=x\n"})
    data = encode_result(job, 2 << 8, 1700000000.25, 1700000000.5, b"CX LOGIN CRITICAL - x\x00hidden\nmore", b"")
    assert data == (b"job_id=17\0type=0\0command=/usr/lib/nagios/plugins/check_cx_login -u 'http://127.0.0.1/a b'\0"
                    b"timeout=30\0wait_status=512\0start=1700000000.250000\0stop=1700000000.500000\0"
                    b"runtime=0.250000\0exited_ok=1\0outerr=\0outstd=CX LOGIN CRITICAL - x\0\x01\0\0\0")
    assert b"SECRET" not in data                              # env is not echoed, as the core's worker does


def test_a_timeout_result_is_error_code_62():
    job = parse_job({"job_id": "5", "type": "0", "command": "check_cx_login", "timeout": "2"})
    data = encode_result(job, 9, 10.0, 12.0, b"", b"", error_code=62)
    assert b"\0exited_ok=0\0error_code=62\0" in data and b"wait_status=9\0" in data


def test_timeval_has_six_digit_microseconds_and_carries():
    assert timeval(1.5) == "1.500000"
    assert timeval(1700000000.0000004) == "1700000000.000000"
    assert timeval(1.9999996) == "2.000000"


def test_log_message_is_one_line():
    assert log_message("a\nb  c") == b"log=a b c\0\x01\0\0\0"


# ---------------------------------------------------------------------------------------------
# The core's command splitting: plain commands exec'd directly, the rest through /bin/sh


def test_split_command_quotes_and_escapes():
    assert split_command("""/p/check_cx_login -u 'http://x/?a=1&b=2' --username "s h" a\\ b ''""") == (
        ["/p/check_cx_login", "-u", "http://x/?a=1&b=2", "--username", "s h", "a b", ""], False)
    assert split_command('check_cx_nps --var "x=\\"q\\" \\\\"') == (["check_cx_nps", "--var", 'x="q" \\'], False)
    assert split_command("check_cx_login\t-V\n") == (["check_cx_login", "-V"], False)


@pytest.mark.parametrize("command", [
    "check_cx_login -V > /tmp/out", "check_cx_login -V | cat", "check_cx_login -V; true", "check_cx_login -V &",
    "check_cx_login $HOME", "check_cx_login `id`", 'check_cx_login "$HOME"', "check_cx_login *.yaml",
    "check_cx_login (x)", "check_cx_login $(id)",
])
def test_shell_syntax_goes_to_the_shell_as_the_core_would(command):
    assert split_command(command)[1] is True


@pytest.mark.parametrize("command", ["check_cx_login -u '$HOME'", "check_cx_login 'a|b;c>d&e*?'", 'x "a\\$b"'])
def test_quoted_specials_are_plain_arguments(command):
    assert split_command(command)[1] is False


@pytest.mark.parametrize("command, why", [("check_cx_login 'open", "unbalanced single quote"),
                                          ('check_cx_login "open', "unbalanced double quote"),
                                          ("   ", "empty command")])
def test_commands_that_cannot_be_split(command, why):
    with pytest.raises(CommandError, match=why):
        split_command(command)


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12),
                min_size=1, max_size=6))
def test_split_command_undoes_posix_quoting(args):
    assert split_command(" ".join(shlex.quote(a) for a in ["check_cx_login", *args])) == (["check_cx_login", *args],
                                                                                          False)


@pytest.mark.parametrize("command", [
    """x -u 'a b' "c d" e\\ f "g\\"h" 'i"j' "k'l" m'n'o "p\\\\q" r\\\\s""",
    """x --var 'password=${env:PW}' --header 'X-A: "b"'""",
])
def test_split_command_agrees_with_sh(command):
    argv, needs_shell = split_command(command)
    assert not needs_shell
    shell = subprocess.run(["/bin/sh", "-c", "printf '%s\\0' " + command.split(" ", 1)[1]], capture_output=True,
                           check=True, timeout=10).stdout
    assert argv[1:] == shell.decode().split("\0")[:-1]


# ---------------------------------------------------------------------------------------------
# What the worker registers, and where it finds the core


def test_every_check_cx_console_script_is_a_worker_plugin():
    plugins = registry.discover()
    scripts = {name for name in console_scripts() if name.startswith("check_cx_")}
    assert set(plugins) == scripts
    for name, plugin in plugins.items():
        assert plugin.label.startswith("CX "), name
        assert plugin.main.build_parser().prog == name


def test_routing_keys_are_names_and_full_paths():
    keys = registry.routing_keys(["check_cx_login", "check_cx_nps"], ["/usr/lib/nagios/plugins", "/opt/p"])
    assert keys == {"check_cx_login": "check_cx_login", "/usr/lib/nagios/plugins/check_cx_login": "check_cx_login",
                    "/opt/p/check_cx_login": "check_cx_login", "check_cx_nps": "check_cx_nps",
                    "/usr/lib/nagios/plugins/check_cx_nps": "check_cx_nps", "/opt/p/check_cx_nps": "check_cx_nps"}
    plugins = registry.discover()
    assert registry.plugin_for("/somewhere/else/check_cx_login", plugins).name == "check_cx_login"
    assert registry.plugin_for("check_http", plugins) is None


def args_for(**kwargs) -> argparse.Namespace:
    return argparse.Namespace(**{"query_socket": None, "nagios_cfg": None} | kwargs)


def test_query_socket_from_the_main_configuration(tmp_path):
    cfg = tmp_path / "nagios.cfg"
    cfg.write_text("# query_socket=/commented/out\nlog_file=/x\nquery_socket=/run/private/nagios.qh\n")
    assert query_socket(args_for(nagios_cfg=str(cfg))) == "/run/private/nagios.qh"
    cfg.write_text("log_file=/x\n")
    assert query_socket(args_for(nagios_cfg=str(cfg))) == DEBIAN_QUERY_SOCKET      # the core's default
    assert query_socket(args_for(query_socket="/given")) == "/given"
    with pytest.raises(SetupError, match="cannot read .*missing.cfg"):
        query_socket(args_for(nagios_cfg=str(tmp_path / "missing.cfg")))
