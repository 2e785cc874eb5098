"""Timing of deadline sizing over the whole catalog (a benchmark, not a test).

    python benchmarks/bench_compare.py [--repeat 5]

Runs `capacity compare --model llama-3-8b --tokens 15T --days 30` in a fresh process
each time (so no cache carries over) with the interpreter running this script, and
prints the median and the lowest wall-clock and CPU time (user + system of the process;
on a loaded machine the CPU time is the steadier figure, the lowest the least disturbed),
the load average before and after, and how many planner runs the comparison makes.
A first, untimed run warms the file cache and writes the bytecode of the package (as an
installed package has it), even where PYTHONDONTWRITEBYTECODE is set. Target from
issue 12: well under 2 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import subprocess
import sys
import time

ARGS = ["compare", "--model", "llama-3-8b", "--tokens", "15T", "--days", "30", "--json"]


def planner_runs() -> tuple[int, int]:
    """(planner runs, plans shared between systems) of one comparison, in this process."""
    from capacity.cli import main as cli
    from capacity.scenario_plan import plan_stats

    sys.argv = ["capacity", *ARGS]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        cli()
    return plan_stats["made"], plan_stats["reused"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    repeat = ap.parse_args().repeat
    # the interpreter running this script (a venv's own package), not a `capacity` found on
    # PATH: a pyenv shim is a shell script whose start-up would be counted as CPU time
    cmd = [sys.executable, "-m", "capacity", *ARGS]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, capture_output=True, check=True, env=env)
    load_before = os.getloadavg()[0]
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    load_after = os.getloadavg()[0]
    made, shared = planner_runs()
    print(f"capacity {' '.join(ARGS)}")
    print(
        f"wall {statistics.median(walls):.2f} s (lowest {min(walls):.2f}), "
        f"CPU {statistics.median(cpus):.2f} s (lowest {min(cpus):.2f}); median of {repeat} "
        f"runs, {os.cpu_count()} cores, load {load_before:.1f} -> {load_after:.1f}"
    )
    print(f"{made} planner runs, {shared} plans reused")


if __name__ == "__main__":
    main()
