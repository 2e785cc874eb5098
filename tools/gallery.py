"""Regenerate the example gallery in reports/: `python tools/gallery.py`.

Writes two estimate reports, the proposal packs of the two example campaigns in
examples/campaigns/, and the screenshots the README shows (needs Chromium and
Playwright; `--no-screenshots` skips them). A developer tool, not part of the
installed package: it drives the CLI's helpers the way `capacity report` and
`capacity proposal` do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from capacity.errors import CapacityError

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "examples" / "campaigns"

# name -> options of `capacity report` (the same as `capacity estimate`)
REPORTS: dict[str, dict[str, object]] = {
    "mistral-7b-leonardo": {
        "model": "mistral-7b",
        "tokens": "1T",
        "cluster": "leonardo-booster",
        "nodes": 64,
    },
    "llama-3-70b-jean-zay-h100": {
        "model": "llama-3-70b",
        "tokens": "2T",
        "cluster": "jean-zay/h100",
        "nodes": 128,
    },
}
PROPOSALS = {
    "proposal-leonardo-7b": "leonardo-7b-eurohpc-ai.toml",
    "proposal-jean-zay-cloud-30b": "jean-zay-cloud-30b.toml",
    "proposal-lumi-1.8b": "lumi-1.8b-eurohpc-regular.toml",
}
SCREENSHOTS = {
    "report.png": "mistral-7b-leonardo.html",
    "proposal.png": "proposal-leonardo-7b/proposal.html",
}


def build(out: Path, *, screenshots: bool = True, log: bool = True) -> list[Path]:
    """Write the gallery to `out`; returns the files written."""
    from capacity.campaign.io import load_plan
    from capacity.cli.common import get_catalog, write_atomic
    from capacity.cli.scenario import build_scenario
    from capacity.estimate import estimate
    from capacity.inputs import ScenarioOptions
    from capacity.report.estimate_report import build_report, render_report
    from capacity.report.proposal import render_files
    from capacity.system import all_systems

    cat = get_catalog(None)
    systems = all_systems(cat)
    written: list[Path] = []

    def say(path: Path) -> None:
        written.append(path)
        if log:
            print(f"wrote {path}", file=sys.stderr)

    for name, opts in REPORTS.items():
        scn, _ = build_scenario(
            ScenarioOptions.parse(
                model=str(opts["model"]),
                tokens=str(opts["tokens"]),
                cluster=str(opts["cluster"]),
                nodes=int(str(opts["nodes"])),
                precision="bf16",
            ),
            cat,
        )
        rep = build_report(estimate(scn), systems, calibration=cat.efficiency.get("calibration"))
        page = render_report(rep)
        path = out / f"{name}.html"
        write_atomic(path, page)
        say(path)
    for folder, campaign in PROPOSALS.items():
        _c, plan = load_plan(CAMPAIGNS / campaign, cat)
        for fname, text in render_files(plan, cat).items():
            path = out / folder / fname
            write_atomic(path, text)
            say(path)
    if screenshots:
        from capacity.report.browser import browser, screenshot

        with browser() as b:
            for png, page_name in SCREENSHOTS.items():
                path = out / png
                screenshot(out / page_name, path, browser_=b)
                say(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/gallery.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="gallery folder")
    parser.add_argument(
        "--no-screenshots", action="store_true", help="skip the PNGs (no browser needed)"
    )
    args = parser.parse_args(argv)
    try:
        build(args.out, screenshots=not args.no_screenshots)
    except CapacityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
