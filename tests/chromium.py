"""Headless Debian Chromium through selenium for the browser tests; skips the calling module, saying
what to install, when selenium, Chromium or its driver is missing."""
from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def require_chromium() -> None:
    """Skip the calling test module unless selenium, Chromium and chromedriver are all there."""
    pytest.importorskip("selenium", reason="browser tests need selenium (pip install 'selfinstruct[test]')")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("browser tests need Chromium and its driver: apt-get install -y chromium chromium-driver",
                    allow_module_level=True)


def start_chromium(width: int = 1280, height: int = 1000):
    """A headless Chromium WebDriver that keeps the page's console log (read with get_log("browser"))."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
