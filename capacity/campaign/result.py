"""The costed campaign: per run, per system and per quarter (what `plan_campaign` returns).

Frozen pydantic models; `CampaignPlan.to_json` is the stable `--json` document of
`capacity proposal`. The arithmetic that fills them lives in `capacity.campaign.plan`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from capacity import fmt
from capacity.calls import CallCheck
from capacity.campaign.spec import CampaignInfo, RunKind, entry_name
from capacity.cost import Money
from capacity.estimate import Estimate
from capacity.evidence import Evidence
from capacity.system import System
from capacity.verdict import Assumption


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
    code: Literal["partition", "allocation", "period", "memory", "access", "call", "data", "other"]
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
    queues: tuple[str | None, ...] = ()  # the QoS each node count runs in (None: no rules)

    @property
    def entry(self) -> str:
        return entry_name("runs", self.index, self.name)

    @property
    def steps(self) -> int | None:
        """Optimizer steps of one run (training runs): tokens / global batch."""
        if self.tokens is None or not self.estimates:
            return None
        batch = self.estimates[0].global_batch_tokens
        return None if not batch else math.ceil(self.tokens / batch)

    @property
    def step_time_s(self) -> float | None:
        """Predicted time per optimizer step at the first node count (None on the MFU path)."""
        return self.estimates[0].step_time_s if self.estimates else None

    @property
    def describe(self) -> str:
        nodes = "/".join(str(n) for n in self.node_counts)
        plural = "node" if self.node_counts == (1,) else "nodes"
        size = f"{self.count} x " if self.count > 1 else ""
        if self.tokens is not None:
            what = self.model_name or f"{fmt.count(self.params or 0)}-param model"
            return f"{size}{what} on {fmt.count(self.tokens)} tokens, {nodes} {plural}"
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
    # Proposal (issue #13): the call check, measured evidence, nodes in use per quarter.
    call_check: CallCheck | None = None
    evidence: Evidence | None = None
    weak_predicted: tuple[tuple[int, float | None], ...] = ()
    peak_nodes_by_quarter: dict[int, int] = {}

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
        """The stable `--json` document of `capacity proposal`.

        Long because it is the document itself, one literal with every key in the README's
        order; the JSON is produced here and nowhere else.
        """

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
                    "peak_nodes_by_quarter": {
                        f"Q{q}": n for q, n in s.peak_nodes_by_quarter.items()
                    },
                    "call": None if s.call_check is None else _call_json(s.call_check),
                    "measured": None if s.evidence is None else _evidence_json(s.evidence),
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
                    "queues": list(r.queues),
                    "steps": r.steps,
                    "step_time_s": r.step_time_s,
                }
                for r in self.runs
            ],
            "totals": {
                "energy_mwh": sum_or_none(s.energy_mwh for s in self.systems),
                "co2_t": sum_or_none(s.co2_t for s in self.systems),
                "storage_tb": sum(s.storage_tb for s in self.systems),
                "cost_converted": _total_money(self),
            },
            "warnings": [str(w) for w in self.warnings],
            "notes": list(self.notes),
        }


def _call_json(c: CallCheck) -> dict[str, Any]:
    return {
        "id": c.call_id,
        "unit": c.unit,
        "requested": c.requested,
        "min_request": c.min_request,
        "max_request": c.max_request,
        "pool_per_cutoff": c.pool_per_cutoff,
        "share_of_pool": c.share_of_pool,
        "warnings": list(c.warnings),
    }


def _evidence_json(ev: Evidence) -> dict[str, Any]:
    return {
        "source": ev.source,
        "points": [p.model_dump() for p in ev.points],
        "strong_batch_tokens": ev.strong_batch_tokens,
        "weak_tokens_per_gpu": ev.weak_tokens_per_gpu,
    }


def sum_or_none(values: Any) -> float | None:
    vals = list(values)
    if not vals or any(v is None for v in vals):
        return None
    return float(sum(vals))


def _total_money(plan: CampaignPlan) -> dict[str, Any] | None:
    vals = [s.cost_converted for s in plan.systems if s.cost is not None]
    if not vals or any(v is None for v in vals):
        return None
    return {"amount": sum(v.amount for v in vals if v), "currency": plan.info.currency}
