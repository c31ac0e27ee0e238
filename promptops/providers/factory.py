"""Build providers from config; API keys come from the environment and never reach messages."""

from __future__ import annotations

from collections.abc import Mapping

from promptops.core.config import DEFAULT_KEY_ENV, ProviderConfig
from promptops.core.errors import ConfigError
from promptops.core.ports import Provider
from promptops.providers.python_provider import PythonProvider

# Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) ignore the key, but the SDK needs one.
PLACEHOLDER_KEY = "not-needed"


def split_model_spec(spec: str) -> tuple[str, str]:
    """Split at the first colon: "python:pkg.mod:fn" -> ("python", "pkg.mod:fn")."""
    provider, sep, model = spec.strip().partition(":")
    if not sep or not provider or not model:
        raise ConfigError(
            f"model {spec!r} must be written as `provider:model`",
            fix='e.g. "anthropic:claude-sonnet-5-5", "openai:gpt-4o-mini" or "python:pkg.mod:fn"',
        )
    return provider, model


def build_python_provider(target: str) -> PythonProvider:
    """A provider that calls `module.path:function`; `check()` it to fail early on typos."""
    return PythonProvider(target)


def _api_key(config: ProviderConfig, env: Mapping[str, str]) -> str:
    key_env = config.api_key_env or DEFAULT_KEY_ENV.get(config.kind)
    if config.kind == "openai-compatible" and not config.api_key_env:
        return PLACEHOLDER_KEY  # no key named: local servers ignore it
    if not key_env:
        raise ConfigError(
            f"provider {config.name!r} ({config.kind}) has no api_key_env",
            where=config.where or None,
            fix=f"add `api_key_env: MY_KEY_VAR` to provider {config.name} in promptops.yaml",
        )
    value = env.get(key_env, "")
    if not value.strip():
        # Only the variable's NAME is ever shown, never a value.
        raise ConfigError(
            f"{key_env} is not set",
            where=config.where or None,
            why=f"provider {config.name!r} ({config.kind}) reads its API key from {key_env}",
            fix=f"export {key_env}=... (or add api_key_env to provider {config.name} "
            "in promptops.yaml)",
        )
    return value.strip()


def use_http_transport(config: ProviderConfig) -> bool:
    """OpenAI-compatible servers default to the lean aiohttp transport; openai to the SDK."""
    if config.transport == "auto":
        return config.kind == "openai-compatible"
    return config.transport == "http"


def build_provider(config: ProviderConfig, env: Mapping[str, str]) -> Provider:
    """Build the provider for a config; SDK clients are created lazily on first call."""
    if config.kind == "anthropic":
        from promptops.providers.anthropic_provider import AnthropicProvider

        return AnthropicProvider(config, _api_key(config, env))
    if config.kind in ("openai", "openai-compatible"):
        if use_http_transport(config):
            from promptops.providers.openai_http import OpenAIHttpProvider

            return OpenAIHttpProvider(config, _api_key(config, env))
        from promptops.providers.openai_provider import OpenAIProvider

        return OpenAIProvider(config, _api_key(config, env))
    if config.kind == "python":
        # Synthetic config: the target is each request's model (`python:<module:function>`).
        return PythonProvider(name=config.name)
    raise ConfigError(
        f"provider {config.name!r} has unknown kind {config.kind!r}",
        where=config.where or None,
        fix="use kind anthropic, openai, openai-compatible or python",
    )
