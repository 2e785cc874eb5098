"""The planner: evaluate every candidate layout at once and rank the ones that fit.

`plan(PlanRequest)` enumerates the space (`space.py`), computes memory per GPU
for every candidate (`capacity.memory.memory_arrays`), times those that fit
(`work.py`, `step_time.py`) and returns the fastest (by tokens/s), with the
reasons whole families were left out. Everything is numpy over the candidates.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from capacity.catalog.schemas import EfficiencyCalibration, ModelSpec, Precision
from capacity.catalog.schemas.other_kinds import TP_OVERLAP_CODES, TpOverlap
from capacity.constants import MEMORY_HEADROOM_FRACTION
from capacity.errors import CapacityError
from capacity.layout import Layout
from capacity.memory import MemoryArrays, MemoryBreakdown, breakdown_at, memory_arrays
from capacity.planner.hardware import Hardware, TimeParams, hardware_for, time_params
from capacity.planner.space import (
    Candidates,
    Rejection,
    SearchSpace,
    enumerate_space,
    family_groups,
)
from capacity.planner.step_time import StepTimes, step_times
from capacity.planner.work import work
from capacity.system import System
from capacity.units import GIB, TERA


class PlanRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: ModelSpec
    system: System
    n_gpus: int = Field(gt=0)
    seq_len: int = Field(gt=0)
    global_batch_tokens: float = Field(gt=0)
    calibration: EfficiencyCalibration
    precision: Precision = "bf16"
    space: SearchSpace = SearchSpace()
    headroom_fraction: float = MEMORY_HEADROOM_FRACTION.value
    top: int = Field(default=10, ge=1)
    gemm_scale: float = Field(default=1.0, gt=0, description="from a measured step time")
    framework_family: str | None = Field(
        default=None, description="fitted framework family (None: unknown framework)"
    )
    tp_overlap: TpOverlap = Field(
        default="backward", description="TP traffic the framework hides behind GEMMs"
    )
    dp_overlap: bool = Field(default=True, description="DP traffic overlaps the backward pass")


class PlanChoice(BaseModel):
    """One evaluated layout."""

    model_config = ConfigDict(frozen=True)

    layout: Layout
    step_time_s: float
    tokens_per_s: float
    mfu: float
    hfu: float
    model_tflops_per_gpu: float
    hardware_tflops_per_gpu: float
    microbatches: int
    global_batch_tokens: float
    breakdown_s: dict[str, float]
    memory: MemoryBreakdown

    def at_practical(self, factor: float, gap_label: str) -> PlanChoice:
        """The same layout at `factor` of its modelled speed; the gap becomes a breakdown line."""
        step = self.step_time_s / factor
        return self.model_copy(
            update={
                "step_time_s": step,
                "tokens_per_s": self.tokens_per_s * factor,
                "mfu": self.mfu * factor,
                "hfu": self.hfu * factor,
                "model_tflops_per_gpu": self.model_tflops_per_gpu * factor,
                "hardware_tflops_per_gpu": self.hardware_tflops_per_gpu * factor,
                "breakdown_s": {**self.breakdown_s, gap_label: step - self.step_time_s},
            }
        )

    def to_json(self) -> dict[str, object]:
        return {
            "layout": self.layout.model_dump(),
            "describe": self.layout.describe(),
            "step_time_s": self.step_time_s,
            "tokens_per_s": self.tokens_per_s,
            "mfu": self.mfu,
            "hfu": self.hfu,
            "model_tflops_per_gpu": self.model_tflops_per_gpu,
            "hardware_tflops_per_gpu": self.hardware_tflops_per_gpu,
            "microbatches": self.microbatches,
            "global_batch_tokens": self.global_batch_tokens,
            "breakdown_s": self.breakdown_s,
            "memory_per_gpu_gib": self.memory.total_gib,
            "memory_breakdown_gib": self.memory.parts_gib(),
            "fits_memory": self.memory.fits,
        }


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    request: PlanRequest
    hardware: Hardware
    choices: tuple[PlanChoice, ...]  # feasible, fastest first
    least_memory: PlanChoice | None  # when nothing fits: the candidate closest to fitting
    rejections: tuple[Rejection, ...]
    n_candidates: int
    n_feasible: int
    notes: tuple[str, ...]

    @property
    def best(self) -> PlanChoice | None:
        return self.choices[0] if self.choices else None


def _memory(req: PlanRequest, c: Candidates) -> MemoryArrays:
    return memory_arrays(
        req.model,
        req.seq_len,
        tp=c.tp,
        pp=c.pp,
        dp=c.dp,
        cp=c.cp,
        ep=c.ep,
        vpp=c.vpp,
        zero_stage=c.zero,
        recompute=c.recompute,
        sequence_parallel=c.sp,
        flash_attention=c.flash,
        micro_batch=c.mb,
        optimizer=c.optimizer,
        microbatches=c.m,
        gpus_per_node=req.system.gpus_per_node,
    )


def _choice(
    req: PlanRequest,
    c: Candidates,
    mem: MemoryArrays,
    times: StepTimes,
    i: int,
    j: int,
) -> PlanChoice:
    """Candidate i of `c`/`mem`, whose times are at index j of `times`."""
    cap = req.system.accelerator.memory_gib
    peak = hardware_peak(req)
    tps = float(times.tokens_per_s[j])
    return PlanChoice(
        layout=c.layout(i),
        step_time_s=float(times.step_s[j]),
        tokens_per_s=tps,
        mfu=float(times.mfu[j]),
        hfu=float(times.hfu[j]),
        model_tflops_per_gpu=float(times.mfu[j]) * peak / TERA,
        hardware_tflops_per_gpu=float(times.hfu[j]) * peak / TERA,
        microbatches=int(c.m[i]),
        global_batch_tokens=float(c.batch_seqs[i]) * req.seq_len,
        breakdown_s={k: float(v[j]) for k, v in times.parts.items()},
        memory=breakdown_at(mem, i, cap, req.headroom_fraction),
    )


def hardware_peak(req: PlanRequest) -> float:
    return hardware_for(req.system, req.precision).peak_flop_s


def params_for(req: PlanRequest) -> tuple[TimeParams, str]:
    params, note = time_params(req.calibration, req.system.accelerator.id, req.framework_family)
    return with_overlaps(params, req.tp_overlap, req.dp_overlap, req.gemm_scale), note


def with_overlaps(
    params: TimeParams, tp_overlap: TpOverlap, dp_overlap: bool, gemm_scale: float = 1.0
) -> TimeParams:
    """`params` for a framework's overlap of TP and DP traffic (catalogs/frameworks)."""
    return dataclasses.replace(
        params,
        gemm_scale=gemm_scale,
        tp_overlap=TP_OVERLAP_CODES[tp_overlap],
        dp_overlap_fraction=params.dp_overlap_fraction if dp_overlap else 0.0,
    )


@dataclasses.dataclass(frozen=True)
class Evaluated:
    """The candidates of a request, their memory and which of them fit."""

    hardware: Hardware
    candidates: Candidates
    memory: MemoryArrays | None
    fits: np.ndarray  # indices into candidates
    rejections: list[Rejection]
    total_b: np.ndarray  # memory per GPU of every candidate (bytes)


def evaluate_space(req: PlanRequest) -> Evaluated:
    """Enumerate the space of `req` and keep the layouts that fit in memory."""
    hw = hardware_for(req.system, req.precision)
    batch_seqs = req.global_batch_tokens / req.seq_len
    if batch_seqs < 1:
        raise CapacityError(
            f"global batch {req.global_batch_tokens:,.0f} tokens is shorter than one "
            f"sequence of {req.seq_len:,}",
            field="global-batch",
        )
    cands, rejected = enumerate_space(
        req.model,
        n_gpus=req.n_gpus,
        gpus_per_node=hw.gpus_per_node,
        seq_len=req.seq_len,
        batch_seqs=batch_seqs,
        space=req.space,
    )
    if len(cands) == 0:
        return Evaluated(hw, cands, None, np.zeros(0, dtype=np.int64), rejected, np.zeros(0))
    mem = _memory(req, cands)
    total_b = mem.total_b
    usable_b = hw.memory_gib * (1 - req.headroom_fraction) * GIB
    fits = total_b <= usable_b
    if not fits.all():  # else no family is left out for memory
        rejected += _memory_rejections(cands, total_b, fits, usable_b, hw.memory_gib)
    return Evaluated(hw, cands, mem, np.flatnonzero(fits), rejected, total_b)


def plan(req: PlanRequest) -> Plan:
    """Search the layout space of `req` and rank the layouts that fit in memory."""
    ev = evaluate_space(req)
    hw, cands, mem, idx = ev.hardware, ev.candidates, ev.memory, ev.fits
    params, note = params_for(req)
    least = None
    choices: tuple[PlanChoice, ...] = ()
    if mem is not None and idx.size == 0:
        i = int(np.argmin(ev.total_b))
        times = step_times(work(req.model, req.seq_len, cands.take([i]), hw, req.n_gpus), params)
        least = _choice(req, cands, mem, times, i, 0)
    elif mem is not None:
        times, picked = _fastest(req, cands, ev.total_b, idx, hw, params)
        choices = tuple(_choice(req, cands, mem, times, int(i), j) for j, i in enumerate(picked))
    return Plan(
        request=req,
        hardware=hw,
        choices=choices,
        least_memory=least,
        rejections=tuple(ev.rejections),
        n_candidates=len(cands),
        n_feasible=int(idx.size),
        notes=(*hw.notes, note),
    )


# Candidates timed per call: bounds the memory of the ~40 arrays of `Work` for large
# spaces; the results are the same (every operation is per row).
CHUNK_ROWS = 16_384

# glibc's malloc serves blocks above M_MMAP_THRESHOLD (128 KiB at first) with fresh mmap
# pages and unmaps them on free, so every planner run faulted its arrays in again (a
# quarter of `compare --days`' CPU time); freeing one mmap'd block raises the threshold
# to its size (mallopt(3), M_MMAP_THRESHOLD, "dynamic adjustment"), after which the
# arrays reuse heap pages. One block of this size is allocated and freed at import;
# elsewhere it is a harmless allocation.
HEAP_HINT_BYTES = 16 * 2**20
np.empty(HEAP_HINT_BYTES, dtype=np.uint8)  # freed at once: only the threshold stays


def _fastest(
    req: PlanRequest,
    cands: Candidates,
    total_b: np.ndarray,
    idx: np.ndarray,
    hw: Hardware,
    params: TimeParams,
) -> tuple[StepTimes, np.ndarray]:
    """The `req.top` fastest of the candidates `idx` (ties: least memory, then first), as
    (their step times, in rank order; their indices into `cands`)."""
    keep_t: list[np.ndarray] = []
    keep_m: list[np.ndarray] = []
    keep_i: list[np.ndarray] = []
    keep_times: list[StepTimes] = []
    for start in range(0, idx.size, CHUNK_ROWS):
        part = idx[start : start + CHUNK_ROWS]
        times = step_times(work(req.model, req.seq_len, cands.take(part), hw, req.n_gpus), params)
        rate = -np.round(times.tokens_per_s, 6)
        order = _first(req.top, rate, total_b[part], part)
        keep_t.append(rate[order])
        keep_m.append(total_b[part][order])
        keep_i.append(part[order])
        keep_times.append(_take_times(times, order))
    rate, mem_b, rows = (np.concatenate(x) for x in (keep_t, keep_m, keep_i))
    order = _first(req.top, rate, mem_b, rows)
    times = _concat_times(keep_times)
    return _take_times(times, order), rows[order]


def _first(top: int, *keys: np.ndarray) -> np.ndarray:
    """Indices of the `top` smallest rows by `keys` (the first key first), in order: the
    head of `np.lexsort(keys[::-1])`, sorting only the rows that can be in it."""
    rows = np.arange(keys[0].size)
    if top < keys[0].size:
        cut = np.partition(keys[0], top - 1)[top - 1]
        if not np.isnan(cut):  # NaN sorts last: then every row is a contender
            rows = np.flatnonzero(keys[0] <= cut)
    return rows[np.lexsort(tuple(k[rows] for k in reversed(keys)))][:top]


def _take_times(t: StepTimes, index: np.ndarray) -> StepTimes:
    return StepTimes(
        step_s=t.step_s[index],
        parts={k: v[index] for k, v in t.parts.items()},
        tokens_per_s=t.tokens_per_s[index],
        mfu=t.mfu[index],
        hfu=t.hfu[index],
    )


def _concat_times(ts: list[StepTimes]) -> StepTimes:
    return StepTimes(
        step_s=np.concatenate([t.step_s for t in ts]),
        parts={k: np.concatenate([t.parts[k] for t in ts]) for k in ts[0].parts},
        tokens_per_s=np.concatenate([t.tokens_per_s for t in ts]),
        mfu=np.concatenate([t.mfu for t in ts]),
        hfu=np.concatenate([t.hfu for t in ts]),
    )


def _memory_rejections(
    c: Candidates, total_b: np.ndarray, fits: np.ndarray, usable_b: float, capacity_gib: float
) -> list[Rejection]:
    """Families (TP, PP, CP, EP) none of whose layouts fit in memory."""
    first, inv = family_groups(c.tp, c.pp, c.cp, c.ep)
    any_fit = np.bincount(inv, weights=fits, minlength=len(first)) > 0
    least = np.full(len(first), np.inf)
    np.minimum.at(least, inv, total_b)
    out = []
    for k in np.flatnonzero(~any_fit):
        row = first[k]
        t, p, cp, ep = int(c.tp[row]), int(c.pp[row]), int(c.cp[row]), int(c.ep[row])
        name = f"TP={t} PP={p}" + (f" CP={cp}" if cp > 1 else "") + (f" EP={ep}" if ep > 1 else "")
        usable = f"{usable_b / GIB:.0f} GiB usable of {capacity_gib:g} GiB"
        if usable_b > capacity_gib * GIB:  # validation's tolerance for published layouts
            usable = f"{usable_b / GIB:.0f} GiB (the {capacity_gib:g} GiB with the tolerance)"
        worst = f"{least[k] / GIB:.0f} GiB"
        why = f"{name}: OOM: {worst} > {usable} even with the most sharding and recompute"
        out.append(Rejection(family=name, reason=why, code="memory"))
    return out


def anchor_scale(req: PlanRequest, layout: Layout, measured_step_s: float) -> float:
    """The GEMM-efficiency scale that makes `layout`'s step time equal the measured one.

    Solved by bisection (step time falls monotonically as GEMMs get faster).
    """
    if measured_step_s <= 0 or not math.isfinite(measured_step_s):
        raise CapacityError("must be a positive number of seconds", field="measured-step-time")
    hw = hardware_for(req.system, req.precision)
    cands, _ = enumerate_space(
        req.model,
        n_gpus=req.n_gpus,
        gpus_per_node=hw.gpus_per_node,
        seq_len=req.seq_len,
        batch_seqs=req.global_batch_tokens / req.seq_len,
        space=SearchSpace.fixed(layout),
    )
    if len(cands) == 0:
        raise CapacityError(
            f"the measured layout {layout.describe()} is not valid for this job",
            field="measured-step-time",
        )
    w = work(req.model, req.seq_len, cands.take([0]), hw, req.n_gpus)
    base = params_for(req)[0]
    lo, hi = 0.05, 20.0
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        t = float(step_times(w, dataclasses.replace(base, gemm_scale=mid)).step_s[0])
        lo, hi = (mid, hi) if t > measured_step_s else (lo, mid)
    scale = math.sqrt(lo * hi)
    if scale <= 0.051 or scale >= 19.9:
        raise CapacityError(
            f"a step of {measured_step_s:g} s cannot be reached by this layout by changing "
            "the GEMM efficiency alone (communication or memory traffic dominates)",
            field="measured-step-time",
        )
    return scale
