"""build_provider / split_model_spec: keys from env, config errors without key values."""

from __future__ import annotations

import pytest

from promptops.core.config import ProviderConfig
from promptops.core.errors import ConfigError
from promptops.providers.anthropic_provider import AnthropicProvider
from promptops.providers.factory import (
    PLACEHOLDER_KEY,
    build_provider,
    build_python_provider,
    split_model_spec,
)
from promptops.providers.openai_http import OpenAIHttpProvider
from promptops.providers.openai_provider import OpenAIProvider
from promptops.providers.python_provider import PythonProvider

SECRET = "sk-proj-VERYSECRETVALUE123456"


def test_split_model_spec() -> None:
    assert split_model_spec("anthropic:claude-sonnet-4-5") == ("anthropic", "claude-sonnet-4-5")
    assert split_model_spec("python:pkg.mod:fn") == ("python", "pkg.mod:fn")
    assert split_model_spec("ollama:llama3.1:8b") == ("ollama", "llama3.1:8b")
    for bad in ("claude-sonnet-4-5", ":x", "anthropic:", ""):
        with pytest.raises(ConfigError) as info:
            split_model_spec(bad)
        assert info.value.exit_code == 2


def test_builds_each_kind_without_importing_the_sdk_yet() -> None:
    env = {"ANTHROPIC_API_KEY": "a-key", "OPENAI_API_KEY": SECRET}
    cfg = ProviderConfig("anthropic", "anthropic", api_key_env="ANTHROPIC_API_KEY")
    a = build_provider(cfg, env)
    assert isinstance(a, AnthropicProvider) and a._client is None and a.name == "anthropic"
    o = build_provider(ProviderConfig("openai", "openai", api_key_env="OPENAI_API_KEY"), env)
    assert isinstance(o, OpenAIProvider) and o.kind == "openai" and o._client is None
    assert SECRET not in repr(o)
    p = build_provider(ProviderConfig("python", "python"), env)
    assert isinstance(p, PythonProvider) and p.kind == "python"
    assert build_python_provider("pkg.mod:fn").target == "pkg.mod:fn"


def test_default_key_env_for_builtin_kinds() -> None:
    prov = build_provider(ProviderConfig("anthropic", "anthropic"), {"ANTHROPIC_API_KEY": "k"})
    assert isinstance(prov, AnthropicProvider) and prov._api_key == "k"


def test_missing_key_is_a_config_error_naming_only_the_variable() -> None:
    env = {"OTHER": SECRET}
    cfg = ProviderConfig("anthropic", "anthropic", api_key_env="ANTHROPIC_API_KEY")
    with pytest.raises(ConfigError) as info:
        build_provider(cfg, env)
    msg = str(info.value)
    assert info.value.exit_code == 2
    assert "ANTHROPIC_API_KEY is not set" in msg and "export ANTHROPIC_API_KEY=" in msg
    assert SECRET not in msg
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        build_provider(ProviderConfig("openai", "openai", api_key_env="OPENAI_API_KEY"), {})
    with pytest.raises(ConfigError, match="is not set"):  # blank counts as missing
        build_provider(cfg, {"ANTHROPIC_API_KEY": "  "})


def test_openai_compatible_uses_placeholder_key() -> None:
    cfg = ProviderConfig("ollama", "openai-compatible", base_url="http://127.0.0.1:11434/v1")
    prov = build_provider(cfg, {})
    assert isinstance(prov, OpenAIHttpProvider) and prov._api_key == PLACEHOLDER_KEY
    assert prov.kind == "openai-compatible"
    cfg2 = ProviderConfig("vllm", "openai-compatible", base_url="http://x/v1", api_key_env="VK")
    prov2 = build_provider(cfg2, {"VK": "real"})
    assert isinstance(prov2, OpenAIHttpProvider) and prov2._api_key == "real"
    # a key variable that is named but unset is an error, not a silent placeholder
    with pytest.raises(ConfigError, match="VK is not set"):
        build_provider(cfg2, {})


def test_transport_choice() -> None:
    compat = ProviderConfig("v", "openai-compatible", base_url="http://x/v1", transport="sdk")
    assert isinstance(build_provider(compat, {}), OpenAIProvider)
    oai = ProviderConfig("openai", "openai", api_key_env="OPENAI_API_KEY")
    assert isinstance(build_provider(oai, {"OPENAI_API_KEY": "k"}), OpenAIProvider)
    oai_http = ProviderConfig("openai", "openai", api_key_env="OPENAI_API_KEY", transport="http")
    assert isinstance(build_provider(oai_http, {"OPENAI_API_KEY": "k"}), OpenAIHttpProvider)


def test_unknown_kind() -> None:
    with pytest.raises(ConfigError, match="unknown kind"):
        build_provider(ProviderConfig("x", "bedrock"), {})
