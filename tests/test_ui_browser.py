"""The app in a real browser: Debian's Chromium driven by Playwright for Python.

Never `playwright install`: the browser is /usr/bin/chromium from apt (`make test` installs it).
A missing browser fails these tests loudly; it never skips them.

Set S1APP_SCREENSHOTS_DIR=docs to also write the README screenshots there.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from s1app.store import open_store
from s1app.ui.app import serve_in_background
from s1app.ui.context import UIContext

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
STATUS = "#chat-status [data-state]"
TIMEOUT_MS = 180_000  # generous: the CPU may be shared; nothing here asserts a duration


@pytest.fixture(scope="module")
def app_url(model, tmp_path_factory):
    with open_store(tmp_path_factory.mktemp("browser-store") / "sessions.db") as store:
        demo, url = serve_in_background(UIContext(default_model=model, store=store))
        yield url
        demo.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y --no-install-recommends chromium "
                    "chromium-driver fonts-liberation` (make test does this).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    opened.goto(app_url)
    opened.wait_for_selector("#chat-question textarea")
    yield opened
    context.close()


def save_screenshot(page, tmp_path: Path, name: str, *, full_page: bool = False) -> Path:
    path = tmp_path / name
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    docs = os.environ.get("S1APP_SCREENSHOTS_DIR")
    if docs and name.startswith("screenshot-"):
        shutil.copy(path, Path(docs) / name)
    return path


def status_attribute(page, name: str) -> str:
    return page.locator(STATUS).get_attribute(f"data-{name}")


def thinking_text(page) -> str:
    return page.locator("#chat-chatbot .message-wrap").inner_text()


def test_chat_streams_thinking_counts_waits_and_stops(page, tmp_path):
    page.locator("#chat-question textarea").fill("Is 17 prime?")
    slider = page.locator("#chat-max-thinking input[type=range]")
    slider.fill("1500")
    page.wait_for_function("() => document.querySelector('#chat-max-thinking-typed input').value === '1500'")
    page.locator("#chat-waits input").fill("6")
    # Without loop detection the model keeps thinking to the budget: there is time to press Stop.
    page.locator("#chat-more").get_by_text("More").click()
    page.locator("#chat-loop-detect input").uncheck()
    page.locator("#chat-ask").click()

    page.wait_for_function(f"() => document.querySelector('{STATUS}')?.dataset.state === 'running'")
    page.wait_for_function(f"() => +document.querySelector('{STATUS}')?.dataset.waits >= 3")
    assert status_attribute(page, "budget") == "1500"
    first = len(thinking_text(page))
    page.wait_for_function(
        f"() => +document.querySelector('{STATUS}').dataset.thinkingTokens >= "
        f"{int(status_attribute(page, 'thinking-tokens')) + 3}")
    assert len(thinking_text(page)) > first, "thinking keeps streaming in"
    forced = page.locator("#chat-chatbot mark.s1-forced")
    assert forced.count() >= 3 and forced.first.inner_text() == "Wait"
    assert "Waits inserted: " in page.locator("#chat-status").inner_text()
    save_screenshot(page, tmp_path, "screenshot-chat.png")

    page.locator("#chat-stop").click()
    page.wait_for_function(f"() => document.querySelector('{STATUS}')?.dataset.state === 'cancelled'")
    status = page.locator("#chat-status").inner_text()
    assert "stop reason: cancelled" in status
    # The final update folds the thinking block (its text leaves the page), so compare what stays:
    # the block's title (token and Wait counts) and the status line.
    stopped_at = (page.get_by_text("Thinking · ").first.inner_text(), status_attribute(page, "thinking-tokens"))
    page.wait_for_timeout(1500)
    assert (page.get_by_text("Thinking · ").first.inner_text(), status_attribute(page, "thinking-tokens")) == stopped_at, \
        "nothing arrives after Stop"
    assert "what it produced is kept" in thinking_text(page)
    assert int(status_attribute(page, "thinking-tokens")) < 1500
    assert page.locator(".toast-body.error").count() == 0, "no error toasts after Stop"
    save_screenshot(page, tmp_path, "chat-stopped.png")


def test_compare_runs_both_sides_side_by_side(page, tmp_path):
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-question textarea").fill("What is 12 + 7?")
    page.locator("#compare-max-thinking-A-typed input").fill("24")
    page.locator("#compare-max-thinking-B-typed input").fill("64")
    page.locator("#compare-max-answer input").fill("24")
    page.locator("#compare-run").click()
    for side in ("A", "B"):
        page.wait_for_function(
            f"() => ['finished', 'cancelled', 'failed'].includes("
            f"document.querySelector('#compare-status-{side} [data-state]')?.dataset.state)")
    budgets = [page.locator(f"#compare-status-{side} [data-state]").get_attribute("data-budget") for side in ("A", "B")]
    assert budgets == ["24", "64"]
    page.wait_for_function("() => { const text = document.querySelector('#compare-summary').innerText; "
                           "return text.includes('A: ') && text.includes('B: '); }")
    assert page.locator("#compare-chat-A mark.s1-forced").count() >= 1
    save_screenshot(page, tmp_path, "screenshot-compare.png", full_page=True)


def test_an_empty_question_and_a_budget_out_of_range_show_errors_in_the_page(page):
    page.locator("#chat-ask").click()
    page.wait_for_function(f"() => document.querySelector('{STATUS}')?.dataset.state === 'failed'")
    assert "question is empty" in page.locator("#chat-status").inner_text()
    page.locator("#chat-question textarea").fill("Hi")
    page.locator("#chat-max-thinking-typed input").fill("99999")
    page.locator("#chat-ask").click()
    page.wait_for_function(f"() => document.querySelector('{STATUS}')?.innerText.includes('99999')")
    assert "above the model's context" in page.locator("#chat-status").inner_text()
    page.locator("#chat-max-thinking-typed input").fill("8")
    page.locator("#chat-ask").click()
    page.wait_for_function(f"() => document.querySelector('{STATUS}')?.dataset.state === 'finished'")
    assert page.locator("#chat-max-thinking input[type=range]").input_value() == "8", "the slider follows the box"


def finished_state(selector: str) -> str:
    return f"() => document.querySelector('{selector} [data-state]')?.dataset.state === 'finished'"


def test_enter_sends_and_shift_enter_breaks_the_line_in_every_question_box(page):
    """Chat, Compare and Budget sweep: Enter in the question box runs it, Shift+Enter adds a line."""
    box = page.locator("#chat-question textarea")
    page.locator("#chat-max-thinking-typed input").fill("8")
    page.locator("#chat-more").get_by_text("More").click()
    page.locator("#chat-max-answer input").fill("8")
    box.fill("What is")
    box.press("Shift+Enter")
    box.press_sequentially("2 + 2?")
    assert box.input_value() == "What is\n2 + 2?", "Shift+Enter breaks the line and sends nothing"
    box.press("Enter")
    page.wait_for_function(finished_state("#chat-status"))
    asked = page.locator("#chat-chatbot .message-row.user-row")
    assert asked.count() == 1 and "2 + 2?" in asked.first.inner_text() and "What is" in asked.first.inner_text()

    page.get_by_role("tab", name="Compare").click()
    for side in ("A", "B"):
        page.locator(f"#compare-max-thinking-{side}-typed input").fill("8")
    page.locator("#compare-max-answer input").fill("8")
    page.locator("#compare-question textarea").fill("What is 3 + 4?")
    page.locator("#compare-question textarea").press("Enter")
    for side in ("A", "B"):
        page.wait_for_function(finished_state(f"#compare-status-{side}"))

    page.get_by_role("tab", name="Budget sweep").click()
    page.locator("#sweep-budgets input, #sweep-budgets textarea").first.fill("0, 8")
    page.locator("#sweep-question textarea").fill("What is 5 + 6?")
    page.locator("#sweep-question textarea").press("Enter")
    page.wait_for_selector("#sweep-status [data-rows]")  # the sweep's closing line, once every run is done
    assert page.locator("#sweep-status [data-rows]").get_attribute("data-rows") == "2"


def test_answer_probes_fill_the_strip_under_the_thinking_and_open_on_a_click(page, tmp_path):
    """Probe interval 16 on the real model: one entry per probe, at 16, 32, 48 thinking tokens."""
    page.locator("#chat-question textarea").fill("What is 2+3?")
    page.locator("#chat-max-thinking-typed input").fill("64")
    page.locator("#chat-more").get_by_text("More").click()
    page.locator("#chat-max-answer input").fill("24")
    page.locator("#chat-probe-every input").fill("16")
    page.locator("#chat-probe-tokens input").fill("24")
    page.locator("#chat-reference textarea, #chat-reference input").first.fill("5")
    page.locator("#chat-ask").click()
    page.wait_for_selector("#chat-chatbot details.s1-probe")  # the first entry arrives
    page.wait_for_function(finished_state("#chat-status"))
    # The Chatbot's sanitizer drops data- attributes: read each entry's summary and classes.
    entries = page.locator("#chat-chatbot details.s1-probe")
    summaries = [entries.nth(i).locator("summary").inner_text() for i in range(entries.count())]
    positions = [int(re.match(r"(?:Δ )?(\d+) tok → ", summary).group(1)) for summary in summaries]
    assert positions == list(range(16, int(status_attribute(page, "thinking-tokens")), 16))
    for i, summary in enumerate(summaries):
        right = "s1-right" in entries.nth(i).get_attribute("class")
        assert right != ("s1-wrong" in entries.nth(i).get_attribute("class")), "a reference grades every entry"
        assert summary.endswith(" ✓" if right else " ✗")
    text = entries.first.locator(".s1-probe-text")
    assert not text.is_visible()
    entries.first.locator("summary").click()
    text.wait_for(state="visible")
    assert "Final Answer:" in text.inner_text()
    save_screenshot(page, tmp_path, "chat-probes.png")
