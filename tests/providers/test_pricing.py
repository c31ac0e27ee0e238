"""price_of: overrides, free python, genai-prices (fast path == genai-prices), unknown != 0."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import genai_prices
import pytest

from promptops.core.config import PriceOverride
from promptops.core.models import Usage
from promptops.providers.pricing import Price, genai_prices_version, price_of

U = Usage(input_tokens=10_000, output_tokens=500, cache_read_tokens=4_000, cache_write_tokens=1_000)


def test_known_anthropic_price_counts_cache_tokens_inside_input() -> None:
    # 5000 uncached x $3 + 4000 x $0.30 + 1000 x $3.75 + 500 x $15, per million tokens.
    p = price_of("anthropic", "anthropic", "claude-sonnet-4-5", U, {})
    assert p.source == "genai-prices"
    assert p.cost_usd == pytest.approx(0.02745)


def test_known_openai_price() -> None:
    p = price_of("openai", "openai", "gpt-4o-mini", U, {})
    assert p == Price(pytest.approx(0.0015), "genai-prices")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "model"),
    [("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-haiku-4-5"),
     ("openai", "gpt-4o-mini"), ("openai", "gpt-4.1")],
)
def test_matches_genai_prices_across_tiers(kind: str, model: str) -> None:
    for inp, out, cr, cw in ((10, 3, 0, 0), (10_000, 500, 4_000, 1_000), (199_999, 1, 0, 0),
                             (200_000, 7, 100, 0), (200_001, 7, 0, 100), (900_000, 20_000, 0, 0)):
        got = price_of(kind, kind, model, Usage(inp, out, cr, cw), {})
        ref = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=cr,
                               cache_write_tokens=cw),
            model, provider_id=kind,
        )
        assert got.cost_usd == pytest.approx(float(ref.total_price), rel=1e-9, abs=1e-12)


def test_unknown_is_none_never_zero() -> None:
    assert price_of("openai", "openai", "no-such-model-xyz", U, {}) == Price(None, "unknown")
    assert price_of("anthropic", "anthropic", "claude-sonnet-4-5", Usage(), {}) == Price(
        None, "unknown"
    )
    assert price_of("anthropic", "a", "claude-sonnet-4-5", Usage(10, None), {}).cost_usd is None
    # Self-hosted servers have no public price.
    assert price_of("openai-compatible", "ollama", "gpt-4o-mini", U, {}) == Price(None, "unknown")
    # Inconsistent usage (cache > input) is genai-prices' error -> unknown, not a crash.
    assert price_of("anthropic", "a", "claude-sonnet-4-5", Usage(10, 1, 50, 0), {}).cost_usd is None


def test_python_is_free() -> None:
    assert price_of("python", "python", "pkg.mod:fn", Usage(), {}) == Price(0.0, "free")


def test_override_wins_and_uses_cache_rates() -> None:
    overrides = {
        "ollama/llama3": PriceOverride(input_per_mtok=1.0, output_per_mtok=2.0),
        "anthropic/claude-sonnet-4-5": PriceOverride(
            input_per_mtok=10.0, output_per_mtok=20.0, cache_read_per_mtok=1.0,
            cache_write_per_mtok=5.0,
        ),
    }
    p = price_of("openai-compatible", "ollama", "llama3", Usage(1_000_000, 500_000), overrides)
    assert p == Price(2.0, "override")
    p = price_of("anthropic", "anthropic", "claude-sonnet-4-5", U, overrides)
    assert p.source == "override"
    assert p.cost_usd == pytest.approx((5000 * 10 + 4000 * 1 + 1000 * 5 + 500 * 20) / 1e6)
    # Missing cache rates fall back to the input rate.
    p = price_of("openai-compatible", "ollama", "llama3", U, overrides)
    assert p.cost_usd == pytest.approx((10_000 * 1 + 500 * 2) / 1e6)


def test_version() -> None:
    assert genai_prices_version() == version("genai-prices")


def test_importing_providers_does_not_import_sdks() -> None:
    code = (
        "import sys\n"
        "import promptops.providers.factory, promptops.providers.pricing\n"
        "import promptops.providers.retry, promptops.providers.ratelimit\n"
        "import promptops.providers.anthropic_provider, promptops.providers.openai_provider\n"
        "from promptops.providers.pricing import price_of, genai_prices_version\n"
        "from promptops.core.models import Usage\n"
        "price_of('python', 'python', 'a:b', Usage(), {})\n"
        "genai_prices_version()\n"
        "bad = [m for m in ('anthropic', 'openai', 'genai_prices') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30, cwd=root)
