"""Every option of every plugin reaches the plugin intact through each engine. For each plugin, each
option its own parser has (walked from the parser: nothing listed here) gets a service from
`cxcheck config` with a value a shell can give it (quotes, `$`, backquotes, `%`, `!`, `\\`, `;`, `#`,
a tab, non-ASCII, a leading dash; a file name with the same; a valid value where the option has a
type), and each engine runs them all on Debian's stock configuration (tests/engines.py): Nagios 4,
Icinga 2, and Centreon's import turned into the objects Centreon generates, in Nagios 4. In place
of the plugins, instruments record the argv they are given (engines.write_recorders); the plugin's
own parser must read it as it reads the command typed in a shell. Secrets the engine passes its
own way (an environment variable becomes Icinga's constant or Centreon's password macro) must
arrive as that way, with the value in the plugin's environment.
"""

from __future__ import annotations

import argparse
import functools

import pytest
from clapi import Clapi
from engines import TEMPLATES, nagios_host, recording, run_in_icinga2, run_in_nagios, write_recorders

from cxcheck.engines import centreon, icinga2, nagios
from cxcheck.engines.config import Given
from cxcheck.engines.icinga2_commands import takes_account
from cxcheck.engines.options import specs
from cxcheck.plugin_table import PLUGINS

pytestmark = pytest.mark.slow(seconds=20)   # its measured time: the longest files start first (conftest)
TEXT = "it's \"quoted\" $HOME $$ `id` %d %% ! \\ ; # é ü * ? ~ & | < > {x} (y) =\tz"
VALUES = {"lead": "-" + TEXT, "plain": TEXT}
PATH = "/var/lib/cx data/it's \"f\" $x;#é.csv"
SECRET_VARIABLE = "CX_SECRET_VARIABLE"
SECRET = "s3cret-value"
# Values tried, in order, for an option whose type refuses free text: the first the parser takes.
SAMPLES = ["-10:", "@1:5", "10:", "5", "0.5", "95", "2h", "90m", "2026-11-01T00:00:00Z", "4-5", "1-5", "1280x720",
           "99.9", "1h/5m:14.4,6h/30m:6"]
HOST = "transport"


@functools.cache
def parser(entry):
    """The plugin's parser, built once (parsing does not change it)."""
    return entry.build_parser()


def _parses(entry, argv) -> bool:
    try:
        parser(entry).parse_args(argv)
    except Exception:
        return False
    return True


def _base(entry) -> list[str]:
    """What the plugin's parser cannot do without (check_cx_checkout's --scenario)."""
    return [word for action in parser(entry)._actions if action.required
            for word in (action.option_strings[-1], "/etc/cxcheck/base.yaml")]


def _value(entry, spec, variant, base):
    if spec.kind == "flag":
        return True
    if spec.kind == "count":
        return 3
    if spec.secret and spec.secret_role == "env":
        return SECRET_VARIABLE
    if spec.dest == "var_env":
        return [f"password={SECRET_VARIABLE}", f"card_{variant}={SECRET_VARIABLE}"]
    text = VALUES[variant]
    if spec.names_file:
        candidates = [PATH.replace("/cx data/", f"/cx data {variant}/")]
    elif spec.metavar == "'NAME: VALUE'":
        candidates = [f"X-Cx-{variant}: {text}"]
    elif spec.action.choices:
        candidates = [choice for choice in spec.action.choices if choice != spec.action.default]
    else:
        candidates = [text, *SAMPLES]
    if spec.metavar and "=" in spec.metavar and spec.metavar != "NAME=PATH":
        candidates = [f"n_{variant}={candidate}" for candidate in candidates]
    if spec.metavar == "NAME=PATH":
        candidates = [f"f_{variant}={candidate}" for candidate in candidates]
    for candidate in candidates:
        if _parses(entry, [*base, f"{spec.long}={candidate}"]):
            return [candidate, candidate] if spec.kind == "list" else candidate
    raise AssertionError(f"{entry.name} {spec.long}: no value the parser takes among {candidates}")


class Case:
    """One service: a plugin and one option given one way."""

    def __init__(self, entry, spec, variant):
        self.entry, self.spec, self.variant = entry, spec, variant
        base = _base(entry)
        value = _value(entry, spec, variant, base)
        self.argv = base + spec.words(value)
        self.service = f"{entry.short} {spec.dest} {variant}"
        self.given = Given(entry, self.argv)
        assert spec.dest in self.given.values, (self.service, self.argv)

    def expected(self, engine: str) -> argparse.Namespace:
        """What the plugin must parse: the typed command, secrets as the engine passes them."""
        argv = list(self.argv)
        env = {"icinga2": {"password": "CXCHECK_PASSWORD", "token": "CXCHECK_TOKEN", "bearer": "CXCHECK_TOKEN"},
               "centreon": {"password": centreon.HOST_PASSWORD, "token": centreon.SERVICE_TOKEN,
                            "bearer": centreon.SERVICE_TOKEN}}.get(engine, {})
        if self.spec.secret and self.spec.secret_role == "env" and env:
            argv = [env[self.spec.secret] if word == SECRET_VARIABLE else word for word in argv]
        journey = takes_account(self.given.specs) and "scenario" in self.given.values
        if self.spec.dest == "var_env" and env and (engine == "centreon" or journey):
            argv = [word.replace(f"password={SECRET_VARIABLE}", f"password={env['password']}") for word in argv]
        return parser(self.entry).parse_args(argv)


@functools.cache
def cases() -> list[Case]:
    out = []
    for entry in PLUGINS:
        for spec in specs(parser(entry)):
            free = spec.kind in ("value", "list") and not spec.action.choices and not spec.secret_role == "env"
            for variant in (VALUES if free else ["plain"]):
                out.append(Case(entry, spec, variant))
    return out



def test_every_option_of_every_plugin_is_a_case():
    """The walk covers each plugin's every option (and both value shapes of the free ones)."""
    for entry in PLUGINS:
        dests = {spec.dest for spec in specs(parser(entry))}
        assert dests == {case.spec.dest for case in cases() if case.entry is entry}, entry.name
    assert len(cases()) > 300


def check_received(case: Case, engine: str, output: str):
    record = recording(output)
    assert record is not None, f"{engine} {case.service}: {output!r}"
    assert record["plugin"] == case.entry.name
    received = parser(case.entry).parse_args(record["argv"])
    assert vars(received) == vars(case.expected(engine)), (engine, case.service, record["argv"], case.argv)
    if case.spec.secret and case.spec.secret_role == "env" and engine != "nagios":
        assert SECRET in record["env"].values(), (engine, case.service, record["env"])


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorders(tmp_path_factory):
    work = tmp_path_factory.mktemp("recorders")
    return write_recorders(work / "plugins", work / "argv.log")


def test_nagios_hands_each_plugin_the_options_as_typed(recorders, tmp_path):
    texts = [nagios.service(case.given, host=HOST, service=case.service)[0] for case in cases()]
    status = run_in_nagios(tmp_path, nagios_host(HOST, "check_cx_nps_args") + "\n".join(texts),
                           [(HOST, case.service) for case in cases()], recorders, env={SECRET_VARIABLE: SECRET},
                           timeout=300)
    for case in cases():
        check_received(case, "nagios", status[(HOST, case.service)]["plugin_output"])


def test_icinga2_hands_each_plugin_the_options_as_typed(recorders, tmp_path):
    texts = [icinga2.service(case.given, host=HOST, service=case.service)[0] for case in cases()]
    results = run_in_icinga2(tmp_path, f'const {SECRET_VARIABLE} = "{SECRET}"\n'
                                       f'object Host "{HOST}" {{ check_command = "dummy" }}\n' + "\n".join(texts),
                             [(HOST, case.service) for case in cases()], recorders, timeout=300)
    for case in cases():
        check_received(case, "icinga2", results[(HOST, case.service)]["output"])


def test_centreon_imports_and_hands_each_plugin_the_options_as_typed(recorders, tmp_path):
    """Every line `cxcheck config --engine centreon` wrote passes CLAPI's rules (tests/clapi.py)
    after the shipped import file, then runs as Centreon generates it, environment macros on."""
    model = Clapi((TEMPLATES / "centreon" / "cxcheck-clapi.txt").read_text(), hosts=[HOST])
    model.hosts[HOST]["macros"]["CX_PASSWORD"] = {"value": SECRET, "password": True, "description": ""}
    tokens = {}
    for case in cases():
        text, notes = centreon.service(case.given, host=HOST, service=case.service)
        model.read(text, origin=f"{case.service}: ")
        if any("CX_TOKEN" in note for note in notes):
            tokens[(HOST, case.service)] = [f"_CX_TOKEN {SECRET}"]
    assert not model.errors, "\n".join(model.errors[:20])
    host = ["check_command cxcheck-nps-args", "max_check_attempts 1", "contact_groups admins"]
    status = run_in_nagios(tmp_path, model.nagios_objects(host_lines={HOST: host}, service_lines=tokens),
                           [(HOST, case.service) for case in cases()], recorders, files=(),
                           settings={"enable_environment_macros": 1}, timeout=300)
    for case in cases():
        check_received(case, "centreon", status[(HOST, case.service)]["plugin_output"])
