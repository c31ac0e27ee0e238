"""Markdown summary of one eval run, for a PR comment or `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from promptops.core.models import CaseRun, RunMeta
from promptops.core.scorecard import GroupStats, ModelCard, Scorecard
from promptops.report import formatting as f

if TYPE_CHECKING:
    from promptops.core.comparison import Comparison, Flip, TagDelta
    from promptops.core.stats import Interval, PairedDiff

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


def render_markdown(
    meta: RunMeta,
    card: Scorecard,
    *,
    max_failures: int = 20,
    comparisons: Sequence[Comparison] = (),
) -> str:
    """A GitHub-flavoured summary: verdict, models, checks, failures, tags, rule, comparisons."""
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
    out += [f"> **Pass rule.** {_text(card.pass_rule)}", ""]
    if comparisons:
        out += [render_comparison_markdown(comparisons).rstrip("\n"), ""]
    out += [_footer(meta)]
    return "\n".join(out) + "\n"


def _summary(cards: Sequence[ModelCard]) -> list[str]:
    header = ["Model", "Verdict", "Pass rate", "Passed", "Score", "p50", "p95"]
    header += ["Tokens in/out", "Cost", "Cost/case", "Errors"]
    rows = [
        [
            _code(mc.model),
            f"{_EMOJI.get(mc.exit_code, '❌')} {f.verdict(mc.exit_code)}",
            _text(_with_ci(f.pct(mc.pass_rate), f.interval(mc.pass_ci, as_pct=True))),
            f"{mc.passed}/{mc.scored_runs}",
            _text(_with_ci(f.score(mc.mean_score), f.interval(mc.score_ci))),
            f.ms(mc.latency_p50_ms),
            f.ms(mc.latency_p95_ms),
            f"{f.count(mc.input_tokens)} / {f.count(mc.output_tokens)}",
            _text(f.cost_text(mc)),
            _text(f.usd(mc.cost_per_case_usd)),
            str(mc.errors),
        ]
        for mc in cards
    ]
    notes = []
    if any(mc.score_ci or mc.pass_ci for mc in cards):
        notes.append("<sub>Brackets: 95% intervals over cases.</sub>")
    for mc in cards:
        if mc.judge_calls:
            who = f" ({_code(mc.model)})" if len(cards) > 1 else ""
            notes.append(
                f"{'⚠️ ' if mc.judge_errors else ''}LLM judge error rate{who}: "
                f"{_text(f.pct(mc.judge_error_rate))} ({mc.judge_errors} of {mc.judge_calls} "
                "verdicts unusable)"
            )
    return [*_table(header, "llrrrrrrrrr", rows), "", *(["<br>".join(notes), ""] if notes else [])]


def _with_ci(value: str, ci: str) -> str:
    return f"{value} {ci}" if ci else value


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
    return [str(g.runs), f.pct(g.pass_rate), _with_ci(f.score(g.mean_score), f.plus_minus(g.ci))]


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


# --- Baseline comparisons. The pure text helpers below are shared with compare_terminal. ---

_VERDICT_EMOJI = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️"}
_MAX_IDS = 20  # ids listed per excluded-case category
_MAX_FLIPS_MD = 50  # a PR comment has a size limit; the run record keeps them all


def verdict_label(c: Comparison) -> str:
    """`PASS`, `FAIL`, `INCONCLUSIVE`, or `INCONCLUSIVE (warn: exit 0)` when it only warns."""
    if c.verdict == "INCONCLUSIVE" and c.on_inconclusive == "warn":
        return f"INCONCLUSIVE (warn: exit {c.exit_code})"
    return c.verdict


def signed(value: float | None, *, pp: bool = False) -> str:
    """A difference as `+0.012`, or `-3.1 pp` for a share; `—` when unknown."""
    if value is None:
        return f.NA
    if pp:
        return f"{round(value * 100, 1) + 0.0:+.1f} pp"
    return f"{round(value, 3) + 0.0:+.3f}"  # + 0.0 turns a rounded -0 into +0


def diff_text(d: PairedDiff, *, pp: bool = False) -> str:
    """A paired difference with its 95% interval: `-0.031 [-0.060, -0.002]`."""
    text = signed(d.mean_diff, pp=pp)
    if d.low is None or d.high is None:
        return text
    if pp:
        return f"{text} [{round(d.low * 100, 1) + 0.0:+.1f}, {round(d.high * 100, 1) + 0.0:+.1f}]"
    return f"{text} [{round(d.low, 3) + 0.0:+.3f}, {round(d.high, 3) + 0.0:+.3f}]"


def p_text(p: float | None) -> str:
    """A p-value as `0.041` or `<0.001`; `—` when there is none."""
    if p is None:
        return f.NA
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def arm_text(iv: Interval, *, pct: bool = False) -> str:
    """One arm's estimate with its 95% interval: `0.812 [0.770, 0.850]`."""
    value = f.pct(iv.estimate) if pct else f.score(iv.estimate)
    return _with_ci(value, f.interval(iv, as_pct=pct))


def mde_sentence(c: Comparison) -> str:
    """How small a score drop this suite can detect, from the paired SE."""
    d = c.score
    if d.mde is None:
        return f"Smallest detectable drop (score): too few paired cases to estimate (n = {d.n})."
    where = f"{d.n} paired cases" + (f", {d.clusters} clusters" if d.clusters else "")
    text = (f"This suite can detect a drop of {d.mde * 100:.1f} pp (score) at 80% power "
            f"({where}; margin {c.margin * 100:.1f} pp).")
    if d.mde == 0:
        text += " Every paired difference is identical, so no noise was measured."
    return text


def pairing_sentence(d: PairedDiff) -> str:
    """The score correlation between the arms and how much pairing changed the SE."""
    parts = [] if d.correlation is None else [f"correlation {d.correlation:.2f}"]
    if d.se is not None and d.unpaired_se:
        change = d.se / d.unpaired_se - 1
        how = f"{-change:.0%} smaller" if change <= 0 else f"{change:.0%} larger"
        parts.append(f"SE {d.se:.3g} vs {d.unpaired_se:.3g} unpaired ({how})")
    return "Pairing: " + ", ".join(parts) + "." if parts else ""


def signed_usd(value: float | None) -> str:
    """A cost difference as `+$0.0012`; `unknown` when either arm is unpriced."""
    return f.UNKNOWN_COST if value is None else ("-" if value < 0 else "+") + f.usd(abs(value))


def signed_ms(value: float | None) -> str:
    """A latency difference as `-120 ms`; `unknown` when not measured."""
    return "unknown" if value is None else ("-" if value < 0 else "+") + f.ms(abs(value))


def cost_latency_text(c: Comparison) -> str:
    """`Cost/case Δ +$0.0001 · latency p50 Δ -20 ms · p95 Δ unknown`."""
    return (f"Cost/case Δ {signed_usd(c.cost_per_case_delta_usd)} · "
            f"latency p50 Δ {signed_ms(c.latency_p50_delta_ms)} · "
            f"p95 Δ {signed_ms(c.latency_p95_delta_ms)}")


def ordered_flips(c: Comparison) -> list[Flip]:
    """Flips with pass→fail (regressions) first, each group in the comparison's order."""
    return sorted(c.flips, key=lambda fl: fl.after_passed)


def flip_scores(fl: Flip) -> str:
    """`0.900 → 0.300`."""
    return f"{f.score(fl.before_score)} → {f.score(fl.after_score)}"


def sorted_tags(c: Comparison) -> list[TagDelta]:
    """Per-tag deltas, worst (most negative) first."""
    return sorted(c.tag_deltas, key=lambda t: (t.diff, t.tag))


def excluded_groups(c: Comparison) -> list[tuple[str, tuple[str, ...]]]:
    """The non-empty categories of cases left out of the pairing, with their ids."""
    groups = [("changed content", c.changed), ("only in baseline", c.only_baseline),
              ("only in candidate", c.only_candidate), ("errored", c.errored)]
    return [(label, ids) for label, ids in groups if ids]


def render_comparison_markdown(comparisons: Sequence[Comparison]) -> str:
    """One `### Comparison with <baseline>` section per comparison; empty without any."""
    return "".join("\n".join(_comparison(c)) + "\n" for c in comparisons)


def _comparison(c: Comparison) -> list[str]:
    models = (_code(c.candidate_model) if c.baseline_model == c.candidate_model
              else f"{_code(c.baseline_model)} → {_code(c.candidate_model)}")
    rows = [
        ["Score", _text(arm_text(c.baseline_score)), _text(arm_text(c.candidate_score)),
         _text(diff_text(c.score)), _text(p_text(c.score.p_value))],
        ["Pass rate", _text(arm_text(c.baseline_pass, pct=True)),
         _text(arm_text(c.candidate_pass, pct=True)), _text(diff_text(c.pass_rate, pp=True)),
         _text(p_text(c.pass_rate.p_value))],
    ]
    header = ["", "Baseline", "Candidate", "Δ (candidate − baseline), 95% CI", "p"]
    sentence = " ".join(t for t in (mde_sentence(c), pairing_sentence(c.score)) if t)
    return [
        f"### Comparison with {_text(c.baseline_label)}",
        "",
        f"**{_VERDICT_EMOJI.get(c.verdict, '❔')} {_text(verdict_label(c))}**"
        f" · candidate {_text(c.candidate_label)} · {models}",
        "",
        *_table(header, "lrrrr", rows),
        "",
        _text(sentence),
        "",
        f"> **Decision rule.** {_text(c.rule)}",
        "",
        _text(cost_latency_text(c)),
        "",
        *_flips_md(c),
        *_tags_md(c),
        *_excluded_md(c),
    ]


def _flips_md(c: Comparison) -> list[str]:
    flips = ordered_flips(c)
    if not flips:
        return []
    worse = sum(1 for fl in flips if not fl.after_passed)
    rows = [
        [_code(fl.case_id), "✅ fail → pass" if fl.after_passed else "❌ pass → fail",
         _text(flip_scores(fl))]
        for fl in flips[:_MAX_FLIPS_MD]
    ]
    title = f"Flips: {worse} pass → fail, {len(flips) - worse} fail → pass"
    body = [*_table(["Case", "Change", "Score"], "llr", rows), "", *_more(len(rows), len(flips))]
    if len(rows) > 10:
        return [f"<details><summary>{title}</summary>", "", *body, "</details>", ""]
    return [f"**{title}**", "", *body]


def _tags_md(c: Comparison) -> list[str]:
    tags = sorted_tags(c)
    if not tags:
        return []
    rows = [
        [_text(t.tag), str(t.n), f.score(t.baseline_mean), f.score(t.candidate_mean),
         signed(t.diff)]
        for t in tags
    ]
    table = _table(["Tag", "n", "Baseline", "Candidate", "Δ"], "lrrrr", rows)
    summary = f"Per-tag score deltas ({len(tags)} tag{'s' * (len(tags) != 1)}, worst first)"
    return [f"<details><summary>{summary}</summary>", "", *table, "", "</details>", ""]


def _excluded_md(c: Comparison) -> list[str]:
    parts = []
    for label, ids in excluded_groups(c):
        shown = ", ".join(_code(i) for i in ids[:_MAX_IDS])
        more = f" and {len(ids) - _MAX_IDS} more" if len(ids) > _MAX_IDS else ""
        parts.append(f"{label} ({len(ids)}): {shown}{more}")
    return [f"<sub>Not paired: {' · '.join(parts)}</sub>", ""] if parts else []
