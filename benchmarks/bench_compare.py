"""Timing of deadline sizing over the whole catalog (a benchmark, not a test).

    python benchmarks/bench_compare.py [--repeat 3]

Runs `capacity compare --model llama-3-8b --tokens 15T --days 30` in a fresh process
each time (so no cache carries over) and prints the median wall-clock and CPU time
(user + system of the process; on a loaded machine the CPU time is the steadier
figure). Target from issue 12: well under 2 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

ARGS = ["compare", "--model", "llama-3-8b", "--tokens", "15T", "--days", "30", "--json"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    repeat = ap.parse_args().repeat
    exe = shutil.which("capacity")
    cmd = [exe, *ARGS] if exe else [sys.executable, "-m", "capacity", *ARGS]
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    load = os.getloadavg()[0]
    print(f"capacity {' '.join(ARGS)}")
    print(
        f"wall {statistics.median(walls):.2f} s, CPU {statistics.median(cpus):.2f} s "
        f"(median of {repeat}; {os.cpu_count()} cores, load {load:.1f})"
    )


if __name__ == "__main__":
    main()
