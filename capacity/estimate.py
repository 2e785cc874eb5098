"""The estimate of one training run: time, hours, cost, energy, CO2, memory and verdict.

`estimate(Scenario)` is the one orchestrator the CLI, `compare` and the
reports call. It is pure: the scenario holds resolved catalog records. With an
efficiency calibration (catalogs/efficiency/) the parallelism planner picks the
fastest layout that fits (or times the one given) and the step-time model gives
the throughput; without one, or with `--mfu`, throughput comes from an MFU.
Wall-clock adds the goodput model (failures, checkpoints, job chains) to the
productive time, and every time-like figure carries a P10-P90 interval.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capacity.billing import Billed, all_units
from capacity.budget import Budget
from capacity.catalog.schemas import (
    EfficiencyCalibration,
    ExchangeRates,
    Framework,
    ModelSpec,
    Precision,
)
from capacity.cost import RunCost, run_cost
from capacity.errors import CapacityError
from capacity.estimate_parts import (
    Assumption,
    Reason,
    assumptions,
    budget_reasons,
    convert,
    stale_notes,
    system_reasons,
    v0_layout,
)
from capacity.flops import FlopsPerToken, flops_per_token
from capacity.goodput import Goodput, GoodputInputs, goodput
from capacity.layout import Layout, check_layout
from capacity.measured import MeasuredStep, geometric_mean
from capacity.memory import OPTIMIZER_BYTES, MemoryBreakdown
from capacity.planner.framework import flash_default, with_framework_defaults
from capacity.planner.search import Plan, PlanChoice, PlanRequest, anchor_scale, plan
from capacity.planner.space import SearchSpace
from capacity.queues import QueueChoice, choose_queue
from capacity.scaling.hyperparams import deepseek_batch_tokens
from capacity.system import System
from capacity.throughput import (
    Throughput,
    default_precision,
    throughput_from_mfu,
    throughput_from_plan,
)
from capacity.uncertainty import Band, Interval, band_for, interval
from capacity.units import HOURS_PER_DAY, SECONDS_PER_HOUR
from capacity.workload import ParamCounts, param_counts

__all__ = [
    "Assumption",
    "Estimate",
    "Reason",
    "Scenario",
    "convert",
    "default_gpus",
    "estimate",
    "plan_scenario",
]

DEFAULT_GLOBAL_BATCH_TOKENS = 4_000_000  # Llama 2 (arXiv:2307.09288) Sec. 2.2: 4M tokens
DEFAULT_JOB_GPUS = 256  # capacity default job size when none is given (a choice, not a fact)
DEADLINE_ITERATIONS = 8


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: ModelSpec
    tokens: float = Field(gt=0)
    system: System
    n_gpus: int | None = Field(default=None, gt=0)
    seq_len: int | None = Field(default=None, gt=0)
    global_batch_tokens: float = Field(default=DEFAULT_GLOBAL_BATCH_TOKENS, gt=0)
    global_batch_auto: bool = False  # use the DeepSeek batch rule instead
    layout: Layout | None = None
    space: SearchSpace | None = None  # constraints on the planner's search
    mfu: float | None = None
    precision: Precision = "bf16"
    days: float | None = Field(default=None, gt=0)
    budget: Budget | None = None
    exchange_rates: ExchangeRates | None = None
    calibration: EfficiencyCalibration | None = None
    goodput: GoodputInputs = GoodputInputs()
    measured_step_time_s: float | None = Field(default=None, gt=0)
    measured_steps: tuple[MeasuredStep, ...] = ()  # from a benchmark allocation
    framework: Framework | None = None  # catalogs/frameworks; None = unknown

    @model_validator(mode="before")
    @classmethod
    def _precision_for_the_part(cls, data: Any) -> Any:
        """No precision given: bf16, or fp16 where the accelerator has no bf16 (V100)."""
        if isinstance(data, dict) and data.get("precision") is None:
            system = data.get("system")
            if isinstance(system, System):
                data = {**data, "precision": default_precision(system.accelerator)}
        return data


class Estimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    scenario: Scenario
    params: ParamCounts
    flops: FlopsPerToken
    total_flops: float
    n_gpus: int
    n_nodes: float
    layout: Layout
    memory: MemoryBreakdown
    throughput: Throughput
    wall_clock_h: float
    run: RunCost
    feasible: bool
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...]
    assumptions: tuple[Assumption, ...]
    productive_h: float = 0.0
    global_batch_tokens: float = 0.0
    step_time_s: float | None = None
    breakdown_s: dict[str, float] = {}
    goodput: Goodput | None = None
    intervals: dict[str, Interval | None] = {}
    interval_note: str | None = None
    queue: QueueChoice | None = None

    @property
    def billed(self) -> tuple[Billed, ...]:
        """The run's hours in every unit the catalog converts a node-hour to."""
        return all_units(self.scenario.system, self.run.node_hours)

    @property
    def wall_clock_days(self) -> float:
        return self.wall_clock_h / HOURS_PER_DAY

    def to_json(self) -> dict[str, Any]:
        """The stable `--json` document (keys documented in the README)."""
        cost = self.run.cost
        return {
            "model": self.scenario.model.id,
            "system": self.scenario.system.id,
            "params": self.params.total,
            "params_active": self.params.active,
            "params_non_embedding": self.params.non_embedding,
            "tokens": self.scenario.tokens,
            "seq_len": self.flops.seq_len,
            "flops_per_token": self.flops.model,
            "flops_per_token_hardware": self.flops.hardware,
            "flops_per_token_6n": self.flops.six_n,
            "total_flops": self.total_flops,
            "n_gpus": self.n_gpus,
            "n_nodes": self.n_nodes,
            "layout": self.layout.model_dump(),
            "tokens_per_s": self.throughput.tokens_per_s,
            "mfu": self.throughput.mfu,
            "hfu": self.throughput.hfu,
            "mfu_origin": self.throughput.mfu_origin,
            "wall_clock_days": self.wall_clock_days,
            "gpu_hours": self.run.gpu_hours,
            "node_hours": self.run.node_hours,
            "allocation_unit": self.run.allocation_unit,
            "cost": None if cost is None else {"amount": cost.amount, "currency": cost.currency},
            "energy_mwh": self.run.energy_mwh,
            "co2_t": self.run.co2_t,
            "memory_per_gpu_gib": self.memory.total_gib,
            "memory_capacity_gib": self.memory.capacity_gib,
            "memory_breakdown_gib": self.memory.parts_gib(),
            "fits_memory": self.memory.fits,
            "feasible": self.feasible,
            "reasons": [r.message for r in self.reasons],
            "notes": list(self.notes),
            "global_batch_tokens": self.global_batch_tokens,
            "step_time_s": self.step_time_s,
            "breakdown": {
                "step_s": dict(self.breakdown_s),
                "productive_h": self.productive_h,
                "wall_clock_h": self.wall_clock_h,
            },
            "goodput": None if self.goodput is None else self.goodput.to_json(),
            "interval": {
                k: None if v is None else {"p10": v.p10, "p90": v.p90}
                for k, v in self.intervals.items()
            },
            "interval_note": self.interval_note,
            "queue": None if self.queue is None else self.queue.name,
            "billed": {b.unit: b.amount for b in self.billed},
        }


def default_gpus(system: System) -> int:
    """DEFAULT_JOB_GPUS rounded to whole nodes and capped by what one job may use."""
    nodes = max(1, round(DEFAULT_JOB_GPUS / system.gpus_per_node))
    cap = system.max_nodes_per_job or system.nodes
    if cap is not None:
        nodes = min(nodes, cap)
    return nodes * system.gpus_per_node


def global_batch(scn: Scenario, fpt: FlopsPerToken) -> tuple[float, str | None]:
    """The scenario's global batch in tokens, or the DeepSeek rule's when it asks for it."""
    if not scn.global_batch_auto:
        return scn.global_batch_tokens, None
    batch = float(deepseek_batch_tokens(fpt.model * scn.tokens))
    note = (
        f"global batch {batch / 1e6:.1f}M tokens from the DeepSeek batch rule "
        "B = 0.292 C^0.327 (arXiv:2401.02954 Eq. 1)"
    )
    return batch, note


def _request(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float, scale: float, top: int = 1
) -> PlanRequest:
    assert scn.calibration is not None
    space = with_framework_defaults(scn.space or SearchSpace(), scn.framework)
    if scn.framework is not None and "flash_attention" not in space.model_fields_set:
        space = space.model_copy(update={"flash_attention": (flash_default(scn.framework),)})
    if scn.layout is not None:
        space = SearchSpace.fixed(scn.layout)
    return PlanRequest(
        model=scn.model,
        system=scn.system,
        n_gpus=n_gpus,
        seq_len=seq_len,
        global_batch_tokens=batch,
        calibration=scn.calibration,
        precision=scn.precision,
        space=space,
        top=top,
        gemm_scale=scale,
        framework_family=None if scn.framework is None else scn.framework.fit_family,
    )


def measured(scn: Scenario) -> bool:
    return scn.measured_step_time_s is not None or bool(scn.measured_steps)


def _planned(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float, top: int = 1
) -> tuple[Plan, float]:
    """The plan for `n_gpus`, re-anchored on measured step times when some are given."""
    req = _request(scn, n_gpus, seq_len, batch, 1.0, top)
    pl = plan(req)
    scales = []
    if scn.measured_step_time_s is not None:
        ref = pl.best or pl.least_memory
        if ref is None:
            raise CapacityError("no layout to anchor the measurement on", field="layout")
        scales.append(anchor_scale(req, ref.layout, scn.measured_step_time_s))
    for m in scn.measured_steps:
        at = _request(scn, m.layout.gpus, m.seq_len or seq_len, m.global_batch_tokens or batch, 1.0)
        scales.append(anchor_scale(at, m.layout, m.step_time_s))
    if not scales:
        return pl, 1.0
    scale = geometric_mean(scales)
    return plan(_request(scn, n_gpus, seq_len, batch, scale, top)), scale


def plan_scenario(scn: Scenario, n_gpus: int, top: int = 10) -> Plan:
    """The planner's ranked layouts for the scenario on `n_gpus` (needs a calibration).

    Like the estimate, the layouts are shown at the practical efficiency when the planner
    chooses them (see `practical_factor`).
    """
    if scn.calibration is None:
        raise CapacityError(
            "the catalog has no efficiency calibration (catalogs/efficiency/calibration.toml)",
            field="catalog",
        )
    seq_len = scn.seq_len or scn.model.seq_len
    batch, _ = global_batch(scn, flops_per_token(scn.model, seq_len))
    pl = _planned(scn, n_gpus, seq_len, batch, top)[0]
    factor = practical_factor(scn)
    if factor >= 1:
        return pl
    return pl.model_copy(
        update={
            "choices": tuple(c.at_practical(factor, PRACTICAL_GAP) for c in pl.choices),
            "notes": (*pl.notes, practical_note(factor)),
        }
    )


def _productive_h(scn: Scenario, tokens_per_s: float) -> float:
    return scn.tokens / tokens_per_s / SECONDS_PER_HOUR


def _goodput(scn: Scenario, n_gpus: int, productive_h: float) -> Goodput:
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
        productive_h=productive_h,
        inputs=inputs,
    )


def _round_nodes(nodes: int) -> int:
    """The next node count of the form m x 2^k with m <= 32 (at most 6.25 % more): counts
    with many divisors, so that TP x PP x DP layouts exist (587 nodes, a prime, has none)."""
    nodes = max(1, nodes)
    step = 1 << max(0, (nodes - 1).bit_length() - 5)
    return math.ceil(nodes / step) * step


def _size_for_deadline(
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
            plans[n] = _planned(scn, n, seq_len, batch)
            best = plans[n][0].best
            if best is None:
                return math.inf
            tokens_per_s = best.tokens_per_s * practical_factor(scn)
        prod = _productive_h(scn, tokens_per_s)
        return prod / _goodput(scn, n, prod).ettr

    first = math.ceil(scn.tokens / (probe.tokens_per_s * target_h * SECONDS_PER_HOUR) / g)
    n = _round_nodes(first) * g
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
            nxt = _round_nodes(math.ceil(n * wall / target_h / g)) * g
            if wall > target_h and nxt <= n:
                nxt = _round_nodes(n // g + 1) * g
        n = nxt
    meets = [k for k, w in tried.items() if w <= target_h]
    chosen = min(meets) if meets else min(tried, key=lambda k: (tried[k], k))
    return chosen, plans.get(chosen), saturated and not meets


BATCH_HINT = "a larger global batch would be faster"
# Hint only when it matters: the pipeline idles for a fifth of the step and the
# rule's batch runs at least 15 % faster (smaller gains are within the model's error).
HINT_BUBBLE_SHARE, HINT_MIN_SPEEDUP = 0.2, 1.15


def batch_hint(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float, scale: float, choice: PlanChoice
) -> str | None:
    """A note when the global batch starves the pipeline and the DeepSeek rule's would not."""
    if scn.global_batch_auto or scn.layout is not None or scn.calibration is None:
        return None
    bubble = choice.breakdown_s.get("pipeline_bubble", 0.0) / choice.step_time_s
    if bubble < HINT_BUBBLE_SHARE:
        return None
    alt_batch = float(deepseek_batch_tokens(flops_per_token(scn.model, seq_len).model * scn.tokens))
    if alt_batch <= batch:
        return None
    alt = plan(_request(scn, n_gpus, seq_len, alt_batch, scale)).best
    if alt is None or alt.tokens_per_s < HINT_MIN_SPEEDUP * choice.tokens_per_s:
        return None
    return (
        f"{BATCH_HINT}: with {choice.global_batch_tokens / 1e6:.1f}M tokens the pipeline idles "
        f"{bubble:.0%} of the step; --global-batch auto ({alt_batch / 1e6:.0f}M tokens, "
        "DeepSeek rule) runs "
        f"x{alt.tokens_per_s / choice.tokens_per_s:.1f} faster with {alt.layout.describe()}"
    )


def band_caveats(scn: Scenario) -> tuple[str, ...]:
    """Why the validation band may not cover this estimate (a measurement re-anchors both)."""
    if scn.calibration is None or measured(scn):
        return ()
    out = []
    acc = scn.system.accelerator
    if not scn.calibration.gemm_for(acc.id).calibrated:
        out.append(f"no published run on {acc.name} is in the fit, so its error may be larger")
    if scn.precision == "fp8":
        out.append("the band comes from 16-bit runs; fp8 is uncalibrated")
    return tuple(out)


def estimate(scn: Scenario) -> Estimate:
    model, system = scn.model, scn.system
    seq_len = scn.seq_len or model.seq_len
    notes: list[str] = []
    reasons: list[Reason] = []
    recompute = scn.layout.recompute if scn.layout else "selective"
    fpt = flops_per_token(model, seq_len, recompute)
    batch, batch_note = global_batch(scn, fpt)
    if batch_note:
        notes.append(batch_note)

    sized_plan: tuple[Plan, float] | None = None
    if scn.n_gpus is not None:
        n_gpus = scn.n_gpus
    elif scn.layout is not None:
        n_gpus = scn.layout.gpus
    elif scn.days is not None:
        n_gpus, sized_plan, saturated = _size_for_deadline(scn, fpt, seq_len, batch)
        if saturated:
            notes.append(
                f"no job size meets {scn.days:g} days with a {batch / 1e6:.1f}M-token global "
                f"batch: more GPUs stop helping, so the fastest size tried is used ({n_gpus} "
                "GPUs); a larger --global-batch (auto: the DeepSeek rule) lets it scale further"
            )
        else:
            notes.append(f"job sized to finish within {scn.days:g} days: {n_gpus} GPUs")
    else:
        n_gpus = default_gpus(system)
        notes.append(
            f"no --nodes/--gpus given: using {n_gpus} GPUs ({n_gpus // system.gpus_per_node} nodes)"
        )
    if n_gpus % system.gpus_per_node:
        raise CapacityError(
            f"{n_gpus} GPUs is not a multiple of the {system.gpus_per_node} GPUs per node "
            f"of {system.name}",
            field="gpus",
        )
    if scn.layout is not None:
        if scn.layout.gpus != n_gpus:
            raise CapacityError(
                f"TP x PP x DP x CP = {scn.layout.gpus} but the job has {n_gpus} GPUs", field="dp"
            )
        check_layout(scn.layout, model, system.gpus_per_node, seq_len)

    choice: PlanChoice | None = None
    step_s: float | None = None
    breakdown: dict[str, float] = {}
    scale = 1.0
    if scn.calibration is not None:
        pl, scale = sized_plan or _planned(scn, n_gpus, seq_len, batch)
        notes += pl.notes
        choice = pl.best or pl.least_memory
        if choice is None:
            why = "; ".join(r.reason for r in pl.rejections[-3:])
            raise CapacityError(
                f"no layout of {model.name} is valid on {n_gpus} GPUs "
                f"({system.gpus_per_node} per node): {why}",
                field="gpus",
            )
        hint = batch_hint(scn, n_gpus, seq_len, batch, scale, choice)
        if hint:
            notes.append(hint)
        factor = practical_factor(scn)
        if factor < 1:
            choice = choice.at_practical(factor, PRACTICAL_GAP)
            notes.append(practical_note(factor))
        layout, mem = choice.layout, choice.memory
        step_s = choice.step_time_s
        breakdown = dict(choice.breakdown_s)
        if scn.layout is None:
            notes.append(
                f"layout chosen by the planner ({pl.n_feasible:,} of {pl.n_candidates:,} "
                f"candidates fit): {layout.describe()}"
            )
        if measured(scn):
            n_meas = len(scn.measured_steps) + (scn.measured_step_time_s is not None)
            notes.append(
                f"GEMM efficiency re-anchored x{scale:.3f} on {n_meas} measured step time(s)"
            )
    else:
        layout, mem = v0_layout(scn, n_gpus, seq_len, batch)
        notes.append("no efficiency calibration in the catalog: throughput from a published MFU")
    fpt = flops_per_token(model, seq_len, layout.recompute)

    if scn.mfu is not None or choice is None:
        thr = throughput_from_mfu(
            fpt, system.accelerator, n_gpus, mfu=scn.mfu, precision=scn.precision
        )
    else:
        origin: Literal["planner", "measured"] = "measured" if measured(scn) else "planner"
        thr = throughput_from_plan(choice, fpt, n_gpus, scn.precision, origin, scn.calibration)
    productive_h = _productive_h(scn, thr.tokens_per_s)
    gp = _goodput(scn, n_gpus, productive_h)
    wall_h = productive_h / gp.ettr
    run = run_cost(system, n_gpus, wall_h)
    n_nodes = n_gpus / system.gpus_per_node

    if not mem.fits:
        reasons.append(
            Reason(
                code="memory",
                message=(
                    f"OOM: {mem.total_gib:.1f} GiB per GPU > {mem.usable_gib:.1f} GiB usable "
                    f"({mem.capacity_gib:g} GiB less {mem.headroom_fraction:.0%} headroom) "
                    f"with {layout.describe()}"
                ),
            )
        )
    reasons += system_reasons(scn, n_gpus, n_nodes, wall_h)
    if scn.budget is not None:
        reasons += budget_reasons(scn.budget, fpt.model * scn.tokens, wall_h, run, scn)
    queue = choose_queue(system, n_nodes)
    if queue.message and (queue.queue is None or not queue.queue.default):
        notes.append(queue.message)
    if gp.jobs > 1 and gp.inputs.job_wall_limit_h is not None:
        notes.append(
            f"longer than the {gp.inputs.job_wall_limit_h:g} h job limit: a chain of "
            f"{gp.jobs} jobs, each paying a restart and a checkpoint reload"
        )
    notes += stale_notes(scn, run)
    band = band_for(
        scn.calibration,
        measured=measured(scn),
        layout_given=layout_given(scn),
        caveats=band_caveats(scn),
    )
    return Estimate(
        scenario=scn,
        params=param_counts(model),
        flops=fpt,
        total_flops=fpt.model * scn.tokens,
        n_gpus=n_gpus,
        n_nodes=n_nodes,
        layout=layout,
        memory=mem,
        throughput=thr,
        wall_clock_h=wall_h,
        run=run,
        feasible=not any(r.blocking for r in reasons),
        reasons=tuple(reasons),
        notes=tuple(notes),
        assumptions=tuple(assumptions(scn, thr, run)),
        productive_h=productive_h,
        global_batch_tokens=choice.global_batch_tokens if choice else batch,
        step_time_s=step_s if scn.mfu is None else None,
        breakdown_s=breakdown if choice and scn.mfu is None else {},
        goodput=gp,
        intervals=_intervals(wall_h, run, band),
        interval_note=None if band is None else band.explanation,
        queue=queue,
    )


PRACTICAL_GAP = "practical gap (untuned layout)"


def practical_note(factor: float) -> str:
    return (
        f"planner optimum x{factor:.2f}: published runs without a tuned layout reached "
        f"{factor:.0%} of it (median; catalogs/efficiency, planner_practical_efficiency)"
    )


def practical_factor(scn: Scenario) -> float:
    """The calibration's planner_practical_efficiency when the planner picks the layout."""
    if scn.calibration is None or scn.mfu is not None or measured(scn) or layout_given(scn):
        return 1.0
    return scn.calibration.planner_practical_efficiency


def layout_given(scn: Scenario) -> bool:
    """The structural split (TP and PP) is fixed by the user, not chosen by the planner."""
    if scn.layout is not None:
        return True
    sp = scn.space
    return sp is not None and sp.tp is not None and sp.pp is not None


def _intervals(wall_h: float, run: RunCost, band: Band | None) -> dict[str, Interval | None]:
    return {
        "wall_clock_days": interval(wall_h / HOURS_PER_DAY, band),
        "gpu_hours": interval(run.gpu_hours, band),
        "node_hours": interval(run.node_hours, band),
        "cost": interval(run.cost.amount if run.cost else None, band),
        "energy_mwh": interval(run.energy_mwh, band),
        "co2_t": interval(run.co2_t, band),
    }
