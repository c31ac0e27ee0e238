"""Choose which cases run: --filter by tag/id glob, --sample N with a seed."""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Sequence

from promptops.core.errors import ConfigError
from promptops.core.models import Case


def _matches(case: Case, term: str) -> bool:
    kind, _, pattern = term.partition(":") if ":" in term else ("", "", term)
    if kind == "tag":
        return any(fnmatch.fnmatchcase(t, pattern) for t in case.tags)
    if kind == "id":
        return fnmatch.fnmatchcase(case.id, pattern)
    if kind:
        raise ConfigError(f"unknown filter kind {kind!r} in {term!r}",
                          fix="use `tag:NAME`, `id:GLOB` or a bare word (tag or id)")
    return fnmatch.fnmatchcase(case.id, pattern) or any(
        fnmatch.fnmatchcase(t, pattern) for t in case.tags)


def select_cases(
    cases: Sequence[Case], filters: Sequence[str] = (), sample: int | None = None, seed: int = 0
) -> tuple[Case, ...]:
    """Keep cases matching ANY filter term (`!term` excludes), then sample N reproducibly."""
    include = [f for f in filters if not f.startswith("!")]
    exclude = [f[1:] for f in filters if f.startswith("!")]
    chosen = [
        c for c in cases
        if (not include or any(_matches(c, f) for f in include))
        and not any(_matches(c, f) for f in exclude)
    ]
    if not chosen:
        raise ConfigError(
            f"--filter {' '.join(filters)!r} matches no case",
            fix="check the tag or id; `promptops lint SUITE` lists them",
        )
    if sample is not None:
        if sample < 1:
            raise ConfigError("--sample must be at least 1", fix="pass e.g. `--sample 20`")
        if sample < len(chosen):
            picked = set(random.Random(seed).sample(range(len(chosen)), sample))
            chosen = [c for i, c in enumerate(chosen) if i in picked]  # keep suite order
    return tuple(chosen)
