"""The slide deck as a facilitator meets it: built by `slides/build.py` (what `make slides`
runs) into one HTML file, opened from file:// in headless chromium with nothing allowed to
leave the machine, every diagram drawn, and every slide shown, fitting the screen, with
speaker notes. A screenshot of each slide goes to test-artifacts/slides/ for review.
(The deck in JupyterLab's HTML viewer is tested with JupyterLab, in test_browser.py.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="install the test extras: make test")
from conftest import chromium_path  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "slides" / "workshop.md"
SCREENSHOTS = ROOT / "test-artifacts" / "slides"
#: What a deck that works offline may load: itself, and what it carries inside.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("slides") / "deck.html"
    result = subprocess.run([sys.executable, str(ROOT / "slides" / "build.py"), "--output", str(output)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no network needed" in result.stdout
    # pandoc warns when it cannot fetch what a page asks for (a theme's web fonts, say) and
    # builds anyway: the build itself must not reach for the network, so no warning at all.
    assert result.stderr == ""
    return output


@pytest.fixture(scope="module")
def shown(deck):
    """The deck open in chromium, after its diagrams are drawn; with every request it made
    that was not local, and every request that failed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(120_000)  # a 7 MB page on a busy 2-core machine
        outside, failed, errors = [], [], []
        # On the context, so the speaker view's window is watched too.
        context.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(LOCAL_SCHEMES)
                                             else (outside.append(route.request.url), route.abort())))
        context.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
        context.on("weberror", lambda error: errors.append(str(error.error)))
        page = context.new_page()
        page.goto(deck.as_uri())
        page.wait_for_selector("body[data-diagrams=drawn]")
        try:
            yield page, outside, failed, errors
        finally:
            browser.close()


def diagram_sources() -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```", SOURCE.read_text(), flags=re.S | re.M)


def test_every_diagram_in_the_source_is_drawn_with_its_labels(shown):
    page = shown[0]
    assert page.locator("pre.diagram-error").count() == 0, page.locator("pre.diagram-error").first.get_attribute("title")
    drawn = page.locator(".diagram svg")
    sources = diagram_sources()
    assert len(sources) >= 8 and drawn.count() == len(sources)
    for index, source in enumerate(sources):
        text = drawn.nth(index).text_content()
        # Each node's label, participant's name or state: the first word of it is on the picture.
        labels = (re.findall(r'\["([^"<]+)', source) + re.findall(r"participant \w+ as (\w+)", source)
                  + (re.findall(r"--> (\w+)$", source, flags=re.M) if source.startswith("stateDiagram") else []))
        assert labels, f"diagram {index + 1} has no label the test can look for"
        for label in labels:
            assert label.split()[0] in text, f"diagram {index + 1} lacks {label!r}: {text[:200]!r}"


def slide_titles() -> list[str]:
    return re.findall(r"^# (.+)$", SOURCE.read_text(), flags=re.M)


def test_every_slide_fits_the_screen_has_speaker_notes_and_a_screenshot(shown):
    page = shown[0]
    total = page.evaluate("Reveal.getTotalSlides()")
    assert total == len(slide_titles())  # one per top-level heading
    height = page.evaluate("Reveal.getConfig().height")
    problems = []
    for index in range(total):
        page.evaluate(f"Reveal.slide({index})")
        slide = page.evaluate("""() => {
            const slide = Reveal.getCurrentSlide();
            const svg = slide.querySelector('.diagram svg');
            const box = svg && svg.getBoundingClientRect();
            return {title: (slide.querySelector('h1, h2') || {}).textContent, height: slide.scrollHeight,
                    notes: Reveal.getSlideNotes(slide), diagram: box && [box.width, box.height]};
        }""")
        name = re.sub(r"\W+", "-", slide["title"] or "title").strip("-").lower()
        page.screenshot(path=str(SCREENSHOTS / f"{index:02d}-{name}.png"))
        problems += [f"slide {index} ({slide['title']}) is {slide['height']} px tall, over {height}"
                     ] if slide["height"] > height else []
        problems += [f"slide {index} ({slide['title']}) has no speaker notes"
                     ] if len((slide["notes"] or "").split()) < 10 else []
        if slide["diagram"]:
            width, tall = slide["diagram"]
            problems += [f"slide {index}'s diagram is {width}x{tall}"] if width < 150 or tall < 60 else []
    assert not problems, "\n".join(problems)  # after every screenshot, so all can be looked at


def test_the_speaker_view_opens_with_the_slides_notes(shown):
    page = shown[0]
    page.evaluate("Reveal.slide(1)")
    with page.context.expect_page() as opened:
        page.keyboard.press("s")
    speaker = opened.value
    notes = speaker.locator(".speaker-controls-notes")
    # The speaker view loads the deck twice more (now and next slide) before it shows notes.
    expect(notes).to_contain_text("notebook 00", timeout=120_000)  # "How today works"'s notes
    expect(speaker.locator(".speaker-controls-time")).to_be_visible()
    speaker.screenshot(path=str(SCREENSHOTS / "speaker-view.png"))
    speaker.close()


def test_nothing_the_deck_did_left_the_machine_or_failed(shown):
    """After the tests above have shown every slide and opened the speaker view."""
    page, outside, failed, errors = shown
    assert page.evaluate("Reveal.isReady()")
    assert outside == [], "requests that would leave the machine"
    assert failed == [], "requests that failed"
    assert errors == [], "errors in the deck's pages"


def test_a_missing_npm_install_is_explained_not_a_pandoc_traceback(tmp_path):
    """A fresh clone before `make slides` has no node_modules: the build says what to run."""
    script = ("import sys; sys.path.insert(0, 'slides'); import build; "
              "build.REVEAL = build.HERE / 'no-such-folder'; sys.exit(build.main(['--output', sys.argv[1]]))")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "deck.html")], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "run `make slides`" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "deck.html").exists()
