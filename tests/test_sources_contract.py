"""The source contract, in-process: every registered source declares itself without I/O, the
registry builds the options once, and selecting none names them all."""

from __future__ import annotations

import sys

import pytest

from cxcheck import runtime
from cxcheck.sources import registry
from cxcheck.sources.base import ApiSource, Source


@pytest.mark.parametrize("kind", sorted(registry.SOURCES))
def test_every_source_declares_itself(kind):
    for cls in registry.sources(kind):
        assert issubclass(cls, Source)
        assert cls.name and cls.option.startswith("--") and cls.help, cls
        reads = f"read_{kind}"
        assert callable(getattr(cls, reads, None)), f"{cls.__name__} has no {reads}()"


@pytest.mark.parametrize("kind", sorted(registry.SOURCES))
def test_declaring_the_sources_imports_no_network_library(kind):
    registry.sources(kind)
    assert "cxcheck.sources.apiclient" not in sys.modules or "requests" in sys.modules  # imported by others
    for cls in registry.sources(kind):
        module = sys.modules[cls.__module__]
        assert "ApiClient" not in vars(module) and "requests" not in vars(module), cls.__module__


def parser_for(kind: str) -> runtime.Parser:
    parser = runtime.Parser("check_test", description="", examples="")
    registry.add_source_arguments(parser, kind)
    return parser


def test_shared_options_are_declared_once():
    parser = parser_for("responses")
    flags = [flag for action in parser._actions for flag in action.option_strings]
    assert len(flags) == len(set(flags))
    assert {"--token-env", "--token-file", "--api-url", "--score-column", "--question-id"} <= set(flags)


@pytest.mark.parametrize("kind", ["responses", "tickets"])
def test_selecting_none_names_every_source(kind):
    """Every source the registry lists for the kind, in its order (a new source is named by its
    own declaration, no list here)."""
    options = [cls.option for cls in registry.sources(kind)]
    assert len(options) >= 4
    run = runtime.Run(parser_for(kind).parse_args([]), runtime.Deadline(5), 0)
    with pytest.raises(runtime.ConfigError) as error:
        registry.open_source(run, kind)
    assert str(error.value) == f"give a source: {', '.join(options[:-1])} or {options[-1]}"


def test_a_source_of_several_kinds_is_one_class():
    # Zendesk and HubSpot give survey answers and tickets: one module, one line per kind.
    for cls in (registry.sources("responses")[-2:]):
        assert cls in registry.sources("tickets")


def test_a_survey_plugin_offers_the_sources_of_its_kind():
    nps = [cls.option for cls in registry.sources("responses", "NPS")]
    csat = [cls.option for cls in registry.sources("responses", "CSAT")]
    assert "--zendesk" not in nps and "--hubspot" in nps
    assert {"--zendesk", "--hubspot", "--csv", "--delighted"} <= set(csat)


def test_an_api_source_without_its_token_is_a_configuration_error():
    run = runtime.Run(parser_for("responses").parse_args(["--delighted"]), runtime.Deadline(5), 0)
    with pytest.raises(runtime.ConfigError, match="Delighted needs a token: --token-env VAR or --token-file PATH"):
        registry.open_source(run, "responses")


def test_a_source_error_is_not_a_configuration_error():
    # The plugin entry decides both are UNKNOWN; the source says which it is.
    assert not issubclass(runtime.SourceError, runtime.ConfigError)
    assert issubclass(ApiSource, Source)
