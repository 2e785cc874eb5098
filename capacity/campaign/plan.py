"""A campaign: what a project will run over an allocation period, and the request it makes.

A campaign file (TOML, read at the edge by `capacity.campaign.io`) lists the
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
from typing import Any

from capacity.calls import check_request
from capacity.campaign.multisite_runs import plan_multisite_run
from capacity.campaign.result import (
    CampaignPlan,
    CampaignWarning,
    Quarter,
    RunPlan,
    SystemPlan,
    sum_or_none,
)
from capacity.campaign.runs import plan_run
from capacity.campaign.spec import (
    CHECKPOINT_BYTES_FULL_STATE,
    CHECKPOINT_BYTES_WEIGHTS,
    DEFAULT_CHECKPOINTS_KEPT,
    MONTHS_PER_QUARTER,
    Campaign,
    CampaignInfo,
    CampaignSystem,
    entry_name,
)
from capacity.catalog.schemas import (
    Call,
    EfficiencyCalibration,
    ExchangeRates,
    ModelSpec,
    WanSite,
)
from capacity.cost import Money
from capacity.evidence import measured_evidence, predicted_weak_scaling
from capacity.measured import MeasuredStep
from capacity.queues import choose_queue
from capacity.system import System
from capacity.units import HOURS_PER_DAY
from capacity.verdict import Assumption


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
    wan: Mapping[str, WanSite] | None = None,
    *,
    calls: Mapping[str, Call] | None = None,
    measured: Mapping[str, tuple[MeasuredStep, ...]] | None = None,
) -> CampaignPlan:
    """Cost every run and add the request up per system and quarter.

    systems: [[systems]] id -> resolved System; models: run name -> ModelSpec (training runs);
    calibration: the step-time model's efficiencies (the planner), None for the MFU path;
    wan: catalog WAN records by cluster id, for runs spread over several systems (`sites`);
    calls: the access call per [[systems]] id; measured: benchmark steps per [[systems]] id.
    """
    calls = calls or {}
    measured = measured or {}
    campaign.check_references()
    info = campaign.campaign
    quarters = quarters_of(info.start, info.months)
    period_h = sum(q.hours for q in quarters)
    warnings: list[CampaignWarning] = []
    notes: list[str] = []
    run_plans: list[RunPlan] = []
    for i, run in enumerate(campaign.runs):
        if run.sites is not None:  # one run over several systems: a plan per site
            plans, note = plan_multisite_run(
                i,
                run,
                campaign,
                systems,
                models.get(run.name),
                quarters,
                rates,
                calibration,
                wan or {},
                warnings,
            )
            run_plans += plans
            notes.append(note)
            continue
        run_plans.append(
            plan_run(
                i,
                run,
                campaign,
                systems[run.system],
                models.get(run.name),
                quarters,
                rates,
                calibration,
                warnings,
                measured.get(run.system, ()) if _measured_model(campaign, run) else (),
            )
        )
    notes += _queue_notes(run_plans, systems)
    sys_plans = [
        _plan_system(i, entry, systems[entry.id], run_plans, info, period_h, warnings)
        for i, entry in enumerate(campaign.systems)
    ]
    sys_plans = [
        _with_call_and_evidence(
            s, calls.get(s.id), measured.get(s.id, ()), campaign, models, run_plans, warnings
        )
        for s in sys_plans
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
    if entry.dataset_tb == 0 and any(r.tokens is not None for r in mine):
        warn("data", "dataset_tb is 0: the training data's storage is missing from the request")
    # Runs placed in the same quarter may overlap: the nodes they hold at once, at most.
    peak_by_q: dict[int, int] = {}
    for r in mine:
        for q in r.quarters:
            peak_by_q[q] = peak_by_q.get(q, 0) + r.peak_concurrent_nodes
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
    _request_warnings(entry, system, total, share, share_access, warn)
    cost, conv = _system_cost(mine, margin, info.currency)
    energy = sum_or_none(r.energy_mwh for r in mine)
    co2 = sum_or_none(r.co2_t for r in mine)
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
        peak_concurrent_nodes=max(peak_by_q.values(), default=0),
        peak_nodes_by_quarter=dict(sorted(peak_by_q.items())),
        longest_job_h=max((max(r.wall_clock_h_per_job) for r in mine), default=0.0),
        energy_mwh=None if energy is None else energy * margin,
        co2_t=None if co2 is None else co2 * margin,
        cost=cost,
        cost_converted=conv,
    )


def _measured_model(campaign: Campaign, run: Any) -> bool:
    """Measured steps re-anchor the runs of the model that was measured: the system's
    `measured_steps_model`, else the model of its first main run (others keep the model)."""
    entry = next((e for e in campaign.systems if e.id == run.system), None)
    if entry is None or entry.measured_steps is None or run.model is None:
        return False
    model = entry.measured_steps_model
    if model is None:
        mains = [r for r in campaign.runs if r.system == run.system and r.kind == "main"]
        model = mains[0].model if mains else None
    return model == run.model


def _queue_notes(runs: list[RunPlan], systems: Mapping[str, System]) -> list[str]:
    """Which QoS each job size needs, the chains they make, and evenly spread runs."""
    out = []
    for rp in runs:
        sys_ = systems.get(rp.system_id)
        if sys_ is None:
            continue
        walls = rp.wall_clock_h_per_job
        for n, name, w in zip(rp.node_counts, rp.queues, walls, strict=False):
            ch = choose_queue(sys_, n, w)
            if name is not None and ch.queue is not None and not ch.queue.default:
                out.append(f"{rp.entry}: {n} nodes run in {ch.message}")
        if rp.jobs_chained > 1:
            ch = choose_queue(sys_, max(rp.node_counts), max(walls))
            what = (
                f"the {ch.wall_limit_h:g} h wall time of {ch.name}"
                if ch.name
                else (f"the {sys_.max_wall_time_h:g} h job limit of {sys_.name}")
            )
            out.append(
                f"{rp.entry}: a run takes {max(rp.wall_clock_h_per_job):,.0f} h, longer than "
                f"{what}: {rp.jobs_chained} chained jobs, restarting from checkpoints"
            )
        if rp.kind == "main" and len(rp.quarters) > 1:
            out.append(
                f"{rp.entry}: its hours are spread evenly over "
                f"{', '.join(f'Q{q}' for q in rp.quarters)} (the plan does not date the run "
                "inside its quarters)"
            )
    return out


def _with_call_and_evidence(
    s: SystemPlan,
    call: Call | None,
    steps: tuple[MeasuredStep, ...],
    campaign: Campaign,
    models: Mapping[str, ModelSpec],
    runs: list[RunPlan],
    warnings: list[CampaignWarning],
) -> SystemPlan:
    """The system's request checked against its call; its measured steps as evidence."""
    update: dict[str, Any] = {}
    if call is not None:
        chk = check_request(call, s.system, s.node_hours, campaign.campaign.months)
        update["call_check"] = chk
        warnings += [CampaignWarning(entry=s.entry, code="call", message=w) for w in chk.warnings]
    if steps:
        mine = [r for r in runs if r.system_id == s.id and r.estimates]
        anchored = [r for r in mine if r.estimates[0].scenario.measured_steps]
        main = [r for r in anchored if r.kind == "main"] or anchored
        if main:
            scn = main[0].estimates[0].scenario
            src = next((e.measured_steps_source for e in campaign.systems if e.id == s.id), None)
            ev = measured_evidence(scn, steps, src)
            update["evidence"] = ev
            per_gpu = ev.weak_tokens_per_gpu or (
                ev.points[0].global_batch_tokens / ev.points[0].gpus
            )
            counts = sorted({p.gpus for p in ev.points} | {scn.n_gpus or 0} - {0})
            update["weak_predicted"] = tuple(predicted_weak_scaling(scn, per_gpu, counts))
    return s.model_copy(update=update) if update else s


def _request_warnings(
    entry: CampaignSystem,
    system: System,
    total: float,
    share: float | None,
    share_access: float | None,
    warn: Any,
) -> None:
    """The request against the allocation, the access route's part and the catalog's routes."""
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


def _system_cost(
    mine: list[RunPlan], margin: float, currency: str
) -> tuple[Money | None, Money | None]:
    """The runs' cost with the margin, native and converted (None where unknown)."""
    cost = None
    conv = None
    costs = [r.cost for r in mine if r.cost is not None]
    if costs:
        cost = Money(amount=sum(c.amount for c in costs) * margin, currency=costs[0].currency)
        convs = [r.cost_converted for r in mine if r.cost is not None]
        if all(c is not None for c in convs):
            conv = Money(amount=sum(c.amount for c in convs if c) * margin, currency=currency)
    return cost, conv


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
