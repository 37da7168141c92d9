"""Take the README's screenshot of the rating page: serve the given prediction files, open the page in
headless Chromium as rater "demo", and save a PNG. Ratings go to a temporary file that is thrown away.

    python examples/rate_screenshot.py --instructions user_oriented_instructions.jsonl \
        predictions/*_predictions.jsonl -o docs/img/rate.png

Needs `selfinstruct[rate,test]` and Debian's chromium + chromium-driver.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from selfinstruct.rate import RatingServer, RatingSet, RatingStore, create_app, load_models
from selfinstruct.rate.predictions import parse_prediction_argument


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", nargs="+")
    parser.add_argument("--instructions")
    parser.add_argument("--rater", default="demo")
    parser.add_argument("--skip", type=int, default=0, help="show the rater's N+1-th response")
    parser.add_argument("-o", "--output", default="docs/img/rate.png")
    args = parser.parse_args()

    rating_set = RatingSet(load_models([parse_prediction_argument(p) for p in args.predictions], args.instructions))
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1100",
                     "--hide-scrollbars"):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    with tempfile.TemporaryDirectory() as scratch, RatingStore(Path(scratch) / "ratings.jsonl") as store, \
            RatingServer(create_app(rating_set, store)) as server:
        driver = webdriver.Chrome(options=options, service=service)
        try:
            driver.get(f"{server.url}/?rater={args.rater}")
            wanted = rating_set.order(args.rater)[args.skip]
            for _ in range(args.skip):
                WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "item").get_attribute("data-key"))
                driver.find_element(By.ID, "next").click()
            WebDriverWait(driver, 10).until(
                lambda d: d.find_element(By.ID, "item").get_attribute("data-key") == wanted)
            driver.save_screenshot(args.output)
        finally:
            driver.quit()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
