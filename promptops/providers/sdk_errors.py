"""Turn any SDK/transport exception into a ProviderError, classified by status code, key-free."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

from promptops.core.errors import ProviderError, classify_status
from promptops.core.models import Completion

_MAX_DETAIL = 200
_REDACTED = "[redacted]"
# Things that look like credentials: provider keys, bearer tokens, `api_key=...` pairs.
_SECRET_PATTERNS = (
    re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-*.]{4,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-~+/=*]+"),
    re.compile(r"(?i)\b(api[_-]?key|x-api-key|authorization)\b(\s*[:=]\s*)['\"]?[^\s'\",}]+"),
)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove anything that looks like an API key (and the given exact secrets) from text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{_REDACTED}", text)
        else:
            text = pattern.sub(_REDACTED, text)
    return text


def _truncate(text: str, limit: int = _MAX_DETAIL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _class_names(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


def parse_retry_after(headers: Any, *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or HTTP date), else None."""
    if headers is None:
        return None
    try:
        raw_ms = headers.get("retry-after-ms")
        raw = headers.get("retry-after")
    except Exception:
        return None
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except (TypeError, ValueError):
            value = -1.0
        if value >= 0 and value == value:  # second test drops NaN
            return value
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        try:
            when = email.utils.parsedate_to_datetime(str(raw))
        except (TypeError, ValueError, IndexError):
            return None
        value = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, value)
    return value if value >= 0 and value == value else None


def _body_detail(body: object) -> tuple[str | None, str | None]:
    """(error type, message) from an Anthropic or OpenAI error body, or a raw text body."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text: str = body
        try:
            body = json.loads(text)
        except ValueError:
            return None, text or None
    if isinstance(body, Mapping):
        inner = body.get("error", body)  # Anthropic nests under "error"; OpenAI's SDK unwraps it
        if isinstance(inner, Mapping):
            etype = inner.get("type") or inner.get("code")
            message = inner.get("message")
            return (str(etype) if etype else None), (str(message) if message else None)
        if isinstance(inner, str):
            return None, inner or None
    return None, None


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    return None


def _is_malformed(exc: BaseException, names: list[str]) -> bool:
    if isinstance(exc, json.JSONDecodeError):
        return True
    return any(
        "ResponseValidation" in n or "JSONDecode" in n or n == "DecodingError" for n in names
    )


def to_provider_error(
    exc: BaseException,
    provider: str,
    *,
    key_env: str | None = None,
    secrets: Iterable[str] = (),
) -> ProviderError:
    """Classify `exc` (by status code, not class) into a ProviderError with a key-free message."""
    if isinstance(exc, ProviderError):
        return exc
    secrets = tuple(secrets)
    names = _class_names(exc)
    status = _status_of(exc)
    headers = getattr(getattr(exc, "response", None), "headers", None)

    if _is_malformed(exc, names):
        # Garbage from the server is usually transient (a proxy error page, a cut body).
        detail = _truncate(scrub(str(exc) or type(exc).__name__, secrets))
        return ProviderError(
            f"{provider}: malformed response ({type(exc).__name__}: {detail})",
            kind="malformed",
            status=status,
            retryable=True,
        )

    if status is not None and status >= 400:
        kind = classify_status(status)
        etype, message = _body_detail(getattr(exc, "body", None))
        if message is None and etype is None:
            message = getattr(exc, "message", None) or None
        parts = [f"{provider}: HTTP {status}"]
        if etype:
            parts.append(_truncate(scrub(etype, secrets), 60))
        head = " ".join(parts)
        what = f"{head}: {_truncate(scrub(message, secrets))}" if message else head
        fix = None
        if kind == "auth":
            env = key_env or "the provider's API key variable"
            fix = f"export {env}=<a valid key> (and check the key's permissions)"
        elif kind == "not_found":
            fix = "check the model id and base_url"
        elif kind == "rate_limit":
            fix = "lower concurrency or set rpm/tpm for this provider in promptops.yaml"
        return ProviderError(
            what, kind=kind, status=status, retry_after_s=parse_retry_after(headers), fix=fix
        )

    detail = _truncate(scrub(str(exc) or type(exc).__name__, secrets))
    if any("Timeout" in n for n in names):
        return ProviderError(f"{provider}: timed out ({detail})", kind="timeout")
    if any(
        "Connection" in n or n in ("RemoteProtocolError", "NetworkError", "TransportError")
        for n in names
    ) or isinstance(exc, OSError):
        return ProviderError(f"{provider}: connection failed ({detail})", kind="connection")
    return ProviderError(
        f"{provider}: unexpected error {type(exc).__name__}: {detail}",
        kind="unknown",
        status=status,
        retryable=False,
    )


def malformed(
    provider: str, what: str, exc: BaseException, secrets: Iterable[str]
) -> ProviderError:
    """A reply that arrived but could not be parsed: transient garbage, worth a retry."""
    detail = scrub(f"{type(exc).__name__}: {exc}", tuple(secrets))[:200]
    return ProviderError(f"{provider}: malformed {what} ({detail})", kind="malformed",
                         retryable=True)


async def call_sdk(
    provider: str,
    call: Callable[[], Awaitable[Any]],
    parse: Callable[[Any, float], Completion],
    *,
    what: str,
    key_env: str | None,
    secret: str,
) -> Completion:
    """Time one SDK call, classify its failure, and parse its reply into a Completion."""
    start = time.perf_counter()
    try:
        resp = await call()
    except Exception as exc:
        # `from None`: the SDK exception holds the request, and so the key header.
        raise to_provider_error(exc, provider, key_env=key_env, secrets=(secret,)) from None
    latency_ms = (time.perf_counter() - start) * 1000.0
    try:
        return parse(resp, latency_ms)
    except Exception as exc:
        raise malformed(provider, what, exc, (secret,)) from None


def response_header(stream: Any, name: str) -> str | None:
    """A header of an SDK stream's HTTP response, or None."""
    headers = getattr(getattr(stream, "response", None), "headers", None)
    value = headers.get(name) if headers is not None else None
    return str(value) if value is not None else None


def stream_broken(provider: str, err: ProviderError, chars: int) -> ProviderError:
    """A stream that failed after delivering text: never retried (the caller has seen text)."""
    return ProviderError(f"{provider}: stream broke after {chars} characters ({err.what})",
                         kind="stream_broken", status=err.status, retryable=False)


async def guard_stream(
    provider: str,
    source: AsyncIterator[str | Completion],
    *,
    timeout_s: float,
    key_env: str | None,
    secret: str,
) -> AsyncIterator[str | Completion]:
    """Time, bound and classify one provider stream; stamp latency and TTFT on its Completion."""
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    deadline = loop.time() + timeout_s
    ttft_ms: float | None = None
    chars = 0
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    item = await anext(source)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise ProviderError(f"{provider}: timed out after {timeout_s:g} s",
                                    kind="timeout") from None
            except (AttributeError, KeyError, TypeError, ValueError) as exc:  # unparseable event
                raise malformed(provider, "stream", exc, (secret,)) from None
            except Exception as exc:
                raise to_provider_error(exc, provider, key_env=key_env,
                                        secrets=(secret,)) from None
            if isinstance(item, Completion):
                latency_ms = (time.perf_counter() - start) * 1000.0
                yield dataclasses.replace(item, latency_ms=latency_ms, ttft_ms=ttft_ms)
                return
            if item:
                if ttft_ms is None:
                    ttft_ms = (time.perf_counter() - start) * 1000.0
                chars += len(item)
                yield item
        raise ProviderError(f"{provider}: stream ended without a final message",
                            kind="malformed", retryable=True)
    except ProviderError as err:
        if chars and err.kind != "stream_broken":
            raise stream_broken(provider, err, chars) from None
        raise
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
