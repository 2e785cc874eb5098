"""Billing units: node-hours, GPU-hours, core-hours and normalised GPU-hours.

A call or a site counts hours in its own unit. A node-hour converts to the others
by the partition's sourced `[[partitions.billing]]` rates (CINECA: 32 local core-hours
per Leonardo Booster node-hour; IDRIS: 2 normalised GPU-hours per A100-hour); GPU-hours
are GPUs per node x node-hours where no rate says otherwise. A unit the catalog cannot
convert to gives None: the pack then says the figure is unknown, never 0.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import BillingUnit, Source
from capacity.system import System

UNIT_LABELS: dict[str, str] = {
    "node-hour": "node-hours",
    "gpu-hour": "GPU-hours",
    "core-hour": "core-hours",
    "normalised-gpu-hour": "normalised GPU-hours",
}


class Billed(BaseModel):
    """An amount in one billing unit, with what the site calls it and the rate's source."""

    model_config = ConfigDict(frozen=True)

    unit: str
    amount: float
    label: str
    per_node_hour: float
    source: Source | None = None


def per_node_hour(system: System, unit: str) -> tuple[float, str, Source | None] | None:
    """Units of `unit` one node-hour of `system` costs, its label and source (None: unknown)."""
    if unit == "node-hour":
        return 1.0, UNIT_LABELS[unit], None
    for rate in system.billing:
        if rate.unit == unit:
            return rate.per_node_hour, rate.label, rate.source_for("per_node_hour")
    if unit == "gpu-hour":
        return float(system.gpus_per_node), UNIT_LABELS[unit], None
    return None


def bill(system: System, node_hours: float, unit: str) -> Billed | None:
    """`node_hours` of `system` in `unit`, or None when no sourced conversion exists."""
    rate = per_node_hour(system, unit)
    if rate is None:
        return None
    factor, label, source = rate
    return Billed(
        unit=unit, amount=node_hours * factor, label=label, per_node_hour=factor, source=source
    )


def all_units(system: System, node_hours: float) -> tuple[Billed, ...]:
    """The amount in every unit the catalog can convert to, the system's own unit first."""
    order: list[BillingUnit] = [system.allocation_unit, "node-hour", "gpu-hour"]
    order += [r.unit for r in system.billing]
    out: list[Billed] = []
    for unit in order:
        if any(b.unit == unit for b in out):
            continue
        billed = bill(system, node_hours, unit)
        if billed is not None:
            out.append(billed)
    return tuple(out)


def describe(billed: tuple[Billed, ...]) -> str:
    """'68,544 node-hours = 274,176 GPU-hours = 2,193,408 CINECA local core-hours'."""
    return " = ".join(f"{b.amount:,.0f} {b.label}" for b in billed)
