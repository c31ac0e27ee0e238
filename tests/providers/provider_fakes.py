"""The three transports under test, built against one FakeServer (shared by the provider tests)."""

from __future__ import annotations

from promptops.core.config import ProviderConfig
from promptops.providers.anthropic_provider import AnthropicProvider
from promptops.providers.openai_http import OpenAIHttpProvider
from promptops.providers.openai_provider import OpenAIProvider
from promptops.testing import FakeServer

KEY = "sk-ant-api03-TOPSECRETKEYVALUE0123456789abcdef"
# "http" = an openai-compatible provider on the aiohttp transport (no SDK); same wire, same rules.
KINDS = ["anthropic", "openai", "http"]
Provider = AnthropicProvider | OpenAIProvider | OpenAIHttpProvider


def make(srv: FakeServer, kind: str, timeout_s: float = 5.0) -> Provider:
    """A provider of `kind` (anthropic | openai | http) pointed at the fake server."""
    if kind == "anthropic":
        cfg = ProviderConfig("anthropic", "anthropic", base_url=srv.anthropic_base_url,
                             api_key_env="ANTHROPIC_API_KEY", timeout_s=timeout_s)
        return AnthropicProvider(cfg, KEY)
    if kind == "http":
        cfg = ProviderConfig("compat", "openai-compatible", base_url=srv.openai_base_url,
                             api_key_env="COMPAT_API_KEY", timeout_s=timeout_s)
        return OpenAIHttpProvider(cfg, KEY)
    cfg = ProviderConfig(kind, kind, base_url=srv.openai_base_url,
                         api_key_env="OPENAI_API_KEY", timeout_s=timeout_s)
    return OpenAIProvider(cfg, KEY)
