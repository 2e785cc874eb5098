"""A campaign: what a project will run over an allocation period, and the request it makes.

A campaign file (TOML, read at the edge by `capacity.report.campaign_io`) lists the
systems of the request and the runs: the main training run(s), ablations ("12 x 1B
models on 20B tokens"), scaling tests, evaluation and fine-tuning, each placed in
quarters of the allocation period. `plan_campaign` turns it into the request a
review panel reads: node-hours (or GPU-hours, per the system's billing unit) per
system, run and quarter, with the contingency margin; storage for the dataset and
the retained checkpoints; peak job size and wall time against the partition's
limits; the share of the system's capacity over the period (and of the part the
access route manages); energy and CO2; and a warning for every run that does not
fit the partition, the allocation or the period.

Pure: systems and models arrive resolved; runs are costed by `estimate()`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from capacity.campaign_spec import (
    BYTES_PER_TB,
    CHECKPOINT_BYTES_FULL_STATE,
    CHECKPOINT_BYTES_WEIGHTS,
    DEFAULT_CHECKPOINTS_KEPT,
    KEEPS_FINAL_WEIGHTS,
    MONTHS_PER_QUARTER,
    RUN_KINDS,
    Campaign,
    CampaignError,
    CampaignInfo,
    CampaignRun,
    CampaignSystem,
    RunKind,
    StorageInfo,
    entry_name,
)
from capacity.catalog.schemas import EfficiencyCalibration, ExchangeRates, ModelSpec, Precision
from capacity.cost import Money, run_cost
from capacity.errors import CapacityError
from capacity.estimate import Assumption, Estimate, Scenario, convert, estimate
from capacity.system import System
from capacity.units import HOURS_PER_DAY
from capacity.workload import param_counts

__all__ = [
    "BYTES_PER_TB",
    "CHECKPOINT_BYTES_FULL_STATE",
    "CHECKPOINT_BYTES_WEIGHTS",
    "DEFAULT_CHECKPOINTS_KEPT",
    "MONTHS_PER_QUARTER",
    "RUN_KINDS",
    "Campaign",
    "CampaignError",
    "CampaignInfo",
    "CampaignPlan",
    "CampaignRun",
    "CampaignSystem",
    "RunKind",
    "RunPlan",
    "StorageInfo",
    "SystemPlan",
    "plan_campaign",
]


class Quarter(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int  # 1-based
    start: dt.date
    end: dt.date  # exclusive
    hours: float

    @property
    def label(self) -> str:
        return f"Q{self.index}"

    @property
    def span(self) -> str:
        last = self.end - dt.timedelta(days=1)
        return f"{self.start:%Y-%m} to {last:%Y-%m}"


class CampaignWarning(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry: str  # "runs[0] 'main'" or "systems[1] 'cloud'"
    code: Literal["partition", "allocation", "period", "memory", "access", "other"]
    message: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.message}"


class RunPlan(BaseModel):
    """One [[runs]] entry costed on its system (all `count` runs together)."""

    model_config = ConfigDict(frozen=True)

    index: int
    name: str
    kind: RunKind
    system_id: str
    model_name: str | None
    params: float | None
    tokens: float | None
    node_counts: tuple[int, ...]
    gpus_per_node: int
    count: int
    concurrent: int
    quarters: tuple[int, ...]
    wall_clock_h_per_job: tuple[float, ...]  # one per node count
    jobs_chained: int  # jobs per run when a run outlasts the partition's wall-time limit
    calendar_h: float  # time the `count` runs take at `concurrent` at once
    billing_unit: str
    units: float  # in the system's billing unit, all runs
    gpu_hours: float
    node_hours: float
    units_by_quarter: dict[int, float]
    energy_mwh: float | None
    co2_t: float | None
    cost: Money | None
    cost_converted: Money | None
    checkpoint_tb: float
    peak_nodes: int  # largest node count of one job
    peak_concurrent_nodes: int
    estimates: tuple[Estimate, ...]  # training runs only, one per node count
    mfu: float | None
    feasible: bool

    @property
    def entry(self) -> str:
        return entry_name("runs", self.index, self.name)

    @property
    def describe(self) -> str:
        nodes = "/".join(str(n) for n in self.node_counts)
        plural = "node" if self.node_counts == (1,) else "nodes"
        size = f"{self.count} x " if self.count > 1 else ""
        if self.tokens is not None:
            what = self.model_name or f"{_human(self.params or 0)}-param model"
            return f"{size}{what} on {_human(self.tokens)} tokens, {nodes} {plural}"
        return f"{size}{self.wall_clock_h_per_job[0]:g} h on {nodes} {plural}"


class SystemPlan(BaseModel):
    """The request on one system: per run and quarter, totals with margin, storage, share."""

    model_config = ConfigDict(frozen=True)

    index: int
    id: str
    system: System
    access: str | None
    access_share: float | None
    access_share_source: str | None
    allocation: float | None
    billing_unit: str
    runs: tuple[str, ...]  # run names on this system
    units_by_quarter: dict[int, float]  # without margin
    subtotal: float
    contingency: float
    total: float  # with margin
    gpu_hours: float  # with margin
    node_hours: float  # with margin
    capacity_units: float | None  # the partition's whole capacity over the period
    share_of_capacity: float | None
    share_of_access: float | None  # of the part the access route manages
    dataset_tb: float
    checkpoint_tb: float
    peak_job_nodes: int
    peak_concurrent_nodes: int
    longest_job_h: float
    energy_mwh: float | None  # with margin
    co2_t: float | None  # with margin
    cost: Money | None  # with margin, in the system's currency
    cost_converted: Money | None  # in the campaign currency

    @property
    def entry(self) -> str:
        return entry_name("systems", self.index, self.id)

    @property
    def storage_tb(self) -> float:
        return self.dataset_tb + self.checkpoint_tb


class CampaignPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    info: CampaignInfo
    quarters: tuple[Quarter, ...]
    period_hours: float
    runs: tuple[RunPlan, ...]
    systems: tuple[SystemPlan, ...]
    warnings: tuple[CampaignWarning, ...]
    notes: tuple[str, ...]
    assumptions: tuple[Assumption, ...]

    @property
    def period_end(self) -> dt.date:
        return self.quarters[-1].end

    def to_json(self) -> dict[str, Any]:
        """The stable `--json` document of `capacity proposal`."""

        def money(m: Money | None) -> dict[str, Any] | None:
            return None if m is None else {"amount": m.amount, "currency": m.currency}

        return {
            "campaign": self.info.name,
            "project": self.info.project,
            "call": self.info.call,
            "period": {
                "start": str(self.info.start),
                "end": str(self.period_end),
                "months": self.info.months,
                "hours": self.period_hours,
            },
            "contingency_fraction": self.info.contingency_fraction,
            "quarters": [
                {"quarter": q.index, "start": str(q.start), "end": str(q.end), "hours": q.hours}
                for q in self.quarters
            ],
            "systems": [
                {
                    "id": s.id,
                    "system": s.system.id,
                    "name": s.system.name,
                    "access": s.access,
                    "billing_unit": s.billing_unit,
                    "units_by_quarter": {f"Q{q}": v for q, v in s.units_by_quarter.items()},
                    "subtotal": s.subtotal,
                    "contingency": s.contingency,
                    "total": s.total,
                    "gpu_hours": s.gpu_hours,
                    "node_hours": s.node_hours,
                    "allocation": s.allocation,
                    "capacity_units": s.capacity_units,
                    "share_of_capacity": s.share_of_capacity,
                    "access_share": s.access_share,
                    "share_of_access": s.share_of_access,
                    "dataset_tb": s.dataset_tb,
                    "checkpoint_tb": s.checkpoint_tb,
                    "storage_tb": s.storage_tb,
                    "peak_job_nodes": s.peak_job_nodes,
                    "max_nodes_per_job": s.system.max_nodes_per_job,
                    "peak_concurrent_nodes": s.peak_concurrent_nodes,
                    "longest_job_h": s.longest_job_h,
                    "max_wall_time_h": s.system.max_wall_time_h,
                    "energy_mwh": s.energy_mwh,
                    "co2_t": s.co2_t,
                    "cost": money(s.cost),
                    "cost_converted": money(s.cost_converted),
                }
                for s in self.systems
            ],
            "runs": [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "system": r.system_id,
                    "model": r.model_name,
                    "params": r.params,
                    "tokens": r.tokens,
                    "nodes": list(r.node_counts),
                    "count": r.count,
                    "quarters": list(r.quarters),
                    "wall_clock_h_per_job": list(r.wall_clock_h_per_job),
                    "billing_unit": r.billing_unit,
                    "units": r.units,
                    "units_by_quarter": {f"Q{q}": v for q, v in r.units_by_quarter.items()},
                    "gpu_hours": r.gpu_hours,
                    "node_hours": r.node_hours,
                    "energy_mwh": r.energy_mwh,
                    "co2_t": r.co2_t,
                    "cost": money(r.cost),
                    "checkpoint_tb": r.checkpoint_tb,
                    "mfu": r.mfu,
                    "feasible": r.feasible,
                }
                for r in self.runs
            ],
            "totals": {
                "energy_mwh": _sum_or_none(s.energy_mwh for s in self.systems),
                "co2_t": _sum_or_none(s.co2_t for s in self.systems),
                "storage_tb": sum(s.storage_tb for s in self.systems),
                "cost_converted": _total_money(self),
            },
            "warnings": [str(w) for w in self.warnings],
            "notes": list(self.notes),
        }


def _sum_or_none(values: Any) -> float | None:
    vals = list(values)
    if not vals or any(v is None for v in vals):
        return None
    return float(sum(vals))


def _total_money(plan: CampaignPlan) -> dict[str, Any] | None:
    vals = [s.cost_converted for s in plan.systems if s.cost is not None]
    if not vals or any(v is None for v in vals):
        return None
    return {"amount": sum(v.amount for v in vals if v), "currency": plan.info.currency}


def _human(value: float) -> str:
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale * 0.9995:  # 999.7M reads as 1B, not 1e+03M
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (clamped to the month's last day)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def quarters_of(start: dt.date, months: int) -> tuple[Quarter, ...]:
    """Quarters of the allocation period, the last one shorter when months % 3 != 0."""
    out = []
    for i in range(math.ceil(months / MONTHS_PER_QUARTER)):
        q_start = add_months(start, i * MONTHS_PER_QUARTER)
        q_end = add_months(start, min((i + 1) * MONTHS_PER_QUARTER, months))
        out.append(
            Quarter(
                index=i + 1, start=q_start, end=q_end, hours=(q_end - q_start).days * HOURS_PER_DAY
            )
        )
    return tuple(out)


def plan_campaign(
    campaign: Campaign,
    systems: Mapping[str, System],
    models: Mapping[str, ModelSpec],
    rates: ExchangeRates | None = None,
    calibration: EfficiencyCalibration | None = None,
) -> CampaignPlan:
    """Cost every run and add the request up per system and quarter.

    systems: [[systems]] id -> resolved System; models: run name -> ModelSpec (training runs);
    calibration: the step-time model's efficiencies (the planner), None for the MFU path.
    """
    campaign.check_references()
    info = campaign.campaign
    quarters = quarters_of(info.start, info.months)
    period_h = sum(q.hours for q in quarters)
    warnings: list[CampaignWarning] = []
    notes: list[str] = []
    run_plans = [
        _plan_run(
            i,
            run,
            campaign,
            systems[run.system],
            models.get(run.name),
            quarters,
            rates,
            calibration,
            warnings,
        )
        for i, run in enumerate(campaign.runs)
    ]
    for rp in run_plans:
        if rp.jobs_chained > 1:
            sys_ = systems[rp.system_id]
            notes.append(
                f"{rp.entry}: a run takes {max(rp.wall_clock_h_per_job):,.0f} h, longer than the "
                f"{sys_.max_wall_time_h:g} h job limit of {sys_.name}: "
                f"{rp.jobs_chained} chained jobs, restarting from checkpoints"
            )
    sys_plans = [
        _plan_system(i, entry, systems[entry.id], run_plans, info, period_h, warnings)
        for i, entry in enumerate(campaign.systems)
    ]
    return CampaignPlan(
        info=info,
        quarters=quarters,
        period_hours=period_h,
        runs=tuple(run_plans),
        systems=tuple(sys_plans),
        warnings=tuple(warnings),
        notes=tuple(notes),
        assumptions=tuple(_assumptions(campaign, sys_plans, run_plans)),
    )


def _precision(system: System) -> Precision:
    # V100-class parts have no bf16: they train in fp16 at the same tensor-core peak.
    return "bf16" if system.accelerator.peak_tflops_bf16 is not None else "fp16"


def _plan_run(
    index: int,
    run: CampaignRun,
    campaign: Campaign,
    system: System,
    model: ModelSpec | None,
    quarters: tuple[Quarter, ...],
    rates: ExchangeRates | None,
    calibration: EfficiencyCalibration | None,
    warnings: list[CampaignWarning],
) -> RunPlan:
    where = entry_name("runs", index, run.name)

    def warn(code: Any, message: str) -> None:
        warnings.append(CampaignWarning(entry=where, code=code, message=message))

    gpn = system.gpus_per_node
    estimates: list[Estimate] = []
    walls: list[float] = []
    gpu_h = node_h = units = 0.0
    energy: float | None = 0.0
    co2: float | None = 0.0
    cost: Money | None = None
    feasible = True
    for nodes in run.node_counts:
        if run.tokens is not None:
            if model is None:
                raise CampaignError("no model resolved for this run", entry=where, field="model")
            try:
                est = estimate(
                    Scenario(
                        model=model,
                        tokens=run.tokens,
                        system=system,
                        n_gpus=nodes * gpn,
                        seq_len=run.seq_len,
                        mfu=run.mfu,
                        precision=_precision(system),
                        exchange_rates=rates,
                        calibration=calibration,
                    )
                )
            except CapacityError as exc:
                raise CampaignError(str(exc), entry=where, field=exc.field or "nodes") from None
            estimates.append(est)
            rc, wall = est.run, est.wall_clock_h
            for reason in est.reasons:
                if reason.code == "memory":
                    feasible = False
                    warn("memory", f"{nodes} nodes: {reason.message}")
        else:
            assert run.hours_per_job is not None
            wall = run.hours_per_job
            rc = run_cost(system, nodes * gpn, wall)
        walls.append(wall)
        gpu_h += rc.gpu_hours * run.count
        node_h += rc.node_hours * run.count
        units += rc.allocation_units * run.count
        energy = None if energy is None or rc.energy_mwh is None else energy + rc.energy_mwh
        co2 = None if co2 is None or rc.co2_t is None else co2 + rc.co2_t
        if rc.cost is not None:
            add = rc.cost.amount * run.count
            cost = Money(amount=(cost.amount if cost else 0.0) + add, currency=rc.cost.currency)
    energy = None if energy is None else energy * run.count
    co2 = None if co2 is None else co2 * run.count

    # Partition limits.
    peak = max(run.node_counts)
    concurrent = min(run.concurrent, run.count)
    peak_concurrent = peak * concurrent
    if system.max_nodes_per_job is not None and peak > system.max_nodes_per_job:
        feasible = False
        warn(
            "partition",
            f"{peak} nodes per job exceeds the {system.max_nodes_per_job}-node limit of "
            f"{system.name} (needs a reservation or a smaller job)",
        )
    if system.nodes is not None and peak_concurrent > system.nodes:
        feasible = False
        warn(
            "partition",
            f"{peak_concurrent} nodes at once but {system.name} has {system.nodes:,} nodes",
        )
    jobs_chained = 1
    if system.max_wall_time_h is not None:
        jobs_chained = max(math.ceil(w / system.max_wall_time_h) for w in walls)

    # The period.
    n_q = len(quarters)
    qs = run.quarters or tuple(range(1, n_q + 1))
    outside = [q for q in qs if q > n_q]
    if outside:
        feasible = False
        warn(
            "period",
            f"quarter(s) {', '.join(f'Q{q}' for q in outside)} lie outside the "
            f"{campaign.campaign.months}-month period (Q1-Q{n_q})",
        )
    inside = [q for q in qs if q <= n_q]
    waves = math.ceil(run.count / concurrent)
    calendar_h = waves * sum(walls)
    available_h = sum(quarters[q - 1].hours for q in inside)
    if inside and calendar_h > available_h:
        feasible = False
        warn(
            "period",
            f"takes {calendar_h / HOURS_PER_DAY:,.1f} days of wall-clock "
            f"({waves} after one another x {sum(walls):,.0f} h) but its quarters "
            f"({', '.join(f'Q{q}' for q in inside)}) last {available_h / HOURS_PER_DAY:,.0f} days",
        )
    share = units / len(qs)
    by_q = {q: share for q in qs}

    # Storage: full checkpoints kept during the run, the final weights at its end.
    ckpt_tb = 0.0
    if model is not None:
        n_params = param_counts(model).total
        default_kept = campaign.storage.checkpoints_kept if run.kind in KEEPS_FINAL_WEIGHTS else 0
        kept = run.checkpoints_kept if run.checkpoints_kept is not None else default_kept
        per_run = kept * CHECKPOINT_BYTES_FULL_STATE.value * n_params
        if run.kind in KEEPS_FINAL_WEIGHTS:
            per_run += CHECKPOINT_BYTES_WEIGHTS.value * n_params
        ckpt_tb = per_run * run.count * len(run.node_counts) / BYTES_PER_TB

    conv = None
    if cost is not None:
        conv = convert(cost, campaign.campaign.currency, rates)
    return RunPlan(
        index=index,
        name=run.name,
        kind=run.kind,
        system_id=run.system,
        model_name=None if model is None or run.model is None else model.name,
        params=None if model is None else float(param_counts(model).total),
        tokens=run.tokens,
        node_counts=run.node_counts,
        gpus_per_node=gpn,
        count=run.count,
        concurrent=concurrent,
        quarters=qs,
        wall_clock_h_per_job=tuple(walls),
        jobs_chained=jobs_chained,
        calendar_h=calendar_h,
        billing_unit=system.allocation_unit,
        units=units,
        gpu_hours=gpu_h,
        node_hours=node_h,
        units_by_quarter=by_q,
        energy_mwh=energy,
        co2_t=co2,
        cost=cost,
        cost_converted=conv,
        checkpoint_tb=ckpt_tb,
        peak_nodes=peak,
        peak_concurrent_nodes=peak_concurrent,
        estimates=tuple(estimates),
        mfu=estimates[0].throughput.mfu if estimates else None,
        feasible=feasible,
    )


def _plan_system(
    index: int,
    entry: CampaignSystem,
    system: System,
    runs: list[RunPlan],
    info: CampaignInfo,
    period_h: float,
    warnings: list[CampaignWarning],
) -> SystemPlan:
    where = entry_name("systems", index, entry.id)

    def warn(code: Any, message: str) -> None:
        warnings.append(CampaignWarning(entry=where, code=code, message=message))

    mine = [r for r in runs if r.system_id == entry.id]
    if not mine:
        warn("other", "no run uses this system")
    margin = 1 + info.contingency_fraction
    by_q: dict[int, float] = {}
    for r in mine:
        for q, v in r.units_by_quarter.items():
            by_q[q] = by_q.get(q, 0.0) + v
    by_q = dict(sorted(by_q.items()))
    subtotal = sum(r.units for r in mine)
    total = subtotal * margin
    if system.nodes is None:
        capacity = None
    elif system.allocation_unit == "node-hour":
        capacity = system.nodes * period_h
    else:
        capacity = system.nodes * system.gpus_per_node * period_h
    share = None if capacity is None else total / capacity
    share_access = None
    if share is not None and entry.access_share is not None:
        share_access = share / entry.access_share
    unit = system.allocation_unit
    if entry.allocation is not None and total > entry.allocation * (1 + 1e-9):
        warn(
            "allocation",
            f"the request ({total:,.0f} {unit}s with margin) exceeds the allocation of "
            f"{entry.allocation:,.0f} {unit}s",
        )
    if share_access is not None and share_access > 1:
        warn(
            "allocation",
            f"the request is {share_access:.0%} of what {entry.access or 'the access route'} "
            f"manages on {system.name} over the period",
        )
    elif share is not None and share > 1:
        warn(
            "allocation",
            f"the request is {share:.0%} of the whole capacity of {system.name} over the period",
        )
    if entry.access is not None and system.access and entry.access not in system.access:
        close = [a for a in system.access if entry.access.lower() in a.lower()]
        if not close:
            warn(
                "access",
                f"access route '{entry.access}' is not one the catalog lists for {system.name} "
                f"({'; '.join(system.access)})",
            )
    cost = None
    conv = None
    costs = [r.cost for r in mine if r.cost is not None]
    if costs:
        cost = Money(amount=sum(c.amount for c in costs) * margin, currency=costs[0].currency)
        convs = [r.cost_converted for r in mine if r.cost is not None]
        if all(c is not None for c in convs):
            conv = Money(amount=sum(c.amount for c in convs if c) * margin, currency=info.currency)
    energy = _sum_or_none(r.energy_mwh for r in mine)
    co2 = _sum_or_none(r.co2_t for r in mine)
    return SystemPlan(
        index=index,
        id=entry.id,
        system=system,
        access=entry.access,
        access_share=entry.access_share,
        access_share_source=entry.access_share_source,
        allocation=entry.allocation,
        billing_unit=unit,
        runs=tuple(r.name for r in mine),
        units_by_quarter=by_q,
        subtotal=subtotal,
        contingency=total - subtotal,
        total=total,
        gpu_hours=sum(r.gpu_hours for r in mine) * margin,
        node_hours=sum(r.node_hours for r in mine) * margin,
        capacity_units=capacity,
        share_of_capacity=share,
        share_of_access=share_access,
        dataset_tb=entry.dataset_tb,
        checkpoint_tb=sum(r.checkpoint_tb for r in mine),
        peak_job_nodes=max((r.peak_nodes for r in mine), default=0),
        peak_concurrent_nodes=max((r.peak_concurrent_nodes for r in mine), default=0),
        longest_job_h=max((max(r.wall_clock_h_per_job) for r in mine), default=0.0),
        energy_mwh=None if energy is None else energy * margin,
        co2_t=None if co2 is None else co2 * margin,
        cost=cost,
        cost_converted=conv,
    )


def _assumptions(
    campaign: Campaign, systems: list[SystemPlan], runs: list[RunPlan]
) -> list[Assumption]:
    out = [
        Assumption(
            name="contingency margin",
            value=f"{campaign.campaign.contingency_fraction:.0%} on every system's total",
            source="campaign file",
        ),
        Assumption(
            name="checkpoint size (full state)",
            value=f"{CHECKPOINT_BYTES_FULL_STATE.value:g} {CHECKPOINT_BYTES_FULL_STATE.unit}",
            source=CHECKPOINT_BYTES_FULL_STATE.source,
        ),
        Assumption(
            name="final weights",
            value=f"{CHECKPOINT_BYTES_WEIGHTS.value:g} {CHECKPOINT_BYTES_WEIGHTS.unit}",
            source=CHECKPOINT_BYTES_WEIGHTS.source,
        ),
        Assumption(
            name="checkpoints kept per run",
            value=f"{campaign.storage.checkpoints_kept}",
            source="campaign file [storage]"
            if "storage" in campaign.model_fields_set
            else DEFAULT_CHECKPOINTS_KEPT.source,
        ),
    ]
    for s in systems:
        if s.access_share is not None:
            out.append(
                Assumption(
                    name=f"{s.access or 'access route'} share of {s.system.name}",
                    value=f"{s.access_share:.0%}",
                    source=s.access_share_source or "campaign file",
                )
            )
    seen: set[str] = set()
    for r in runs:
        for est in r.estimates[:1]:
            for a in est.assumptions:
                key = f"{a.name}|{a.value}"
                if key not in seen:
                    seen.add(key)
                    out.append(a)
    return out
