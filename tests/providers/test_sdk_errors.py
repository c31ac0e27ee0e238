"""to_provider_error on constructed exceptions: status-code classification, retry-after, no keys."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import pytest

from promptops.core.errors import ProviderError
from promptops.providers.sdk_errors import parse_retry_after, scrub, to_provider_error

KEY = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


class FakeResponse:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}


class StatusError(Exception):
    """Looks like an SDK APIStatusError: status_code, body, response.headers."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(f"Error code: {status} - {body!r}")
        self.status_code = status
        self.body = body
        self.response = FakeResponse(status, headers)
        self.message = f"Error code: {status}"


class APITimeoutError(Exception):
    pass


class APIConnectionError(Exception):
    pass


class APIResponseValidationError(Exception):
    def __init__(self) -> None:
        super().__init__("Data returned by API invalid for expected schema.")
        self.status_code = 200
        self.response = FakeResponse(200)


def anthropic_body(etype: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": etype, "message": message}}


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (429, "rate_limit", True), (529, "overloaded", True), (500, "server", True),
        (503, "server", True), (408, "timeout", True), (401, "auth", False),
        (403, "auth", False), (404, "not_found", False), (400, "bad_request", False),
        (422, "bad_request", False),
    ],
)
def test_status_codes_classify(status: int, kind: str, retryable: bool) -> None:
    err = to_provider_error(StatusError(status, anthropic_body("x_error", "nope")), "anthropic")
    assert isinstance(err, ProviderError)
    assert (err.kind, err.status, err.retryable) == (kind, status, retryable)
    assert f"HTTP {status}" in err.what and "x_error" in err.what and "nope" in err.what


def test_classifies_by_status_not_class() -> None:
    class InternalServerError(Exception):  # an SDK might file 529 under this class
        status_code = 529

    assert to_provider_error(InternalServerError(), "a").kind == "overloaded"


def test_retry_after_headers() -> None:
    e = to_provider_error(StatusError(429, None, {"retry-after": "2.5"}), "p")
    assert e.retry_after_s == 2.5
    both = {"retry-after-ms": "150", "retry-after": "9"}
    e = to_provider_error(StatusError(429, None, both), "p")
    assert e.retry_after_s == pytest.approx(0.15)
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    e = to_provider_error(StatusError(503, None, {"retry-after": date}), "p")
    assert e.retry_after_s is not None and 15 < e.retry_after_s <= 21
    vague = StatusError(429, None, {"retry-after": "soon"})
    assert to_provider_error(vague, "p").retry_after_s is None
    assert to_provider_error(StatusError(500), "p").retry_after_s is None
    assert parse_retry_after({"retry-after": "-3"}) is None
    assert parse_retry_after(None) is None


def test_openai_body_shape() -> None:
    body = {"message": "Rate limit reached for gpt-4o", "type": "requests", "code": "rate_limit"}
    e = to_provider_error(StatusError(429, body), "openai")
    assert "requests" in e.what and "Rate limit reached for gpt-4o" in e.what


def test_auth_fix_names_the_env_var_and_message_has_no_key() -> None:
    body = {"message": f"Incorrect API key provided: {KEY}. Header was Bearer {KEY}",
            "type": "invalid_request_error", "code": "invalid_api_key"}
    e = to_provider_error(StatusError(401, body), "openai", key_env="OPENAI_API_KEY")
    assert e.kind == "auth" and not e.retryable
    assert e.fix is not None and "export OPENAI_API_KEY" in e.fix
    assert KEY not in str(e) and "AbCdEf" not in str(e)
    assert "[redacted]" in str(e)


def test_exact_secret_is_scrubbed_even_without_a_known_prefix() -> None:
    secret = "zzTOPSECRETzz1234"
    e = to_provider_error(StatusError(400, f"bad key {secret}"), "p", secrets=[secret])
    assert secret not in str(e)


def test_scrub_patterns() -> None:
    text = f'x-api-key: {KEY} authorization="Bearer abc.def" api_key=hunter2 sk-proj-1234abcd'
    out = scrub(text)
    for leaked in (KEY, "abc.def", "hunter2", "sk-proj-1234abcd"):
        assert leaked not in out
    assert scrub("a task-force of desks") == "a task-force of desks"


def test_detail_is_truncated() -> None:
    body = anthropic_body("invalid_request_error", "y" * 5000)
    e = to_provider_error(StatusError(400, body), "a")
    assert len(e.what) < 300


def test_transport_errors() -> None:
    assert to_provider_error(APITimeoutError("Request timed out."), "p").kind == "timeout"
    assert to_provider_error(TimeoutError(), "p").kind == "timeout"
    conn = to_provider_error(APIConnectionError("Connection error."), "p")
    assert conn.kind == "connection" and conn.retryable
    assert to_provider_error(ConnectionResetError("reset"), "p").kind == "connection"


def test_garbage_is_malformed_and_retryable() -> None:
    e = to_provider_error(APIResponseValidationError(), "p")
    assert e.kind == "malformed" and e.retryable
    try:
        json.loads('{"choices": [<html>')
    except json.JSONDecodeError as exc:
        e = to_provider_error(exc, "p")
    assert e.kind == "malformed" and e.retryable


def test_unknown_exception_is_not_retried_and_provider_error_passes_through() -> None:
    e = to_provider_error(KeyError("x"), "p")
    assert e.kind == "unknown" and not e.retryable
    original = ProviderError("x", kind="server")
    assert to_provider_error(original, "p") is original
