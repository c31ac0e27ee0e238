"""Cost of one call: price overrides, then genai-prices; unknown is None, never 0."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class _Segment:
    """USD per token, valid while total input tokens stay within one price tier."""

    const: float
    uncached: float
    read: float
    write: float
    out: float


@dataclass(frozen=True)
class _Linear:
    """A model's price as linear segments split at tier thresholds (tier applies when > start)."""

    starts: tuple[int, ...]  # segment i covers input in (starts[i-1], starts[i]]
    segments: tuple[_Segment, ...]

    def cost(self, inp: int, out: int, cr: int, cw: int) -> float:
        s = self.segments[bisect.bisect_left(self.starts, inp)]
        return s.const + (inp - cr - cw) * s.uncached + cr * s.read + cw * s.write + out * s.out


def _calc(provider_id: str, model: str, inp: int, out: int, cr: int, cw: int) -> Any:
    import genai_prices  # lazy: keeps `promptops --help` fast

    usage = genai_prices.Usage(
        input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw
    )
    return genai_prices.calc_price(usage, model, provider_id=provider_id)


@functools.lru_cache(maxsize=8192)
def _direct(provider_id: str, model: str, inp: int, out: int, cr: int, cw: int) -> float | None:
    try:
        return float(_calc(provider_id, model, inp, out, cr, cw).total_price)
    except Exception:  # unknown model, bad usage, data error: all mean "unknown"
        return None


def _thresholds(model_price: Any) -> list[int]:
    from genai_prices.types import TieredPrices

    starts = {
        tier.start
        for value in vars(model_price).values()
        if isinstance(value, TieredPrices)
        for tier in value.tiers
    }
    return sorted(starts)


def _probe_size(starts: list[int], segment: int, offset: int) -> int:
    """An input size inside segment i, i.e. in (starts[i-1], starts[i]]."""
    if segment == 0:
        return min(1_000_000, starts[0]) if starts else 1_000_000
    return starts[segment - 1] + offset


def _derive(provider_id: str, model: str, first: Any) -> _Linear | None:
    """Probe genai-prices to get per-token prices per tier; None if the price isn't linear."""

    def total(inp: int, out: int = 0, cr: int = 0, cw: int = 0) -> float:
        return float(_calc(provider_id, model, inp, out, cr, cw).total_price)

    const = float(first.total_price)
    starts = _thresholds(first.model_price)
    segments = []
    for i in range(len(starts) + 1):
        n = _probe_size(starts, i, 1)
        if n <= 0:
            return None
        base = total(n)
        segments.append(
            _Segment(
                const=const,
                uncached=(base - const) / n,
                read=(total(n, cr=n) - const) / n,
                write=(total(n, cw=n) - const) / n,
                out=(total(n, out=n) - base) / n,
            )
        )
    linear = _Linear(tuple(starts), tuple(segments))
    # Check the linear model against genai-prices itself inside every segment.
    for i, _ in enumerate(segments):
        n = _probe_size(starts, i, 7)
        inp, out, cr, cw = n, 321, n // 4, n // 8
        expected = total(inp, out, cr, cw)
        if abs(linear.cost(inp, out, cr, cw) - expected) > 1e-9 + 1e-9 * expected:
            return None
    return linear


_NOT_LINEAR = object()
_models: dict[tuple[str, str], Any] = {}  # (provider_id, model) -> _Linear | _NOT_LINEAR | None


def _genai_price(provider_id: str, model: str, inp: int, out: int, cr: int, cw: int) -> Price:
    key = (provider_id, model)
    try:
        entry = _models[key]
    except KeyError:
        try:
            first = _calc(provider_id, model, 0, 0, 0, 0)
        except Exception:  # LookupError: genai-prices doesn't know this model
            entry = None
        else:
            try:
                entry = _derive(provider_id, model, first) or _NOT_LINEAR
            except Exception:  # data we can't read as linear: price each usage directly
                entry = _NOT_LINEAR
        _models[key] = entry
    if entry is None:
        return UNKNOWN
    if isinstance(entry, _Linear) and cr + cw <= inp:
        return Price(entry.cost(inp, out, cr, cw), "genai-prices")
    cost = _direct(provider_id, model, inp, out, cr, cw)
    return UNKNOWN if cost is None else Price(cost, "genai-prices")


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
    return _genai_price(provider_id, model, inp, out, cr, cw)
