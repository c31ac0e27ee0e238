"""Suite files: cases, default and per-case criteria, thresholds; validated with file:line."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from promptops.core.errors import ConfigError
from promptops.core.hashing import content_hash
from promptops.core.models import Case, Criterion, Suite, Thresholds
from promptops.core.scorers import validate_criterion
from promptops.core.scorers.base import COMMON_KEYS, REDUCERS
from promptops.core.yamlsource import require_mapping, where_of

# (cases_file value, where) -> list of raw case mappings; file access lives outside the core.
CaseLoader = Callable[[str, str], Sequence[Mapping[str, Any]]]

_SUITE_KEYS = {
    "suite", "description", "prompt", "models", "repeats", "defaults", "thresholds", "gate",
    "cases", "cases_file", "judge", "tags", "reduce",
}
_GATE_KEYS = {"baseline", "env", "margin", "tolerance", "on_inconclusive"}
_DEFAULT_KEYS = {"criteria", "threshold", "tags"}
CRITICAL_TAG = "critical"  # such a case must pass (every repeat) unless `required: false`
_CASE_KEYS = {
    "id", "input", "expected", "criteria", "tags", "threshold", "required", "description",
    "cluster", "metadata",
}
_THRESHOLD_KEYS = {"score", "pass_rate", "p95_latency_ms", "cost_per_case_usd", "error_budget"}
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/#@-]*$")


def _err(what: str, where: str, fix: str, why: str | None = None) -> ConfigError:
    return ConfigError(what, where=where, why=why, fix=fix)


def _unknown_keys(raw: Mapping[str, Any], allowed: set[str], what: str, where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise _err(f"unknown key {key!r} in {what}", where_of(raw, key, where),
                       "fix the spelling or remove it",
                       why=f"allowed: {', '.join(sorted(allowed))}")


def _fraction(raw: Mapping[str, Any], key: str, where: str, *, upper: float | None = 1.0) -> float:
    value = raw[key]
    bad = isinstance(value, bool) or not isinstance(value, int | float) or value < 0
    if bad or (upper is not None and value > upper):
        rng = f"between 0 and {upper:g}" if upper is not None else ">= 0"
        raise _err(f"`{key}` must be a number {rng}, got {value!r}", where_of(raw, key, where),
                   f"set `{key}` to a number {rng}")
    return float(value)


def parse_criterion(raw: Any, where: str, reference: Any, has_reference: bool) -> Criterion:
    """Validate one criterion mapping; `reference` is the case's expected value."""
    raw = require_mapping(raw, "a criterion", where)
    here = where_of(raw, None, where)
    scorer = raw.get("scorer")
    if not isinstance(scorer, str):
        raise _err("criterion has no `scorer`", here, "add e.g. `scorer: exact`")
    name = raw.get("name", scorer)
    if not isinstance(name, str) or not name:
        raise _err("criterion `name` must be text", here, "write `name: route`")
    weight = _fraction(raw, "weight", here, upper=None) if "weight" in raw else 1.0
    threshold = _fraction(raw, "threshold", here) if "threshold" in raw else 1.0
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise _err("`required` must be true or false", where_of(raw, "required", here),
                   "write `required: true`")
    reduce = raw.get("reduce")
    if reduce is not None and reduce not in REDUCERS:
        raise _err(f"`reduce: {reduce}` is not one of {', '.join(REDUCERS)}",
                   where_of(raw, "reduce", here),
                   "use mean (average), all (pass^k), any (pass@k) or majority")
    has_value = "value" in raw
    ref = raw["value"] if has_value else reference
    options = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    validate_criterion(name, scorer, options, ref, has_value or has_reference, here)
    return Criterion(name=name, scorer=scorer, weight=weight, threshold=threshold,
                     required=required, value=raw.get("value"), has_value=has_value,
                     options=options, where=here, reduce=reduce)


def _criteria_list(raw: Any, what: str, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _err(f"{what} must be a list", where_of(raw, None, where),
                   "write criteria as `- {name: route, scorer: exact}` items")
    return raw


def _tags(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [t for t in re.split(r"[,;\s]+", raw) if t]
    if not isinstance(raw, list) or not all(isinstance(t, str | int) for t in raw):
        raise _err("`tags` must be a list of words", where, "write `tags: [billing, critical]`")
    return tuple(str(t) for t in raw)


def parse_case(
    raw: Any, where: str, defaults: Sequence[Any], default_threshold: float,
    default_tags: tuple[str, ...],
) -> Case:
    """Validate one case and merge the default criteria into it (same name = override)."""
    raw = require_mapping(raw, "a case", where)
    here = where_of(raw, None, where)
    _unknown_keys(raw, _CASE_KEYS, "case", here)
    cid = raw.get("id")
    if isinstance(cid, int) and not isinstance(cid, bool):
        cid = str(cid)
    if not isinstance(cid, str) or not _ID_RE.match(cid):
        raise _err(f"case id {cid!r} is missing or not a plain identifier", here,
                   "give every case a stable `id:` such as `billing-double-charge`",
                   why="comparisons between runs pair cases by id")
    inputs = require_mapping(raw.get("input", {}), f"input of case {cid!r}", here)
    has_expected = "expected" in raw
    expected = raw.get("expected")
    own = _criteria_list(raw.get("criteria"), "case criteria", here)
    own_names = {c.get("name", c.get("scorer")) for c in own if isinstance(c, Mapping)}
    merged = [c for c in defaults if isinstance(c, Mapping)
              and c.get("name", c.get("scorer")) not in own_names] + own
    if not merged:
        raise _err(f"case {cid!r} has no criteria", here,
                   "add `defaults: {criteria: [...]}` to the suite or `criteria:` to the case")
    criteria = []
    for item in merged:
        item_where = where_of(item, None, here)
        criteria.append(parse_criterion(item, item_where, expected, has_expected))
    names = [c.name for c in criteria]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _err(f"case {cid!r} has two criteria named {dupes}", here,
                   "give each criterion a distinct `name:`")
    threshold = _fraction(raw, "threshold", here) if "threshold" in raw else default_threshold
    tags = tuple(dict.fromkeys(default_tags + _tags(raw.get("tags"), here)))
    # DESIGN §5: "required/critical cases" are one thing; `required: false` can still opt out
    required = raw.get("required", CRITICAL_TAG in tags)
    if not isinstance(required, bool):
        raise _err("`required` must be true or false", where_of(raw, "required", here),
                   "write `required: true`")
    chash = content_hash({"input": inputs, "expected": expected,
                          "criteria": [dict(c) for c in merged], "threshold": threshold})
    cluster = raw.get("cluster")
    if cluster is not None and not isinstance(cluster, str | int):
        raise _err("`cluster` must be a name", where_of(raw, "cluster", here),
                   "write `cluster: passage-3` (cases sharing it are analysed together)")
    return Case(id=cid, input=dict(inputs), expected=expected, criteria=tuple(criteria),
                tags=tags, threshold=threshold, required=required, where=here,
                content_hash=chash, cluster=str(cluster) if cluster is not None else None)


def parse_thresholds(raw: Any, where: str) -> Thresholds:
    """Validate the suite's `thresholds` mapping."""
    raw = require_mapping(raw or {}, "thresholds", where)
    _unknown_keys(raw, _THRESHOLD_KEYS, "thresholds", where)
    get = {k: _fraction(raw, k, where, upper=None if k in ("p95_latency_ms", "cost_per_case_usd")
                        else 1.0) for k in raw}
    return Thresholds(score=get.get("score"), pass_rate=get.get("pass_rate"),
                      p95_latency_ms=get.get("p95_latency_ms"),
                      cost_per_case_usd=get.get("cost_per_case_usd"),
                      error_budget=get.get("error_budget", 0.0))


def parse_gate(raw: Any, where: str) -> dict[str, Any]:
    """Validate `gate:` (baseline, env, margin, tolerance, on_inconclusive)."""
    gate = require_mapping(raw or {}, "gate", where)
    _unknown_keys(gate, _GATE_KEYS, "gate", where)
    out: dict[str, Any] = dict(gate)
    for key in ("margin", "tolerance"):
        if key in gate:
            out[key] = _fraction(gate, key, where)
    if gate.get("on_inconclusive", "warn") not in ("warn", "fail"):
        raise _err("`on_inconclusive` must be warn or fail", where_of(gate, "on_inconclusive",
                   where), "write `on_inconclusive: warn` (exit 0, loudly) or `fail` (exit 1)")
    for key in ("baseline", "env"):
        if key in gate and not isinstance(gate[key], str):
            raise _err(f"`gate.{key}` must be text", where_of(gate, key, where),
                       "e.g. `baseline: deployed`, `env: production`")
    return out


def parse_suite(data: Any, path: str, load_cases: CaseLoader) -> Suite:
    """Validate a parsed suite document (cases from `cases_file:` come through `load_cases`)."""
    raw = require_mapping(data, "a suite file", path)
    _unknown_keys(raw, _SUITE_KEYS, "suite", path)
    name = raw.get("suite")
    if not isinstance(name, str) or not name:
        raise _err("suite has no `suite:` name", where_of(raw, None, path),
                   "add `suite: my-suite` at the top")
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise _err("suite has no `prompt:`", where_of(raw, None, path),
                   "name the prompt under prompts/ to evaluate, e.g. `prompt: my-prompt`")
    models_raw = raw.get("models", [])
    if isinstance(models_raw, str):
        models_raw = [models_raw]
    if not isinstance(models_raw, list) or not all(isinstance(m, str) for m in models_raw):
        raise _err("`models` must be a list of model names", where_of(raw, "models", path),
                   "write `models: [anthropic:claude-sonnet-5-5]`")
    repeats = raw.get("repeats", 1)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 100:
        raise _err(f"`repeats` must be an integer from 1 to 100, got {repeats!r}",
                   where_of(raw, "repeats", path), "set `repeats: 1`")
    defaults = require_mapping(raw.get("defaults") or {}, "defaults", path)
    _unknown_keys(defaults, _DEFAULT_KEYS, "defaults", path)
    default_criteria = _criteria_list(defaults.get("criteria"), "defaults.criteria", path)
    default_threshold = (_fraction(defaults, "threshold", path) if "threshold" in defaults
                         else 1.0)
    default_tags = _tags(raw.get("tags"), where_of(raw, "tags", path))
    rows: list[tuple[Any, str]] = []
    inline = raw.get("cases")
    if inline is not None:
        if not isinstance(inline, list):
            raise _err("`cases` must be a list", where_of(raw, "cases", path),
                       "write each case as `- id: ...`")
        rows += [(c, where_of(inline, i, path)) for i, c in enumerate(inline)]  # type: ignore[arg-type]
    files = raw.get("cases_file")
    for ref in [files] if isinstance(files, str) else files or []:
        loaded = load_cases(str(ref), where_of(raw, "cases_file", path))
        rows += [(c, where_of(c, None, f"{ref}")) for c in loaded]
    if not rows:
        raise _err("suite has no cases", where_of(raw, None, path),
                   "add `cases:` inline or `cases_file: cases.jsonl`")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for row, where in rows:
        case = parse_case(row, where, default_criteria, default_threshold, default_tags)
        if case.id in seen:
            raise _err(f"duplicate case id {case.id!r}", case.where,
                       "case ids must be unique within a suite",
                       why=f"first used at {seen[case.id]}")
        seen[case.id] = case.where
        cases.append(case)
    thresholds = parse_thresholds(raw.get("thresholds"), where_of(raw, "thresholds", path))
    gate = parse_gate(raw.get("gate"), where_of(raw, "gate", path))
    reduce = raw.get("reduce", "mean")
    if reduce not in REDUCERS:
        raise _err(f"`reduce: {reduce}` is not one of {', '.join(REDUCERS)}",
                   where_of(raw, "reduce", path),
                   "use mean (average), all (pass^k), any (pass@k) or majority")
    judge = raw.get("judge")
    if judge is not None and (not isinstance(judge, str) or not judge):
        raise _err("`judge` must name a model", where_of(raw, "judge", path),
                   "write e.g. `judge: openai:gpt-4o-mini`")
    suite_hash = content_hash({
        "prompt": prompt, "repeats": repeats, "thresholds": raw.get("thresholds"),
        "cases": [c.content_hash for c in cases], "ids": [c.id for c in cases],
    })
    return Suite(name=name, path=path, prompt=prompt, models=tuple(models_raw),
                 cases=tuple(cases), thresholds=thresholds, repeats=repeats,
                 description=str(raw.get("description") or ""), hash=suite_hash,
                 gate=gate, reduce=str(reduce), judge=judge)
