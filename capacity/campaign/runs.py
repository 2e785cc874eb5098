"""One [[runs]] entry costed on its system: hours, energy, cost, storage and its warnings.

`plan_run` checks the run against the partition (job size, nodes), the period (its
quarters and their length) and memory (through `estimate()`), warning for each miss.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict

from capacity.campaign.result import CampaignWarning, Quarter, RunPlan
from capacity.campaign.spec import (
    BYTES_PER_TB,
    CHECKPOINT_BYTES_FULL_STATE,
    CHECKPOINT_BYTES_WEIGHTS,
    KEEPS_FINAL_WEIGHTS,
    Campaign,
    CampaignError,
    CampaignRun,
    entry_name,
)
from capacity.catalog.schemas import EfficiencyCalibration, ExchangeRates, ModelSpec, Precision
from capacity.cost import Money, RunCost, convert, run_cost
from capacity.errors import CapacityError
from capacity.estimate import Estimate, Scenario, estimate
from capacity.measured import MeasuredStep
from capacity.queues import choose_queue
from capacity.system import System
from capacity.units import HOURS_PER_DAY
from capacity.workload import param_counts


def _precision(system: System) -> Precision:
    # V100-class parts have no bf16: they train in fp16 at the same tensor-core peak.
    return "bf16" if system.accelerator.peak_tflops_bf16 is not None else "fp16"


class _Costed(BaseModel):
    """The runs of one [[runs]] entry costed over its node counts (all `count` runs)."""

    model_config = ConfigDict(frozen=True)

    estimates: tuple[Estimate, ...]
    walls_h: tuple[float, ...]  # one job's wall-clock per node count
    gpu_hours: float
    node_hours: float
    units: float
    energy_mwh: float | None
    co2_t: float | None
    cost: Money | None
    memory_ok: bool


def _run_cost_at(
    run: CampaignRun,
    nodes: int,
    system: System,
    model: ModelSpec | None,
    rates: ExchangeRates | None,
    calibration: EfficiencyCalibration | None,
    where: str,
    measured: tuple[MeasuredStep, ...] = (),
) -> tuple[Estimate | None, RunCost, float]:
    """One job of the run on `nodes` nodes: its estimate (training runs), cost and wall-clock."""
    n_gpus = nodes * system.gpus_per_node
    if run.tokens is None:
        assert run.hours_per_job is not None
        return None, run_cost(system, n_gpus, run.hours_per_job), run.hours_per_job
    if model is None:
        raise CampaignError("no model resolved for this run", entry=where, field="model")
    # benchmark measurements on this system re-anchor the model (issue #13)
    scn = run_scenario(run, model, system, rates, calibration).model_copy(
        update={"n_gpus": n_gpus, "measured_steps": measured if run.mfu is None else ()}
    )
    try:
        est = estimate(scn)
    except CapacityError as exc:
        raise CampaignError(str(exc), entry=where, field=exc.field or "nodes") from None
    return est, est.run, est.wall_clock_h


def run_scenario(
    run: CampaignRun,
    model: ModelSpec,
    system: System,
    rates: ExchangeRates | None,
    calibration: EfficiencyCalibration | None,
) -> Scenario:
    """The scenario of a training run's entry on `system` (the job size left open): the
    template that each node count, or each site, copies."""
    assert run.tokens is not None
    return Scenario(
        model=model,
        tokens=run.tokens,
        system=system,
        seq_len=run.seq_len,
        mfu=run.mfu,
        precision=_precision(system),
        exchange_rates=rates,
        calibration=calibration,
    )


def _cost_run(
    run: CampaignRun,
    system: System,
    model: ModelSpec | None,
    rates: ExchangeRates | None,
    calibration: EfficiencyCalibration | None,
    warn: Any,
    where: str,
    measured: tuple[MeasuredStep, ...] = (),
) -> _Costed:
    """Add up hours, energy, CO2 and cost over the run's node counts, times `count`."""
    estimates: list[Estimate] = []
    walls: list[float] = []
    gpu_h = node_h = units = 0.0
    energy: float | None = 0.0
    co2: float | None = 0.0
    cost: Money | None = None
    memory_ok = True
    for nodes in run.node_counts:
        est, rc, wall = _run_cost_at(run, nodes, system, model, rates, calibration, where, measured)
        if est is not None:
            estimates.append(est)
            for reason in est.reasons:
                if reason.code == "memory":
                    memory_ok = False
                    warn("memory", f"{nodes} nodes: {reason.message}")
        walls.append(wall)
        gpu_h += rc.gpu_hours * run.count
        node_h += rc.node_hours * run.count
        units += rc.allocation_units * run.count
        energy = None if energy is None or rc.energy_mwh is None else energy + rc.energy_mwh
        co2 = None if co2 is None or rc.co2_t is None else co2 + rc.co2_t
        if rc.cost is not None:
            add = rc.cost.amount * run.count
            cost = Money(amount=(cost.amount if cost else 0.0) + add, currency=rc.cost.currency)
    return _Costed(
        estimates=tuple(estimates),
        walls_h=tuple(walls),
        gpu_hours=gpu_h,
        node_hours=node_h,
        units=units,
        energy_mwh=None if energy is None else energy * run.count,
        co2_t=None if co2 is None else co2 * run.count,
        cost=cost,
        memory_ok=memory_ok,
    )


def _partition_ok(run: CampaignRun, system: System, warn: Any) -> bool:
    """The largest job against the per-job node limit, the concurrent jobs against the nodes."""
    ok = True
    peak = max(run.node_counts)
    peak_concurrent = peak * min(run.concurrent, run.count)
    if system.max_nodes_per_job is not None and peak > system.max_nodes_per_job:
        ok = False
        warn(
            "partition",
            f"{peak} nodes per job exceeds the {system.max_nodes_per_job}-node limit of "
            f"{system.name} (needs a reservation or a smaller job)",
        )
    if system.nodes is not None and peak_concurrent > system.nodes:
        ok = False
        warn(
            "partition",
            f"{peak_concurrent} nodes at once but {system.name} has {system.nodes:,} nodes",
        )
    return ok


def _period_ok(
    run: CampaignRun,
    quarters: tuple[Quarter, ...],
    months: int,
    walls: tuple[float, ...],
    warn: Any,
) -> tuple[bool, tuple[int, ...], float]:
    """The run's quarters inside the period and its wall-clock within them.

    Returns (fits, the run's quarters, calendar hours of all `count` runs).
    """
    ok = True
    n_q = len(quarters)
    qs = run.quarters or tuple(range(1, n_q + 1))
    outside = [q for q in qs if q > n_q]
    if outside:
        ok = False
        warn(
            "period",
            f"quarter(s) {', '.join(f'Q{q}' for q in outside)} lie outside the "
            f"{months}-month period (Q1-Q{n_q})",
        )
    inside = [q for q in qs if q <= n_q]
    waves = math.ceil(run.count / min(run.concurrent, run.count))
    calendar_h = waves * sum(walls)
    available_h = sum(quarters[q - 1].hours for q in inside)
    if inside and calendar_h > available_h:
        ok = False
        warn(
            "period",
            f"takes {calendar_h / HOURS_PER_DAY:,.1f} days of wall-clock "
            f"({waves} after one another x {sum(walls):,.0f} h) but its quarters "
            f"({', '.join(f'Q{q}' for q in inside)}) last {available_h / HOURS_PER_DAY:,.0f} days",
        )
    return ok, qs, calendar_h


def _checkpoint_tb(run: CampaignRun, campaign: Campaign, model: ModelSpec | None) -> float:
    """Storage: full checkpoints kept during the run, the final weights at its end."""
    if model is None:
        return 0.0
    n_params = param_counts(model).total
    default_kept = campaign.storage.checkpoints_kept if run.kind in KEEPS_FINAL_WEIGHTS else 0
    kept = run.checkpoints_kept if run.checkpoints_kept is not None else default_kept
    per_run = kept * CHECKPOINT_BYTES_FULL_STATE.value * n_params
    if run.kind in KEEPS_FINAL_WEIGHTS:
        per_run += CHECKPOINT_BYTES_WEIGHTS.value * n_params
    return per_run * run.count * len(run.node_counts) / BYTES_PER_TB


def plan_run(
    index: int,
    run: CampaignRun,
    campaign: Campaign,
    system: System,
    model: ModelSpec | None,
    quarters: tuple[Quarter, ...],
    rates: ExchangeRates | None,
    calibration: EfficiencyCalibration | None,
    warnings: list[CampaignWarning],
    measured: tuple[MeasuredStep, ...] = (),
) -> RunPlan:
    where = entry_name("runs", index, run.name)

    def warn(code: Any, message: str) -> None:
        warnings.append(CampaignWarning(entry=where, code=code, message=message))

    costed = _cost_run(run, system, model, rates, calibration, warn, where, measured)
    partition_ok = _partition_ok(run, system, warn)
    # Each job size runs in the queue (QoS) that admits it and is chained by its wall time.
    choices = [
        choose_queue(system, n, w) for n, w in zip(run.node_counts, costed.walls_h, strict=True)
    ]
    for n, ch in zip(run.node_counts, choices, strict=True):
        if not ch.admits and ch.message:
            partition_ok = False
            warn("partition", ch.message)
        elif ch.special_access:
            warn("partition", f"{n} nodes: {ch.message}")
    jobs_chained = 1
    for w, ch in zip(costed.walls_h, choices, strict=True):
        if ch.wall_limit_h is not None:
            jobs_chained = max(jobs_chained, math.ceil(w / ch.wall_limit_h))
    period_ok, qs, calendar_h = _period_ok(
        run, quarters, campaign.campaign.months, costed.walls_h, warn
    )
    share = costed.units / len(qs)
    conv = None
    if costed.cost is not None:
        conv = convert(costed.cost, campaign.campaign.currency, rates)
    concurrent = min(run.concurrent, run.count)
    return RunPlan(
        index=index,
        name=run.name,
        kind=run.kind,
        system_id=run.system,
        model_name=None if model is None or run.model is None else model.name,
        params=None if model is None else float(param_counts(model).total),
        tokens=run.tokens,
        node_counts=run.node_counts,
        gpus_per_node=system.gpus_per_node,
        count=run.count,
        concurrent=concurrent,
        quarters=qs,
        wall_clock_h_per_job=costed.walls_h,
        jobs_chained=jobs_chained,
        calendar_h=calendar_h,
        billing_unit=system.allocation_unit,
        units=costed.units,
        gpu_hours=costed.gpu_hours,
        node_hours=costed.node_hours,
        units_by_quarter={q: share for q in qs},
        energy_mwh=costed.energy_mwh,
        co2_t=costed.co2_t,
        cost=costed.cost,
        cost_converted=conv,
        checkpoint_tb=_checkpoint_tb(run, campaign, model),
        peak_nodes=max(run.node_counts),
        peak_concurrent_nodes=max(run.node_counts) * concurrent,
        estimates=costed.estimates,
        mfu=costed.estimates[0].throughput.mfu if costed.estimates else None,
        feasible=costed.memory_ok and partition_ok and period_ok,
        queues=tuple(ch.name for ch in choices),
    )
