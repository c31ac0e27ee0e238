"""The HTML report, read as text and parsed: self-contained, escaped, complete."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from html_samples import (
    ERROR,
    MINI,
    ONLY_MINI,
    REASONING,
    SONNET,
    XSS,
    make_card,
    make_comparison,
    make_meta,
    make_runs,
)

from promptops.core.models import CaseRun
from promptops.core.stats import mean_interval, paired_difference
from promptops.report import formatting as f
from promptops.report.html import render_html

URL_OUTPUT = "see https://example.com/help and url(http://evil.test/x.png)"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


class _Doc(HTMLParser):
    """Every start tag with its (unescaped) attributes, and the text of <style>/<script>."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._in: str | None = None
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in = tag if tag in self.raw else None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        """Attributes of the `tag` elements whose attributes include `attrs`."""
        want = attrs.items()
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in want)]


def _runs_with_url() -> list[CaseRun]:
    runs = make_runs()
    return [*runs[:-1], replace(runs[-1], output=URL_OUTPUT)]


@pytest.fixture(scope="module")
def page() -> str:
    """The sample report with one comparison and an output that quotes URLs."""
    runs = _runs_with_url()
    return render_html(make_meta(), make_card(runs), runs, [make_comparison()])


@pytest.fixture(scope="module")
def doc(page: str) -> _Doc:
    """The sample report, parsed."""
    return _Doc(page)


def _section(page: str, marker: str, end: str) -> str:
    """The text from `marker` to the next `end`."""
    start = page.index(marker)
    return page[start : page.index(end, start)]


def test_one_self_contained_document(page: str, doc: _Doc) -> None:
    assert page.lstrip().lower().startswith("<!doctype html>")
    for tag in ("html", "head", "body"):
        assert len(doc.find(tag)) == 1, tag
    assert page.rstrip().endswith("</html>")
    assert doc.find("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"] == CSP
    assert doc.find("link", rel="icon") == [{"rel": "icon", "href": "data:,"}]
    assert len(doc.find("script")) == 1 and "src" not in doc.find("script")[0]
    assert not [t for t, _ in doc.tags if t in ("img", "iframe", "object", "embed", "base")]


def test_no_attribute_points_outside_the_file(doc: _Doc) -> None:
    # data-* attributes hold inert search text (an output may quote a URL); nothing else may.
    for tag, attrs in doc.tags:
        for name, value in attrs.items():
            if name.startswith("data-") and name not in ("data", "data-src"):
                continue
            v = value.strip().lower()
            assert "http:" not in v and "https:" not in v, f"<{tag} {name}={value!r}>"
            assert not v.startswith("//"), f"<{tag} {name}={value!r}>"
            if name in ("src", "href", "action", "formaction", "poster", "srcset", "xlink:href"):
                assert v.startswith(("#", "data:")), f"<{tag} {name}={value!r}>"


def test_css_and_script_fetch_nothing(doc: _Doc) -> None:
    css = "".join(doc.raw["style"]).lower()
    script = "".join(doc.raw["script"]).lower()
    assert css and script
    assert "@import" not in css and "url(" not in css and "http" not in css
    for needle in ("fetch(", "xmlhttprequest", "http", "import(", ".src", "websocket"):
        assert needle not in script, needle


def test_url_in_an_output_is_text_only(page: str, doc: _Doc) -> None:
    assert "url(http://evil.test/x.png)" in page  # shown inside <pre>, inert
    assert f'<pre class="output">{URL_OUTPUT}</pre>' in page
    row = doc.find("tr", **{"class": "case-row", "data-case": ONLY_MINI})[0]
    assert "https://example.com/help" in row["data-search"]


def test_outputs_are_escaped(page: str, doc: _Doc) -> None:
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page
    assert '"quotes"' not in page and "&#34;quotes&#34;" in page
    assert len(doc.find("script")) == 1
    # The attribute survives intact: the parser gives back the exact lower-cased output.
    rows = doc.find("tr", **{"class": "case-row", "data-case": "refund-late", "data-model": SONNET})
    assert rows and all(XSS.lower() in r["data-search"] for r in rows)
    assert "&lt;customer&gt;" in page and "<customer>" not in page


def test_unknown_cost_is_unknown_never_zero(page: str) -> None:
    mini = _section(page, f'data-model="{MINI}"', "</article>")
    assert re.search(r'class="cost">unknown\b', mini)
    assert "$0.0000" not in mini and "$0 " not in mini
    sonnet = _section(page, f'data-model="{SONNET}"', "</article>")
    assert "$0.0044" in sonnet  # 11 priced runs at $0.0004


def test_summary_numbers_and_intervals(page: str) -> None:
    card = make_card(_runs_with_url())
    sonnet = _section(page, f'data-model="{SONNET}"', "</article>")
    mc = card.cards[0]
    assert f"{mc.pass_rate * 100:.1f}%" in sonnet  # type: ignore[operator]
    assert f"{mc.mean_score:.3f}" in sonnet
    assert f"95% CI {f.interval(mc.pass_ci, as_pct=True)}" in sonnet
    assert f"{f.plus_minus(mc.score_ci)}</span>" in sonnet
    assert "FAIL · exit 1" in sonnet and "pass_rate" in sonnet
    assert "Cache hits</dt><dd>4 of 12" in sonnet
    assert re.search(r"<dt>Errors</dt><dd class=\"err\">1</dd>", sonnet)


def test_cards_without_intervals_still_render() -> None:
    card = make_card()
    bare = replace(card, cards=tuple(replace(c, score_ci=None, pass_ci=None) for c in card.cards))
    page = render_html(make_meta(), bare, make_runs())
    summary = _section(page, 'id="summary"', "</section>")
    assert "95% CI" not in summary and "±" not in summary


def test_histogram_has_ten_titled_bins_per_model(page: str, doc: _Doc) -> None:
    assert len(doc.find("svg", **{"class": "histogram", "role": "img"})) == 2
    for model in (SONNET, MINI):
        block = _section(page, f'data-model="{model}"', "</svg>")
        counts = [int(n) for n in re.findall(r"<title>score [0-9.–]+: (\d+) runs?</title>", block)]
        scored = [r for r in make_runs() if r.model == model and r.score is not None]
        assert len(counts) == 10 and sum(counts) == len(scored)
        assert "Score distribution of" in block


def test_case_table_rows_and_filters(page: str, doc: _Doc) -> None:
    runs = _runs_with_url()
    rows = doc.find("tr", **{"class": "case-row"})
    assert len(rows) == len(runs)
    statuses = [r["data-status"] for r in rows]
    assert statuses.count("error") == 1
    assert statuses.count("failed") == sum(1 for r in runs if r.error is None and not r.passed)
    assert {r["data-model"] for r in rows} == {SONNET, MINI}
    assert f'id="shown-count" aria-live="polite">{len(runs)} of {len(runs)} cases' in page
    for control in ("case-filter", "status-filter", "model-filter"):
        assert doc.find("input", id=control) or doc.find("select", id=control)
    assert [a["value"] for a in doc.find("option")][:6] == [
        "all", "failed", "passed", "error", "all", SONNET]
    assert ERROR in page and "rate_limit" in page


def test_failing_criteria_are_explained(page: str) -> None:
    assert "no match for ^[a-z_]+$" in page
    assert "expected &#39;refunds&#39;, got something else" in page


def test_judge_reasoning_in_details(page: str) -> None:
    blocks = re.findall(r'<details class="judge">.*?</details>', page, flags=re.S)
    assert blocks
    escaped = REASONING.replace("<", "&lt;").replace(">", "&gt;")
    assert all(escaped in b and "verdict B" in b and MINI in b for b in blocks)
    outside = re.sub(r'<details class="judge">.*?</details>', "", page, flags=re.S)
    assert escaped not in outside  # only inside the <details>


def test_comparison_section_only_with_comparisons() -> None:
    plain = render_html(make_meta(), make_card(), make_runs())
    assert 'id="comparisons"' not in plain and 'href="#comparisons"' not in plain
    assert 'class="forest"' not in plain


def test_comparison_view(page: str) -> None:
    comp = make_comparison()
    section = _section(page, 'id="comparisons"', "</section>")
    assert "INCONCLUSIVE · exit 0" in section and "badge warn" in section
    assert comp.rule in section
    d = comp.score
    assert d.mde is not None and d.p_value is not None and d.mean_diff is not None
    assert f"can detect drops of {d.mde * 100:.1f} pp at 80% power" in section
    assert f"p = {d.p_value:.3f}" in section and f"{d.n} paired cases" in section
    assert f"−{abs(d.mean_diff):.3f}" in section
    assert f"95% CI −{abs(d.low or 0):.3f} to +{d.high:.3f}" in section
    assert 'class="forest"' in section and 'class="margin"' in section
    flips = re.findall(r'<tr><td class="mono">([^<]+)</td><td>(pass|fail)</td>', section)
    assert flips == [("order-status", "pass"), ("refund-late", "pass"), ("gift-card", "fail")]
    assert "1.000 → 0.000" in section
    assert re.search(r"<td>shipping</td><td class=\"num\">2</td>.*?−0\.050</td>", section)
    assert "−0.000" not in section  # unchanged tags read +0.000
    for text in ("invoice-copy", ONLY_MINI, "account-locked", "+35 ms",
                 "−" + f.usd(abs(comp.cost_per_case_delta_usd or 0))):
        assert text in section, text


def test_inverted_verdicts_get_their_colours() -> None:
    comp = make_comparison()
    for verdict, cls in (("PASS", "pass"), ("FAIL", "fail")):
        page = render_html(make_meta(), make_card(), make_runs(), [replace(comp, verdict=verdict)])
        assert f'class="badge {cls} comparison-verdict">{verdict}' in page


def test_degenerate_comparison_renders_without_numbers() -> None:
    empty = paired_difference([], [])
    comp = replace(make_comparison(), score=empty, pass_rate=empty, flips=(), tag_deltas=(),
                   baseline_score=mean_interval([]), candidate_score=mean_interval([]),
                   cost_per_case_delta_usd=None, latency_p50_delta_ms=None)
    page = render_html(make_meta(), make_card(), make_runs(), [comp])
    section = _section(page, 'id="comparisons"', "</section>")
    assert "Too few paired cases to estimate the smallest detectable drop." in section
    assert "95% CI" not in section.split("<table")[0] and "p = " not in section
    assert 'class="ci ' not in section  # no interval bar without an interval
    assert "no case changed pass/fail" in section and "no tags" in section
    assert "<td>Cost per case</td><td class=\"num\">unknown</td>" in section
