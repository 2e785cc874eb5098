"""Job size for a deadline, and the goodput-corrected wall-clock that sizing rests on.

`size_for_deadline` finds the smallest whole-node count whose wall-clock (the goodput
model included) meets the scenario's `days`, with the throughput the estimate will use
(the planner's, or the MFU's).
"""

from __future__ import annotations

import math

from capacity.flops import FlopsPerToken
from capacity.goodput import Goodput, goodput
from capacity.memory import OPTIMIZER_BYTES
from capacity.planner.search import Plan
from capacity.queues import choose_queue
from capacity.scenario import Scenario, practical_factor
from capacity.scenario_plan import planned
from capacity.throughput import throughput_from_mfu
from capacity.units import HOURS_PER_DAY, SECONDS_PER_HOUR
from capacity.workload import param_counts

DEADLINE_ITERATIONS = 8


def productive_h(scn: Scenario, tokens_per_s: float) -> float:
    """Hours of training without interruptions at `tokens_per_s`."""
    return scn.tokens / tokens_per_s / SECONDS_PER_HOUR


def run_goodput(scn: Scenario, n_gpus: int, productive_hours: float) -> Goodput:
    """The goodput model for the run (failures, checkpoints, chains of wall-limited jobs)."""
    w, _, o = OPTIMIZER_BYTES["adam-mixed"]
    state = param_counts(scn.model).total * (w + o)  # weights + optimizer state in the checkpoint
    inputs = scn.goodput
    # The queue the job fits sets the chain length (Jean Zay: 20 h at 512 GPUs, not 100 h).
    wall_limit_h = choose_queue(scn.system, n_gpus / scn.system.gpus_per_node).wall_limit_h
    if inputs.job_wall_limit_h is None and wall_limit_h is not None:
        inputs = inputs.model_copy(update={"job_wall_limit_h": wall_limit_h})
    return goodput(
        n_gpus=n_gpus,
        gpus_per_node=scn.system.gpus_per_node,
        state_bytes=state,
        productive_h=productive_hours,
        inputs=inputs,
    )


def round_nodes(nodes: int) -> int:
    """The next node count of the form m x 2^k with m <= 32 (at most 6.25 % more): counts
    with many divisors, so that TP x PP x DP layouts exist (587 nodes, a prime, has none)."""
    nodes = max(1, nodes)
    step = 1 << max(0, (nodes - 1).bit_length() - 5)
    return math.ceil(nodes / step) * step


def size_for_deadline(
    scn: Scenario, fpt: FlopsPerToken, seq_len: int, batch: float
) -> tuple[int, tuple[Plan, float] | None, bool]:
    """Smallest whole-node count whose wall-clock (goodput included) meets `scn.days`.

    Starts from the catalog MFU's answer, then rescales the node count by wall / deadline
    with the throughput the estimate will use (planner or MFU) until it repeats, and
    returns the smallest count tried that meets the deadline, with its plan (reused by
    the estimate) when the planner was used. When more GPUs stop helping (the global
    batch cannot feed them) the search stops at the fastest count tried; the flag says so.
    """
    assert scn.days is not None
    g = scn.system.gpus_per_node
    probe = throughput_from_mfu(
        fpt, scn.system.accelerator, 1, mfu=scn.mfu, precision=scn.precision
    )
    target_h = scn.days * HOURS_PER_DAY
    plans: dict[int, tuple[Plan, float]] = {}

    def wall_h(n: int) -> float:
        if scn.calibration is None or scn.mfu is not None:
            tokens_per_s = probe.tokens_per_s * n
        else:
            plans[n] = planned(scn, n, seq_len, batch)
            best = plans[n][0].best
            if best is None:
                return math.inf
            tokens_per_s = best.tokens_per_s * practical_factor(scn)
        prod = productive_h(scn, tokens_per_s)
        return prod / run_goodput(scn, n, prod).ettr

    first = math.ceil(scn.tokens / (probe.tokens_per_s * target_h * SECONDS_PER_HOUR) / g)
    n = round_nodes(first) * g
    tried: dict[int, float] = {}
    saturated = False
    for _ in range(DEADLINE_ITERATIONS):
        if n in tried:
            break
        tried[n] = wall = wall_h(n)
        smaller = [w for k, w in tried.items() if k < n]
        if smaller and wall >= min(smaller):  # more GPUs did not help: the batch binds
            saturated = True
            break
        if math.isinf(wall):  # nothing fits yet (memory): grow
            nxt = 2 * n
        else:
            nxt = round_nodes(math.ceil(n * wall / target_h / g)) * g
            if wall > target_h and nxt <= n:
                nxt = round_nodes(n // g + 1) * g
        n = nxt
    meets = [k for k, w in tried.items() if w <= target_h]
    chosen = min(meets) if meets else min(tried, key=lambda k: (tried[k], k))
    return chosen, plans.get(chosen), saturated and not meets
