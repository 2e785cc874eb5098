"""The proposal pack's tables as rows of text, shared by request.md and proposal.html.

Per system: request per run and quarter, share of capacity, job limits, storage, energy,
milestones, the access call, billing units and measured evidence; and the data-management
paragraphs.
"""

from __future__ import annotations

import datetime as dt

from capacity.campaign import CampaignPlan, SystemPlan
from capacity.catalog.loader import Catalog
from capacity.estimate import Assumption
from capacity.report import html as h
from capacity.report.data import STRONG_SCALING_EFFICIENCY_FLOOR
from capacity.report.estimate_report import validation_assumptions
from capacity.rounding import largest_remainder


def _unit_label(unit: str) -> str:
    return {"node-hour": "node-hours", "gpu-hour": "GPU-hours"}.get(unit, unit + "s")


def _period(plan: CampaignPlan) -> str:
    last = plan.period_end - dt.timedelta(days=1)
    return f"{plan.info.start.isoformat()} to {last.isoformat()} ({plan.info.months} months)"


def all_assumptions(plan: CampaignPlan, catalog: Catalog) -> list[Assumption]:
    out = list(plan.assumptions)
    out.append(
        Assumption(
            name="strong-scaling efficiency floor",
            value=f"{STRONG_SCALING_EFFICIENCY_FLOOR.value:.0%}",
            source=STRONG_SCALING_EFFICIENCY_FLOOR.source,
        )
    )
    out.extend(validation_assumptions(catalog.efficiency.get("calibration")))
    return out


def _quarter_rows(plan: CampaignPlan, s: SystemPlan) -> tuple[list[str], list[list[str]]]:
    """Run x quarter table. Shown parts add up to shown totals (largest-remainder rounding)."""
    qs = plan.quarters
    headers = ["run", "kind", "what", *(q.label for q in qs), "total"]
    rows: list[list[str]] = []
    for r in plan.runs:
        if r.system_id != s.id:
            continue
        parts = largest_remainder([r.units_by_quarter.get(q.index, 0.0) for q in qs])
        cells = [*(_int_or_dash(v) for v in parts), _whole(r.units)]
        rows.append([r.name, r.kind, r.describe, *cells])
    sub = largest_remainder([s.units_by_quarter.get(q.index, 0.0) for q in qs])
    rows.append(["subtotal", "", "", *(_int_or_dash(v) for v in sub), _whole(s.subtotal)])
    margin = plan.info.contingency_fraction
    rows.append([f"contingency ({margin:.0%})", "", "", *("" for _ in qs), _whole(s.contingency)])
    tot = largest_remainder([s.units_by_quarter.get(q.index, 0.0) * (1 + margin) for q in qs])
    rows.append(["total with margin", "", "", *(_int_or_dash(v) for v in tot), _whole(s.total)])
    return headers, rows


def _whole(v: float) -> str:
    """A total as the sum of its largest-remainder parts shows it (round half up)."""
    return h.fmt_int(float(round(v)))


def _quarter_legend(plan: CampaignPlan) -> str:
    return "Quarters: " + "; ".join(f"{q.label} = {q.span}" for q in plan.quarters) + "."


def _int_or_dash(v: float | None) -> str:
    return "–" if not v else h.fmt_int(v)


def _share_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        unit = _unit_label(s.billing_unit)
        rows.append(
            [
                s.id,
                f"{h.fmt_int(s.total)} {unit}",
                "elastic (no fixed capacity)"
                if s.capacity_units is None
                else f"{h.fmt_int(s.capacity_units)} {unit}",
                h.fmt_pct(s.share_of_capacity, 2),
                s.access or "—",
                "—" if s.access_share is None else f"{s.access_share:.0%}",
                h.fmt_pct(s.share_of_access, 2),
                "—" if s.allocation is None else f"{h.fmt_int(s.allocation)} {unit}",
            ]
        )
    return rows


SHARE_HEADERS = [
    "system",
    "request (with margin)",
    "capacity over the period",
    "share of capacity",
    "access route",
    "route's share of the system",
    "share of the route's part",
    "allocation ceiling",
]


def _limit_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        sysm = s.system
        rows.append(
            [
                s.id,
                f"{s.peak_job_nodes:,}",
                "none published"
                if sysm.max_nodes_per_job is None
                else f"{sysm.max_nodes_per_job:,}",
                f"{s.peak_concurrent_nodes:,}",
                "elastic" if sysm.nodes is None else f"{sysm.nodes:,}",
                h.fmt_num(s.longest_job_h),
                "none" if sysm.max_wall_time_h is None else f"{sysm.max_wall_time_h:g}",
                _queues_used(plan, s),
            ]
        )
    return rows


def _queues_used(plan: CampaignPlan, s: SystemPlan) -> str:
    """The QoS the runs use, with the job sizes that need each one."""
    by_q: dict[str, set[int]] = {}
    for r in plan.runs:
        if r.system_id != s.id:
            continue
        for n, q in zip(r.node_counts, r.queues, strict=False):
            if q is not None:
                by_q.setdefault(q, set()).add(n)
    if not by_q:
        return "no QoS rules in the catalog"
    return "; ".join(
        f"{q} ({', '.join(str(n) for n in sorted(ns))} nodes)" for q, ns in by_q.items()
    )


LIMIT_HEADERS = [
    "system",
    "largest job (nodes)",
    "job limit (nodes)",
    "most nodes at once (runs of a quarter overlapping)",
    "partition nodes",
    "longest run (h)",
    "wall-time limit (h)",
    "queue (QoS) per job size",
]


def _storage_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        rows.append(
            [s.id, h.fmt_num(s.dataset_tb), h.fmt_num(s.checkpoint_tb), h.fmt_num(s.storage_tb)]
        )
    rows.append(
        [
            "total",
            h.fmt_num(sum(s.dataset_tb for s in plan.systems)),
            h.fmt_num(sum(s.checkpoint_tb for s in plan.systems)),
            h.fmt_num(sum(s.storage_tb for s in plan.systems)),
        ]
    )
    return rows


STORAGE_HEADERS = ["system", "dataset (TB)", "checkpoints kept (TB)", "total (TB)"]


def _energy_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        rows.append(
            [
                s.id,
                h.fmt_num(s.energy_mwh),
                h.fmt_num(s.co2_t),
                f"{s.system.grid.gco2_per_kwh:g} ({s.system.grid.name}, {s.system.grid.year})",
                "—" if s.cost is None else h.fmt_money(s.cost.amount, s.cost.currency),
            ]
        )
    totals = plan.to_json()["totals"]
    money = totals["cost_converted"]
    rows.append(
        [
            "total",
            h.fmt_num(totals["energy_mwh"]),
            h.fmt_num(totals["co2_t"]),
            "",
            "—" if money is None else h.fmt_money(money["amount"], money["currency"]),
        ]
    )
    return rows


ENERGY_HEADERS = [
    "system",
    "energy (MWh, with margin)",
    "CO2e (t, with margin)",
    "grid (gCO2e/kWh)",
    "cost (with margin, where priced)",
]


MILESTONE_HEADERS = [
    "run",
    "system",
    "kind",
    "runs",
    "nodes",
    "steps per run",
    "time per step (s, predicted)",
    "global batch (tokens)",
    "tokens/s",
]


def _milestone_rows(plan: CampaignPlan) -> list[list[str]]:
    """The milestone columns calls ask for: runs, nodes, steps per run, time per step."""
    rows = []
    for r in plan.runs:
        est = r.estimates[0] if r.estimates else None
        rows.append(
            [
                r.name,
                r.system_id,
                r.kind,
                f"{r.count:,}",
                "/".join(str(n) for n in r.node_counts),
                "—" if r.steps is None else f"{r.steps:,}",
                "—" if r.step_time_s is None else f"{r.step_time_s:,.2f}",
                "—" if est is None else f"{est.global_batch_tokens:,.0f}",
                "—" if est is None else f"{est.throughput.tokens_per_s:,.0f}",
            ]
        )
    return rows


CALL_HEADERS = [
    "system",
    "call",
    "request (call's unit, with margin)",
    "per-project minimum",
    "per-project maximum",
    "pool per cut-off",
    "share of the pool",
    "check",
]


def _call_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        c = s.call_check
        if c is None:
            continue
        unit = c.unit_label

        def amount(v: float | None, unit: str = unit) -> str:
            return "not published" if v is None else f"{v:,.0f} {unit}"

        rows.append(
            [
                s.id,
                c.call_name,
                "cannot be converted" if c.requested is None else amount(c.requested),
                amount(c.min_request),
                amount(c.max_request),
                amount(c.pool_per_cutoff),
                "—" if c.share_of_pool is None else h.fmt_pct(c.share_of_pool, 1),
                "within the call's limits" if c.ok else f"{len(c.warnings)} warning(s)",
            ]
        )
    return rows


def _billing_lines(plan: CampaignPlan) -> list[str]:
    from capacity.billing import all_units, describe

    out = []
    for s in plan.systems:
        billed = all_units(s.system, s.node_hours)
        src = [b for b in billed if b.source is not None]
        line = f"{s.id}: {describe(billed)} (with margin; billed in {_unit_label(s.billing_unit)})"
        if src:
            line += "; " + "; ".join(
                f"{b.per_node_hour:g} {b.label} per node-hour [{b.source.title}]"
                for b in src
                if b.source is not None
            )
        out.append(line)
    return out


MEASURED_HEADERS = [
    "GPUs",
    "layout",
    "global batch (tokens)",
    "measured step (s)",
    "predicted before re-anchoring (s)",
    "measured / predicted",
    "tokens/s",
    "tokens/s per GPU",
    "MFU",
    "strong-scaling efficiency",
    "weak-scaling efficiency",
]


def _measured_rows(s: SystemPlan) -> list[list[str]]:
    ev = s.evidence
    if ev is None:
        return []
    rows = []
    for p in ev.points:
        rows.append(
            [
                f"{p.gpus:,}",
                p.layout,
                f"{p.global_batch_tokens:,.0f}",
                f"{p.measured_step_s:,.3f}",
                "—" if p.predicted_step_s is None else f"{p.predicted_step_s:,.3f}",
                "—" if p.ratio is None else f"{p.ratio:.2f}",
                f"{p.tokens_per_s:,.0f}",
                f"{p.tokens_per_gpu_s:,.0f}",
                h.fmt_pct(p.mfu, 1),
                h.fmt_pct(p.efficiency, 0) if p.efficiency is not None else "—",
                h.fmt_pct(p.weak_efficiency, 0) if p.weak_efficiency is not None else "—",
            ]
        )
    return rows


def _storage_tb_by_quarter(plan: CampaignPlan, s: SystemPlan) -> list[float]:
    """TB held at the end of each quarter: the dataset from the start, each run's retained
    checkpoints and final weights from its last quarter on (nothing deleted in the period)."""
    out = []
    for q in plan.quarters:
        held = s.dataset_tb
        for r in plan.runs:
            if r.system_id == s.id and r.quarters and max(r.quarters) <= q.index:
                held += r.checkpoint_tb
        out.append(held)
    return out


def _storage_by_quarter(plan: CampaignPlan) -> list[list[str]]:
    return [
        [
            f"{s.id} (TB held at quarter end)",
            *(h.fmt_num(v) for v in _storage_tb_by_quarter(plan, s)),
        ]
        for s in plan.systems
    ]


def data_management(plan: CampaignPlan) -> list[str]:
    """A data-management paragraph per system, filled from the campaign."""
    out = []
    kept = {r.name: r for r in plan.runs if r.checkpoint_tb > 0}
    for s in plan.systems:
        mine = [r for r in kept.values() if r.system_id == s.id]
        dataset = (
            f"the training data ({s.dataset_tb:,.1f} TB) is staged on {s.system.name} before "
            "the first run and kept for the period"
            if s.dataset_tb > 0
            else "no training data is stored there (dataset_tb = 0)"
        )
        ckpt = (
            "; ".join(f"{r.name}: {r.checkpoint_tb:,.2f} TB" for r in mine)
            if mine
            else "no checkpoints are kept"
        )
        peak = max(_storage_tb_by_quarter(plan, s), default=0.0)
        out.append(
            f"{s.id}: {dataset}. Retained full checkpoints and final weights per run: {ckpt}. "
            f"At most {peak:,.1f} TB are held at once (the campaign deletes nothing before the "
            "end of the period). Per-filesystem quotas and purge rules are not in the "
            "catalog: check the site's scratch/work/store limits against these figures."
        )
    return out
