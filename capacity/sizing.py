"""Job size for a deadline, and the goodput-corrected wall-clock that sizing rests on.

`size_for_deadline` finds the smallest whole-node count whose wall-clock (the goodput
model included) meets the scenario's `days`, with the throughput the estimate will use
(the planner's, or the MFU's).
"""

from __future__ import annotations

import bisect
import math

from pydantic import BaseModel, ConfigDict

from capacity.constants import Constant
from capacity.flops import FlopsPerToken
from capacity.goodput import Goodput, goodput
from capacity.memory import OPTIMIZER_BYTES
from capacity.planner.search import Plan
from capacity.queues import choose_queue
from capacity.scenario import Scenario, practical_factor
from capacity.scenario_plan import planned
from capacity.system import System
from capacity.throughput import throughput_from_mfu
from capacity.units import HOURS_PER_DAY, SECONDS_PER_HOUR
from capacity.workload import param_counts

# Elastic cloud offerings publish no maximum: deadline sizing stops here.
ELASTIC_MAX_GPUS = Constant(
    131_072,
    "GPUs",
    "bound for offerings without a maximum: 8x the largest published training job "
    "(Llama 3 405B on 16,384 H100, arXiv:2407.21783 Sec. 3.3)",
)


def productive_h(scn: Scenario, tokens_per_s: float) -> float:
    """Hours of training without interruptions at `tokens_per_s`."""
    return scn.tokens / tokens_per_s / SECONDS_PER_HOUR


def run_goodput(scn: Scenario, n_gpus: int, productive_hours: float) -> Goodput:
    """The goodput model for the run (failures, checkpoints, chains of wall-limited jobs)."""
    w, _, o = OPTIMIZER_BYTES["adam-mixed"]
    state = param_counts(scn.model).total * (w + o)  # weights + optimizer state in the checkpoint
    inputs = scn.goodput
    # The queue the job fits sets the chain length (Jean Zay: 20 h at 512 GPUs, not 100 h).
    nodes = n_gpus / scn.system.gpus_per_node
    wall_limit_h = choose_queue(scn.system, nodes, productive_hours).wall_limit_h
    if inputs.job_wall_limit_h is None and wall_limit_h is not None:
        inputs = inputs.model_copy(update={"job_wall_limit_h": wall_limit_h})
    if not scn.steady_state and scn.calibration is not None:
        # a whole run, not only its steady steps (catalogs/efficiency end_to_end_overhead)
        k = scn.calibration.end_to_end_overhead
        inputs = inputs.model_copy(update={"end_to_end_overhead": k})
    return goodput(
        n_gpus=n_gpus,
        gpus_per_node=scn.system.gpus_per_node,
        state_bytes=state,
        productive_h=productive_hours,
        inputs=inputs,
    )


# "More GPUs stop helping" needs a count this many times the fastest smaller one that is
# not faster: a single count can be slower than a smaller one when its data-parallel
# degree does not divide the global batch (AWS p4de, Llama 3 8B: 272 nodes take 46.9
# days, 232 nodes 39.3, 448 nodes 23.9), and the search must go on past it.
BATCH_LIMIT_SPAN = 2
# Below this share of the ideal speed-up, adding GPUs is mostly wasted: the global batch
# (too few sequences for more data-parallel replicas) limits the job, not the partition.
# Judged only over a span of counts wide enough for the speed-up to mean something.
BATCH_BOUND_SCALING = 0.6
MIN_SPAN_TO_JUDGE_SCALING = 1.5


def round_nodes(nodes: int) -> int:
    """The next node count of the form m x 2^k with m <= 32 (at most 6.25 % more): counts
    with many divisors, so that TP x PP x DP layouts exist (587 nodes, a prime, has none)."""
    nodes = max(1, nodes)
    step = 1 << max(0, (nodes - 1).bit_length() - 5)
    return math.ceil(nodes / step) * step


class Sizing(BaseModel):
    """A job sized for a deadline: its GPU count and whether (and why not) it meets it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    n_gpus: int
    meets: bool
    wall_h: float
    batch_limited: bool = False  # more GPUs stopped helping: the global batch binds
    at_limit: bool = False  # the partition (or ELASTIC_MAX_GPUS) is too small for it
    evaluated: int = 0  # candidate counts evaluated (each once)
    # the smallest count evaluated that runs, and its wall-clock: how well the job scaled
    ref_gpus: int = 0
    ref_wall_h: float = math.inf
    plan: tuple[Plan, float] | None = None  # the plan made for `n_gpus`, reused

    @property
    def speedup(self) -> tuple[float, float]:
        """(ideal, achieved) speed-up of `n_gpus` over the smallest count that ran."""
        ideal = self.n_gpus / self.ref_gpus if self.ref_gpus else 1.0
        achieved = self.ref_wall_h / self.wall_h if math.isfinite(self.ref_wall_h) else 1.0
        return ideal, achieved

    @property
    def batch_bound(self) -> bool:
        """The deadline is missed because the global batch limits the job: the search saw
        more GPUs stop helping, or the largest job scaled far below its ideal speed-up."""
        if self.meets:
            return False
        ideal, achieved = self.speedup
        return self.batch_limited or (
            ideal > MIN_SPAN_TO_JUDGE_SCALING and achieved < BATCH_BOUND_SCALING * ideal
        )


def node_grid(max_nodes: int) -> list[int]:
    """Every node count of the allowed granularity (`round_nodes`) up to `max_nodes`."""
    out, n = [], 1
    while n <= max_nodes:
        out.append(n)
        n = round_nodes(n + 1)
    return out


def max_job_nodes(system: System) -> int:
    """The most nodes one job can get: the partition, one instance without a scale-out
    fabric, or ELASTIC_MAX_GPUS for elastic cloud offerings."""
    if not system.multi_node:
        return 1
    if system.nodes is not None:
        return system.nodes
    return max(1, int(ELASTIC_MAX_GPUS.value) // system.gpus_per_node)


def size_for_deadline(scn: Scenario, fpt: FlopsPerToken, seq_len: int, batch: float) -> Sizing:
    """Smallest node count of the allowed grid whose wall-clock meets `scn.days`.

    Wall-clock falls as nodes are added until the global batch cannot feed more
    data-parallel replicas, so on that stretch "meets the deadline" is monotone and a
    bracketing search finds the smallest count, evaluating each candidate once: the
    catalog MFU's guess first, then the count the last wall-clock predicts (nodes x
    wall / deadline), then bisection inside the bracket. It never goes past the
    partition (`max_job_nodes`) and stops when a count at least `BATCH_LIMIT_SPAN` times
    the fastest smaller one is not faster (one slower count is passed over).
    """
    assert scn.days is not None
    g = scn.system.gpus_per_node
    grid = node_grid(max_job_nodes(scn.system))
    target_h = scn.days * HOURS_PER_DAY
    probe = throughput_from_mfu(
        fpt, scn.system.accelerator, 1, mfu=scn.mfu, precision=scn.precision
    )
    plans: dict[int, tuple[Plan, float]] = {}
    walls: dict[int, float] = {}  # node count -> wall-clock hours

    def wall(i: int) -> float:
        nodes = grid[i]
        if nodes in walls:
            return walls[nodes]
        n = nodes * g
        if scn.calibration is None or scn.mfu is not None:
            tokens_per_s = probe.tokens_per_s * n
        else:
            plans[n] = planned(scn, n, seq_len, batch)
            best = plans[n][0].best
            if best is None:
                walls[nodes] = math.inf
                return math.inf
            tokens_per_s = best.tokens_per_s * practical_factor(scn)
        prod = productive_h(scn, tokens_per_s)
        walls[nodes] = prod / run_goodput(scn, n, prod).ettr
        return walls[nodes]

    def index_at_least(nodes: float) -> int:
        return min(bisect.bisect_left(grid, math.ceil(nodes - 1e-9)), len(grid) - 1)

    lo, hi = -1, len(grid)  # grid[lo] misses the deadline, grid[hi] meets it
    guess = scn.tokens / (probe.tokens_per_s * target_h * SECONDS_PER_HOUR) / g
    i = index_at_least(guess)
    limited = False
    for step in range(len(grid)):
        w = wall(i)
        if w <= target_h:
            hi = i
        else:
            below = [grid[k] for k in range(lo + 1) if grid[k] in walls]
            fastest = min(below, key=lambda k: walls[k]) if below else None
            if (
                fastest is not None
                and not math.isinf(w)
                and w >= walls[fastest]
                and grid[i] >= BATCH_LIMIT_SPAN * fastest
            ):
                limited = True  # many more GPUs did not make it faster: the batch binds
                break
            lo = i
        if hi - lo <= 1:
            break
        if math.isinf(w):  # nothing fits in memory yet: double
            nxt = index_at_least(2 * grid[i])
        else:
            nxt = index_at_least(grid[i] * w / target_h)
        if lo >= 0 and hi < len(grid) and (not lo < nxt < hi or step >= 3):
            nxt = (lo + hi) // 2  # bracketed, and the prediction is off: bisect
        i = min(max(nxt, lo + 1), min(hi, len(grid)) - 1)
    if hi < len(grid):
        nodes, meets = grid[hi], True
    else:
        nodes, meets = min(walls, key=lambda k: (walls[k], k)), False
    n = nodes * g
    finite = [k for k in sorted(walls) if math.isfinite(walls[k])]
    ref = finite[0] if finite else nodes
    return Sizing(
        n_gpus=n,
        meets=meets,
        wall_h=walls[nodes],
        batch_limited=limited and not meets,
        at_limit=not meets and not limited,
        evaluated=len(walls),
        ref_gpus=ref * g,
        ref_wall_h=walls[ref],
        plan=plans.get(n),
    )
