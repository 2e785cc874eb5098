"""Parts of an estimate: reasons (system, budget), sourced assumptions, the MFU-only layout."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from capacity.budget import Budget
from capacity.catalog.freshness import rates_stale, record_stale, sources_stale
from capacity.catalog.schemas import ExchangeRates
from capacity.constants import DEFAULT_PUE, MEMORY_HEADROOM_FRACTION
from capacity.cost import Money, RunCost
from capacity.errors import CapacityError
from capacity.layout import Layout
from capacity.memory import MemoryBreakdown, memory_per_gpu
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
        Assumption(name="power basis", value=run.power_basis, source=_power_source(scn)),
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
    out += estimated_assumptions(scn.system)
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


def stale_notes(scn: Scenario, run: RunCost, today: dt.date | None = None) -> list[str]:
    """One note per stale source the estimate uses (freshness rule of the catalog)."""
    day = today or dt.date.today()
    stale = sources_stale(scn.system.sources, day)
    stale += record_stale(scn.system.grid, f"grid {scn.system.grid.id}", day)
    rates = scn.exchange_rates
    if rates is not None and run.cost is not None and run.cost.currency != rates.base:
        fx = rates_stale(rates, day)
        stale += [fx] if fx is not None else []
    return [f"stale figure: {s.describe()}" for s in stale]


def _power_source(scn: Scenario) -> str:
    sys_ = scn.system
    if sys_.node_power_kw is not None:
        return _src(sys_, f"{sys_.id}.node_power_kw") or "catalog"
    return _src(sys_, f"{sys_.accelerator.id}.tdp_w") or "accelerator TDP (catalog)"


def _pue_source(scn: Scenario, run: RunCost) -> str:
    if run.pue_origin == "default":
        return DEFAULT_PUE.source
    return _src(scn.system, f"{scn.system.id}.pue")


def _src(system: System, key: str) -> str:
    src = system.sources.get(key) or system.sources.get(key.rsplit(".", 1)[0] + ".*")
    return "" if src is None else src.label()


def system_reasons(scn: Scenario, n_gpus: int, n_nodes: float, wall_h: float) -> list[Reason]:
    system = scn.system
    out = []
    if system.total_gpus is not None and n_gpus > system.total_gpus:
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
        out.append(
            Reason(code="status", message=f"{system.name} is {system.status}", blocking=False)
        )
    if scn.days is not None and wall_h > scn.days * HOURS_PER_DAY * (1 + 1e-9):
        out.append(
            Reason(
                code="deadline",
                message=f"takes {wall_h / HOURS_PER_DAY:.1f} days > deadline {scn.days:g} days",
            )
        )
    return out


def v0_layout(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float
) -> tuple[Layout, MemoryBreakdown]:
    """Without a calibration: the given layout, or the least model-parallel one that fits."""
    cap = scn.system.accelerator.memory_gib
    if scn.layout is not None:
        micro = max(1, math.floor(batch / seq_len / (scn.layout.dp * scn.layout.micro_batch_seqs)))
        mem = memory_per_gpu(
            scn.model,
            scn.layout,
            cap,
            seq_len=seq_len,
            microbatches=micro,
            gpus_per_node=scn.system.gpus_per_node,
        )
        return scn.layout, mem
    best: tuple[Layout, MemoryBreakdown] | None = None
    for tp in (1, 2, 4, 8, 16, 32, 64):
        for pp in range(1, scn.model.n_layers + 1):
            if tp > scn.system.gpus_per_node or n_gpus % (tp * pp) or scn.model.n_layers % pp:
                continue
            if scn.model.n_heads % tp:
                continue
            lay = Layout(tp=tp, pp=pp, dp=n_gpus // (tp * pp), zero_stage=1)
            micro = max(1, math.floor(batch / seq_len / lay.dp))
            mem = memory_per_gpu(scn.model, lay, cap, seq_len=seq_len, microbatches=micro)
            if mem.fits:
                return lay, mem
            if best is None or mem.total_gib < best[1].total_gib:
                best = (lay, mem)
    if best is None:
        raise CapacityError(f"no tensor/pipeline split fits {n_gpus} GPUs", field="gpus")
    return best
