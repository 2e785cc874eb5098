"""Generated pages opened in headless Chromium: no errors, no network, every chart drawn.

Needs Debian's `chromium` and Playwright for Python (`pip install '.[test]'`;
`.ci/run` installs the browser when it is missing). Locally the tests skip without
a browser; under CI=true a missing browser is a failure, never a skip.
Screenshots go to $CAPACITY_SCREENSHOT_DIR (default: the test's tmp folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_cli

from capacity.report import browser as br

pytestmark = pytest.mark.browser

REPORT_ARGS = [
    "--model",
    "mistral-7b",
    "--tokens",
    "1T",
    "--cluster",
    "leonardo-booster",
    "--nodes",
    "64",
]
CAMPAIGN = ROOT / "examples" / "campaigns" / "jean-zay-cloud-30b.toml"

CHECK_CHARTS = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => {
  const svg = d.querySelector('svg.main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {id: d.id, svg: !!svg, width: box.width, height: box.height,
          traces: d.querySelectorAll('.trace, .barlayer .point, .scatterlayer path').length,
          title: (d.querySelector('.gtitle') || {}).textContent || ''};
})"""
NUMBERS = """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-value]'))
  .map(e => [e.dataset.key, [e.dataset.value, e.textContent]]))"""


@pytest.fixture(scope="module")
def chromium() -> Any:
    why = br.missing()
    if why is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    with br.browser() as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    env = os.environ.get("CAPACITY_SCREENSHOT_DIR")
    path = Path(env) if env else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_page(chromium: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """Load a page; return it with its console errors and every request it made."""
    page = chromium.new_page(viewport=br.VIEWPORT)
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.plotly-graph-div'))"
        ".every(d => d.querySelector('svg.main-svg'))",
        timeout=30_000,
    )
    page.wait_for_timeout(300)  # let the responsive relayout settle
    return page, errors, requests


def assert_clean(page: Any, path: Path, errors: list[str], requests: list[str], n: int) -> None:
    assert errors == [], errors
    assert requests == [path.resolve().as_uri()], requests  # the file itself, nothing else
    charts = page.evaluate(CHECK_CHARTS)
    assert len(charts) >= n, charts
    for c in charts:
        assert c["svg"] and c["width"] > 100 and c["height"] > 100, c
        assert c["traces"] > 0, c
        assert c["title"].strip(), c  # every chart has a title


def close_to(text: str, value: float) -> bool:
    shown = float(text.replace(",", "").strip())
    return abs(shown - value) <= max(abs(value) * 0.006, 0.051)


def test_report_in_browser(chromium, shots, tmp_path):
    from typer.testing import CliRunner

    from capacity.cli import app

    out = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["report", *REPORT_ARGS, "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    check_pdf(chromium, out, tmp_path / "report.pdf")
    page, errors, requests = open_page(chromium, out)
    try:
        assert_clean(page, out, errors, requests, n=4)
        nums = page.evaluate(NUMBERS)
        for key in ("wall_clock_days", "gpu_hours", "node_hours", "energy_mwh", "co2_t"):
            raw, text = nums[key]
            assert float(raw) == doc[key], key
            assert close_to(text, doc[key]), (key, text, doc[key])
        raw, text = nums["mfu"]
        assert float(raw) == doc["mfu"] and close_to(text, doc["mfu"] * 100)
        raw, _ = nums["memory_per_gpu_gib"]
        assert float(raw) == doc["memory_per_gpu_gib"]
        assert nums["feasible"][0] == str(doc["feasible"]).lower()
        page.screenshot(path=str(shots / "report.png"), full_page=True)
        check_small_screen(page)
        page.screenshot(path=str(shots / "report-390.png"), full_page=True)
    finally:
        page.close()
    assert (shots / "report.png").stat().st_size > 10_000


def test_proposal_in_browser(chromium, shots, tmp_path):
    out = tmp_path / "pack"
    res = run_cli("proposal", str(CAMPAIGN), "-o", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    path = out / "proposal.html"
    page, errors, requests = open_page(chromium, path)
    try:
        assert_clean(page, path, errors, requests, n=4)
        nums = page.evaluate(NUMBERS)
        for s in doc["systems"]:
            raw, text = nums[f"systems.{s['id']}.total"]
            assert float(raw) == s["total"]
            assert close_to(text, s["total"])
        for key in ("storage_tb", "energy_mwh", "co2_t"):
            raw, text = nums[f"totals.{key}"]
            assert float(raw) == doc["totals"][key]
            assert close_to(text, doc["totals"][key])
        page.screenshot(path=str(shots / "proposal.png"), full_page=True)
        check_small_screen(page)  # two systems: the wide quarter chart scrolls in its frame
    finally:
        page.close()


NARROW = """() => ({scroll: document.documentElement.scrollWidth,
  charts: Array.from(document.querySelectorAll('.chart')).map(c => {
    const r = c.getBoundingClientRect(), svg = c.querySelector('svg.main-svg');
    const s = svg.getBoundingClientRect(), t = c.querySelector('.gtitle');
    const tb = t ? t.getBoundingClientRect() : s;
    return {id: c.dataset.chart, right: r.right, title_in: tb.left >= s.left - 1
            && tb.right <= s.right + 1, legend_below_title: (() => {
              const l = c.querySelector('.legend'); if (!l || !t) return true;
              const lb = l.getBoundingClientRect();
              return lb.top >= tb.bottom || lb.bottom <= tb.top; })()};
  })})"""


def check_small_screen(page: Any) -> None:
    """At 390 px (a phone) the page and every chart frame fit the viewport, chart titles are
    not cut, and no legend overprints a title (wide charts scroll inside their frame)."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("document.body.dataset.fit === '390'", timeout=10_000)
    got = page.evaluate(NARROW)
    assert got["scroll"] <= 390, got
    for c in got["charts"]:
        assert c["right"] <= 390 and c["title_in"] and c["legend_below_title"], c


def check_pdf(chromium: Any, path: Path, out: Path) -> None:
    """A4 print: more than one page, and no chart wider than the printable width."""
    from capacity.report.print_layout import PRINT_WIDTH_PX

    printed = br.print_pdf(path, out, browser_=chromium)
    assert printed.pages > 1, printed
    assert 0 < printed.widest_chart_px <= PRINT_WIDTH_PX, printed
    assert out.read_bytes().startswith(b"%PDF")


def test_print_and_phone_layout(chromium, tmp_path):
    from typer.testing import CliRunner

    from capacity.cli import app

    out = tmp_path / "pack"
    campaign = ROOT / "examples" / "campaigns" / "leonardo-7b-eurohpc-ai.toml"
    res = CliRunner().invoke(app, ["proposal", str(campaign), "-o", str(out)])
    assert res.exit_code == 0, res.output
    path = out / "proposal.html"
    check_pdf(chromium, path, tmp_path / "proposal.pdf")
    page, errors, _ = open_page(chromium, path)
    try:
        check_small_screen(page)
        assert errors == [], errors
    finally:
        page.close()
