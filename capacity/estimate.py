"""The estimate of one training run: time, hours, cost, energy, CO2, memory and verdict.

`estimate(Scenario)` is the one orchestrator the CLI, `compare` and the
reports call. It is pure: the scenario holds resolved catalog records. With an
efficiency calibration (catalogs/efficiency/) the parallelism planner picks the
fastest layout that fits (or times the one given) and the step-time model gives
the throughput; without one, or with `--mfu`, throughput comes from an MFU.
Wall-clock adds the goodput model (failures, checkpoints, job chains) to the
productive time, and every time-like figure carries a P10-P90 interval.

The scenario and its predicates live in `capacity.scenario`, the planner hand-off in
`capacity.scenario_plan`, deadline sizing in `capacity.sizing` and the verdict
(reasons, assumptions) in `capacity.verdict`; their public names are re-exported here.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from capacity.billing import Billed, all_units
from capacity.cost import RunCost, convert, run_cost
from capacity.errors import CapacityError
from capacity.flops import FlopsPerToken, flops_per_token
from capacity.goodput import Goodput
from capacity.layout import Layout, check_layout
from capacity.layout_fit import least_parallel_layout
from capacity.memory import MemoryBreakdown
from capacity.planner.search import Plan, PlanChoice
from capacity.queues import QueueChoice, choose_queue
from capacity.scenario import (
    DEFAULT_GLOBAL_BATCH_TOKENS,
    DEFAULT_JOB_GPUS,
    PRACTICAL_GAP,
    Scenario,
    band_caveats,
    default_gpus,
    global_batch,
    layout_given,
    measured,
    practical_factor,
    practical_note,
)
from capacity.scenario_plan import BATCH_HINT, batch_hint, plan_scenario, planned
from capacity.sizing import (
    Sizing,
    max_job_nodes,
    productive_h,
    run_goodput,
    size_for_deadline,
)
from capacity.throughput import Throughput, throughput_from_mfu, throughput_from_plan
from capacity.uncertainty import Band, Interval, band_for, interval, with_end_to_end
from capacity.units import HOURS_PER_DAY
from capacity.verdict import (
    Assumption,
    Reason,
    assumptions,
    budget_reasons,
    memory_reasons,
    stale_notes,
    system_reasons,
    verdict,
)
from capacity.workload import ParamCounts, param_counts

__all__ = [
    "BATCH_HINT",
    "DEFAULT_GLOBAL_BATCH_TOKENS",
    "DEFAULT_JOB_GPUS",
    "PRACTICAL_GAP",
    "Assumption",
    "Estimate",
    "Reason",
    "Scenario",
    "convert",
    "default_gpus",
    "estimate",
    "estimate_with_plan",
    "layout_given",
    "measured",
    "plan_scenario",
]


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

    @property
    def verdict(self) -> str:
        return verdict(self.feasible, self.scenario.system)

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
            "verdict": self.verdict,
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


def _job_gpus(
    scn: Scenario, fpt: FlopsPerToken, seq_len: int, batch: float, notes: list[str]
) -> tuple[int, tuple[Plan, float] | None]:
    """The job's GPU count (given, from the layout, sized for the deadline, or the default),
    and the plan the deadline sizing already made for it."""
    system = scn.system
    if scn.n_gpus is not None:
        return scn.n_gpus, None
    if scn.layout is not None:
        return scn.layout.gpus, None
    if scn.days is not None:
        size = size_for_deadline(scn, fpt, seq_len, batch)
        notes.append(sizing_note(scn, size, batch))
        return size.n_gpus, size.plan
    n_gpus = default_gpus(system)
    notes.append(
        f"no --nodes/--gpus given: using {n_gpus} GPUs ({n_gpus // system.gpus_per_node} nodes)"
    )
    return n_gpus, None


def sizing_note(scn: Scenario, size: Sizing, batch: float) -> str:
    """What the deadline sizing found, and what limits it when the deadline is missed."""
    assert scn.days is not None
    days = size.wall_h / HOURS_PER_DAY
    if size.meets:
        return (
            f"job sized to finish within {scn.days:g} days: {size.n_gpus:,} GPUs, the smallest "
            f"count of whole nodes on the {scn.system.name} grid that meets it "
            f"({size.evaluated} sizes evaluated)"
        )
    ideal, speedup = size.speedup
    if size.batch_bound:
        needed = batch * days / scn.days
        scaled = (
            f" ({size.ref_gpus:,} -> {size.n_gpus:,} GPUs ran only x{speedup:.2f} faster)"
            if ideal > 1
            else ""
        )
        return (
            f"no job size meets {scn.days:g} days: more GPUs stop helping{scaled} because the "
            f"{batch / 1e6:.1f}M-token global batch is the limit; {size.n_gpus:,} GPUs take "
            f"{days:.1f} days. A batch of about {needed / 1e6:.0f}M tokens (--global-batch "
            f"{needed / 1e6:.0f}M) would let more GPUs meet the deadline"
        )
    return (
        f"no job size meets {scn.days:g} days: the largest job {scn.system.name} allows "
        f"({size.n_gpus:,} GPUs) takes {days:.1f} days"
    )


def _check_job(scn: Scenario, n_gpus: int, seq_len: int) -> None:
    system = scn.system
    limit = max_job_nodes(system) * system.gpus_per_node
    if n_gpus > limit:  # refused before any planning: such a job cannot exist
        if not system.multi_node:
            where = "one instance per job (no multi-node fabric)"
        elif system.nodes is not None:
            where = f"{limit:,} GPUs in all"
        else:
            where = f"no published maximum, so jobs are bounded at {limit:,} GPUs"
        raise CapacityError(
            f"{n_gpus:,} GPUs is more than {system.name} has: {where}",
            field="gpus",
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
        check_layout(scn.layout, scn.model, system.gpus_per_node, seq_len)


def _no_layout(scn: Scenario, n_gpus: int, pl: Plan) -> CapacityError:
    """Why no layout is left, naming the fixed degrees when the user gave some (the usual
    TP exclusions, such as TP=8 beyond a 4-GPU node, are then not the cause)."""
    space = scn.space
    fixed = {
        k: v[0]
        for k in ("tp", "pp", "dp", "cp", "ep", "vpp")
        if space is not None and (v := getattr(space, k)) is not None and len(v) == 1
    }
    rejections = [r for r in pl.rejections if not fixed or r.code in (*fixed, "batch", "memory")]
    why = "; ".join(r.reason for r in rejections[-3:]) or (
        "no combination of the fixed flags, the node and the global batch gives a layout"
    )
    split = math.prod(fixed.get(k, 1) for k in ("tp", "pp", "cp", "dp"))
    if n_gpus % split:
        why = f"{' x '.join(k.upper() for k in fixed if k in ('tp', 'pp', 'cp', 'dp'))} = "
        why += f"{split} does not divide the {n_gpus} GPUs; give --nodes or --gpus to match"
    given = ", ".join(f"{k.upper()}={v}" for k, v in fixed.items())
    return CapacityError(
        f"no layout of {scn.model.name} is valid on {n_gpus} GPUs "
        f"({scn.system.gpus_per_node} per node){f' with {given}' if given else ''}: {why}",
        field="/".join(fixed) or "gpus",
    )


def _planner_choice(
    scn: Scenario,
    n_gpus: int,
    seq_len: int,
    batch: float,
    sized_plan: tuple[Plan, float] | None,
    notes: list[str],
    top: int = 1,
) -> tuple[PlanChoice, Plan]:
    """The planner's layout for the job (at the practical efficiency when it chose it), and
    the ranking of the `top` layouts it came from (shown by `capacity plan`)."""
    if sized_plan is not None and top > 1:  # the deadline sizing kept only the best
        sized_plan = None
    pl, scale = sized_plan or planned(scn, n_gpus, seq_len, batch, top)
    notes += pl.notes
    choice = pl.best or pl.least_memory
    if choice is None:
        raise _no_layout(scn, n_gpus, pl)
    hint = batch_hint(scn, n_gpus, seq_len, batch, scale, choice)
    if hint:
        notes.append(hint)
    factor = practical_factor(scn)
    ranking = pl
    if factor < 1:
        choice = choice.at_practical(factor, PRACTICAL_GAP)
        notes.append(practical_note(factor))
        ranking = pl.model_copy(
            update={
                "choices": tuple(c.at_practical(factor, PRACTICAL_GAP) for c in pl.choices),
                "notes": (*pl.notes, practical_note(factor)),
            }
        )
    if scn.layout is None:
        notes.append(
            f"layout chosen by the planner ({pl.n_feasible:,} of {pl.n_candidates:,} "
            f"candidates fit): {choice.layout.describe()}"
        )
    if measured(scn):
        n_meas = len(scn.measured_steps) + (scn.measured_step_time_s is not None)
        notes.append(f"GEMM efficiency re-anchored x{scale:.3f} on {n_meas} measured step time(s)")
    return choice, ranking


def _run_notes(scn: Scenario, queue: QueueChoice, gp: Goodput, run: RunCost) -> list[str]:
    """Notes on the queue, the chain of jobs and the stale sources the run uses."""
    notes = []
    if queue.message and (queue.queue is None or not queue.queue.default):
        notes.append(queue.message)
    if gp.jobs > 1 and gp.inputs.job_wall_limit_h is not None:
        notes.append(
            f"longer than the {gp.inputs.job_wall_limit_h:g} h job limit: a chain of "
            f"{gp.jobs} jobs, each paying a restart and a checkpoint reload"
        )
    return notes + stale_notes(scn.system, scn.exchange_rates, run)


def _throughput(
    scn: Scenario, fpt: FlopsPerToken, n_gpus: int, choice: PlanChoice | None
) -> Throughput:
    if scn.mfu is not None or choice is None:
        return throughput_from_mfu(
            fpt, scn.system.accelerator, n_gpus, mfu=scn.mfu, precision=scn.precision
        )
    origin: Literal["planner", "measured"] = "measured" if measured(scn) else "planner"
    return throughput_from_plan(choice, fpt, n_gpus, scn.precision, origin, scn.calibration)


def estimate(scn: Scenario) -> Estimate:
    """The estimate of the run (see the module docstring)."""
    return estimate_with_plan(scn)[0]


def estimate_with_plan(scn: Scenario, top: int = 1) -> tuple[Estimate, Plan | None]:
    """The estimate and the planner's ranking of `top` layouts it chose from (one search;
    None without a calibration). `capacity plan` shows both."""
    model, system = scn.model, scn.system
    seq_len = scn.seq_len or model.seq_len
    notes: list[str] = []
    recompute = scn.layout.recompute if scn.layout else "selective"
    fpt = flops_per_token(model, seq_len, recompute)
    batch, batch_note = global_batch(scn, fpt)
    if batch_note:
        notes.append(batch_note)
    if scn.tokens < batch:
        raise CapacityError(
            f"{scn.tokens:,.4g} tokens is less than one optimizer step's global batch of "
            f"{batch:,.0f} tokens: train on more tokens or give a smaller --global-batch",
            field="tokens",
        )
    n_gpus, sized_plan = _job_gpus(scn, fpt, seq_len, batch, notes)
    _check_job(scn, n_gpus, seq_len)

    choice: PlanChoice | None = None
    ranking: Plan | None = None
    if scn.calibration is not None:
        choice, ranking = _planner_choice(scn, n_gpus, seq_len, batch, sized_plan, notes, top)
        layout, mem = choice.layout, choice.memory
    else:
        layout, mem = least_parallel_layout(model, system, scn.layout, n_gpus, seq_len, batch)
        notes.append("no efficiency calibration in the catalog: throughput from a published MFU")
    fpt = flops_per_token(model, seq_len, layout.recompute)
    thr = _throughput(scn, fpt, n_gpus, choice)
    prod_h = productive_h(scn, thr.tokens_per_s)
    gp = run_goodput(scn, n_gpus, prod_h)
    wall_h = prod_h / gp.ettr
    run = run_cost(system, n_gpus, wall_h)
    n_nodes = n_gpus / system.gpus_per_node

    reasons = memory_reasons(mem, layout)
    reasons += system_reasons(system, scn.days, n_gpus, n_nodes, wall_h)
    if scn.budget is not None:
        reasons += budget_reasons(
            scn.budget, fpt.model * scn.tokens, wall_h, run, system, scn.exchange_rates
        )
    queue = choose_queue(system, n_nodes, prod_h)
    notes += _run_notes(scn, queue, gp, run)
    band = band_for(
        scn.calibration,
        measured=measured(scn),
        layout_given=layout_given(scn),
        framework_known=scn.framework is not None,
        caveats=band_caveats(scn),
    )
    if gp is not None and gp.end_to_end_fraction > 0:
        band = with_end_to_end(band, scn.calibration)
    planner_step = choice is not None and scn.mfu is None
    est = Estimate(
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
        assumptions=tuple(assumptions(system, thr, run)),
        productive_h=prod_h,
        global_batch_tokens=choice.global_batch_tokens if choice else batch,
        step_time_s=choice.step_time_s if choice and planner_step else None,
        breakdown_s=dict(choice.breakdown_s) if choice and planner_step else {},
        goodput=gp,
        intervals=_intervals(wall_h, run, band),
        interval_note=None if band is None else band.explanation,
        queue=queue,
    )
    return est, ranking


def _intervals(wall_h: float, run: RunCost, band: Band | None) -> dict[str, Interval | None]:
    return {
        "wall_clock_days": interval(wall_h / HOURS_PER_DAY, band),
        "gpu_hours": interval(run.gpu_hours, band),
        "node_hours": interval(run.node_hours, band),
        "cost": interval(run.cost.amount if run.cost else None, band),
        "energy_mwh": interval(run.energy_mwh, band),
        "co2_t": interval(run.co2_t, band),
    }
