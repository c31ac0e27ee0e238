"""Frozen value types shared by every layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    """Token usage, normalised: `input_tokens` INCLUDES cache reads and writes."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Message:
    """One chat message in provider-neutral form (system messages included)."""

    role: str
    content: str


@dataclass(frozen=True)
class ModelRequest:
    """Everything a provider needs for one call; also what the cache key is made of."""

    model: str  # the provider's own model id, e.g. "claude-sonnet-5-5"
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)  # temperature, max_tokens, ...
    inputs: Mapping[str, Any] = field(default_factory=dict)  # the case's variables (python:)
    output_format: str = "text"
    tools: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ToolCall:
    """A tool call requested by the model."""

    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Completion:
    """A provider's answer to one request."""

    text: str
    usage: Usage = field(default_factory=Usage)
    served_model: str | None = None
    finish_reason: str | None = None
    latency_ms: float = 0.0
    request_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    attempts: int = 1
    ttft_ms: float | None = None  # streams only: time to the first text delta
    server_ms: float | None = None  # the provider's own processing time, when it reports one


@dataclass(frozen=True)
class Criterion:
    """One scoring rule of a case, as validated from the suite."""

    name: str
    scorer: str
    weight: float = 1.0
    threshold: float = 1.0
    required: bool = False
    value: Any = None  # compare against this when set, else the case's `expected`
    has_value: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)  # scorer-specific settings
    where: str = ""
    reduce: str | None = None  # over repeats: mean | all | any | majority (None: the suite's)


@dataclass(frozen=True)
class Case:
    """One eval case."""

    id: str
    input: Mapping[str, Any]
    expected: Any = None
    criteria: tuple[Criterion, ...] = ()
    tags: tuple[str, ...] = ()
    threshold: float = 1.0
    required: bool = False  # the suite fails when this case fails, whatever the thresholds
    where: str = ""
    content_hash: str = ""
    cluster: str | None = None  # cases sharing a cluster are not independent (clustered SE)


@dataclass(frozen=True)
class Observation:
    """What a scorer sees of one model call."""

    output: str
    latency_ms: float | None = None
    cost_usd: float | None = None
    output_tokens: int | None = None
    input_tokens: int | None = None


@dataclass(frozen=True)
class ScoreResult:
    """A criterion's result: score in [0,1], or None when unscored (with the reason)."""

    name: str
    scorer: str
    score: float | None
    passed: bool | None
    explanation: str
    weight: float = 1.0
    required: bool = False
    detail: Mapping[str, Any] | None = None  # e.g. an LLM judge's transcript

    @property
    def scored(self) -> bool:
        """True when the scorer could give a score."""
        return self.score is not None


@dataclass(frozen=True)
class Thresholds:
    """Suite-level pass rules; None means not checked."""

    score: float | None = None
    pass_rate: float | None = None
    p95_latency_ms: float | None = None
    cost_per_case_usd: float | None = None
    error_budget: float = 0.0  # share of case runs allowed to end in a provider error


@dataclass(frozen=True)
class Suite:
    """A validated eval suite."""

    name: str
    path: str
    prompt: str  # prompt name, optionally `name@version`
    models: tuple[str, ...]
    cases: tuple[Case, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    repeats: int = 1
    description: str = ""
    hash: str = ""
    gate: Mapping[str, Any] = field(default_factory=dict)
    reduce: str = "mean"  # how repeats of a criterion collapse (criteria may override)
    judge: str | None = None  # default judge model for llm_judge criteria


@dataclass(frozen=True)
class CaseRun:
    """The result of running one case once against one model."""

    case_id: str
    model: str  # the model spec as requested, e.g. "anthropic:claude-sonnet-5-5"
    repeat: int
    output: str | None
    scores: tuple[ScoreResult, ...]
    score: float | None  # weighted mean of scored criteria, None when nothing scored
    passed: bool
    error: str | None = None  # a provider error that survived retries (not a failure)
    error_kind: str | None = None
    served_model: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: float | None = None
    cached: bool = False
    attempts: int = 1
    tags: tuple[str, ...] = ()
    required: bool = False
    fail_reason: str = ""
    content_hash: str = ""  # of the case (input, expected, criteria): pairs runs across versions
    cluster: str | None = None


@dataclass(frozen=True)
class RunMeta:
    """Who/what/when of one eval run, stored at the top of the run record."""

    run_id: str
    suite: str
    suite_path: str
    suite_hash: str
    prompt: str
    prompt_version: str | None
    behaviour_hash: str
    models: tuple[str, ...]
    started_at: str  # ISO 8601 UTC
    finished_at: str = ""
    duration_s: float = 0.0
    git_commit: str | None = None
    git_dirty: bool | None = None
    promptops_version: str = ""
    prices_version: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # filter, sample, seed, cache ...
    cases_total: int = 0  # cases in the suite before --filter/--sample
