"""The verdict of an estimate: why it is not feasible (reasons) and what it assumed.

A `Reason` is a violation with a code (`memory`, `size`, `job-size`, `status`,
`deadline`, `budget`); blocking ones make the estimate infeasible. An `Assumption`
names a figure the estimate used, its value and its source, for the report's
"Assumptions & sources" section and the proposal's appendix.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from capacity.budget import Budget
from capacity.catalog.freshness import rates_stale, record_stale, sources_stale
from capacity.catalog.schemas import ExchangeRates
from capacity.constants import DEFAULT_PUE, MAX_RUN_DAYS, MEMORY_HEADROOM_FRACTION
from capacity.cost import RunCost, convert
from capacity.layout import Layout
from capacity.memory import MemoryBreakdown
from capacity.system import System
from capacity.throughput import Throughput
from capacity.units import HOURS_PER_DAY


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    blocking: bool = True


class Assumption(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: str
    source: str


def verdict(feasible: bool, system: System) -> str:
    """FEASIBLE, NOT FEASIBLE, or NOT YET AVAILABLE (a planned system, with its date)."""
    if feasible:
        return "FEASIBLE"
    if system.status == "planned":
        when = f" (expected {system.expected_available})" if system.expected_available else ""
        return f"NOT YET AVAILABLE{when}"
    return "NOT FEASIBLE"


def memory_reasons(mem: MemoryBreakdown, layout: Layout) -> list[Reason]:
    if mem.fits:
        return []
    return [
        Reason(
            code="memory",
            message=(
                f"OOM: {mem.total_gib:.1f} GiB per GPU > {mem.usable_gib:.1f} GiB usable "
                f"({mem.capacity_gib:g} GiB less {mem.headroom_fraction:.0%} headroom) "
                f"with {layout.describe()}"
            ),
        )
    ]


def budget_reasons(
    budget: Budget,
    total_flops: float,
    wall_h: float,
    run: RunCost,
    system: System,
    rates: ExchangeRates | None,
) -> list[Reason]:
    if budget.unit == "flops":
        used, what = total_flops, "FLOPs"
    elif budget.unit == "gpu-hours":
        used, what = run.gpu_hours, "GPU-hours"
    elif budget.unit == "node-hours":
        used, what = run.node_hours, "node-hours"
    elif budget.unit == "days":
        used, what = wall_h / HOURS_PER_DAY, "days"
    else:
        assert budget.currency is not None
        if run.cost is None:
            return [
                Reason(
                    code="budget",
                    message=f"no price for {system.name}: cannot check a money budget",
                    blocking=False,
                )
            ]
        conv = convert(run.cost, budget.currency, rates)
        if conv is None:
            return [
                Reason(
                    code="budget",
                    message=f"no exchange rate {run.cost.currency}->{budget.currency}",
                    blocking=False,
                )
            ]
        used, what = conv.amount, budget.currency
    if used > budget.amount:
        return [
            Reason(
                code="budget",
                message=f"needs {used:,.4g} {what} > budget {budget.amount:,.4g} {what}",
            )
        ]
    return []


def system_reasons(
    system: System, days: float | None, n_gpus: int, n_nodes: float, wall_h: float
) -> list[Reason]:
    """The job against the partition (size, per-job limit, status) and the deadline."""
    out = []
    if not system.multi_node and n_nodes > 1:
        out.append(
            Reason(
                code="fabric",
                message=(
                    f"{system.name} has no multi-node fabric: one instance "
                    f"({system.gpus_per_node} GPU{'s' if system.gpus_per_node > 1 else ''}) "
                    f"per job, not {n_nodes:g}"
                ),
            )
        )
    elif system.total_gpus is not None and n_gpus > system.total_gpus:
        out.append(
            Reason(
                code="size", message=f"needs {n_gpus:,} GPUs, partition has {system.total_gpus:,}"
            )
        )
    elif system.max_nodes_per_job is not None and n_nodes > system.max_nodes_per_job:
        out.append(
            Reason(
                code="job-size",
                message=(
                    f"{n_nodes:g} nodes exceeds the {system.max_nodes_per_job}-node limit per job "
                    "(needs a reservation)"
                ),
            )
        )
    if system.status != "operational":
        when = f", expected {system.expected_available}" if system.expected_available else ""
        state = "not yet available" if system.status == "planned" else "no longer available"
        out.append(
            Reason(code="status", message=f"{state}: {system.name} is {system.status}{when}")
        )
    if days is None and wall_h > MAX_RUN_DAYS * HOURS_PER_DAY:
        out.append(
            Reason(
                code="duration",
                message=(
                    f"takes {wall_h / HOURS_PER_DAY:,.0f} days, more than a century: check "
                    "the tokens, the GPU count and --mfu"
                ),
            )
        )
    if days is not None and wall_h > days * HOURS_PER_DAY * (1 + 1e-9):
        out.append(
            Reason(
                code="deadline",
                message=f"takes {wall_h / HOURS_PER_DAY:.1f} days > deadline {days:g} days",
            )
        )
    return out


def assumptions(system: System, thr: Throughput, run: RunCost) -> list[Assumption]:
    """The sourced figures behind an estimate on `system`."""
    acc = system.accelerator
    out = [
        Assumption(
            name=f"{acc.name} dense {thr.precision} peak",
            value=f"{thr.peak_tflops:g} TFLOP/s",
            source=_src(system, f"{acc.id}.peak_tflops_{thr.precision}"),
        ),
        Assumption(name="MFU", value=f"{thr.mfu:.1%} ({thr.mfu_origin})", source=thr.mfu_source),
        Assumption(
            name=f"{acc.name} memory",
            value=f"{acc.memory_gib:g} GiB, {MEMORY_HEADROOM_FRACTION.value:.0%} kept free",
            source=_src(system, f"{acc.id}.memory_gib"),
        ),
        Assumption(name="power basis", value=run.power_basis, source=_power_source(system)),
        Assumption(
            name="PUE",
            value=f"{run.pue:g} ({run.pue_origin})",
            source=_pue_source(system, run),
        ),
        Assumption(
            name=f"grid {system.grid.name}",
            value=f"{system.grid.gco2_per_kwh:g} gCO2e/kWh ({system.grid.year})",
            source=_src(system, f"grid {system.grid.id}.gco2_per_kwh"),
        ),
    ]
    out += estimated_assumptions(system)
    if run.cost is not None:
        out.append(
            Assumption(
                name="price",
                value=f"{system.price_per_unit:g} {run.cost.currency}/{run.allocation_unit}",
                source=_src(system, f"{system.id}.price_per_hour")
                or _src(system, f"{system.id}.price_per_unit"),
            )
        )
    return out


# figures an estimate shows elsewhere (peak, memory, power, PUE, grid, price): their
# assumption line already carries the "(estimate: ...)" label of their source
_SHOWN = ("peak_tflops_", "memory_gib", "node_power_kw", "pue", "tdp_w", "price_per_")


def estimated_assumptions(system: System) -> list[Assumption]:
    """Every other estimated figure of the system (node count, GPUs per node, network)."""
    out = []
    for key, src in sorted(system.sources.items()):
        entry, _, field = key.rpartition(".")
        if not src.estimated or field.startswith(_SHOWN) or entry.startswith("grid "):
            continue
        out.append(Assumption(name=f"{entry} {field}", value="estimated", source=src.label()))
    return out


def stale_notes(
    system: System, rates: ExchangeRates | None, run: RunCost, today: dt.date | None = None
) -> list[str]:
    """One note per stale source the estimate uses (freshness rule of the catalog)."""
    day = today or dt.date.today()
    stale = sources_stale(system.sources, day)
    stale += record_stale(system.grid, f"grid {system.grid.id}", day)
    if rates is not None and run.cost is not None and run.cost.currency != rates.base:
        fx = rates_stale(rates, day)
        stale += [fx] if fx is not None else []
    return [f"stale figure: {s.describe()}" for s in stale]


def _power_source(system: System) -> str:
    if system.node_power_kw is not None:
        return _src(system, f"{system.id}.node_power_kw") or "catalog"
    return _src(system, f"{system.accelerator.id}.tdp_w") or "accelerator TDP (catalog)"


def _pue_source(system: System, run: RunCost) -> str:
    if run.pue_origin == "default":
        return DEFAULT_PUE.source
    return _src(system, f"{system.id}.pue")


def _src(system: System, key: str) -> str:
    src = system.sources.get(key) or system.sources.get(key.rsplit(".", 1)[0] + ".*")
    return "" if src is None else src.label()


# A run can be feasible and still fragile: these make the verdict "feasible, with cautions".
CAUTION_MEMORY_FRACTION = 0.95  # capacity convention (a choice): within 5 % of usable
# memory, allocator fragmentation and activation spikes make an OOM likely in practice.
CAUTION_SCALING_EFFICIENCY = 0.80  # = report.data.STRONG_SCALING_EFFICIENCY_FLOOR (a choice)


def cautions(mem: MemoryBreakdown, scaling_efficiency: float | None) -> list[str]:
    """Why a feasible run deserves a second look: past the strong-scaling knee (below 80 %
    of the ideal speed-up) or memory above 95 % of what is usable per GPU."""
    out = []
    if scaling_efficiency is not None and scaling_efficiency < CAUTION_SCALING_EFFICIENCY:
        out.append(
            f"strong-scaling efficiency {scaling_efficiency:.0%} of ideal at this size, below "
            f"{CAUTION_SCALING_EFFICIENCY:.0%}: fewer nodes would waste fewer hours"
        )
    if mem.fits and mem.usable_gib > 0 and mem.total_gib > CAUTION_MEMORY_FRACTION * mem.usable_gib:
        out.append(
            f"memory {mem.total_gib:.1f} GiB per GPU is {mem.total_gib / mem.usable_gib:.0%} of "
            f"the {mem.usable_gib:.1f} GiB usable: little room for fragmentation or spikes"
        )
    return out
