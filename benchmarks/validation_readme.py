"""Regenerate the README's leave-one-source-out table from `capacity validate --json`.

    python benchmarks/validation_readme.py            # rewrite README.md between the markers
    python benchmarks/validation_readme.py --check    # exit 1 if the README is out of date

The block between `<!-- validation:start -->` and `<!-- validation:end -->` is
generated; edit the prose around it, not the table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- validation:start -->", "<!-- validation:end -->"


def pct(x: object) -> str:
    return "–" if x is None else f"{float(x) * 100:.1f} %"  # type: ignore[arg-type]


def render(summary: dict) -> str:
    lines = [
        "Leave-one-source-out (each source and all its rows leave the fit together, the "
        "practical efficiency and the framework shares included), absolute errors, "
        "medium/high-confidence runs; naive = 6·N·D at 40 % MFU on the same rows:",
        "",
        "| group | figure | n | median | mean | within ±10 % | within ±20 % | worst "
        "| naive median |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, block in summary["loso"].items():
        for what in ("throughput", "hours"):
            s = block[what]
            if not s["n"]:
                continue
            worst = f"{pct(s['worst_abs_error'])} ({s['worst_id']})"
            lines.append(
                f"| {name} | {what} | {s['n']} | {pct(s['median_abs_error'])} | "
                f"{pct(s['mean_abs_error'])} | {pct(s.get('within_10'))} | "
                f"{pct(s.get('within_20'))} | {worst} | {pct(s['naive_median_abs_error'])} |"
            )
    b = summary["bands"]
    lines += [
        "",
        "P10-P90 bands (from the other sources' held-out residuals, conditioned on layout "
        "published or not and framework known or not; empirical P10/P90 of the pooled "
        "log-residuals widened about their median by sqrt(1 + 1/k)·t(0.9, k−1)/z(0.9) for "
        "k sources in the pool, at least 4 sources and 8 residuals, else a broader "
        "condition): reported figure inside the band "
        f"around the held-out prediction for {pct(b['throughput']['coverage'])} of "
        f"{b['throughput']['n']} throughput figures (median width P90/P10 − 1 = "
        f"{pct(b['throughput']['median_width'])}) and {pct(b['hours']['coverage'])} of "
        f"{b['hours']['n']} hours figures (median width {pct(b['hours']['median_width'])}).",
        "",
        "Targets (issue 11): "
        + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in summary["loso_meets"].items())
        + ".",
    ]
    return "\n".join(lines)


def main() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "capacity", "validate", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    block = render(json.loads(out.stdout)["summary"])
    readme = ROOT / "README.md"
    text = readme.read_text()
    a, b = text.index(START) + len(START), text.index(END)
    new = text[:a] + "\n" + block + "\n" + text[b:]
    if "--check" in sys.argv:
        return 0 if new == text else 1
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
