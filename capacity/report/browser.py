"""Open generated pages in headless Chromium (Debian's `chromium` via Playwright for Python).

Used by the gallery (screenshots) and the browser tests. Playwright is a test
extra (`pip install '.[test]'`); no browser is downloaded: the system Chromium is
launched through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from capacity.errors import CapacityError

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


def chromium_path() -> str | None:
    """The system Chromium: $CAPACITY_CHROMIUM, /usr/bin/chromium, or `chromium` on PATH."""
    env = os.environ.get("CAPACITY_CHROMIUM")
    if env:
        return env
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def missing() -> str | None:
    """Why a browser cannot be started here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install '.[test]')"
    if chromium_path() is None:
        return "no Chromium found (apt-get install chromium)"
    return None


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright Browser), closed on exit."""
    why = missing()
    if why is not None:
        raise CapacityError(why, field="browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def screenshot(page_path: Path, out: Path, *, height: int = 1500, browser_: Any = None) -> None:
    """A PNG of the top `height` pixels of a page (after its charts have drawn)."""

    def take(b: Any) -> None:
        page = b.new_page(viewport={"width": VIEWPORT["width"], "height": height})
        page.goto(page_path.resolve().as_uri())
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.plotly-graph-div'))"
            ".every(d => d.querySelector('svg.main-svg'))",
            timeout=30_000,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp.png")
        page.screenshot(path=str(tmp), full_page=False)
        os.replace(tmp, out)
        page.close()

    if browser_ is not None:
        take(browser_)
    else:
        with browser() as b:
            take(b)


class Printed(NamedTuple):
    pages: int
    widest_chart_px: float  # right edge of the widest chart, in CSS px from the page's left


def print_pdf(page_path: Path, out: Path, *, browser_: Any = None) -> Printed:
    """Print a page to an A4 PDF the way a reader's browser would.

    The page is laid out at the printable width (charts re-laid out by the page's own
    `capacityFit`), then printed with the page's @page rules. Written atomically.
    """
    from capacity.report.print_layout import PRINT_MARGIN_MM, PRINT_WIDTH_PX

    def take(b: Any) -> Printed:
        page = b.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
        try:
            page.goto(page_path.resolve().as_uri())
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".every(d => d.querySelector('svg.main-svg'))",
                timeout=30_000,
            )
            page.emulate_media(media="print")
            page.evaluate(f"window.capacityFit && window.capacityFit({PRINT_WIDTH_PX}, true)")
            widest = float(page.evaluate(WIDEST_CHART))
            margin = f"{PRINT_MARGIN_MM}mm"
            data: bytes = page.pdf(
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                margin={"top": margin, "bottom": margin, "left": margin, "right": margin},
            )
        finally:
            page.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out)
        return Printed(pdf_pages(data), widest)

    if browser_ is not None:
        return take(browser_)
    with browser() as b:
        return take(b)


WIDEST_CHART = """() => Math.max(0, ...Array.from(document.querySelectorAll('.chart svg.main-svg'))
  .map(s => s.getBoundingClientRect().right))"""


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF: its /Type /Page objects (not the /Pages tree nodes)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
