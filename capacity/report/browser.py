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
from typing import Any

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
