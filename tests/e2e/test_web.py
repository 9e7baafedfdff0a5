"""The web page in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``).

Skipped, with the reason, when Chromium, its driver or Selenium is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists(),
        reason="needs Debian packages chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver)",
    ),
]


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ssl4rec-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _recs(driver) -> list[str]:
    # one script call: atomic with respect to the page re-rendering the list
    return driver.execute_script(
        "return [...document.querySelectorAll('li.rec')].map((li) => li.dataset.item)"
    )


def test_pick_user_see_explained_recs_add_event(live_server, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15)
    browser.get(live_server + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "model-info"), "EASE"))
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".user-chip")))

    user_box = browser.find_element(By.ID, "user-id")
    user_box.clear()
    user_box.send_keys("u0")
    browser.find_element(By.ID, "load-user").click()
    wait.until(lambda d: len(_recs(d)) > 0)
    before = _recs(browser)
    assert all(int(i[1:]) < 10 for i in before[:3])  # u0 is in the drama group
    because = browser.find_element(By.CSS_SELECTOR, "li.rec .because").text
    assert because.startswith("because you liked Movie")

    # search a comedy and record it as a new event for u0
    search = browser.find_element(By.ID, "search")
    search.send_keys("Movie 12")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#search-results li")) == 1)
    assert "Movie 12" in browser.find_element(By.ID, "search-results").text
    browser.find_element(By.CSS_SELECTOR, "#search-results .add-search").click()
    wait.until(lambda d: "Movie 12" in d.find_element(By.ID, "history").text)
    wait.until(lambda d: _recs(d) and _recs(d) != before)
    after = _recs(browser)
    assert "i12" not in after and after != before
    assert "event stored" in browser.find_element(By.ID, "status").text

    # an event from a recommendation's own button changes the list again
    first = after[0]
    browser.find_element(By.CSS_SELECTOR, "li.rec .add-event").click()
    wait.until(lambda d: _recs(d) and first not in _recs(d))

    # an unknown user gets the labelled popularity fallback
    user_box.clear()
    user_box.send_keys("stranger")
    browser.find_element(By.ID, "load-user").click()
    wait.until(ec.presence_of_element_located((By.ID, "fallback")))

    shot = tmp_path / "web.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_session_mode(live_server, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15)
    browser.get(live_server + "/")
    browser.find_element(By.ID, "tab-session").click()
    search = browser.find_element(By.ID, "search")
    search.send_keys("comedy")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#search-results li")) == 10)
    browser.find_element(By.CSS_SELECTOR, "#search-results .add-search").click()
    wait.until(
        lambda d: len(_recs(d)) > 0 and "session" in d.find_element(By.ID, "recs-title").text
    )
    assert all(int(i[1:]) >= 10 for i in _recs(browser)[:3])


def _bars(driver, rank: int = 0) -> list[tuple[str, float]]:
    """(title, weight) of the bars under the ``rank``-th recommendation's "why"."""
    return [
        (title, float(weight))
        for title, weight in driver.execute_script(
            "const li = document.querySelectorAll('li.rec')[arguments[0]];"
            "return [...li.querySelectorAll('.why-panel .bar-row')].map((row) =>"
            " [row.querySelector('.bar-title').textContent,"
            "  row.querySelector('.bar').dataset.weight]);",
            rank,
        )
    ]


def _view(driver, rank: int = 0) -> str:
    return driver.execute_script(
        "const p = document.querySelectorAll('li.rec .why-panel')[arguments[0]];"
        "return p && !p.hidden ? p.dataset.view || '' : '';",
        rank,
    )


def test_explanation_bars_follow_method_layer_and_head(sasrec_server, browser, tmp_path) -> None:
    """SASRec: "why" shows a bar per history item; method, layer and head redraw them."""
    import os

    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    info = httpx.get(sasrec_server + "/model-info").json()
    methods = info["explanation_methods"]
    assert len(methods) >= 2 and info["attention"] == {"num_layers": 2, "num_heads": 2}

    wait = WebDriverWait(browser, 20)
    browser.set_window_size(1280, 1000)
    browser.get(sasrec_server + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "model-info"), "SASRec"))
    method = Select(browser.find_element(By.ID, "method"))
    assert [o.get_attribute("value") for o in method.options] == methods
    assert method.first_selected_option.get_attribute("value") == methods[0]

    user_box = browser.find_element(By.ID, "user-id")
    user_box.clear()
    user_box.send_keys("u0")
    browser.find_element(By.ID, "load-user").click()
    wait.until(lambda d: len(_recs(d)) > 1)
    history = httpx.get(sasrec_server + "/users/u0/history").json()["training"]
    titles = [h["title"] for h in history]

    # the default method: one bar per history item, oldest first, titled
    browser.find_elements(By.CSS_SELECTOR, "li.rec .why")[0].click()
    wait.until(lambda d: _view(d) == f"method:{methods[0]}")
    default = _bars(browser)
    assert [t for t, _ in default] == titles and any(w != 0 for _, w in default)
    assert browser.find_element(By.CSS_SELECTOR, "li.rec .sentence").text

    # another method redraws the open panel with other weights (same history items)
    method.select_by_value(methods[1])
    wait.until(lambda d: _view(d) == f"method:{methods[1]}")
    other = _bars(browser)
    assert [t for t, _ in other] == titles and other != default

    # attention: layer and head redraw the bars from the attention endpoint
    layer = Select(browser.find_element(By.ID, "layer"))
    head = Select(browser.find_element(By.ID, "head"))
    seen = []
    for layer_value, head_value in (("0", ""), ("0", "1"), ("1", "0")):
        layer.select_by_value(layer_value)
        head.select_by_value(head_value)
        wait.until(lambda d, v=f"attention:{layer_value}:{head_value}": _view(d) == v)
        bars = _bars(browser)
        params = {"layer": layer_value} | ({"head": head_value} if head_value else {})
        expected = httpx.get(sasrec_server + "/users/u0/attention", params=params).json()
        assert [w for _, w in bars] == pytest.approx([w["weight"] for w in expected["weights"]])
        assert sum(w for _, w in bars) == pytest.approx(1.0, abs=1e-4)  # one softmax row
        seen.append(bars)
    assert seen[0] != seen[1] != seen[2] and seen[0] != other

    # back to the method: the bars are the method's again; open a second "why" too
    layer.select_by_value("")
    wait.until(lambda d: _view(d) == f"method:{methods[1]}")
    assert _bars(browser) == other
    browser.find_elements(By.CSS_SELECTOR, "li.rec .why")[1].click()
    wait.until(lambda d: _view(d, 1) == f"method:{methods[1]}")
    # the default method again, both panels redrawn (the documented screenshot)
    method.select_by_value(methods[0])
    wait.until(lambda d: _view(d, 0) == _view(d, 1) == f"method:{methods[0]}")
    assert _bars(browser) == default

    folder = os.environ.get("SSL4REC_SCREENSHOT_DIR")
    shot = (Path(folder) if folder else tmp_path) / "screenshot-explain.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_case_switch_moves_between_served_cases(cases_server, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 15)
    browser.get(cases_server + "/")
    wait.until(lambda d: d.current_url.endswith("/cases/drama/"))
    wait.until(lambda d: d.find_element(By.ID, "case-box").is_displayed())
    switch = Select(browser.find_element(By.ID, "case-switch"))
    assert [o.text for o in switch.options] == ["Drama case", "Comedy case"]
    assert switch.first_selected_option.text == "Drama case"
    assert browser.find_element(By.ID, "case-question").text == "What next for drama fans?"
    assert browser.title == "ssl4rec — Drama case"

    box = browser.find_element(By.ID, "user-id")
    box.send_keys("u0")
    browser.find_element(By.ID, "load-user").click()
    wait.until(lambda d: len(_recs(d)) > 0)  # the API answered under the case's prefix

    switch.select_by_visible_text("Comedy case")
    wait.until(lambda d: d.current_url.endswith("/cases/comedy/"))
    wait.until(lambda d: "EASE" in d.find_element(By.ID, "model-info").text)
    assert Select(browser.find_element(By.ID, "case-switch")).first_selected_option.text == "Comedy case"
    assert not browser.find_element(By.ID, "case-question").is_displayed()
