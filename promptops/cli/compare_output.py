"""`promptops compare` glue: load two records, compare, print, write reports."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from promptops.core.errors import ConfigError

SUFFIXES = (".md", ".json")


def run_compare(baseline: str, candidate: str, margin: float, tolerance: float,
                on_inconclusive: str, outputs: tuple[Path, ...], json_out: bool) -> int:
    """Compare two stored runs; return the exit code of the verdict."""
    from promptops.app.compare import GatePolicy, compare, load_run
    from promptops.storage.project import find_root

    for out in outputs:
        if out.suffix.lower() not in SUFFIXES:
            raise ConfigError(f"unknown report type {out.name!r}",
                              fix="use -o comparison.md or -o comparison.json (for an HTML "
                              "page, run `promptops eval SUITE --baseline RUN -o report.html`)")
    root = find_root()
    base, cand = load_run(root, baseline), load_run(root, candidate)
    comparisons = compare(base, cand, GatePolicy(margin, tolerance, on_inconclusive))
    data = [{**asdict(c), "exit_code": c.exit_code} for c in comparisons]
    if json_out:
        sys.stdout.write(json.dumps(data, indent=1) + "\n")
    else:
        from rich.console import Console

        from promptops.report.compare_terminal import render_comparisons

        render_comparisons(comparisons, Console(highlight=False))
    for out in outputs:
        suffix = out.suffix.lower()
        if suffix == ".json":
            text = json.dumps(data, indent=1)
        else:
            from promptops.report.markdown import render_comparison_markdown

            text = render_comparison_markdown(comparisons)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return max(c.exit_code for c in comparisons)
