"""Benchmarks against the fake server: throughput, CPU per case, rate limits, cache, start-up.

Run:  make bench        (or: .venv/bin/python bench/run_bench.py --cases 1000 --runs 3)
Every figure is the median of --runs runs; the fake server runs in its own process, so the CPU
figures are promptops' own. Targets are in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PY = sys.executable


@contextmanager
def fake_server(latency_ms: float = 0, rpm: int | None = None) -> Iterator[dict[str, str]]:
    """Start the fake server in its own process; yields {'url': ..., 'status': ...}."""
    args = [PY, "-m", "promptops.testing.fake_server", "--port", "0", "--reply", "billing",
            "--latency-ms", str(latency_ms)]
    if rpm:
        args += ["--rpm", str(rpm)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    info = {"url": proc.stdout.readline().split()[1], "status": ""}
    try:
        yield info
    finally:
        proc.terminate()
        err = proc.stderr.read()
        proc.wait()
        info["status"] = next((ln for ln in err.splitlines() if ln.startswith("STATUS")), "")


def make_project(root: Path, url: str, cases: int, kind: str, concurrency: int,
                 rpm: int | None = None) -> None:
    """A project with one prompt and a suite of `cases` cases aimed at the fake server."""
    base = f"{url}/v1" if kind != "anthropic" else url
    limit = f", rpm: {rpm}" if rpm else ""
    (root / "promptops.yaml").write_text(
        f"providers:\n  fake: {{kind: {kind}, base_url: '{base}', api_key_env: BENCH_KEY, "
        f"concurrency: {concurrency}, timeout: 30{limit}}}\n")
    (root / "prompts/router").mkdir(parents=True, exist_ok=True)
    (root / "prompts/router/prompt.yaml").write_text(
        "name: router\nconfig: {temperature: 0, max_tokens: 5}\n"
        "input: {ticket: {type: string}}\nmessages:\n"
        "  - {role: system, content: 'Route the ticket to a queue.'}\n"
        "  - {role: user, content: '{{ ticket }}'}\n")
    (root / "suites").mkdir(exist_ok=True)
    rows = "\n".join(f'  - {{id: c{i}, input: {{ticket: "ticket {i}: I was charged twice"}}, '
                     f"expected: billing, tags: [t{i % 7}]}}" for i in range(cases))
    (root / "suites/bench.yaml").write_text(
        "suite: bench\nprompt: router\nmodels: [fake:gpt-4o-mini]\ndefaults:\n  criteria:\n"
        "    - {name: route, scorer: exact, normalize: [strip, lower], required: true}\n"
        "    - {name: short, scorer: regex, pattern: '^[a-z_]+$'}\n"
        "thresholds: {pass_rate: 0.9, error_budget: 0.0}\ncases:\n" + rows + "\n")


def run_cli(root: Path, *args: str) -> dict[str, float | str]:
    """Run promptops in a child process; wall, CPU (user+sys) and the run record."""
    env = {**os.environ, "CI": "true", "BENCH_KEY": "sk-bench"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([PY, "-m", "promptops", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1) and args[0] == "eval":
        raise SystemExit(f"promptops failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return {"wall": wall, "cpu": cpu, "stdout": proc.stdout}


def eval_once(root: Path, *flags: str) -> dict[str, float]:
    """One eval run; adds the run's own duration and retry count from the record."""
    res = run_cli(root, "eval", "suites/bench.yaml", "--json", *flags)
    record = json.loads(str(res["stdout"]))
    runs = record["runs"]
    return {"wall": float(res["wall"]), "cpu": float(res["cpu"]),
            "run_s": float(record["meta"]["duration_s"]),
            "errors": float(sum(1 for r in runs if r["error"])),
            "lost": float(sum(1 for r in runs if r["error"] or r["output"] is None)),
            "retries": float(sum(max(0, r["attempts"] - 1) for r in runs))}


def median(samples: list[dict[str, float]], key: str) -> float:
    """Median of one figure over runs."""
    return statistics.median(s[key] for s in samples)


def bench_throughput(
    cases: int, runs: int, kind: str, latency: float, conc: int
) -> dict[str, float]:
    """Uncached runs: wall, CPU, and CPU per case net of start-up (a 1-case run)."""
    with fake_server(latency) as srv, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, srv["url"], cases, kind, conc)
        samples = [eval_once(root, "--no-cache") for _ in range(runs)]
        make_project(root, srv["url"], 1, kind, conc)
        base = [eval_once(root, "--no-cache") for _ in range(runs)]
    out = {k: median(samples, k) for k in ("wall", "cpu", "run_s", "errors")}
    out["cpu_per_case_ms"] = (out["cpu"] - median(base, "cpu")) / max(1, cases - 1) * 1000
    out["startup_cpu"] = median(base, "cpu")
    return out


def bench_cached(cases: int, runs: int) -> dict[str, float]:
    """A fully cached re-run of an unchanged suite."""
    with fake_server() as srv, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, srv["url"], cases, "openai-compatible", 64)
        eval_once(root)  # fill the cache
        samples = [eval_once(root) for _ in range(runs)]
    return {k: median(samples, k) for k in ("wall", "cpu", "run_s")}


def bench_rpm(cases: int, rpm: int) -> dict[str, float | str]:
    """Client and server both limited to `rpm`: count 429s and lost cases."""
    with fake_server(0, rpm) as srv, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, srv["url"], cases, "openai-compatible", 64, rpm=rpm)
        res = eval_once(root, "--no-cache")
    m = re.search(r"429=(\d+)", srv["status"])
    return {**res, "429s": float(m.group(1)) if m else 0.0, "status": srv["status"]}


def bench_help(runs: int) -> float:
    """Median wall time of `promptops --help`."""
    walls = [float(run_cli(Path.cwd(), "--help")["wall"]) for _ in range(max(5, runs))]
    return statistics.median(walls)


def main() -> int:
    """Run the benchmarks and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rpm", type=int, default=600)
    ap.add_argument("--rpm-cases", type=int, default=None,
                    help="cases for the RPM test (default: --cases; 1000 at 600 RPM takes ~100 s)")
    ap.add_argument("--skip", action="append", default=[],
                    help="skip a part: sdk, latency, rpm, cached, help")
    a = ap.parse_args()
    n = a.cases
    version = sys.version.split()[0]
    print(f"promptops bench · {n} cases · median of {a.runs} runs · python {version}")
    r = bench_throughput(n, a.runs, "openai-compatible", 0, 64)
    print(f"0 ms latency, openai-compatible, 64 in flight: wall {r['wall']:.2f} s "
          f"(run {r['run_s']:.2f} s + start-up), CPU {r['cpu']:.2f} s, "
          f"CPU/case {r['cpu_per_case_ms']:.2f} ms (net of {r['startup_cpu']:.2f} s start-up)"
          f"  [target: wall <= 2 s, <= 1 ms/case]")
    if "sdk" not in a.skip:
        for kind in ("openai", "anthropic"):
            r = bench_throughput(n, a.runs, kind, 0, 64)
            print(f"0 ms latency, {kind} SDK, 64 in flight: wall {r['wall']:.2f} s, "
                  f"CPU/case {r['cpu_per_case_ms']:.2f} ms")
    if "latency" not in a.skip:
        r = bench_throughput(n, a.runs, "openai-compatible", 200, 64)
        ceiling = n / (64 / 0.2)
        print(f"200 ms latency, 64 in flight: run {r['run_s']:.2f} s vs ceiling {ceiling:.2f} s "
              f"= {ceiling / r['run_s']:.0%} of the ceiling (wall incl. start-up {r['wall']:.2f} s)"
              f"  [target: >= 75%]")
    if "rpm" not in a.skip:
        rn = a.rpm_cases or n
        r = bench_rpm(rn, a.rpm)
        print(f"{a.rpm} RPM limit, {rn} cases: wall {float(r['wall']):.1f} s "
              f"(floor {rn / a.rpm * 60:.1f} s), 429s seen {int(float(r['429s']))}, "
              f"retries {int(float(r['retries']))}, cases lost {int(float(r['lost']))}"
              f"  [target: 0 lost, <= 5 429s]")
    if "cached" not in a.skip:
        r = bench_cached(n, a.runs)
        print(f"fully cached re-run: wall {r['wall']:.2f} s (run {r['run_s']:.2f} s), "
              f"CPU {r['cpu']:.2f} s  [target: <= 1 s]")
    if "help" not in a.skip:
        print(f"promptops --help: {bench_help(a.runs) * 1000:.0f} ms  [target: <= 300 ms]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
