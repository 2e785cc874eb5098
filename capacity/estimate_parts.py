"""Reasons and assumptions attached to an estimate: budget checks and sourced inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from capacity.budget import Budget
from capacity.catalog.schemas import ExchangeRates
from capacity.constants import DEFAULT_PUE, MEMORY_HEADROOM_FRACTION
from capacity.cost import Money, RunCost
from capacity.system import System
from capacity.throughput import Throughput
from capacity.units import HOURS_PER_DAY

if TYPE_CHECKING:
    from capacity.estimate import Scenario


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


def convert(money: Money, currency: str, rates: ExchangeRates | None) -> Money | None:
    """Convert through the dated table; None when no rate is known."""
    if money.currency == currency:
        return money
    if rates is None:
        return None
    table = {rates.base: 1.0, **rates.rates}
    if money.currency not in table or currency not in table:
        return None
    return Money(amount=money.amount / table[money.currency] * table[currency], currency=currency)


def budget_reasons(
    budget: Budget, total_flops: float, wall_h: float, run: RunCost, scn: Scenario
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
                    message=f"no price for {scn.system.name}: cannot check a money budget",
                    blocking=False,
                )
            ]
        conv = convert(run.cost, budget.currency, scn.exchange_rates)
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


def assumptions(scn: Scenario, thr: Throughput, run: RunCost) -> list[Assumption]:
    acc = scn.system.accelerator
    out = [
        Assumption(
            name=f"{acc.name} dense {thr.precision} peak",
            value=f"{thr.peak_tflops:g} TFLOP/s",
            source=_src(scn.system, f"{acc.id}.peak_tflops_{thr.precision}"),
        ),
        Assumption(name="MFU", value=f"{thr.mfu:.1%} ({thr.mfu_origin})", source=thr.mfu_source),
        Assumption(
            name=f"{acc.name} memory",
            value=f"{acc.memory_gib:g} GiB, {MEMORY_HEADROOM_FRACTION.value:.0%} kept free",
            source=_src(scn.system, f"{acc.id}.memory_gib"),
        ),
        Assumption(name="power basis", value=run.power_basis, source="capacity.cost docstring"),
        Assumption(
            name="PUE",
            value=f"{run.pue:g} ({run.pue_origin})",
            source=_pue_source(scn, run),
        ),
        Assumption(
            name=f"grid {scn.system.grid.name}",
            value=f"{scn.system.grid.gco2_per_kwh:g} gCO2e/kWh ({scn.system.grid.year})",
            source=_src(scn.system, f"grid {scn.system.grid.id}.gco2_per_kwh"),
        ),
    ]
    if run.cost is not None:
        out.append(
            Assumption(
                name="price",
                value=f"{scn.system.price_per_unit:g} {run.cost.currency}/{run.allocation_unit}",
                source=_src(scn.system, f"{scn.system.id}.price_per_hour")
                or _src(scn.system, f"{scn.system.id}.price_per_unit"),
            )
        )
    return out


def _pue_source(scn: Scenario, run: RunCost) -> str:
    if run.pue_origin == "default":
        return DEFAULT_PUE.source
    return _src(scn.system, f"{scn.system.id}.pue")


def _src(system: System, key: str) -> str:
    src = system.sources.get(key) or system.sources.get(key.rsplit(".", 1)[0] + ".*")
    if src is None:
        return ""
    parts = [src.title, src.locator or "", src.url or "", f"as of {src.as_of}"]
    return ", ".join(p for p in parts if p)
