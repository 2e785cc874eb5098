"""Timings of the planner and the validation (benchmarks, not tests).

    python benchmarks/bench_planner.py [--repeat 5]

Prints a Markdown table (median of the repeats, after one warm-up run) that the
README quotes. Targets from issue 5: full search for a 405B dense model on 16,384
H100 < 2 s, for a 7B model on 1,024 GPUs < 0.3 s, `capacity validate` over the
whole development set < 10 s, `capacity compare` over the whole catalog < 2 s (issue 2).
Timings live here, not in the tests: a wall-clock assertion fails on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the working tree

from capacity.catalog.loader import load_catalog
from capacity.catalog.runs_io import read_runs_csv
from capacity.planner import PlanRequest, plan
from capacity.system import resolve_system
from capacity.validation import validate
from capacity.validation.runs import parse_runs


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (imports, caches)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cat = load_catalog()
    cal = cat.efficiency["calibration"]
    h100 = resolve_system(cat, "scaleway-nabu")  # DGX H100 nodes of 8
    a100 = resolve_system(cat, "jean-zay/a100")
    l405 = cat.model("llama-3-405b")
    l7 = cat.model("llama-2-7b")

    def request(model, system, n, seq, batch):  # type: ignore[no-untyped-def]
        return PlanRequest(
            model=model,
            system=system,
            n_gpus=n,
            seq_len=seq,
            global_batch_tokens=batch,
            calibration=cal,
        )

    req_big = request(l405, h100, 16384, 8192, 16 * 2**20)
    req_small = request(l7, a100, 1024, 4096, 4 * 2**20)
    name, rows = read_runs_csv()
    runs = parse_runs(rows, name)
    n_big, n_small = plan(req_big).n_candidates, plan(req_small).n_candidates
    big, small = (lambda: plan(req_big)), (lambda: plan(req_small))
    # this interpreter's package (the working tree), not a `capacity` on PATH (a pyenv
    # shim runs another install, and its shell start-up would be timed too)
    cli = [sys.executable, "-m", "capacity"]
    estimate_cmd = [
        *cli,
        "estimate",
        "--model",
        "llama-2-7b",
        "--tokens",
        "2T",
        "--cluster",
        "leonardo-booster",
        "--nodes",
        "64",
        "--json",
    ]

    compare_cmd = [*cli, "compare", "--model", "llama-3-8b", "--tokens", "15T", "--days", "30"]

    results = [
        (f"plan: 405B dense, 16,384 H100 ({n_big:,} layouts)", timed(big, args.repeat), 2.0),
        (f"plan: 7B, 1,024 A100 ({n_small:,} layouts)", timed(small, args.repeat), 0.3),
        (
            f"validate: {len(runs)} runs with held-out refits",
            timed(lambda: validate(runs, cat), max(1, args.repeat // 2)),
            10.0,
        ),
        (
            "`capacity estimate` 7B CLI, end to end (process start included)",
            timed(lambda: subprocess.run(estimate_cmd, capture_output=True, check=True), 3),
            1.0,
        ),
        (
            "`capacity compare` 8B, 15T tokens, 30 days, whole catalog, end to end",
            timed(lambda: subprocess.run(compare_cmd, capture_output=True, check=True), 3),
            2.0,
        ),
    ]
    cpus = os.cpu_count()
    print(
        f"Machine: {platform.processor() or platform.machine()}, {cpus} CPUs, "
        f"Python {platform.python_version()}; median of {args.repeat} runs after a warm-up.\n"
    )
    print("| benchmark | time | target |")
    print("|---|---|---|")
    for label, seconds, target in results:
        mark = "ok" if seconds < target else "MISSED"
        print(f"| {label} | {seconds:.3f} s | < {target:g} s ({mark}) |")


if __name__ == "__main__":
    main()
