"""Route a support ticket with the deployed customer-support-router prompt.

    python examples/route_ticket.py "I was charged twice for March"

Uses the version deployed to production (deploy/production.yaml; the head prompt when nothing is
deployed yet), retries and fails over Claude → the keyword baseline, and records one metrics row
per call in .promptops/metrics.db. Works offline: without ANTHROPIC_API_KEY the call degrades to
the keyword router and says so.
"""

from __future__ import annotations

import sys

from promptops.runtime import Runtime


def main(ticket: str) -> int:
    """Route one ticket and print the queue with how it was answered."""
    chains = {"customer-support-router": ["keyword-baseline"]}  # tier 2 after the model
    runtime = Runtime.from_project(".", env="production", chains=chains)
    try:
        result = runtime.call("customer-support-router", {"ticket": ticket})
    finally:
        runtime.close()
        if runtime.metrics is not None:
            runtime.metrics.close()  # type: ignore[attr-defined]
    print(f"{result.text.strip()}  (tier {result.tier}, model {result.model}, "
          f"prompt {result.prompt_name}@{result.prompt_version or 'head'}, "
          f"{result.latency_ms:.0f} ms{', degraded' if result.degraded else ''})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(" ".join(sys.argv[1:]) or "I was charged twice for March"))
