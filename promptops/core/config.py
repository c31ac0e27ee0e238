"""Project config (`promptops.yaml`): providers, model aliases, price overrides, defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from promptops.core.errors import ConfigError
from promptops.core.lifecycle import parse_retirement_date
from promptops.core.yamlsource import require_mapping, where_of

PROVIDER_KINDS = ("anthropic", "openai", "openai-compatible", "python")


@dataclass(frozen=True)
class ProviderConfig:
    """One named provider: how to reach it and how hard to push it."""

    name: str
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = 8
    rpm: int | None = None
    tpm: int | None = None
    timeout_s: float = 60.0
    max_attempts: int = 6
    transport: str = "auto"  # openai kinds: sdk | http (aiohttp); auto = http for compatible
    where: str = ""


@dataclass(frozen=True)
class PriceOverride:
    """USD per million tokens for a provider/model, beating genai-prices."""

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None


@dataclass(frozen=True)
class ProjectConfig:
    """The whole project config; `ProjectConfig()` gives the no-file defaults."""

    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)  # alias -> provider:model
    prices: Mapping[str, PriceOverride] = field(default_factory=dict)  # "provider/model"
    concurrency: int = 8
    timeout_s: float = 60.0
    judge: str | None = None
    path: str | None = None
    # model spec (provider:model or alias) -> (retirement date, where it is written)
    retirements: Mapping[str, tuple[date, str]] = field(default_factory=dict)

    def provider(self, name: str) -> ProviderConfig:
        """Return the named provider, or the built-in default for a known kind."""
        if name in self.providers:
            return self.providers[name]
        if name in BUILTIN_KINDS:
            return ProviderConfig(
                name=name,
                kind=name,
                api_key_env=DEFAULT_KEY_ENV.get(name),
                concurrency=self.concurrency,
                timeout_s=self.timeout_s,
            )
        known = sorted({*self.providers, *BUILTIN_KINDS})
        raise ConfigError(
            f"unknown provider {name!r}",
            where=self.path,
            why=f"known providers: {', '.join(known)}",
            fix=f"use one of them, or add `providers: {{{name}: {{kind: openai-compatible, "
            "base_url: ...}}` to promptops.yaml",
        )


BUILTIN_KINDS = ("anthropic", "openai", "python")
DEFAULT_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
_PROVIDER_KEYS = {
    "kind", "base_url", "api_key_env", "concurrency", "rpm", "tpm", "timeout", "max_attempts",
    "transport",
}
TRANSPORTS = ("auto", "sdk", "http")
_TOP_KEYS = {
    "providers", "models", "prices", "defaults", "environments", "gate", "judge", "retirements",
}
_DEFAULT_KEYS = {"concurrency", "timeout", "judge"}


def _number(raw: Mapping[str, Any], key: str, where: str, *, integer: bool, minimum: float) -> Any:
    value = raw[key]
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ConfigError(
            f"`{key}` must be {kind} >= {minimum}, got {value!r}",
            where=where_of(raw, key, where),
            fix=f"set `{key}` to {kind} such as {max(1, int(minimum))}",
        )
    return value


def _check_keys(raw: Mapping[str, Any], allowed: set[str], what: str, where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(
                f"unknown key {key!r} in {what}",
                where=where_of(raw, key, where),
                why=f"allowed keys: {', '.join(sorted(allowed))}",
                fix="fix the spelling or remove the key",
            )


def parse_config(data: Any, path: str) -> ProjectConfig:
    """Validate parsed `promptops.yaml` data into a ProjectConfig."""
    if data is None:
        return ProjectConfig(path=path)
    raw = require_mapping(data, "promptops.yaml", path)
    _check_keys(raw, _TOP_KEYS, "promptops.yaml", path)
    defaults = require_mapping(raw.get("defaults") or {}, "defaults", path)
    _check_keys(defaults, _DEFAULT_KEYS, "defaults", path)
    concurrency = (
        _number(defaults, "concurrency", path, integer=True, minimum=1)
        if "concurrency" in defaults else 8
    )
    timeout = (
        float(_number(defaults, "timeout", path, integer=False, minimum=0.001))
        if "timeout" in defaults else 60.0
    )
    providers: dict[str, ProviderConfig] = {}
    for name, spec in require_mapping(raw.get("providers") or {}, "providers", path).items():
        providers[name] = _parse_provider(name, spec, path, concurrency, timeout)
    models: dict[str, str] = {}
    for alias, target in require_mapping(raw.get("models") or {}, "models", path).items():
        if not isinstance(target, str) or ":" not in target:
            raise ConfigError(
                f"model alias {alias!r} must name `provider:model`, got {target!r}",
                where=where_of(raw.get("models"), alias, path),
                fix=f'write it as `{alias}: "anthropic:claude-sonnet-5-5"`',
            )
        models[alias] = target
    prices = {
        key: _parse_price(key, spec, path)
        for key, spec in require_mapping(raw.get("prices") or {}, "prices", path).items()
    }
    judge = defaults.get("judge", raw.get("judge"))
    return ProjectConfig(
        providers=providers, models=models, prices=prices, concurrency=concurrency,
        timeout_s=timeout, judge=judge, path=path,
        retirements=_parse_retirements(raw.get("retirements"), path),
    )


def _parse_retirements(data: Any, path: str) -> dict[str, tuple[date, str]]:
    table = require_mapping(data or {}, "retirements", path)
    out: dict[str, tuple[date, str]] = {}
    for spec, when in table.items():
        where = where_of(table, spec, path)
        try:
            out[str(spec)] = (parse_retirement_date(when), where)
        except ValueError as exc:
            raise ConfigError(f"retirement date of {spec!r}: {exc}", where=where,
                              fix=f'write it as `"{spec}": 2026-11-30`') from None
    return out


def _parse_provider(
    name: str, spec: Any, path: str, concurrency: int, timeout: float
) -> ProviderConfig:
    spec = require_mapping(spec, f"provider {name!r}", path)
    where = where_of(spec, None, path)
    _check_keys(spec, _PROVIDER_KEYS, f"provider {name!r}", path)
    kind = spec.get("kind", name if name in BUILTIN_KINDS else None)
    if kind not in PROVIDER_KINDS:
        raise ConfigError(
            f"provider {name!r} has kind {kind!r}",
            where=where_of(spec, "kind", path),
            why=f"kind must be one of: {', '.join(PROVIDER_KINDS)}",
            fix="set `kind: openai-compatible` for Ollama, vLLM, llama.cpp or a LiteLLM proxy",
        )
    if kind == "openai-compatible" and not spec.get("base_url"):
        raise ConfigError(
            f"provider {name!r} (openai-compatible) needs a base_url",
            where=where,
            fix='add `base_url: "http://127.0.0.1:11434/v1"` (Ollama) or your server\'s URL',
        )
    key_env = spec.get("api_key_env", DEFAULT_KEY_ENV.get(str(kind)))
    if key_env is not None and not (isinstance(key_env, str) and key_env.isidentifier()):
        raise ConfigError(
            f"api_key_env of provider {name!r} must be an environment variable NAME",
            where=where_of(spec, "api_key_env", path),
            why="promptops never stores keys in files; it reads them from the environment",
            fix="write `api_key_env: MY_PROVIDER_KEY` and export MY_PROVIDER_KEY",
        )

    transport = spec.get("transport", "auto")
    if transport not in TRANSPORTS or (transport == "http" and kind == "anthropic"):
        raise ConfigError(
            f"provider {name!r} has transport {transport!r}",
            where=where_of(spec, "transport", path),
            why="openai and openai-compatible take sdk or http; anthropic always uses its SDK",
            fix="remove `transport:` or set it to sdk",
        )

    def num(key: str, integer: bool, minimum: float, default: Any) -> Any:
        if key not in spec:
            return default
        return _number(spec, key, path, integer=integer, minimum=minimum)

    return ProviderConfig(
        name=name,
        kind=str(kind),
        base_url=spec.get("base_url"),
        api_key_env=key_env,
        concurrency=num("concurrency", True, 1, concurrency),
        rpm=num("rpm", True, 1, None),
        tpm=num("tpm", True, 1, None),
        timeout_s=float(num("timeout", False, 0.001, timeout)),
        max_attempts=num("max_attempts", True, 1, 6),
        transport=str(transport),
        where=where,
    )


def _parse_price(key: str, spec: Any, path: str) -> PriceOverride:
    spec = require_mapping(spec, f"price {key!r}", path)
    allowed = {"input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok"}
    _check_keys(spec, allowed, f"price {key!r}", path)
    for required in ("input_per_mtok", "output_per_mtok"):
        if required not in spec:
            raise ConfigError(
                f"price override {key!r} lacks {required}",
                where=where_of(spec, None, path),
                fix="give both input_per_mtok and output_per_mtok (USD per million tokens)",
            )
    vals = {k: float(_number(spec, k, path, integer=False, minimum=0)) for k in spec}
    return PriceOverride(**vals)
