"""The async engine: bounded concurrency per provider, rate limits, cache, retries, journal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from promptops.app.judging import judge_case
from promptops.app.plan import Job, Plan, ResolvedModel, provider_key
from promptops.core.errors import ProviderError
from promptops.core.models import CaseRun, Completion, ModelRequest, Observation, ScoreResult
from promptops.core.scoring import score_case
from promptops.providers.pricing import price_of
from promptops.providers.ratelimit import RateLimiter
from promptops.providers.retry import RetryPolicy, call_with_retries
from promptops.storage.cache import ResponseCache
from promptops.storage.records import Journal, RunKey

OnDone = Callable[[CaseRun], None]


@dataclass
class Lane:
    """Per-provider traffic control: in-flight bound and rate limiter."""

    semaphore: asyncio.Semaphore
    limiter: RateLimiter
    policy: RetryPolicy
    timeout_s: float


def _estimate_tokens(request: ModelRequest) -> int:
    chars = sum(len(m.content) for m in request.messages)
    return chars // 4 + int(request.params.get("max_tokens", 256))


class Engine:
    """Runs a plan's jobs; every outcome becomes a CaseRun (errors included, never lost)."""

    def __init__(
        self,
        plan: Plan,
        *,
        cache: ResponseCache | None,
        journal: Journal | None,
        done: Mapping[RunKey, CaseRun] | None = None,
        refresh: bool = False,
        on_done: OnDone | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.plan = plan
        self.cache = cache
        self.journal = journal
        self.done = dict(done or {})
        self.refresh = refresh
        self.on_done = on_done
        self._sleep = sleep
        self.lanes: dict[str, Lane] = {}
        self.retries = 0

    def _lane(self, model: ResolvedModel) -> Lane:
        key = provider_key(model)
        lane = self.lanes.get(key)
        if lane is None:
            cfg = model.provider
            lane = Lane(asyncio.Semaphore(cfg.concurrency), RateLimiter(cfg.rpm, cfg.tpm),
                        RetryPolicy.for_provider(cfg), cfg.timeout_s)
            self.lanes[key] = lane
        return lane

    async def run(self) -> list[CaseRun]:
        """Run every job; results come back in plan order."""
        return list(await asyncio.gather(*(self._run_job(job) for job in self.plan.jobs)))

    async def _run_job(self, job: Job) -> CaseRun:
        key = (job.case.id, job.model.spec, job.repeat)
        previous = self.done.get(key)
        if previous is not None and previous.error is None:
            self._finish(previous, journal=False)
            return previous
        try:
            completion, cached = await self._fetch(job.model, job.request, job.cache_key)
        except ProviderError as exc:
            run = self._error_run(job, exc)
            self._finish(run)
            return run
        judged = {}
        if self.plan.judges:
            judged = await judge_case(self._fetch, self.plan.judges, self.plan.judge_specs,
                                      job.case, completion.text, job.repeat)
        run = self._score(job, completion, cached, judged)
        self._finish(run)
        return run

    async def _fetch(self, model: ResolvedModel, request: ModelRequest, key: str | None
                     ) -> tuple[Completion, bool]:
        """The cached answer when there is one, else a call (stored for next time)."""
        if self.cache is not None and key is not None and not self.refresh:
            hit = self.cache.get(key)
            if hit is not None:
                return hit, True
        completion = await self._call(model, request)
        if self.cache is not None and key is not None:
            self.cache.put(key, model.provider.name, model.model_id, completion)
        return completion, False

    async def _call(self, model: ResolvedModel, request: ModelRequest) -> Completion:
        provider = self.plan.providers[provider_key(model)]
        lane = self._lane(model)
        if model.provider.kind == "python":
            return await call_with_retries(provider, request, lane.policy,
                                           timeout_s=lane.timeout_s, sleep=self._sleep)

        def on_retry(err: ProviderError, wait: float) -> None:
            self.retries += 1
            if err.kind == "rate_limit" and err.retry_after_s:
                lane.limiter.note_retry_after(err.retry_after_s)

        async with lane.semaphore:
            await lane.limiter.acquire(_estimate_tokens(request))
            return await call_with_retries(provider, request, lane.policy,
                                           timeout_s=lane.timeout_s, sleep=self._sleep,
                                           on_retry=on_retry)

    def _score(self, job: Job, completion: Completion, cached: bool,
               judged: Mapping[str, ScoreResult]) -> CaseRun:
        cfg = job.model.provider
        price = price_of(cfg.kind, cfg.name, job.model.model_id, completion.usage,
                         self.plan.config.prices)
        obs = Observation(output=completion.text, latency_ms=completion.latency_ms,
                          cost_usd=price.cost_usd, output_tokens=completion.usage.output_tokens,
                          input_tokens=completion.usage.input_tokens)
        result = score_case(job.case, obs, judged)
        return CaseRun(
            case_id=job.case.id, model=job.model.spec, repeat=job.repeat,
            output=completion.text, scores=result.scores, score=result.score,
            passed=result.passed, served_model=completion.served_model,
            usage=completion.usage, cost_usd=price.cost_usd, latency_ms=completion.latency_ms,
            cached=cached, attempts=0 if cached else completion.attempts, tags=job.case.tags,
            required=job.case.required, fail_reason=result.fail_reason,
            content_hash=job.case.content_hash, cluster=job.case.cluster,
        )

    @staticmethod
    def _error_run(job: Job, exc: ProviderError) -> CaseRun:
        return CaseRun(
            case_id=job.case.id, model=job.model.spec, repeat=job.repeat, output=None,
            scores=(), score=None, passed=False, error=exc.what, error_kind=exc.kind,
            attempts=getattr(exc, "attempts", 1), tags=job.case.tags,
            required=job.case.required, fail_reason=f"provider error ({exc.kind})",
            content_hash=job.case.content_hash, cluster=job.case.cluster,
        )

    def _finish(self, run: CaseRun, *, journal: bool = True) -> None:
        if journal and self.journal is not None:
            self.journal.append(run)
        if self.on_done is not None:
            self.on_done(run)
