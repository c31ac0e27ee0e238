"""Runtime hot path: `store.get(name).render(vars)` on a cached version, µs per call.

Run:  .venv/bin/python bench/runtime_bench.py [--calls 100000] [--ttl 0]
Builds a throwaway project from the example customer-support-router prompt (registry entry,
snapshot, production pointer), then times --calls get+render pairs (one stat of the pointer
per get unless --ttl > 0). Goal: ≤ 100 µs per call.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from promptops.core.prompt import parse_prompt
from promptops.core.registry import ChangelogEntry, Pointer, PointerEntry, PromptRecord, Registry
from promptops.core.yamlsource import parse_yaml
from promptops.runtime import PromptStore
from promptops.storage.registry_store import RegistryStore

GOAL_US = 100.0
NAME = "customer-support-router"
EXAMPLE = Path(__file__).resolve().parents[1] / "prompts" / NAME / "prompt.yaml"
VARS = {"ticket": "I was charged twice for my March invoice, please fix it.",
        "customer_tier": "enterprise"}


def build(root: Path) -> None:
    """A registry with one released version, its snapshot and a production pointer."""
    store = RegistryStore(root)
    text = EXAMPLE.read_text(encoding="utf-8").replace("version: 0.1.0", "version: 1.0.0")
    (root / "prompts" / NAME).mkdir(parents=True)
    (root / "prompts" / NAME / "prompt.yaml").write_text(text, encoding="utf-8")
    behaviour = parse_prompt(parse_yaml(text, "p"), "p").behaviour_hash
    entry = ChangelogEntry("1.0.0", "2025-01-01", "released", "bench", "minor", None, behaviour,
                           store.write_snapshot(NAME, "1.0.0", text), "anthropic:claude-sonnet-5-5")
    store.save_registry(Registry().with_prompt(
        PromptRecord(NAME, "1.0.0", "1.0.0", None, None).with_entry(entry)))
    store.save_pointer(Pointer("production", {NAME: PointerEntry(
        True, "1.0.0", "anthropic:claude-sonnet-5-5", None, None, "rollback", behaviour, None,
        (), None, None, None)}))


def main() -> None:
    """Time the hot path and print µs per call."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--ttl", type=float, default=0.0, help="ttl_s (0: stat on every get)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
        t0 = time.perf_counter()
        store = PromptStore(tmp, "production", ttl_s=args.ttl or None, environ={})
        store.get(NAME).render(VARS)  # first call: parse, verify, compile
        cold_ms = (time.perf_counter() - t0) * 1000
        get = store.get
        t0 = time.perf_counter()
        for _ in range(args.calls):
            get(NAME).render(VARS)
        per_call = (time.perf_counter() - t0) / args.calls * 1e6
        t0 = time.perf_counter()
        for _ in range(args.calls):
            get(NAME)
        get_only = (time.perf_counter() - t0) / args.calls * 1e6
    verdict = "ok" if per_call <= GOAL_US else "OVER GOAL"
    print(f"first get+render (load, verify, compile): {cold_ms:.1f} ms")
    print(f"get only: {get_only:.2f} µs per call")
    print(f"get+render: {per_call:.2f} µs per call over {args.calls} calls "
          f"(goal ≤ {GOAL_US:.0f} µs): {verdict}")


if __name__ == "__main__":
    main()
