"""LLM-judge criteria inside a run: resolve the judge, call it (cached, retried), score."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from promptops.app.plan import ResolvedModel, cache_key
from promptops.core.errors import ConfigError, ProviderError
from promptops.core.judge import judge_messages, parse_verdict
from promptops.core.models import Case, Completion, Criterion, ModelRequest, ScoreResult

Fetch = Callable[[ResolvedModel, ModelRequest, "str | None"], Awaitable[tuple[Completion, bool]]]
JUDGE_PARAMS = {"temperature": 0, "max_tokens": 1024}


def judge_spec(criterion: Criterion, suite_judge: str | None, config_judge: str | None,
               override: str | None) -> str:
    """--judge, else the criterion's `judge`, else the suite's, else promptops.yaml's."""
    spec = override or criterion.options.get("judge") or suite_judge or config_judge
    if not spec:
        raise ConfigError(
            f"criterion {criterion.name!r} (llm_judge) has no judge model", where=criterion.where,
            fix="add `judge: openai:gpt-4o-mini` to the criterion or the suite, "
            "`defaults: {judge: ...}` to promptops.yaml, or pass --judge",
        )
    return str(spec)


def self_judge_warnings(judges: Mapping[str, ResolvedModel], candidates: Sequence[ResolvedModel],
                        criteria: Sequence[tuple[Criterion, str]]) -> list[str]:
    """Warn when a judge is the model under test (self-preference bias)."""
    out = []
    for crit, spec in criteria:
        judge = judges[spec]
        for cand in candidates:
            same = (judge.provider.name, judge.model_id) == (cand.provider.name, cand.model_id)
            if same and not crit.options.get("allow_self_judge", False):
                out.append(f"{crit.where}: criterion {crit.name!r} is judged by {spec}, the "
                           f"model under test; judges favour their own outputs "
                           "(set `allow_self_judge: true` to silence this)")
    return list(dict.fromkeys(out))


def judge_request(criterion: Criterion, case: Case, output: str, judge: ResolvedModel
                  ) -> ModelRequest:
    """The judge call for one output (rubric, choices, optional input and reference)."""
    reference = criterion.value if criterion.has_value else case.expected
    messages = judge_messages(
        str(criterion.options["rubric"]), dict(criterion.options["choices"]), output,
        inputs=case.input if criterion.options.get("include_input", True) else None,
        reference=reference,
    )
    return ModelRequest(model=judge.model_id, messages=messages, params=JUDGE_PARAMS)


async def judge_case(fetch: Fetch, judges: Mapping[str, ResolvedModel],
                     specs: Mapping[str, str], case: Case, output: str, repeat: int
                     ) -> dict[str, ScoreResult]:
    """Run every llm_judge criterion of a case; a judge failure is `unscored`, never a pass."""
    results: dict[str, ScoreResult] = {}
    for crit in case.criteria:
        if crit.scorer != "llm_judge":
            continue
        spec = specs[f"{case.id}\0{crit.name}"]
        judge = judges[spec]
        request = judge_request(crit, case, output, judge)
        choices = {str(k): float(v) for k, v in crit.options["choices"].items()}
        detail: dict[str, Any] = {"judge_model": spec, "prompt": request.messages[-1].content}
        try:
            completion, cached = await fetch(judge, request, cache_key(judge, request, repeat))
        except ProviderError as exc:
            results[crit.name] = _result(crit, None, f"judge error ({exc.kind}): {exc.what}",
                                         {**detail, "error": exc.what})
            continue
        verdict = parse_verdict(completion.text, choices)
        detail.update(served_model=completion.served_model, raw=completion.text,
                      verdict=verdict.label, reasoning=verdict.reasoning, cached=cached)
        if verdict.label is None:
            why = f"judge gave no valid verdict (expected one of {', '.join(choices)})"
            results[crit.name] = _result(crit, None, why, detail)
        else:
            score = choices[verdict.label]
            why = f"judge chose {verdict.label} ({score:g}): {_last_sentence(verdict.reasoning)}"
            results[crit.name] = _result(crit, score, why, detail)
    return results


def _last_sentence(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else "…" + line[-(limit - 1):]


def _result(crit: Criterion, score: float | None, why: str, detail: dict[str, Any]
            ) -> ScoreResult:
    passed = None if score is None else score >= crit.threshold - 1e-9
    return ScoreResult(name=crit.name, scorer=crit.scorer, score=score, passed=passed,
                       explanation=why, weight=crit.weight, required=crit.required,
                       detail=detail)
