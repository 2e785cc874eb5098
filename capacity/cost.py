"""Accelerator-hours, allocation units, money, energy and CO2 of a run.

Energy = GPU-hours x average GPU power x PUE when the node's power is not
published, else node-hours x node power x PUE. Average GPU power is taken as
the TDP, the convention of published training-energy figures (Llama 2 Table 2,
BLOOM); it leaves out host CPUs and network unless node power is known, so it
is a lower bound there. CO2 = energy x the grid's location-based intensity.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import ExchangeRates
from capacity.constants import DEFAULT_PUE, GPU_AVERAGE_POWER_FRACTION_OF_TDP
from capacity.system import System
from capacity.units import G_PER_TONNE, KWH_PER_MWH


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: float
    currency: str


def convert(money: Money, currency: str, rates: ExchangeRates | None) -> Money | None:
    """Convert through the catalog's dated exchange-rate table; None when no rate is known."""
    if money.currency == currency:
        return money
    if rates is None:
        return None
    table = {rates.base: 1.0, **rates.rates}
    if money.currency not in table or currency not in table:
        return None
    return Money(amount=money.amount / table[money.currency] * table[currency], currency=currency)


class RunCost(BaseModel):
    model_config = ConfigDict(frozen=True)

    gpu_hours: float
    node_hours: float
    allocation_units: float  # in the system's billing unit
    allocation_unit: str
    cost: Money | None
    energy_mwh: float | None
    co2_t: float | None
    pue: float
    pue_origin: Literal["catalog", "default"]
    power_basis: str

    @property
    def energy_estimated(self) -> bool:
        """Energy from an estimated node power or from GPU TDP alone (not a measured node)."""
        return "(estimated)" in self.power_basis or self.power_basis.startswith("GPU TDP")


def run_cost(system: System, n_gpus: int, wall_clock_h: float) -> RunCost:
    nodes = n_gpus / system.gpus_per_node
    gpu_hours = n_gpus * wall_clock_h
    node_hours = nodes * wall_clock_h
    units = node_hours if system.allocation_unit == "node-hour" else gpu_hours
    cost = None
    if system.price_per_unit is not None and system.currency is not None:
        cost = Money(amount=units * system.price_per_unit, currency=system.currency)
    pue = system.pue if system.pue is not None else DEFAULT_PUE.value
    pue_origin: Literal["catalog", "default"] = "catalog" if system.pue is not None else "default"
    energy_kwh: float | None
    pue_note = "" if pue_origin == "catalog" else " (default)"
    if system.node_power_kw is not None:
        energy_kwh = node_hours * system.node_power_kw * pue
        src = system.sources.get(f"{system.id}.node_power_kw")
        est = " (estimated)" if src is not None and src.estimated else ""
        basis = f"node power {system.node_power_kw:g} kW{est} x PUE {pue:g}{pue_note}"
    elif system.accelerator.tdp_w is not None:
        watts = system.accelerator.tdp_w * GPU_AVERAGE_POWER_FRACTION_OF_TDP.value
        energy_kwh = gpu_hours * watts / 1000 * pue
        basis = (
            f"GPU TDP {system.accelerator.tdp_w:g} W x PUE {pue:g}{pue_note} "
            "(no node power in the catalog: host power not included)"
        )
    else:
        energy_kwh, basis = None, "no power figure in the catalog"
    energy_mwh = None if energy_kwh is None else energy_kwh / KWH_PER_MWH
    co2_t = None if energy_kwh is None else energy_kwh * system.grid.gco2_per_kwh / G_PER_TONNE
    return RunCost(
        gpu_hours=gpu_hours,
        node_hours=node_hours,
        allocation_units=units,
        allocation_unit=system.allocation_unit,
        cost=cost,
        energy_mwh=energy_mwh,
        co2_t=co2_t,
        pue=pue,
        pue_origin=pue_origin,
        power_basis=basis,
    )
