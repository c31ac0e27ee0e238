"""Markdown summary of one eval run, for a PR comment or `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from promptops.core.models import CaseRun, RunMeta
from promptops.core.scorecard import GroupStats, ModelCard, Scorecard
from promptops.report import formatting as f

_EMOJI = {0: "✅", 3: "⚠️"}
# CommonMark lets a backslash escape any ASCII punctuation; these would otherwise format or
# break a table cell (`|`), start HTML (`<`), an entity (`&`) or GitHub math (`$`).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#$])")


def _text(value: str) -> str:
    """Escape free text for a table cell: no formatting, no HTML, newlines as `<br>`."""
    return _MD_SPECIAL.sub(r"\\\1", value).replace("\r\n", "\n").replace("\n", "<br>")


def _code(value: str) -> str:
    """A code span safe inside a table cell (`|` escaped, fence longer than any backtick run)."""
    value = value.replace("\n", " ").replace("|", "\\|")
    runs = [len(m) for m in re.findall(r"`+", value)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if runs else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _table(header: Sequence[str], align: str, rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table; `align` has one char per column: l (left) or r (right)."""
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(meta: RunMeta, card: Scorecard, *, max_failures: int = 20) -> str:
    """A GitHub-flavoured summary: verdict, model table, checks, failures, tags, pass rule."""
    code = card.exit_code
    several = len(card.cards) > 1
    out = [
        f"## {_EMOJI.get(code, '❌')} promptops eval: {_text(meta.suite or card.suite)}"
        f" — {f.verdict(code)}",
        "",
        f"Prompt {_code(f.prompt_label(meta.prompt, meta.prompt_version))}"
        f" · behaviour {_code(f.short_hash(meta.behaviour_hash))}"
        f" · {len(card.cards)} model(s) · {sum(mc.runs for mc in card.cards)} runs",
        "",
    ]
    out += _summary(card.cards)
    out += _checks(card.cards, several)
    failures = sorted((r for mc in card.cards for r in mc.failures), key=lambda r: not r.required)
    out += _failures(failures, several, max_failures)
    errors = [r for mc in card.cards for r in mc.error_runs]
    out += _errors(errors, several, max_failures)
    out += _groups("Per-tag results", "Tag", [(mc.model, mc.by_tag) for mc in card.cards])
    out += _groups(
        "Per-criterion results", "Criterion", [(mc.model, mc.by_criterion) for mc in card.cards]
    )
    out += [f"> **Pass rule.** {_text(card.pass_rule)}", "", _footer(meta)]
    return "\n".join(out) + "\n"


def _summary(cards: Sequence[ModelCard]) -> list[str]:
    header = ["Model", "Verdict", "Pass rate", "Passed", "Score", "p50", "p95"]
    header += ["Tokens in/out", "Cost", "Cost/case", "Errors"]
    rows = [
        [
            _code(mc.model),
            f"{_EMOJI.get(mc.exit_code, '❌')} {f.verdict(mc.exit_code)}",
            f.pct(mc.pass_rate),
            f"{mc.passed}/{mc.scored_runs}",
            f.score(mc.mean_score),
            f.ms(mc.latency_p50_ms),
            f.ms(mc.latency_p95_ms),
            f"{f.count(mc.input_tokens)} / {f.count(mc.output_tokens)}",
            _text(f.cost_text(mc)),
            _text(f.usd(mc.cost_per_case_usd)),
            str(mc.errors),
        ]
        for mc in cards
    ]
    return [*_table(header, "llrrrrrrrrr", rows), ""]


def _checks(cards: Sequence[ModelCard], several: bool) -> list[str]:
    rows: list[list[str]] = []
    for mc in cards:
        model = [_code(mc.model)] if several else []
        for c in mc.checks:
            mark = {"✓": "✅", "✗": "❌"}.get(f.check_symbol(c), "❔ not checked")
            actual, limit = f.check_value(c.name, c.actual), f.check_value(c.name, c.limit)
            rows.append([mark, *model, _code(c.name), _text(actual), _text(f"{c.op} {limit}")])
        if mc.failed_required:
            rows.append(
                ["❌", *model, "required cases", f"{mc.failed_required} failed", "0 failed"]
            )
    if not rows:
        return []
    header = ["", *(["Model"] if several else []), "Check", "Actual", "Limit"]
    align = "l" * (len(header) - 2) + "rl"
    return ["### Checks", "", *_table(header, align, rows), ""]


def _more(shown: int, total: int) -> list[str]:
    return [f"_… and {total - shown} more (see the run record)_", ""] if total > shown else []


def _failures(runs: Sequence[CaseRun], several: bool, limit: int) -> list[str]:
    if not runs:
        return []
    header = ["Case", *(["Model"] if several else []), "Output", "Why"]
    rows = []
    for run in runs[:limit]:
        case = _code(f.case_label(run)) + (" **required**" if run.required else "")
        why = "<br>".join(_text(f.clip(r, 300)) for r in f.failure_reasons(run))
        rows.append(
            [case, *([_code(run.model)] if several else []), _code(f.truncate(run.output)), why]
        )
    table = _table(header, "l" * len(header), rows)
    return [f"### Failing cases ({len(runs)})", "", *table, "", *_more(len(rows), len(runs))]


def _errors(runs: Sequence[CaseRun], several: bool, limit: int) -> list[str]:
    if not runs:
        return []
    header = ["Case", *(["Model"] if several else []), "Kind", "Message"]
    rows = [
        [
            _code(f.case_label(r)),
            *([_code(r.model)] if several else []),
            _code(r.error_kind or "error"),
            _text(f.clip(r.error or "", 300)),
        ]
        for r in runs[:limit]
    ]
    table = _table(header, "l" * len(header), rows)
    return [f"### Provider errors ({len(runs)})", "", *table, "", *_more(len(rows), len(runs))]


def _groups(
    title: str, key: str, per_model: Sequence[tuple[str, Sequence[GroupStats]]]
) -> list[str]:
    several = len(per_model) > 1
    header = [key, *(["Model"] if several else []), "Runs", "Pass rate", "Score"]
    rows = [
        [_text(g.key), *([_code(model)] if several else []), *_stats(g)]
        for model, groups in per_model
        for g in groups
    ]
    if not rows:
        return []
    table = _table(header, "l" * (len(header) - 3) + "rrr", rows)
    # The blank line after <summary> is what makes GitHub render the table inside it.
    return [f"<details><summary>{title}</summary>", "", *table, "", "</details>", ""]


def _stats(g: GroupStats) -> list[str]:
    return [str(g.runs), f.pct(g.pass_rate), f.score(g.mean_score)]


def _footer(meta: RunMeta) -> str:
    commit = f.short_hash(meta.git_commit, 7) + (" (dirty)" if meta.git_dirty else "")
    parts = [f"run {_code(meta.run_id)}", f"commit {_code(commit)}", _text(meta.started_at)]
    if meta.promptops_version:
        parts.append(f"promptops {_text(meta.promptops_version)}")
    return "<sub>" + " · ".join(p for p in parts if p) + "</sub>"


def append_step_summary(markdown: str, env: Mapping[str, str]) -> bool:
    """Append to the file named by `GITHUB_STEP_SUMMARY` when set; return whether it wrote."""
    target = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if not target:
        return False
    # Appending, not overwriting: other steps of the job may have written their own summary.
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
        fh.write("\n")
    return True
