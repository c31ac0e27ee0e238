"""PythonProvider: lazy import, check() as config errors, return shapes, exceptions."""

from __future__ import annotations

import asyncio
import itertools
import textwrap
from pathlib import Path

import pytest

from promptops.core.errors import ConfigError, ProviderError
from promptops.core.models import Completion, Message, ModelRequest
from promptops.providers.python_provider import PythonProvider, PythonRequest

_names = itertools.count()

SOURCE = """
import asyncio

SEEN = []

def echo(request):
    SEEN.append(request)
    return "echo: " + request.messages[-1].content

def with_usage(request):
    return {"text": "hi", "usage": {"input_tokens": 12, "output_tokens": 3}}

async def slow_async(request):
    await asyncio.sleep(0)
    return {"text": "async " + str(request.inputs["x"])}

async def hangs(request):
    await asyncio.sleep(30)
    return "never"

def returns_int(request):
    return 42

def explodes(request):
    raise ValueError("bad input " + str(request.inputs.get("x")))

NOT_CALLABLE = 3
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"pp_baseline_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def req(model: str = "m", **inputs: object) -> ModelRequest:
    return ModelRequest(
        model=model,
        messages=(Message("system", "be brief"), Message("user", "hello")),
        params={"temperature": 0},
        inputs=inputs,
    )


def call(provider: PythonProvider, request: ModelRequest, timeout_s: float = 5.0) -> Completion:
    return asyncio.run(provider.complete(request, timeout_s=timeout_s))


def test_sync_function_gets_a_python_request(module: str) -> None:
    import importlib

    prov = PythonProvider(f"{module}:echo")
    out = call(prov, req(x=1))
    assert out.text == "echo: hello"
    assert out.served_model == f"python:{module}:echo"
    assert out.latency_ms >= 0.0
    seen = importlib.import_module(module).SEEN[-1]
    assert isinstance(seen, PythonRequest)
    assert seen.inputs == {"x": 1} and seen.params == {"temperature": 0} and seen.model == "m"
    assert seen.messages[0] == Message("system", "be brief")


def test_dict_with_usage_and_async_functions(module: str) -> None:
    out = call(PythonProvider(f"{module}:with_usage"), req())
    assert (out.text, out.usage.input_tokens, out.usage.output_tokens) == ("hi", 12, 3)
    out = call(PythonProvider(f"{module}:slow_async"), req(x=7))
    assert out.text == "async 7" and out.usage.input_tokens is None


def test_bad_return_value(module: str) -> None:
    with pytest.raises(ProviderError) as info:
        call(PythonProvider(f"{module}:returns_int"), req())
    assert info.value.kind == "bad_response" and not info.value.retryable


def test_exception_becomes_python_error(module: str) -> None:
    with pytest.raises(ProviderError) as info:
        call(PythonProvider(f"{module}:explodes"), req(x=5))
    assert info.value.kind == "python_error" and not info.value.retryable
    assert "ValueError" in str(info.value) and "bad input 5" in str(info.value)


def test_async_timeout(module: str) -> None:
    with pytest.raises(ProviderError) as info:
        call(PythonProvider(f"{module}:hangs"), req(), timeout_s=0.05)
    assert info.value.kind == "timeout"


def test_check_reports_typos_as_config_errors(module: str) -> None:
    PythonProvider(f"{module}:echo").check()
    with pytest.raises(ConfigError) as info:
        PythonProvider(f"{module}:ecko").check()
    assert info.value.exit_code == 2 and "echo" in str(info.value)  # lists what exists
    with pytest.raises(ConfigError, match="no module named"):
        PythonProvider("no_such_pkg_zz.mod:fn").check()
    with pytest.raises(ConfigError, match="not callable"):
        PythonProvider(f"{module}:NOT_CALLABLE").check()
    with pytest.raises(ConfigError):
        PythonProvider("missing_colon")
    # complete() on a bad target is also a ConfigError, not a retryable provider error.
    with pytest.raises(ConfigError):
        call(PythonProvider(f"{module}:nope"), req())


def test_import_error_inside_module_is_explained(tmp_path: Path, module: str) -> None:
    (tmp_path / f"{module}_broken.py").write_text("import not_installed_dep_zz\n")
    with pytest.raises(ConfigError, match="not_installed_dep_zz"):
        PythonProvider(f"{module}_broken:fn").check()


def test_import_is_lazy(tmp_path: Path, module: str) -> None:
    (tmp_path / f"{module}_loud.py").write_text("raise RuntimeError('imported!')\n")
    prov = PythonProvider(f"{module}_loud:fn")  # constructing must not import
    with pytest.raises(ConfigError, match="imported!"):
        prov.check()


def test_dispatch_on_request_model_without_fixed_target(module: str) -> None:
    prov = PythonProvider()
    out = call(prov, req(model=f"{module}:echo"))
    assert out.text == "echo: hello" and out.served_model == f"python:{module}:echo"
