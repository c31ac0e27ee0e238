"""The HTML report in a real headless Chromium: it renders, filters, and fetches nothing."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from html_samples import MINI, ONLY_MINI, SONNET, make_card, make_comparison, make_meta, make_runs

from promptops.report.html import render_html

try:
    from selenium import webdriver
    from selenium.webdriver import Chrome as WebDriver  # get_log lives on the Chromium driver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    pytest.skip("needs selenium (pip install selenium)", allow_module_level=True)

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    # CI sets PROMPTOPS_REQUIRE_BROWSER: there a missing browser is a failure, not a skip.
    if os.environ.get("PROMPTOPS_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} / {CHROMEDRIVER} missing: run `make browser` as root")
    pytest.skip(
        f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )

RUNS = make_runs()
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-quic")


@pytest.fixture(scope="module")
def report_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample report with a comparison, written to a file."""
    path = tmp_path_factory.mktemp("html") / "report.html"
    page = render_html(make_meta(), make_card(), RUNS, [make_comparison()])
    path.write_text(page, encoding="utf-8")
    return path.as_uri()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the module, with the DevTools network and console logs on."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")  # selenium-manager must never download a driver
        drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        drv.set_page_load_timeout(10)
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(driver: WebDriver, report_url: str) -> WebDriver:
    """The report freshly loaded (a new navigation: no filter state carried over)."""
    driver.get(report_url)
    return driver


def _visible_rows(drv: WebDriver) -> list[WebElement]:
    return [r for r in drv.find_elements(By.CSS_SELECTOR, "tr.case-row") if r.is_displayed()]


def _count_is(drv: WebDriver, text: str) -> str:
    WebDriverWait(drv, 3).until(lambda d: d.find_element(By.ID, "shown-count").text == text)
    return text


def test_page_renders(page: WebDriver) -> None:
    assert page.title.startswith("promptops · support-router · FAIL")
    assert page.find_element(By.ID, "verdict").text == "FAIL · exit 1"
    cards = {c.get_attribute("data-model"): c for c in page.find_elements(By.CSS_SELECTOR,
                                                                          ".model-card")}
    card = make_card()
    for mc in card.cards:
        shown = cards[mc.model]
        assert shown.find_element(By.CSS_SELECTOR, ".pass-rate").text == f"{mc.pass_rate:.1%}"
        assert shown.find_element(By.CSS_SELECTOR, ".mean-score").text.startswith(
            f"{mc.mean_score:.3f}")
    assert "unknown" in cards[MINI].find_element(By.CSS_SELECTOR, ".cost").text
    charts = page.find_elements(By.CSS_SELECTOR, "svg.histogram")
    assert len(charts) == 2 and all(c.size["width"] > 100 for c in charts)
    assert len(charts[0].find_elements(By.CSS_SELECTOR, "rect.bar")) == 10
    assert page.find_element(By.CSS_SELECTOR, "svg.forest").is_displayed()
    assert _count_is(page, f"{len(RUNS)} of {len(RUNS)} cases")


def test_text_filter(page: WebDriver) -> None:
    page.find_element(By.ID, "case-filter").send_keys(ONLY_MINI)
    _count_is(page, f"1 of {len(RUNS)} cases")
    [row] = _visible_rows(page)
    assert row.get_attribute("data-case") == ONLY_MINI
    # Outputs are searchable too, case-insensitively.
    box = page.find_element(By.ID, "case-filter")
    box.clear()
    box.send_keys("ALERT(1)")
    refund = [r for r in RUNS if r.output and "alert(1)" in r.output]
    _count_is(page, f"{len(refund)} of {len(RUNS)} cases")


def test_status_and_model_filters(page: WebDriver) -> None:
    Select(page.find_element(By.ID, "status-filter")).select_by_value("failed")
    failed = [r for r in RUNS if r.error is None and not r.passed]
    _count_is(page, f"{len(failed)} of {len(RUNS)} cases")
    rows = _visible_rows(page)
    assert len(rows) == len(failed) and {r.get_attribute("data-status") for r in rows} == {
        "failed"}
    Select(page.find_element(By.ID, "model-filter")).select_by_value(MINI)
    mini_failed = [r for r in failed if r.model == MINI]
    _count_is(page, f"{len(mini_failed)} of {len(RUNS)} cases")
    assert {r.get_attribute("data-model") for r in _visible_rows(page)} == {MINI}
    Select(page.find_element(By.ID, "status-filter")).select_by_value("all")
    Select(page.find_element(By.ID, "model-filter")).select_by_value(SONNET)
    _count_is(page, f"{sum(r.model == SONNET for r in RUNS)} of {len(RUNS)} cases")
    Select(page.find_element(By.ID, "status-filter")).select_by_value("error")
    [row] = _visible_rows(page)
    assert "rate_limit" in row.text


def test_judge_details_open(page: WebDriver) -> None:
    details = page.find_element(By.CSS_SELECTOR, "details.judge")
    reasoning = details.find_element(By.CSS_SELECTOR, ".reasoning")
    assert not reasoning.is_displayed()
    details.find_element(By.TAG_NAME, "summary").click()
    assert reasoning.is_displayed() and "<customer>" in reasoning.text


def _log(drv: WebDriver, kind: str) -> list[dict[str, Any]]:
    """Drain one of the browser's logs (`performance`: DevTools events, `browser`: console)."""
    entries: list[dict[str, Any]] = drv.get_log(kind)  # type: ignore[no-untyped-call]
    return entries


def _requests(drv: WebDriver) -> list[str]:
    urls = []
    for entry in _log(drv, "performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_no_request_leaves_the_file(driver: WebDriver, report_url: str) -> None:
    _log(driver, "performance")  # drain what earlier tests logged
    _log(driver, "browser")
    driver.get(report_url)
    driver.find_element(By.ID, "case-filter").send_keys("billing")
    driver.find_element(By.CSS_SELECTOR, "details.judge summary").click()
    urls = _requests(driver)
    assert report_url in urls  # the log works: the document itself was recorded
    # file: and data: only, and the one file is the report itself (no sibling assets either).
    assert all(u == report_url or u.startswith("data:") for u in urls), urls
    console = _log(driver, "browser")
    assert not [e for e in console if e["level"] in ("SEVERE", "WARNING")], console
    assert not [e for e in console if "Content Security Policy" in e["message"]], console


def test_csp_blocks_what_a_bug_would_fetch(driver: WebDriver, report_url: str) -> None:
    """Canary: the page's CSP refuses an outside image, and the console check would see it."""
    driver.get(report_url)
    _log(driver, "browser")
    # 127.0.0.1:9 (discard): even a broken CSP would not reach the network.
    driver.execute_script(
        "var i = document.createElement('img'); i.src = 'http://127.0.0.1:9/x.png';"
        "document.body.appendChild(i);")
    WebDriverWait(driver, 3).until(lambda d: any(
        "Content Security Policy" in e["message"] for e in _log(d, "browser")))

