"""Tests for promptops.yaml parsing: providers, aliases, prices, defaults and their errors."""

from __future__ import annotations

from typing import Any

import pytest

from promptops.core.config import PriceOverride, ProjectConfig, ProviderConfig, parse_config
from promptops.core.errors import ConfigError
from promptops.core.yamlsource import parse_yaml

PATH = "promptops.yaml"


def cfg(text: str) -> ProjectConfig:
    return parse_config(parse_yaml(text, PATH), PATH)


def bad(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        cfg(text)
    assert info.value.exit_code == 2
    assert info.value.fix
    return info.value


# --- defaults ---------------------------------------------------------------------------------


def test_no_file_gives_defaults() -> None:
    config = parse_config(None, PATH)
    assert config == ProjectConfig(path=PATH)
    assert config.providers == {}
    assert config.models == {}
    assert config.prices == {}
    assert config.concurrency == 8
    assert config.timeout_s == 60.0
    assert config.judge is None


def test_empty_sections_give_defaults() -> None:
    config = cfg("providers:\nmodels:\nprices:\ndefaults:\n")
    assert (config.providers, config.models, config.prices) == ({}, {}, {})
    assert config.concurrency == 8


def test_defaults_section_sets_concurrency_timeout_and_judge() -> None:
    config = cfg("defaults: {concurrency: 3, timeout: 12.5, judge: 'openai:gpt-4o-mini'}\n")
    assert config.concurrency == 3
    assert config.timeout_s == 12.5
    assert config.judge == "openai:gpt-4o-mini"


def test_top_level_judge_is_used_when_defaults_has_none() -> None:
    assert cfg("judge: 'anthropic:claude-haiku'\n").judge == "anthropic:claude-haiku"


def test_defaults_flow_into_providers_without_their_own_values() -> None:
    config = cfg("defaults: {concurrency: 3, timeout: 5}\nproviders:\n  openai: {}\n")
    openai = config.providers["openai"]
    assert openai.concurrency == 3
    assert openai.timeout_s == 5.0


# --- providers --------------------------------------------------------------------------------


def test_builtin_named_providers_take_their_kind_and_key_env() -> None:
    config = cfg("providers:\n  anthropic: {rpm: 50}\n  openai: {tpm: 100000}\n  python: {}\n")
    assert config.providers["anthropic"] == ProviderConfig(
        name="anthropic", kind="anthropic", api_key_env="ANTHROPIC_API_KEY", rpm=50,
        where="promptops.yaml:2",
    )
    assert config.providers["openai"].kind == "openai"
    assert config.providers["openai"].api_key_env == "OPENAI_API_KEY"
    assert config.providers["openai"].tpm == 100000
    assert config.providers["python"].kind == "python"
    assert config.providers["python"].api_key_env is None


def test_openai_compatible_provider_with_all_settings() -> None:
    config = cfg(
        "providers:\n"
        "  ollama:\n"
        "    kind: openai-compatible\n"
        "    base_url: http://127.0.0.1:11434/v1\n"
        "    api_key_env: OLLAMA_KEY\n"
        "    concurrency: 2\n"
        "    rpm: 60\n"
        "    tpm: 1000\n"
        "    timeout: 30\n"
        "    max_attempts: 3\n"
        "    transport: http\n"
    )
    assert config.providers["ollama"] == ProviderConfig(
        name="ollama", kind="openai-compatible", base_url="http://127.0.0.1:11434/v1",
        api_key_env="OLLAMA_KEY", concurrency=2, rpm=60, tpm=1000, timeout_s=30.0,
        max_attempts=3, transport="http", where="promptops.yaml:3",
    )


def test_custom_name_of_a_builtin_kind() -> None:
    config = cfg("providers:\n  azure-ish: {kind: openai, base_url: 'https://x/v1'}\n")
    p = config.providers["azure-ish"]
    assert (p.kind, p.base_url, p.api_key_env) == ("openai", "https://x/v1", "OPENAI_API_KEY")


def test_openai_compatible_without_base_url_is_an_error_at_the_provider() -> None:
    err = bad("defaults: {}\nproviders:\n  local:\n    kind: openai-compatible\n")
    assert err.what == "provider 'local' (openai-compatible) needs a base_url"
    assert err.where == "promptops.yaml:4"
    assert "base_url" in (err.fix or "")


def test_unknown_kind_names_the_kind_line_and_the_choices() -> None:
    err = bad("providers:\n  local:\n    base_url: http://x\n    kind: ollama\n")
    assert err.what == "provider 'local' has kind 'ollama'"
    assert err.where == "promptops.yaml:4"
    assert err.why == "kind must be one of: anthropic, openai, openai-compatible, python"


def test_custom_provider_without_kind_is_an_error() -> None:
    err = bad("providers:\n  local: {base_url: http://x}\n")
    assert err.what == "provider 'local' has kind None"
    assert err.where == "promptops.yaml:2"


def test_unknown_provider_key() -> None:
    err = bad("providers:\n  openai:\n    concurrency: 2\n    max_retries: 3\n")
    assert err.what == "unknown key 'max_retries' in provider 'openai'"
    assert err.where == "promptops.yaml:4"
    assert "max_attempts" in (err.why or "")


def test_unknown_top_level_key() -> None:
    err = bad("providers: {}\nmodel: {fast: 'openai:gpt-4o-mini'}\n")
    assert err.what == "unknown key 'model' in promptops.yaml"
    assert err.where == "promptops.yaml:2"
    assert "models" in (err.why or "")


def test_unknown_defaults_key() -> None:
    err = bad("defaults:\n  concurrency: 2\n  retries: 4\n")
    assert err.what == "unknown key 'retries' in defaults"
    assert err.where == "promptops.yaml:3"


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("concurrency: 0", "`concurrency` must be an integer >= 1, got 0"),
        ("concurrency: 2.5", "`concurrency` must be an integer >= 1, got 2.5"),
        ("concurrency: true", "`concurrency` must be an integer >= 1, got True"),
        ("rpm: x", "`rpm` must be an integer >= 1, got 'x'"),
        ("rpm: '60'", "`rpm` must be an integer >= 1, got '60'"),
        ("tpm: -5", "`tpm` must be an integer >= 1, got -5"),
        ("max_attempts: 0", "`max_attempts` must be an integer >= 1, got 0"),
        ("timeout: 0", "`timeout` must be a number >= 0.001, got 0"),
        ("timeout: false", "`timeout` must be a number >= 0.001, got False"),
    ],
)
def test_bad_provider_numbers_have_file_line(line: str, what: str) -> None:
    err = bad(f"providers:\n  openai:\n    kind: openai\n    {line}\n")
    assert err.what == what
    assert err.where == "promptops.yaml:4"


def test_bad_defaults_number_has_file_line() -> None:
    err = bad("defaults:\n  timeout: 1\n  concurrency: 0\n")
    assert err.what == "`concurrency` must be an integer >= 1, got 0"
    assert err.where == "promptops.yaml:3"


def test_float_timeout_and_integer_timeout_are_numbers() -> None:
    config = cfg("providers:\n  openai: {timeout: 2}\n  anthropic: {timeout: 0.5}\n")
    assert config.providers["openai"].timeout_s == 2.0
    assert isinstance(config.providers["openai"].timeout_s, float)
    assert config.providers["anthropic"].timeout_s == 0.5


# --- api_key_env ------------------------------------------------------------------------------

PASTED = "sk-ant-api03-AbCdEf0123456789"


@pytest.mark.parametrize("value", [PASTED, "sk proj 123", "9LEADING_DIGIT"])
def test_api_key_env_must_be_a_variable_name_and_the_value_is_not_echoed(value: str) -> None:
    err = bad(f"providers:\n  anthropic:\n    rpm: 5\n    api_key_env: '{value}'\n")
    assert err.what == "api_key_env of provider 'anthropic' must be an environment variable NAME"
    assert err.where == "promptops.yaml:4"
    assert value not in err.message
    assert value not in str(err)
    assert value not in repr(err.args)


def test_api_key_env_that_is_not_text_is_rejected() -> None:
    err = bad("providers:\n  openai:\n    api_key_env: 12345\n")
    assert err.where == "promptops.yaml:3"
    assert "12345" not in err.message


# --- aliases, prices, transport ---------------------------------------------------------------


def test_model_aliases_map_to_provider_model() -> None:
    config = cfg("models:\n  fast: 'openai:gpt-4o-mini'\n  smart: anthropic:claude-sonnet-4-5\n")
    assert config.models == {
        "fast": "openai:gpt-4o-mini", "smart": "anthropic:claude-sonnet-4-5",
    }


@pytest.mark.parametrize(("value", "shown"), [("gpt-4o-mini", "'gpt-4o-mini'"), ("3", "3")])
def test_model_alias_without_provider_is_an_error(value: str, shown: str) -> None:
    err = bad(f"models:\n  ok: 'openai:x'\n  fast: {value}\n")
    assert err.what == f"model alias 'fast' must name `provider:model`, got {shown}"
    assert err.where == "promptops.yaml:3"


def test_price_override_with_all_fields() -> None:
    config = cfg(
        "prices:\n  'ollama/llama3':\n    input_per_mtok: 0\n    output_per_mtok: 0.5\n"
        "    cache_read_per_mtok: 0.1\n"
    )
    assert config.prices == {
        "ollama/llama3": PriceOverride(0.0, 0.5, cache_read_per_mtok=0.1),
    }


@pytest.mark.parametrize(
    ("spec", "missing"),
    [("{input_per_mtok: 1}", "output_per_mtok"), ("{output_per_mtok: 1}", "input_per_mtok")],
)
def test_price_override_needs_input_and_output(spec: str, missing: str) -> None:
    err = bad(f"prices:\n  'x/y': {spec}\n")
    assert err.what == f"price override 'x/y' lacks {missing}"
    assert err.where == "promptops.yaml:2"


def test_price_override_negative_or_unknown_field() -> None:
    err = bad("prices:\n  'x/y':\n    input_per_mtok: -1\n    output_per_mtok: 1\n")
    assert err.what == "`input_per_mtok` must be a number >= 0, got -1"
    assert err.where == "promptops.yaml:3"
    err = bad("prices:\n  'x/y': {input_per_mtok: 1, output_per_mtok: 1, per_call: 2}\n")
    assert err.what == "unknown key 'per_call' in price 'x/y'"


@pytest.mark.parametrize(
    ("kind", "transport"),
    [("openai", "sdk"), ("openai", "http"), ("openai-compatible", "sdk"),
     ("anthropic", "sdk"), ("anthropic", "auto")],
)
def test_valid_transports(kind: str, transport: str) -> None:
    config = cfg(
        f"providers:\n  p: {{kind: {kind}, base_url: 'http://x', transport: {transport}}}\n"
    )
    assert config.providers["p"].transport == transport


def test_transport_defaults_to_auto() -> None:
    assert cfg("providers:\n  openai: {}\n").providers["openai"].transport == "auto"


@pytest.mark.parametrize(("kind", "transport"), [("openai", "grpc"), ("anthropic", "http")])
def test_invalid_transport(kind: str, transport: str) -> None:
    err = bad(f"providers:\n  p:\n    kind: {kind}\n    transport: {transport}\n")
    assert err.what == f"provider 'p' has transport '{transport}'"
    assert err.where == "promptops.yaml:4"


def test_sections_must_be_mappings() -> None:
    err = bad("providers:\n  - openai\n")
    assert err.what == "providers must be a mapping, got LocatedList"
    assert err.where == "promptops.yaml:2"
    err = bad("- a\n")
    assert err.what == "promptops.yaml must be a mapping, got LocatedList"


# --- ProjectConfig.provider -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key_env"),
    [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY"), ("python", None)],
)
def test_provider_lookup_gives_builtin_defaults(name: str, key_env: Any) -> None:
    config = cfg("defaults: {concurrency: 4, timeout: 9}\n")
    p = config.provider(name)
    assert p == ProviderConfig(name=name, kind=name, api_key_env=key_env, concurrency=4,
                               timeout_s=9.0)


def test_provider_lookup_prefers_configured_provider() -> None:
    config = cfg("providers:\n  openai: {concurrency: 1}\n")
    assert config.provider("openai").concurrency == 1
    assert config.provider("openai").where == "promptops.yaml:2"


def test_unknown_provider_lists_the_known_ones() -> None:
    config = cfg("providers:\n  ollama: {kind: openai-compatible, base_url: 'http://x'}\n")
    with pytest.raises(ConfigError) as info:
        config.provider("vllm")
    err = info.value
    assert err.what == "unknown provider 'vllm'"
    assert err.where == PATH
    assert err.why == "known providers: anthropic, ollama, openai, python"
    assert "providers: {vllm: {kind: openai-compatible" in (err.fix or "")


def test_unknown_provider_without_config_file() -> None:
    with pytest.raises(ConfigError) as info:
        ProjectConfig().provider("mistral")
    assert info.value.where is None
    assert info.value.why == "known providers: anthropic, openai, python"
    assert info.value.message.startswith("unknown provider 'mistral'")
