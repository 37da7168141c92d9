"""The report page in a real headless Chromium, opened from file:// as a person would: it renders with
no console error, every figure has data points, tooltips and legends respond."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from chromium import require_chromium, start_chromium  # noqa: E402

require_chromium()
pytest.importorskip("matplotlib", reason="the report's PNGs need matplotlib (pip install 'selfinstruct[report]')")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from report_data import write_alpaca_json, write_run, write_seeds  # noqa: E402
from selfinstruct.cli import main  # noqa: E402
from selfinstruct.report.diversity import load_parser  # noqa: E402

RUN_FIGURES = ["funnel-0", "admission-0", "throughput-0"]
BASE_FIGURES = ["novelty", "length-instruction", "length-input", "length-output"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    out = folder / "report.html"
    sources = [str(write_run(folder / "run")), str(write_alpaca_json(folder / "alpaca_data.json"))]
    seeds = str(write_seeds(folder / "seeds.jsonl"))
    assert main(["report", *sources, "-o", str(out), "--seeds", seeds, "--no-png"]) == 0  # PNGs: test_report_cli
    return out


@pytest.fixture(scope="module")
def browser(page):
    driver = start_chromium()
    driver.get(page.as_uri())
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-rendered") == "ok")
    yield driver
    driver.quit()


def test_page_renders_without_console_errors(browser):
    problems = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == []
    assert browser.find_element(By.CSS_SELECTOR, "#table1 tbody tr td:nth-child(2)").text == "3"


def test_every_figure_has_data_points(browser):
    figures = browser.find_elements(By.CSS_SELECTOR, "figure.chart")
    ids = [figure.get_attribute("data-figure") for figure in figures]
    expected = BASE_FIGURES + (["diversity-0", "diversity-1"] if load_parser()[0] is not None else []) + RUN_FIGURES
    assert ids == expected
    for figure in figures:
        points = figure.find_elements(By.CSS_SELECTOR, ".datum")
        assert points, f"figure {figure.get_attribute('data-figure')} has no data points"
        assert all(p.get_attribute("data-tip") for p in points)
        assert figure.find_element(By.CSS_SELECTOR, "svg").size["height"] > 50


def test_tooltip_and_legend_respond(browser):
    bar = next(p for p in browser.find_elements(By.CSS_SELECTOR, 'figure[data-figure="novelty"] .datum')
               if p.size["height"] > 0)
    ActionChains(browser).move_to_element(bar).perform()
    tip = browser.find_element(By.ID, "tooltip")
    WebDriverWait(browser, 5).until(lambda d: tip.is_displayed())
    assert tip.text == bar.get_attribute("data-tip")
    legend = browser.find_elements(By.CSS_SELECTOR, 'figure[data-figure="novelty"] .legend-item')
    assert [item.text.split(" (")[0] for item in legend] == ["run", "alpaca_data.json"]
    legend[1].click()
    hidden = browser.find_elements(By.CSS_SELECTOR, 'figure[data-figure="novelty"] [data-series="1"].hidden')
    assert len(hidden) == 20


def test_funnel_shows_drop_reasons_with_examples(browser):
    funnel = browser.find_element(By.CSS_SELECTOR, 'figure[data-figure="funnel-0"]')
    tips = [p.get_attribute("data-tip") for p in funnel.find_elements(By.CSS_SELECTOR, ".datum")]
    assert tips[0].startswith("generate-instructions · candidates: 6")
    assert tips[1].startswith("generate-instructions · dropped: too_similar: 2")
    assert tips[-1].startswith("generate-instructions · kept: 3")
    summary = funnel.find_element(By.CSS_SELECTOR, "details summary")
    summary.click()
    assert "ROUGE-L 0.857 to: Write a poem about the sea." in funnel.find_element(By.CSS_SELECTOR, "details").text


def test_logged_text_is_shown_as_text_not_markup(browser):
    funnel = browser.find_element(By.CSS_SELECTOR, 'figure[data-figure="funnel-0"]')
    details = funnel.find_elements(By.CSS_SELECTOR, "details")[1]
    details.find_element(By.TAG_NAME, "summary").click()
    assert "Go </script><img src=x onerror=alert(1)>" in details.text
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    assert browser.get_log("browser") == []

