"""Tests for run records, the journal, the response cache and reading project files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptops.core.errors import ConfigError
from promptops.core.models import CaseRun, Completion, RunMeta, ScoreResult, ToolCall, Usage
from promptops.storage.cache import ResponseCache
from promptops.storage.project import find_root, load_case_file, load_prompt, load_suite
from promptops.storage.records import (
    SCHEMA_VERSION,
    Journal,
    read_journal,
    read_record,
    write_record,
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths in messages are shown relative to the working directory


META = RunMeta(
    run_id="20250101T000000-router-abc", suite="router", suite_path="suites/router.yaml",
    suite_hash="s" * 64, prompt="router", prompt_version="1.2.0", behaviour_hash="b" * 64,
    models=("anthropic:claude-sonnet-4-5", "openai:gpt-4o"), started_at="2025-01-01T00:00:00Z",
    finished_at="2025-01-01T00:01:00Z", duration_s=60.0, git_commit="abc123", git_dirty=False,
    promptops_version="0.1.0", options={"filter": ["tag:billing"], "seed": 3}, cases_total=12,
)


def case_run(cid: str = "a", repeat: int = 0, output: str | None = "billing") -> CaseRun:
    return CaseRun(
        case_id=cid, model="anthropic:claude-sonnet-4-5", repeat=repeat, output=output,
        scores=(ScoreResult("route", "exact", 1.0, True, "matched 'billing'", 2.0, True),
                ScoreResult("judge", "llm_judge", None, None, "unparseable")),
        score=1.0, passed=True, served_model="claude-sonnet-4-5-20250929",
        usage=Usage(input_tokens=120, output_tokens=3, cache_read_tokens=100),
        cost_usd=0.00042, latency_ms=812.5, tags=("billing", "critical"), required=True,
    )


# --- run records ------------------------------------------------------------------------------


def test_record_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r1.json"
    runs = [case_run("a"), case_run("b", repeat=1, output=None)]
    write_record(path, META, {"exit_code": 0, "pass_rate": 1.0}, runs)
    meta, loaded, summary = read_record(path)
    assert meta == META
    assert loaded == runs
    assert summary == {"exit_code": 0, "pass_rate": 1.0}
    assert isinstance(loaded[0].scores, tuple)
    assert isinstance(loaded[0].tags, tuple)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_record_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r1.json"
    write_record(path, META, {}, [case_run()])
    write_record(path, META, {"second": True}, [])
    assert sorted(p.name for p in path.parent.iterdir()) == ["r1.json"]
    assert read_record(path)[2] == {"second": True}
    assert read_record(path)[1] == []


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_record_with_another_schema_version_is_refused(tmp_path: Path, version: object) -> None:
    path = tmp_path / "r.json"
    write_record(path, META, {}, [case_run()])
    data = json.loads(path.read_text())
    data["schema_version"] = version
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as info:
        read_record(path)
    assert info.value.what == f"run record schema {version!r} is not supported"
    assert info.value.where == str(path)


def test_unreadable_record_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError) as info:
        read_record(path)
    assert info.value.what.startswith("cannot read run record: ")
    with pytest.raises(ConfigError):
        read_record(tmp_path / "missing.json")


# --- journal ----------------------------------------------------------------------------------


def test_journal_append_and_read(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r1.journal.jsonl"
    journal = Journal(path, {"suite_hash": "abc", "models": ["m"]})
    journal.append(case_run("a"))
    journal.append(case_run("a", repeat=1))
    journal.close()
    header, done = read_journal(path)
    assert header == {"suite_hash": "abc", "models": ["m"]}
    assert set(done) == {("a", "anthropic:claude-sonnet-4-5", 0),
                         ("a", "anthropic:claude-sonnet-4-5", 1)}
    assert done[("a", "anthropic:claude-sonnet-4-5", 0)] == case_run("a")
    assert len(path.read_text().splitlines()) == 3


def test_reopened_journal_keeps_its_header_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    first = Journal(path, {"run": 1})
    first.append(case_run("a"))
    first.close()
    second = Journal(path, {"run": 2})
    second.append(case_run("b"))
    second.close()
    header, done = read_journal(path)
    assert header == {"run": 1}
    assert sorted(k[0] for k in done) == ["a", "b"]
    assert sum('"header"' in line for line in path.read_text().splitlines()) == 1


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path, {"h": 1})
    journal.append(case_run("a"))
    journal.close()
    whole = json.dumps({"run": {"case_id": "b"}})
    with path.open("a") as fh:
        fh.write(whole[: len(whole) // 2])
    header, done = read_journal(path)
    assert header == {"h": 1}
    assert [k[0] for k in done] == ["a"]


def test_resume_after_a_torn_line_keeps_new_runs(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path, {"h": 1})
    journal.append(case_run("a"))
    journal.close()
    with path.open("a") as fh:
        fh.write('{"run": {"case_id": "b", "mod')
    resumed = Journal(path, {"h": 1})
    resumed.append(case_run("b"))
    resumed.close()
    _, done = read_journal(path)
    assert sorted(k[0] for k in done) == ["a", "b"]


# --- response cache ---------------------------------------------------------------------------


def completion(text: str = "billing") -> Completion:
    return Completion(text=text, usage=Usage(input_tokens=10, output_tokens=1),
                      served_model="claude-x", finish_reason="end_turn", latency_ms=321.0,
                      request_id="req_1", tool_calls=(ToolCall("lookup", {"id": 7}),),
                      attempts=2)


def test_cache_put_is_visible_before_flush_and_persisted_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / ".promptops" / "cache.db"
    cache = ResponseCache(path)
    assert cache.get("k1") is None
    cache.put("k1", "anthropic", "claude-x", completion())
    assert cache.get("k1") == completion()
    peek = ResponseCache(path)
    assert peek.get("k1") is None  # batched: not written yet
    peek.close()
    cache.close()
    reopened = ResponseCache(path)
    assert reopened.get("k1") == completion()
    assert reopened.get("k2") is None
    reopened.close()


def test_cache_put_replaces(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.db")
    cache.put("k", "openai", "gpt", completion("one"))
    cache.flush()
    cache.put("k", "openai", "gpt", completion("two"))
    cache.close()
    cache = ResponseCache(tmp_path / "c.db")
    got = cache.get("k")
    assert got is not None
    assert got.text == "two"
    assert cache.stats().entries == 1
    cache.close()


def test_cache_large_batch_flushes_by_itself(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    cache = ResponseCache(path)
    for i in range(200):
        cache.put(f"k{i}", "openai", "gpt", completion(str(i)))
    other = ResponseCache(path)
    assert other.stats().entries == 200
    other.close()
    cache.close()


def test_cache_stats_count_entries_hits_and_models(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.db")
    cache.put("a", "anthropic", "claude-x", completion())
    cache.put("b", "anthropic", "claude-x", completion())
    cache.put("c", "openai", "gpt-4o", completion())
    stats = cache.stats()
    assert (stats.entries, stats.hits) == (3, 0)
    assert stats.by_model == (("anthropic:claude-x", 2), ("openai:gpt-4o", 1))
    assert stats.path == str(tmp_path / "c.db")
    assert stats.bytes > 0
    assert cache.get("a") is not None
    assert cache.get("a") is not None
    assert cache.get("c") is not None
    assert cache.get("zzz") is None
    assert cache.stats().hits == 3
    cache.close()
    reopened = ResponseCache(tmp_path / "c.db")
    assert reopened.stats().hits == 3
    reopened.close()


def test_cache_clear_all_and_older_than(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.db")
    cache.put("a", "openai", "gpt", completion())
    cache.put("b", "openai", "gpt", completion())
    cache.flush()
    assert cache.clear(older_than_s=3600) == 0
    assert cache.stats().entries == 2
    assert cache.clear() == 2
    assert cache.stats().entries == 0
    assert cache.get("a") is None
    cache.close()


def test_cache_clear_drops_unflushed_puts(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.db")
    cache.put("a", "openai", "gpt", completion())
    cache.clear()
    assert cache.get("a") is None
    assert cache.stats().entries == 0
    cache.close()


# --- case files -------------------------------------------------------------------------------


def test_jsonl_cases_with_lines(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "a", "input": {"ticket": "x"}, "expected": "billing"}\n\n'
        '{"id": "b", "input": {"ticket": "y"}, "expected": "tech"}\n')
    rows = load_case_file(tmp_path, "cases.jsonl", "suites/s.yaml:4")
    assert rows == [{"id": "a", "input": {"ticket": "x"}, "expected": "billing"},
                    {"id": "b", "input": {"ticket": "y"}, "expected": "tech"}]
    assert [r.where() for r in rows] == ["cases.jsonl:1", "cases.jsonl:3"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("line", "what"),
    [('{"id": "b", ', "invalid JSON: Expecting property name enclosed in double quotes"),
     ('["b"]', "each line must be a JSON object")],
)
def test_jsonl_bad_line_names_file_and_line(tmp_path: Path, line: str, what: str) -> None:
    (tmp_path / "cases.jsonl").write_text('{"id": "a"}\n' + line + "\n")
    with pytest.raises(ConfigError) as info:
        load_case_file(tmp_path, "cases.jsonl", "suites/s.yaml:4")
    assert info.value.what == what
    assert info.value.where == "cases.jsonl:2"


def test_csv_cases(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(
        "id,input.ticket,tier,expected,tags,threshold,required\n"
        'a,"charged twice, again",gold,billing,"billing,critical",0.5,yes\n'
        "b,app crashes,,tech,,,\n")
    rows = load_case_file(tmp_path, "cases.csv", "suites/s.yaml:4")
    assert rows == [
        {"id": "a", "input": {"ticket": "charged twice, again", "tier": "gold"},
         "expected": "billing", "tags": "billing,critical", "threshold": 0.5, "required": True},
        {"id": "b", "input": {"ticket": "app crashes", "tier": ""}, "expected": "tech"},
    ]
    assert [r.where() for r in rows] == ["cases.csv:2", "cases.csv:3"]  # type: ignore[attr-defined]


def test_csv_row_with_extra_cells_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text("id,ticket\na,one\nb,two,three\n")
    with pytest.raises(ConfigError) as info:
        load_case_file(tmp_path, "cases.csv", "suites/s.yaml:4")
    assert info.value.what == "row has more cells than the header"
    assert info.value.where == "cases.csv:3"


def test_csv_bad_threshold_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text("id,ticket,threshold\na,one,high\n")
    with pytest.raises(ConfigError) as info:
        load_case_file(tmp_path, "cases.csv", "suites/s.yaml:4")
    assert info.value.where == "cases.csv:2"


def test_csv_multiline_cell_keeps_its_line_breaks(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text('id,ticket\na,"first line\nsecond line"\n')
    rows = load_case_file(tmp_path, "cases.csv", "suites/s.yaml:4")
    assert rows[0]["input"] == {"ticket": "first line\nsecond line"}


def test_csv_cases_feed_a_suite(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "cases.csv").write_text(
        "id,ticket,expected,tags\na,one,billing,\"x, y\"\nb,two,tech,\n")
    (tmp_path / "suites" / "s.yaml").write_text(
        "suite: s\nprompt: p\ncases_file: cases.csv\n"
        "defaults:\n  criteria: [{scorer: exact}]\n")
    s = load_suite(tmp_path / "suites" / "s.yaml")
    assert [(c.id, dict(c.input), c.expected, c.tags) for c in s.cases] == [
        ("a", {"ticket": "one"}, "billing", ("x", "y")),
        ("b", {"ticket": "two"}, "tech", ()),
    ]
    assert s.cases[1].where == "suites/cases.csv:3"


@pytest.mark.parametrize(
    "text",
    ["- {id: a, expected: x}\n- {id: b}\n", "cases:\n  - {id: a, expected: x}\n  - {id: b}\n"],
)
def test_yaml_cases_file_list_or_cases_key(tmp_path: Path, text: str) -> None:
    (tmp_path / "more.yaml").write_text(text)
    rows = load_case_file(tmp_path, "more.yaml", "suites/s.yaml:4")
    assert rows == [{"id": "a", "expected": "x"}, {"id": "b"}]
    assert rows[1].where().startswith("more.yaml:")  # type: ignore[attr-defined]


def test_yaml_cases_file_that_is_not_a_list(tmp_path: Path) -> None:
    (tmp_path / "more.yml").write_text("id: a\n")
    with pytest.raises(ConfigError) as info:
        load_case_file(tmp_path, "more.yml", "suites/s.yaml:4")
    assert info.value.what == "a YAML cases file must be a list of cases"
    assert info.value.where == "more.yml"


def test_missing_or_unknown_format_case_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_case_file(tmp_path, "nope.jsonl", "suites/s.yaml:4")
    assert info.value.what == "cases file 'nope.jsonl' not found"
    assert info.value.where == "suites/s.yaml:4"
    (tmp_path / "cases.txt").write_text("a\n")
    with pytest.raises(ConfigError) as info:
        load_case_file(tmp_path, "cases.txt", "suites/s.yaml:4")
    assert info.value.what == "cases file 'cases.txt' has an unknown format"


# --- project files ----------------------------------------------------------------------------


def test_find_root_walks_up_to_promptops_yaml(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "promptops.yaml").write_text("{}\n")
    deep = tmp_path / "proj" / "suites" / "nested"
    deep.mkdir(parents=True)
    assert find_root(deep) == (tmp_path / "proj").resolve()
    assert find_root(tmp_path / "proj") == (tmp_path / "proj").resolve()


def test_find_root_from_cwd_and_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "proj" / "a").mkdir(parents=True)
    (tmp_path / "proj" / "promptops.yaml").write_text("{}\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "proj" / "a")
    assert find_root() == (tmp_path / "proj").resolve()
    assert find_root(tmp_path / "elsewhere") == (tmp_path / "proj").resolve()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert find_root() == (tmp_path / "elsewhere").resolve()


PROMPT = "name: {name}\nversion: {version}\nmodel: openai:gpt-4o\ntemplate: 'Hi {{{{ x }}}}'\n"


def write_prompt(root: Path, name: str, version: str = "1.0.0", *, at: str | None = None) -> None:
    path = root / "prompts" / name / (f"versions/{at}.yaml" if at else "prompt.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PROMPT.format(name=name, version=version))


def test_load_prompt_head_and_pinned_version(tmp_path: Path) -> None:
    write_prompt(tmp_path, "router", "1.3.0")
    write_prompt(tmp_path, "router", "1.2.3", at="1.2.3")
    head = load_prompt(tmp_path, "router")
    assert (head.name, head.version, head.path) == ("router", "1.3.0", "prompts/router/prompt.yaml")
    assert head.messages == (("user", "Hi {{ x }}"),)
    pinned = load_prompt(tmp_path, "router@1.2.3")
    assert (pinned.version, pinned.path) == ("1.2.3", "prompts/router/versions/1.2.3.yaml")


def test_load_prompt_by_file_path(tmp_path: Path) -> None:
    write_prompt(tmp_path, "router")
    p = load_prompt(tmp_path, "prompts/router/prompt.yaml")
    assert p.name == "router"


def test_missing_prompt_lists_the_available_ones(tmp_path: Path) -> None:
    write_prompt(tmp_path, "router")
    write_prompt(tmp_path, "classifier")
    with pytest.raises(ConfigError) as info:
        load_prompt(tmp_path, "routr", where="suites/s.yaml:2")
    err = info.value
    assert err.what == "prompt 'routr' not found at prompts/routr/prompt.yaml"
    assert err.where == "suites/s.yaml:2"
    assert err.why == "prompts in this project: classifier, router"
    with pytest.raises(ConfigError) as info:
        load_prompt(tmp_path, "router@9.9.9")
    assert info.value.what == (
        "prompt 'router@9.9.9' not found at prompts/router/versions/9.9.9.yaml")


def test_missing_prompt_in_an_empty_project(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_prompt(tmp_path, "router")
    assert info.value.why == "prompts in this project: none"


def test_prompt_name_must_match_its_folder(tmp_path: Path) -> None:
    write_prompt(tmp_path, "router")
    (tmp_path / "prompts" / "router" / "prompt.yaml").write_text(
        PROMPT.format(name="other", version="1.0.0"))
    with pytest.raises(ConfigError) as info:
        load_prompt(tmp_path, "router")
    assert info.value.what == "prompt file says `name: other` but lives under router/"
    assert info.value.where == "prompts/router/prompt.yaml"
