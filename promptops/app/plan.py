"""Prepare an eval run: load and validate everything, build providers; no model is called."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from promptops.core.config import ProjectConfig, ProviderConfig
from promptops.core.errors import ConfigError
from promptops.core.hashing import content_hash
from promptops.core.models import Case, ModelRequest, Suite
from promptops.core.prompt import PromptFile, Renderer, check_inputs
from promptops.core.selection import select_cases
from promptops.core.suite import parse_criterion
from promptops.storage.project import find_root, load_config, load_prompt, load_suite


@dataclass(frozen=True)
class EvalOptions:
    """What the user asked for on the command line."""

    models: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    sample: int | None = None
    seed: int = 0
    repeats: int | None = None
    use_cache: bool = True
    refresh: bool = False
    resume: str | None = None  # run id, or "latest"
    concurrency: int | None = None
    judge: str | None = None  # overrides every llm_judge criterion's judge model
    prompt: str | None = None  # run another prompt version than the suite names (baselines)


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec resolved through aliases to a provider config and the provider's model id."""

    spec: str  # as requested (alias or provider:model)
    provider: ProviderConfig
    model_id: str


@dataclass(frozen=True)
class Job:
    """One (case, model, repeat) to run, with its rendered request."""

    case: Case
    model: ResolvedModel
    repeat: int
    request: ModelRequest
    cache_key: str | None


@dataclass
class Plan:
    """Everything validated and ready; `providers` hold live (lazy) clients."""

    root: Path
    config: ProjectConfig
    suite: Suite
    prompt: PromptFile
    models: tuple[ResolvedModel, ...]
    cases: tuple[Case, ...]
    jobs: tuple[Job, ...]
    providers: dict[str, Any] = field(default_factory=dict)
    options: EvalOptions = field(default_factory=EvalOptions)
    judges: dict[str, ResolvedModel] = field(default_factory=dict)  # spec -> judge model
    judge_specs: dict[str, str] = field(default_factory=dict)  # "case\0criterion" -> spec
    warnings: list[str] = field(default_factory=list)


def resolve_model(spec: str, config: ProjectConfig, where: str | None = None) -> ResolvedModel:
    """Expand aliases and split `provider:model` (python targets keep their own colon)."""
    target = config.models.get(spec, spec)
    provider_name, sep, model_id = target.partition(":")
    if not sep or not provider_name or not model_id:
        aliases = ", ".join(sorted(config.models)) or "none defined"
        raise ConfigError(
            f"model {spec!r} is not `provider:model` nor a known alias", where=where,
            why=f"aliases in promptops.yaml: {aliases}",
            fix="write e.g. `anthropic:claude-sonnet-5-5`, `openai:gpt-4o-mini`, "
            "`python:package.module:function`, or add an alias under `models:`",
        )
    return ResolvedModel(spec=spec, provider=config.provider(provider_name), model_id=model_id)


def cache_key(model: ResolvedModel, request: ModelRequest, repeat: int) -> str | None:
    """Hash of everything that changes the answer; python baselines are not cached."""
    if model.provider.kind == "python":
        return None  # a code change would not change the key, and they cost nothing
    return content_hash({
        "provider": model.provider.name, "kind": model.provider.kind,
        "base_url": model.provider.base_url, "model": request.model,
        "messages": [(m.role, m.content) for m in request.messages],
        "params": dict(request.params), "tools": list(request.tools),
        "output_format": request.output_format, "repeat": repeat,
    })


def make_request(prompt: PromptFile, model: ResolvedModel, messages: Any,
                 variables: Mapping[str, Any]) -> ModelRequest:
    """The provider-neutral request for one case."""
    return ModelRequest(model=model.model_id, messages=messages, params=dict(prompt.config),
                        inputs=variables, output_format=prompt.output_format,
                        tools=prompt.tools)


def load_plan_parts(suite_path: Path, prompt_ref: str | None = None
                    ) -> tuple[Path, ProjectConfig, Suite, PromptFile]:
    """Load config, suite and prompt (validated)."""
    if not suite_path.is_file():
        raise ConfigError(f"suite file {str(suite_path)!r} not found",
                          fix="pass a path such as suites/my-suite.yaml")
    root = find_root(suite_path.parent)
    config = load_config(root)
    suite = load_suite(suite_path)
    prompt = load_prompt(root, prompt_ref or suite.prompt, where=f"{suite.path}")
    return root, config, suite, prompt


def build_plan(suite_path: Path, options: EvalOptions, env: Mapping[str, str] | None = None,
               *, connect: bool = True) -> Plan:
    """Validate the whole run and render every request; raises ConfigError (exit 2)."""
    from promptops.providers.factory import build_provider

    env = os.environ if env is None else env
    root, config, suite, prompt = load_plan_parts(suite_path, options.prompt)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # python: baselines and custom scorers live in the repo
    specs = options.models or suite.models or ((prompt.model,) if prompt.model else ())
    if not specs:
        raise ConfigError("no model to evaluate", where=suite.path,
                          fix="pass --model, or set `models:` in the suite or `model:` in "
                          "the prompt")
    models = tuple(resolve_model(s, config, suite.path) for s in dict.fromkeys(specs))
    if options.concurrency:  # --concurrency beats promptops.yaml, down to the HTTP pool size
        models = tuple(replace(m, provider=replace(m.provider, concurrency=options.concurrency))
                       for m in models)
    cases = select_cases(suite.cases, options.filters, options.sample, options.seed)
    repeats = options.repeats or suite.repeats
    if prompt.output_schema is not None:
        cases = _with_schema_check(cases, prompt)
    renderer = Renderer(prompt)
    rendered = []
    for case in cases:
        variables = check_inputs(prompt, case.input, case.where)
        rendered.append((case, variables, renderer.render(variables, case.where)))
    jobs = []
    for model in models:
        for case, variables, messages in rendered:
            request = make_request(prompt, model, messages, variables)
            for r in range(repeats):
                jobs.append(Job(case, model, r, request, cache_key(model, request, r)))
    judges, judge_specs, warnings = _resolve_judges(cases, suite, config, options, models)
    providers: dict[str, Any] = {}
    if connect:
        for model in (*models, *judges.values()):
            key = provider_key(model)
            if key not in providers:
                providers[key] = build_provider_for(model, env, build_provider)
    return Plan(root, config, suite, prompt, models, cases, tuple(jobs), providers, options,
                judges, judge_specs, warnings)


def _resolve_judges(
    cases: Sequence[Case], suite: Suite, config: ProjectConfig, options: EvalOptions,
    models: Sequence[ResolvedModel],
) -> tuple[dict[str, ResolvedModel], dict[str, str], list[str]]:
    """Judge model per llm_judge criterion, resolved and checked before any call."""
    from promptops.app.judging import judge_spec, self_judge_warnings

    judges: dict[str, ResolvedModel] = {}
    specs: dict[str, str] = {}
    used = []
    for case in cases:
        for crit in case.criteria:
            if crit.scorer == "llm_judge":
                spec = judge_spec(crit, suite.judge, config.judge, options.judge)
                if spec not in judges:
                    judges[spec] = resolve_model(spec, config, crit.where)
                specs[f"{case.id}\0{crit.name}"] = spec
                used.append((crit, spec))
    return judges, specs, self_judge_warnings(judges, models, used)


def provider_key(model: ResolvedModel) -> str:
    """The key under which a model's provider instance is stored in Plan.providers."""
    return f"python:{model.model_id}" if model.provider.kind == "python" else model.provider.name


def build_provider_for(model: ResolvedModel, env: Mapping[str, str], factory: Any) -> Any:
    """Build (and for python targets, import-check) the provider of a model."""
    if model.provider.kind == "python":
        from promptops.providers.factory import build_python_provider

        provider = build_python_provider(model.model_id)
        provider.check()
        return provider
    return factory(model.provider, env)


def _with_schema_check(cases: Sequence[Case], prompt: PromptFile) -> tuple[Case, ...]:
    """A json prompt with an output schema gets an automatic `output-schema` criterion."""
    out = []
    for case in cases:
        if any(c.name == "output-schema" for c in case.criteria):
            out.append(case)
            continue
        crit = parse_criterion({"name": "output-schema", "scorer": "json",
                                "schema": prompt.output_schema, "weight": 1},
                               prompt.path, None, False)
        out.append(replace(case, criteria=(*case.criteria, crit)))
    return tuple(out)
