"""The report in a real browser: Debian's headless Chromium driven by Playwright (never a downloaded one)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from darkfigure.report import SECTIONS

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("DARKFIGURE_TEST_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _need(cond: bool, why: str) -> None:
    if cond:
        return
    if IN_CI:
        pytest.fail(why)  # in CI a missing browser is a failure, never a skip
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    _need(Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is not None, f"no browser at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", {"width": 1200, "height": 900}),
                                                ("phone", {"width": 390, "height": 844})])
def test_report_renders_in_chromium(browser, report_path: Path, name: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    console_errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    url = report_path.resolve().as_uri()
    page.goto(url, wait_until="load")
    for sid, title in SECTIONS:
        sec = page.locator(f"section#{sid}")
        assert sec.count() == 1, sid
        assert title in sec.locator("h2").inner_text()
    # every plot is an inline SVG that has been laid out with a real size
    for plot in ("upset", "weights", "forest", "histogram", "tornado"):
        box = page.locator(f'svg[data-plot="{plot}"]').bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50, plot
        assert box["width"] <= viewport["width"], f"{plot} wider than the screen"
    # responsive: the page itself does not scroll sideways (wide tables scroll inside their wrapper)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    assert console_errors == []
    assert requests == [url], "the report must load nothing but itself"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=False)
    page.emulate_media(media="print")
    assert page.locator("nav").is_hidden()
    if name == "desktop":
        # printable: Chromium's own print-to-PDF lays the report out on A4 pages
        pdf = page.pdf(path=str(ARTIFACTS / "report.pdf"), format="A4", print_background=True)
        assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page") > 3
    page.close()
