"""Cost of one call: price overrides, then genai-prices; unknown is None, never 0."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from promptops.core.config import PriceOverride
from promptops.core.models import Usage

_GENAI_PROVIDER_IDS = {"anthropic": "anthropic", "openai": "openai"}
_MTOK = 1_000_000.0


@dataclass(frozen=True)
class Price:
    """A cost in USD (None when unknown) and where it came from."""

    cost_usd: float | None
    source: str  # override | genai-prices | free | unknown


UNKNOWN = Price(None, "unknown")


@functools.cache
def genai_prices_version() -> str:
    """Installed genai-prices version (read from metadata, without importing the package)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-prices")
    except PackageNotFoundError:
        return "not installed"


def _override_cost(o: PriceOverride, inp: int, out: int, cr: int, cw: int) -> float:
    uncached = max(0, inp - cr - cw)  # Usage.input_tokens includes cache reads and writes
    read = o.cache_read_per_mtok if o.cache_read_per_mtok is not None else o.input_per_mtok
    write = o.cache_write_per_mtok if o.cache_write_per_mtok is not None else o.input_per_mtok
    return (uncached * o.input_per_mtok + cr * read + cw * write + out * o.output_per_mtok) / _MTOK


@functools.lru_cache(maxsize=8192)
def _genai_cost(provider_id: str, model: str, inp: int, out: int, cr: int, cw: int) -> float | None:
    """genai-prices is the one source of truth (tiers, cache rates); repeats are cached."""
    import genai_prices  # lazy: keeps `promptops --help` fast

    usage = genai_prices.Usage(
        input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw
    )
    try:
        return float(genai_prices.calc_price(usage, model, provider_id=provider_id).total_price)
    except Exception:  # LookupError (unknown model), ValueError (bad usage): "unknown", not 0
        return None


def price_of(
    provider_kind: str,
    provider_name: str,
    model: str,
    usage: Usage,
    overrides: Mapping[str, PriceOverride],
) -> Price:
    """Price one call: a `provider/model` override, python free, genai-prices, else unknown."""
    override = overrides.get(f"{provider_name}/{model}")
    if provider_kind == "python" and override is None:
        return Price(0.0, "free")
    inp, out = usage.input_tokens, usage.output_tokens
    if inp is None or out is None:
        return UNKNOWN
    cr, cw = usage.cache_read_tokens, usage.cache_write_tokens
    if override is not None:
        return Price(_override_cost(override, inp, out, cr, cw), "override")
    provider_id = _GENAI_PROVIDER_IDS.get(provider_kind)
    if provider_id is None:  # openai-compatible: self-hosted or unknown pricing
        return UNKNOWN
    cost = _genai_cost(provider_id, model, inp, out, cr, cw)
    return UNKNOWN if cost is None else Price(cost, "genai-prices")
