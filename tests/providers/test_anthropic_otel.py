"""The anthropic SDK's own OTel spans are off in our provider, so no call is counted twice."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("opentelemetry.sdk")

SCRIPT = r"""
import asyncio
import anthropic
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from promptops.core.config import ProviderConfig
from promptops.core.models import Message, ModelRequest
from promptops.providers.anthropic_provider import AnthropicProvider
from promptops.testing import FakeServer

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
request = ModelRequest(model="claude-haiku-4-5", messages=(Message("user", "hi"),))

async def main(srv):
    ours = AnthropicProvider(ProviderConfig("anthropic", "anthropic",
                                            base_url=srv.anthropic_base_url), "k")
    await ours.complete(request, timeout_s=5)
    await ours.aclose()
    print("ours", len(exporter.get_finished_spans()))
    raw = anthropic.AsyncAnthropic(api_key="k", base_url=srv.anthropic_base_url, max_retries=0)
    await raw.messages.create(model="claude-haiku-4-5", max_tokens=5,
                              messages=[{"role": "user", "content": "hi"}])
    await raw.close()
    print("raw", len(exporter.get_finished_spans()))

with FakeServer() as srv:
    asyncio.run(main(srv))
"""


def test_provider_emits_no_sdk_span_while_a_plain_sdk_client_does() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split() for line in out.stdout.splitlines())
    assert lines["ours"] == "0"  # our span comes from promptops.runtime.telemetry instead
    assert lines["raw"] == "1"  # control: the SDK would have traced the call itself
