"""The rating page in a real headless Chromium, used as a person would: enter a name, rate with the
mouse and the keyboard, go back and change a rating, reload, and find everything kept; the ratings file
then holds exactly the clicks, in order, and no page ever shows a model name."""
from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("flask", reason="the rating server needs Flask (pip install 'selfinstruct[rate]')")
pytest.importorskip("selenium", reason="browser tests need selenium (pip install 'selfinstruct[test]')")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("browser tests need Chromium and its driver: apt-get install -y chromium chromium-driver",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from rate_data import INSTRUCTIONS, MODELS, write_rating_data  # noqa: E402
from selfinstruct.rate import RatingServer, RatingSet, RatingStore, create_app, load_models  # noqa: E402
from selfinstruct.rate.predictions import parse_prediction_argument  # noqa: E402

TOTAL = len(MODELS) * len(INSTRUCTIONS)
TOKEN = "results-token"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture()
def server(tmp_path):
    instructions, paths = write_rating_data(tmp_path)
    rating_set = RatingSet(load_models([parse_prediction_argument(str(p)) for p in paths], instructions))
    results = tmp_path / "ratings.jsonl"
    app = create_app(rating_set, store := RatingStore(results), results_token=TOKEN)
    with store, RatingServer(app) as running:
        yield running.url, rating_set, results


def shown_key(driver, other_than=None):
    """Wait until the page shows a response (other than `other_than`) and return its key."""
    def ready(d):
        item = d.find_element(By.ID, "item")
        key = item.get_attribute("data-key")
        return key if item.is_displayed() and key and key != other_than else False
    return WebDriverWait(driver, 10).until(ready)


def pressed_level(driver):
    pressed = driver.find_elements(By.CSS_SELECTOR, '.rate-button[aria-pressed="true"]')
    return [button.get_attribute("data-level") for button in pressed]


def progress(driver, expected):
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "progress").text == expected)


def assert_blind(driver):
    for model in MODELS:
        assert model not in driver.page_source


def test_rate_reload_and_find_ratings_kept(browser, server):
    url, rating_set, results = server
    browser.get_log("browser")  # drop what earlier tests logged
    browser.get(url + "/")
    name = browser.find_element(By.ID, "rater-name")
    name.send_keys("Alice Smith")
    browser.find_element(By.ID, "start").click()
    WebDriverWait(browser, 10).until(lambda d: "rater=Alice" in d.current_url)

    clicks = []  # (key, level) in the order given
    key = shown_key(browser)
    progress(browser, f"0 of {TOTAL} rated")
    assert_blind(browser)
    browser.find_element(By.CSS_SELECTOR, '.rate-button[data-level="A"]').click()
    clicks.append((key, "A"))
    key = shown_key(browser, other_than=key)
    ActionChains(browser).send_keys("c").perform()  # keyboard shortcut
    clicks.append((key, "C"))
    key = shown_key(browser, other_than=key)
    assert_blind(browser)
    browser.find_element(By.CSS_SELECTOR, '.rate-button[data-level="D"]').click()
    clicks.append((key, "D"))
    key = shown_key(browser, other_than=key)
    progress(browser, f"3 of {TOTAL} rated")
    assert pressed_level(browser) == []

    # Back to the second response: its rating shows; change it to B (the page then moves on).
    browser.find_element(By.ID, "prev").click()
    key = shown_key(browser, other_than=key)
    browser.find_element(By.ID, "prev").click()
    key = shown_key(browser, other_than=key)
    assert key == clicks[1][0] and pressed_level(browser) == ["C"]
    browser.find_element(By.CSS_SELECTOR, '.rate-button[data-level="B"]').click()
    clicks.append((key, "B"))
    shown_key(browser, other_than=key)

    # Reload: the page resumes at the first unrated response, and every rating is still there.
    browser.refresh()
    key = shown_key(browser)
    progress(browser, f"3 of {TOTAL} rated")
    assert key not in {k for k, _ in clicks}
    kept = {}
    for _ in range(3):
        browser.find_element(By.ID, "prev").click()
        key = shown_key(browser, other_than=key)
        kept[key] = pressed_level(browser)
    assert kept == {clicks[0][0]: ["A"], clicks[1][0]: ["B"], clicks[2][0]: ["D"]}
    assert_blind(browser)

    # The ratings file holds exactly the clicks, in order, as (rater, item, model, level).
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    expected = [("Alice Smith", rating_set.response(k).item, rating_set.response(k).model, level)
                for k, level in clicks]
    assert [(r["rater"], r["item"], r["model"], r["rating"]) for r in lines] == expected

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_a_second_rater_starts_fresh_in_an_own_order(browser, server):
    url, rating_set, results = server
    browser.get(url + "/?rater=alice")
    alice_first = shown_key(browser)
    browser.find_element(By.CSS_SELECTOR, '.rate-button[data-level="A"]').click()
    shown_key(browser, other_than=alice_first)
    browser.get(url + "/?rater=bob")
    progress(browser, f"0 of {TOTAL} rated")
    orders = {rater: rating_set.order(rater) for rater in ("alice", "bob")}
    assert shown_key(browser) == orders["bob"][0] and alice_first == orders["alice"][0]
    browser.get(url + "/?rater=" + "x" * 41)  # a bad name: the page says why and asks again
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "rater-form").is_displayed())
    assert "bad rater name" in browser.find_element(By.ID, "error").text
    assert [json.loads(line)["rater"] for line in results.read_text(encoding="utf-8").splitlines()] == ["alice"]


def test_results_page_shows_the_rating(browser, server):
    url, rating_set, _ = server
    browser.get_log("browser")  # drop what earlier tests logged
    browser.get(url + "/?rater=carol")
    first = shown_key(browser)
    ActionChains(browser).send_keys("d").perform()
    shown_key(browser, other_than=first)
    browser.get(f"{url}/results?token={TOKEN}")
    rows = {row.find_elements(By.TAG_NAME, "td")[0].text: [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "table tr") if row.find_elements(By.TAG_NAME, "td")}
    rated_model = rating_set.response(first).model
    assert rows[rated_model][1:6] == ["1", "0 (0.0%)", "0 (0.0%)", "0 (0.0%)", "1 (100.0%)"]
    assert browser.find_elements(By.CSS_SELECTOR, ".figure svg")
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    browser.get(f"{url}/results")  # without the token: refused
    assert "names the models" in browser.page_source
