"""One workload across many systems: `capacity compare`.

Each system gets the same model and tokens; the job is sized by a node count, a
GPU count (rounded up to whole nodes), or a deadline (the smallest job that
meets it). Rows are ranked by time, cost or CO2. Pure: takes resolved systems.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import EfficiencyCalibration, ExchangeRates, ModelSpec, Precision
from capacity.cost import Money
from capacity.errors import CapacityError
from capacity.estimate import Estimate, Scenario, convert, default_gpus, estimate
from capacity.system import System
from capacity.throughput import default_precision

SortKey = Literal["time", "cost", "co2"]
Where = Literal["eu", "europe", "operational", "cloud", "hpc", "all"]

# The 27 EU member states (ISO 3166 alpha-2, lower case as grid ids): `--where eu`.
# Source: europa.eu, "EU countries" (Croatia the latest member, 2013; the UK left in 2020).
EU_MEMBERS = frozenset(
    [
        "at",
        "be",
        "bg",
        "hr",
        "cy",
        "cz",
        "dk",
        "ee",
        "fi",
        "fr",
        "de",
        "gr",
        "hu",
        "ie",
        "it",
        "lv",
        "lt",
        "lu",
        "mt",
        "nl",
        "pl",
        "pt",
        "ro",
        "sk",
        "si",
        "es",
        "se",
    ]
)
# `--where europe`: the EU, the other EEA states (Iceland, Liechtenstein, Norway),
# Switzerland and the United Kingdom.
EUROPE = EU_MEMBERS | frozenset({"is", "li", "no", "ch", "gb"})


def region_of(system: System) -> str:
    """ISO code of where the system runs: the cluster's country, else the cloud grid's."""
    return (system.country or system.grid.id).lower()


class CompareRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: System
    estimate: Estimate | None
    cost_converted: Money | None
    error: str | None = None  # a system that cannot run this workload at all

    @property
    def sort_time(self) -> float:
        return self.estimate.wall_clock_h if self.estimate else math.inf

    def to_json(self) -> dict[str, Any]:
        """One row of the `capacity compare --json` document (keys in the README)."""
        s, est = self.system, self.estimate
        base: dict[str, Any] = {
            "system": s.id,
            "name": s.name,
            "kind": s.kind,
            "status": s.status,
            "accelerator": s.accelerator.id,
        }
        if est is None:
            return {**base, "feasible": False, "reasons": [self.error], "error": self.error}
        cost = est.run.cost
        conv = self.cost_converted
        return {
            **base,
            "gpus": est.n_gpus,
            "nodes": est.n_nodes,
            "wall_clock_days": est.wall_clock_days,
            "gpu_hours": est.run.gpu_hours,
            "node_hours": est.run.node_hours,
            "allocation_unit": est.run.allocation_unit,
            "allocation_units": est.run.allocation_units,
            "billed": {b.unit: b.amount for b in est.billed},
            "queue": None if est.queue is None else est.queue.name,
            "cost": None if cost is None else {"amount": cost.amount, "currency": cost.currency},
            "cost_converted": None
            if conv is None
            else {"amount": conv.amount, "currency": conv.currency},
            "energy_mwh": est.run.energy_mwh,
            "co2_t": est.run.co2_t,
            "power_basis": est.run.power_basis,
            "mfu": est.throughput.mfu,
            "memory_per_gpu_gib": est.memory.total_gib,
            "fits_memory": est.memory.fits,
            "feasible": est.feasible,
            "reasons": [r.message for r in est.reasons],
        }


def select_systems(systems: Iterable[System], where: Sequence[Where]) -> list[System]:
    out = []
    for s in systems:
        keep = True
        for w in where:
            if w == "eu":
                keep &= region_of(s) in EU_MEMBERS
            elif w == "europe":
                keep &= region_of(s) in EUROPE
            elif w == "operational":
                keep &= s.status == "operational"
            elif w == "cloud":
                keep &= s.kind == "cloud"
            elif w == "hpc":
                keep &= s.kind == "hpc"
        if keep:
            out.append(s)
    return out


def job_gpus_for(system: System, nodes: int | None, gpus: int | None) -> int | None:
    """GPUs for this system: whole nodes, GPU counts rounded up to the node size."""
    if nodes is not None:
        return nodes * system.gpus_per_node
    if gpus is not None:
        return math.ceil(gpus / system.gpus_per_node) * system.gpus_per_node
    return None


def compare(
    model: ModelSpec,
    tokens: float,
    systems: Sequence[System],
    *,
    nodes: int | None = None,
    gpus: int | None = None,
    days: float | None = None,
    seq_len: int | None = None,
    mfu: float | None = None,
    sort: SortKey = "time",
    currency: str = "EUR",
    rates: ExchangeRates | None = None,
    progress: Callable[[int, int], None] | None = None,
    calibration: EfficiencyCalibration | None = None,
) -> list[CompareRow]:
    """Estimate the workload on every system and rank the rows (infeasible ones last).

    With `calibration` each system's throughput comes from the parallelism planner, as in
    `estimate`; without it, from the published MFU.
    """
    if not systems:
        return []
    template = Scenario(
        model=model,
        tokens=tokens,
        system=systems[0],
        seq_len=seq_len,
        mfu=mfu,
        days=days,
        exchange_rates=rates,
        calibration=calibration,
    )
    return compare_scenario(
        template,
        systems,
        nodes=nodes,
        gpus=gpus,
        sort=sort,
        currency=currency,
        progress=progress,
    )


def compare_scenario(
    template: Scenario,
    systems: Sequence[System],
    *,
    nodes: int | None = None,
    gpus: int | None = None,
    precision: Precision | None = None,
    sort: SortKey = "time",
    currency: str = "EUR",
    progress: Callable[[int, int], None] | None = None,
) -> list[CompareRow]:
    """The template scenario on every system, only the system and the job size changed.

    Everything else the user chose (tokens, batch, sequence, layout constraints, goodput,
    framework, deadline, MFU) is the template's. `precision` None: each system's default
    (bf16, or fp16 on parts without bf16). Rows are ranked by `sort`, infeasible ones last.
    """
    if sum(x is not None for x in (nodes, gpus)) > 1:
        raise CapacityError("give --nodes or --gpus, not both", field="gpus")
    rates = template.exchange_rates
    rows = []
    for i, system in enumerate(systems):
        n_gpus = job_gpus_for(system, nodes, gpus)
        if n_gpus is None and template.days is None:
            n_gpus = default_gpus(system)
        scn = template.model_copy(
            update={
                "system": system,
                "n_gpus": n_gpus,
                "precision": precision or default_precision(system.accelerator),
            }
        )
        try:
            est = estimate(scn)
        except CapacityError as exc:
            rows.append(
                CompareRow(system=system, estimate=None, cost_converted=None, error=str(exc))
            )
        else:
            conv = convert(est.run.cost, currency, rates) if est.run.cost else None
            rows.append(CompareRow(system=system, estimate=est, cost_converted=conv))
        if progress is not None:
            progress(i + 1, len(systems))
    return sorted(rows, key=_sort_key(sort))


def _sort_key(sort: SortKey) -> Callable[[CompareRow], tuple[int, float]]:
    def key(row: CompareRow) -> tuple[int, float]:
        est = row.estimate
        rank = 0 if est is not None and est.feasible else 1 if est is not None else 2
        if est is None:
            return rank, math.inf
        if sort == "cost":
            value = row.cost_converted.amount if row.cost_converted else math.inf
        elif sort == "co2":
            value = est.run.co2_t if est.run.co2_t is not None else math.inf
        else:
            value = est.wall_clock_h
        return rank, value

    return key
