"""Tiny number/text formatters shared by the terminal, JUnit and Markdown renderers."""

from __future__ import annotations

from typing import Any

from promptops.core.models import CaseRun
from promptops.core.scorecard import Check, ModelCard

NA = "—"  # shown for "no data", never confused with zero
UNKNOWN_COST = "unknown"

# Control characters get a visible escape so whitespace and junk stay readable in one line.
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}


def pct(value: float | None) -> str:
    """A share in [0,1] as `87.5%`; `—` when unknown."""
    return NA if value is None else f"{value * 100:.1f}%"


def ms(value: float | None) -> str:
    """A duration in milliseconds as `412 ms` or `1.2 s`."""
    if value is None:
        return NA
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s"


def usd(value: float | None) -> str:
    """A cost as `$0.0123`; `unknown` when unpriced (never `$0`)."""
    if value is None:
        return UNKNOWN_COST
    if value >= 100:
        return f"${value:,.2f}"
    if value == 0 or value >= 0.0001:
        return f"${value:.4f}"
    return f"${value:.6f}"  # sub-cent-per-case prices would otherwise read as $0.0000


def score(value: float | None) -> str:
    """A score in [0,1] with three decimals; `—` when unscored."""
    return NA if value is None else f"{value:.3f}"


def count(value: int) -> str:
    """An integer with thousands separators."""
    return f"{value:,}"


def short_hash(value: str | None, length: int = 12) -> str:
    """The first characters of a hash or commit id; `—` when absent."""
    return value[:length] if value else NA


def unpriced_note(card: ModelCard) -> str:
    """`2 unpriced` when some (not all) runs had no known price, else empty."""
    if card.cost_usd is not None and card.cost_unknown_runs:
        return f"{card.cost_unknown_runs} unpriced"
    return ""


def cost_text(card: ModelCard) -> str:
    """Total cost plus a note on unpriced runs (`$0.0123 (2 unpriced)`)."""
    note = unpriced_note(card)
    return f"{usd(card.cost_usd)} ({note})" if note else usd(card.cost_usd)


def truncate(text: str | None, limit: int = 60) -> str:
    """Quote and escape `text` so whitespace is visible, cut to about `limit` chars with `…`."""
    if text is None:
        return "(no output)"
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 32 or ord(ch) == 127 else ch)
        if size + len(piece) > limit:
            return '"' + "".join(out) + '"…'
        out.append(piece)
        size += len(piece)
    return '"' + "".join(out) + '"'


def failure_reasons(run: CaseRun) -> list[str]:
    """Why a run failed: its fail reason plus each failing or unscored criterion's explanation."""
    reasons = [run.fail_reason] if run.fail_reason else []
    for s in run.scores:
        if s.passed is False:
            line = f"{s.name}: {s.explanation}" if s.explanation else f"{s.name}: failed"
        elif s.passed is None or s.score is None:
            line = f"{s.name} (unscored): {s.explanation or 'no score'}"
        else:
            continue
        if line not in reasons:
            reasons.append(line)
    if not reasons:
        # A weighted score below the case threshold fails with every criterion passing.
        reasons.append(f"score {score(run.score)} below the case threshold")
    return reasons


def case_label(run: CaseRun) -> str:
    """The case id, with the 1-based repeat when it is not the first (`case#2`)."""
    return f"{run.case_id}#{run.repeat + 1}" if run.repeat > 0 else run.case_id


def check_value(name: str, value: float | None) -> str:
    """Format a check's actual or limit in the unit its name implies."""
    if name == "cost_per_case_usd":
        return usd(value)
    if value is None:
        return NA
    if name == "p95_latency_ms":
        return ms(value)
    if name in ("pass_rate", "error_rate"):
        return pct(value)
    return score(value)


def check_symbol(check: Check) -> str:
    """✓ met, ✗ missed, ? when the actual is unknown and so could not be checked."""
    if check.actual is None and check.ok:
        return "?"
    return "✓" if check.ok else "✗"


def check_text(check: Check) -> str:
    """`pass_rate 75.0% (needs >= 90.0%)`, with units matching the check."""
    actual = check_value(check.name, check.actual)
    return f"{check.name} {actual} (needs {check.op} {check_value(check.name, check.limit)})"


def verdict(exit_code: int) -> str:
    """PASS / FAIL / ERROR (exit 3) for an exit code."""
    if exit_code == 0:
        return "PASS"
    if exit_code == 3:
        return "ERROR (exit 3)"
    return "FAIL"


def verdict_reasons(card: ModelCard) -> list[str]:
    """The failed checks and required cases that decided a model's verdict."""
    reasons = [check_text(c) for c in card.checks if not c.ok]
    if card.failed_required:
        reasons.append(f"{card.failed_required} required case run(s) failed")
    return reasons


def compact(value: int) -> str:
    """An integer shortened for narrow columns: `950`, `12.3k`, `4.1M`."""
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1_000_000:.1f}M"


def prompt_label(prompt: str, version: str | None) -> str:
    """`name@version`, without doubling a version the prompt name already pins."""
    if version and "@" not in prompt:
        return f"{prompt}@{version}"
    return prompt


def clip(text: str, limit: int) -> str:
    """Cut plain text to `limit` characters with `…` (long judge reasonings, error messages)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def interval(ci: Any, *, as_pct: bool = False) -> str:
    """`[low, high]` of a 95% interval (clipped to [0, 1]); empty when there is none."""
    low, high = getattr(ci, "low", None), getattr(ci, "high", None)
    if low is None or high is None:
        return ""
    low, high = max(0.0, low), min(1.0, high)
    if as_pct:
        return f"[{low * 100:.1f}, {high * 100:.1f}]%"
    return f"[{low:.3f}, {high:.3f}]"


def plus_minus(ci: Any) -> str:
    """`±half-width` of a mean's interval (clipped to [0, 1]), for compact tables."""
    low, high = getattr(ci, "low", None), getattr(ci, "high", None)
    if low is None or high is None:
        return ""
    return f"±{(min(1.0, high) - max(0.0, low)) / 2:.3f}"


def headline(card: ModelCard) -> str:
    """The headline numbers with their intervals, in one sentence."""
    parts = []
    if card.pass_rate is not None:
        parts.append(f"pass rate {pct(card.pass_rate)} {interval(card.pass_ci, as_pct=True)}"
                     .rstrip())
    if card.mean_score is not None:
        parts.append(f"score {score(card.mean_score)} {interval(card.score_ci)}".rstrip())
    n = f"{card.cases} cases" + (f" × {card.repeats} repeats" if card.repeats > 1 else "")
    clusters = getattr(card.score_ci, "clusters", None)
    if clusters:
        n += f", {clusters} clusters"
    text = "95% intervals: " + " · ".join(parts) + f" ({n})" if parts else ""
    if card.judge_calls:
        text += (f"{' · ' if text else ''}LLM judge: {card.judge_calls} verdicts, "
                 f"{card.judge_errors} unusable ({pct(card.judge_error_rate)})")
    return text
