"""Goodput: the wall-clock a run really takes, with failures, checkpoints and job chains.

With n GPUs failing at a rate of lambda per GPU-hour the job's mean time between
failures is M = 1 / (lambda n). Checkpoints of the model state take
delta = state bytes / (nodes x write bandwidth per node) to write; the interval
between them is Young's tau = sqrt(2 delta M) (Young 1974), refined by Daly
2006 (Future Gener. Comput. Syst. 22(3)): tau = sqrt(2 delta M) [1 + (1/3)
sqrt(delta / 2M) + (1/9) delta / 2M] - delta for delta < 2M, else M. Each
failure costs a restart R plus, on average, half an interval of lost work. A
partition with a job wall-time limit W runs the training as a chain of jobs,
each paying a restart (R) and a final checkpoint (delta). To first order the
share of wall-clock lost is

    waste = delta / tau + (tau / 2 + R) / M + (R + delta) / W

and wall-clock = productive time / (1 - waste), i.e. the effective training
time ratio (ETTR, Kokolis et al. 2024) is 1 - waste. A whole training run also
spends time outside steady steps (evaluations, batch ramp-up, long-context and
annealing phases): a fitted end-to-end overhead k (catalogs/efficiency, from
runs that publish both a steady-state rate and their total hours) stretches the
productive time, wall-clock = productive k / (1 - waste); its share of the
wall-clock is its own line. `--steady-state` sets k = 1. Queue waits between jobs
are not included. The model is linear in the productive time, so it can be
stated as separate lines of the breakdown.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from capacity.constants import Constant
from capacity.errors import CapacityError
from capacity.units import SECONDS_PER_HOUR

LLAMA3_FAILURE_RATE = Constant(
    419 / (54 * 24 * 16384),
    "failures per GPU-hour",
    "Llama 3 (arXiv:2407.21783) Sec. 3.3.4: 419 unexpected interruptions in 54 days of "
    "405B pre-training on 16,384 H100 GPUs",
)
CHECKPOINT_GBYTE_PER_S_PER_NODE = Constant(
    1.0,
    "GB/s per node",
    "Llama 3 (arXiv:2407.21783) Sec. 3.3.4: Tectonic sustains 2 TB/s for 16,384 GPUs "
    "(2,048 nodes), i.e. ~1 GB/s per node",
)
RESTART_MINUTES = Constant(
    10,
    "minutes",
    "planning assumption: detect, reschedule, reload the checkpoint and warm up (the "
    "worked example of Young/Daly planning in formulas.md Sec. 5); override with "
    "--restart-min",
)


class GoodputInputs(BaseModel):
    model_config = ConfigDict(frozen=True)

    failure_rate_per_gpu_h: float = Field(default=LLAMA3_FAILURE_RATE.value, ge=0)
    checkpoint_gbyte_per_s_per_node: float = Field(
        default=CHECKPOINT_GBYTE_PER_S_PER_NODE.value, gt=0
    )
    restart_min: float = Field(default=RESTART_MINUTES.value, ge=0)
    job_wall_limit_h: float | None = Field(default=None, gt=0)
    enabled: bool = True
    end_to_end_overhead: float = Field(
        default=1.0,
        ge=1.0,
        description="factor on the productive time for what a whole run adds beyond steady "
        "steps (evaluations, batch ramp-up, extra phases); fitted, 1 = steady state only",
    )


class Goodput(BaseModel):
    """Overheads on top of the productive (failure-free) time; fractions are of wall-clock."""

    model_config = ConfigDict(frozen=True)

    inputs: GoodputInputs
    mtbf_h: float  # of the whole job
    checkpoint_write_s: float
    checkpoint_interval_h: float  # Daly's optimum
    checkpoint_fraction: float
    failure_fraction: float  # lost work + restarts after failures
    job_chain_fraction: float
    jobs: int
    ettr: float  # productive / wall-clock
    end_to_end_fraction: float = 0.0  # evaluations, ramp-up, extra phases (fitted overhead)

    @property
    def waste_fraction(self) -> float:
        return 1 - self.ettr

    def to_json(self) -> dict[str, object]:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "ettr": self.ettr,
            "mtbf_h": finite(self.mtbf_h),
            "checkpoint_write_s": self.checkpoint_write_s,
            "checkpoint_interval_h": finite(self.checkpoint_interval_h),
            "checkpoint_fraction": self.checkpoint_fraction,
            "failure_fraction": self.failure_fraction,
            "job_chain_fraction": self.job_chain_fraction,
            "end_to_end_fraction": self.end_to_end_fraction,
            "end_to_end_overhead": self.inputs.end_to_end_overhead,
            "jobs": self.jobs,
            "failure_rate_per_gpu_h": self.inputs.failure_rate_per_gpu_h,
            "restart_min": self.inputs.restart_min,
            "checkpoint_gbyte_per_s_per_node": self.inputs.checkpoint_gbyte_per_s_per_node,
            "job_wall_limit_h": self.inputs.job_wall_limit_h,
        }


def daly_interval_s(delta_s: float, mtbf_s: float) -> float:
    """Daly 2006 optimum checkpoint interval (seconds of compute between checkpoints)."""
    if mtbf_s == math.inf:
        return math.inf
    if delta_s >= 2 * mtbf_s:
        return mtbf_s
    x = delta_s / (2 * mtbf_s)
    return math.sqrt(2 * delta_s * mtbf_s) * (1 + math.sqrt(x) / 3 + x / 9) - delta_s


def goodput(
    *,
    n_gpus: int,
    gpus_per_node: int,
    state_bytes: float,
    productive_h: float,
    inputs: GoodputInputs | None = None,
) -> Goodput:
    """ETTR and its parts for a job of `n_gpus` whose checkpoint holds `state_bytes`."""
    inp = inputs or GoodputInputs()
    k = inp.end_to_end_overhead
    if not inp.enabled:  # --no-goodput: steady steps only, the end-to-end overhead too
        return Goodput(
            inputs=inp,
            mtbf_h=math.inf,
            checkpoint_write_s=0.0,
            checkpoint_interval_h=math.inf,
            checkpoint_fraction=0.0,
            failure_fraction=0.0,
            job_chain_fraction=0.0,
            jobs=1,
            ettr=1.0,
        )
    nodes = max(n_gpus / gpus_per_node, 1.0)
    delta = state_bytes / (nodes * inp.checkpoint_gbyte_per_s_per_node * 1e9)
    rate = inp.failure_rate_per_gpu_h * n_gpus
    mtbf_s = math.inf if rate == 0 else SECONDS_PER_HOUR / rate
    restart_s = inp.restart_min * 60
    tau = daly_interval_s(delta, mtbf_s)
    ckpt = 0.0 if tau == math.inf else delta / (tau + delta)
    fail = 0.0 if mtbf_s == math.inf else (tau / 2 + restart_s) / mtbf_s
    chain = 0.0
    jobs = 1
    if inp.job_wall_limit_h is not None:
        chain = (restart_s + delta) / (inp.job_wall_limit_h * SECONDS_PER_HOUR)
    waste = ckpt + fail + chain
    if waste >= 1:
        _no_progress(inp, n_gpus, mtbf_s, delta, restart_s, chain=chain, ckpt=ckpt, fail=fail)
    # the end-to-end overhead stretches the productive time by k: wall = productive k / (1 - waste)
    ettr = (1 - waste) / k
    if inp.job_wall_limit_h is not None:
        jobs = max(1, math.ceil(productive_h / ettr / inp.job_wall_limit_h))
    return Goodput(
        inputs=inp,
        mtbf_h=mtbf_s / SECONDS_PER_HOUR,
        checkpoint_write_s=delta,
        checkpoint_interval_h=tau / SECONDS_PER_HOUR,
        checkpoint_fraction=ckpt,
        failure_fraction=fail,
        job_chain_fraction=chain,
        jobs=jobs,
        ettr=ettr,
        end_to_end_fraction=(1 - waste) * (1 - 1 / k),
    )


def _no_progress(
    inp: GoodputInputs,
    n_gpus: int,
    mtbf_s: float,
    delta_s: float,
    restart_s: float,
    *,
    chain: float,
    ckpt: float,
    fail: float,
) -> None:
    """Refuse a run that cannot make progress, naming its largest waste (the real cause)."""
    worst = max(chain, ckpt, fail)
    hours = SECONDS_PER_HOUR
    # a slow checkpoint at the default bandwidth means too few nodes write the model state
    default_bw = inp.checkpoint_gbyte_per_s_per_node == CHECKPOINT_GBYTE_PER_S_PER_NODE.value
    ckpt_field, ckpt_fix = (
        ("gpus", "; give more nodes (or --checkpoint-gbps)")
        if default_bw
        else ("checkpoint-gbps", "")
    )
    if worst == chain and inp.job_wall_limit_h is not None:
        job = f"a job of {inp.job_wall_limit_h:.3g} h"
        if delta_s >= restart_s:
            raise CapacityError(
                f"a checkpoint takes {delta_s / hours:.2g} h at "
                f"{inp.checkpoint_gbyte_per_s_per_node:g} GB/s per node, as long as {job}: "
                f"no job makes progress{ckpt_fix}",
                field=ckpt_field,
            )
        # the restart fills the job: the option that differs from its default is the cause
        field = "job-hours" if inp.restart_min == RESTART_MINUTES.value else "restart-min"
        raise CapacityError(
            f"a restart of {inp.restart_min:g} min (and a checkpoint) fills {job}: no job "
            "makes progress",
            field=field,
        )
    if worst == ckpt:
        raise CapacityError(
            f"a checkpoint takes {delta_s / SECONDS_PER_HOUR:.2g} h at "
            f"{inp.checkpoint_gbyte_per_s_per_node:g} GB/s per node, longer than the "
            f"{mtbf_s / SECONDS_PER_HOUR:.2g} h between failures of {n_gpus:,} GPUs: the run "
            f"cannot make progress{ckpt_fix}",
            field=ckpt_field,
        )
    raise CapacityError(
        f"with {n_gpus:,} GPUs at {inp.failure_rate_per_gpu_h:g} failures per GPU-hour a "
        f"failure comes every {mtbf_s / SECONDS_PER_HOUR:.2g} h, sooner than a checkpoint and "
        f"a restart ({inp.restart_min:g} min): the run cannot make progress",
        field="gpus",
    )
