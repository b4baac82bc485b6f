"""The web page in a real browser: Playwright drives Debian's chromium against a real server.

Set S2S_SKIP_BROWSER=1 to skip it; otherwise a missing playwright or chromium fails it with the command to install
them (.ci/run installs both).
"""

import os
import shutil

import httpx
import pytest

from s2s.serving.app import create_app


@pytest.fixture(scope="module")
def chromium():
    if os.environ.get("S2S_SKIP_BROWSER") == "1":
        pytest.skip("S2S_SKIP_BROWSER=1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs playwright: pip install -e '.[dev]' (or set S2S_SKIP_BROWSER=1 to skip it)")
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("the browser test needs Debian's chromium: install chromium with apt-get install -y chromium "
                    "(or set S2S_SKIP_BROWSER=1 to skip it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page_url(models, live_server):
    with live_server(create_app(models)) as url:
        yield url


@pytest.fixture
def page(chromium, page_url):
    page = chromium.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_url)
    page.wait_for_function("document.getElementById('direction').textContent !== ''")
    yield page
    page.close()
    assert errors == [], f"the page's JavaScript failed: {errors}"


def test_typing_a_sentence_shows_its_translation_n_best_and_attention_heatmap(page, page_url):
    assert page.inner_text("#direction") == "en → de"
    assert page.get_attribute("#model-link", "href") == "/models"
    page.locator("#source").press_sequentially("forty two")
    page.fill("#beam", "3")
    page.fill("#nbest", "2")
    page.click("#translate")
    page.wait_for_selector(".result")
    [answer] = httpx.post(f"{page_url}/translate", json={"text": ["forty two"], "beam": 3, "nbest": 2, "attention": True},
                          timeout=30).json()["translations"]
    assert page.inner_text(".result .translation") == answer["text"]
    assert page.locator(".result .nbest li").all_inner_texts() == [f"{h['text']} ({h['score']:.3f})" for h in answer["nbest"]]
    attention = answer["attention"]
    cells = page.locator(".heatmap td.cell")
    assert cells.count() == len(attention["out"]) * len(attention["src"]) > 0
    assert page.locator(".heatmap th.src").all_inner_texts() == attention["src"]
    assert page.locator(".heatmap th.out").all_inner_texts() == attention["out"]
    last = cells.nth(cells.count() - 1)
    assert (last.get_attribute("data-out"), last.get_attribute("data-src")) == \
        (str(len(attention["out"]) - 1), str(len(attention["src"]) - 1))
    assert float(last.get_attribute("data-weight")) == attention["weights"][-1][-1]


def test_a_model_without_attention_says_so_instead_of_a_heatmap(page):
    page.select_option("#model", "plain")
    assert page.inner_text("#about").endswith(", no attention")
    page.fill("#source", "forty two")
    page.click("#translate")
    page.wait_for_selector(".result")
    assert page.inner_text(".no-attention").startswith("This model has no attention, so there is no attention map")
    assert page.locator(".heatmap").count() == 0


def test_a_refused_request_shows_the_servers_message(page):
    page.fill("#source", "forty two")
    page.fill("#beam", "99")
    page.click("#translate")
    page.wait_for_function("document.getElementById('error').textContent !== ''")
    assert page.inner_text("#error") == "'beam' must be between 1 and 16 (this server's --max-beam), got 99."


def test_example_sentences_are_everyday_ones_in_the_models_source_language(page):
    examples = page.locator("#examples a")
    assert examples.all_inner_texts()[:2] == ["How are you today?", "Where is the train station?"]  # the model is en→de
    assert page.get_attribute("#source", "placeholder") == "How are you today?"
    examples.nth(1).click()
    assert page.input_value("#source") == "Where is the train station?"
