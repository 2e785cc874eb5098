"""The estimate of one training run: time, hours, cost, energy, CO2, memory and verdict.

`estimate(Scenario)` is the one orchestrator the CLI, `compare` and the
reports call. It is pure: the scenario holds resolved catalog records.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from capacity.budget import Budget
from capacity.catalog.schemas import ExchangeRates, ModelSpec, Precision
from capacity.constants import DEFAULT_PUE, MEMORY_HEADROOM_FRACTION
from capacity.cost import Money, RunCost, run_cost
from capacity.errors import CapacityError
from capacity.flops import FlopsPerToken, flops_per_token
from capacity.layout import Layout, check_layout
from capacity.memory import MemoryBreakdown, memory_per_gpu
from capacity.system import System
from capacity.throughput import Throughput, throughput_from_mfu
from capacity.units import HOURS_PER_DAY, SECONDS_PER_HOUR
from capacity.workload import ParamCounts, param_counts

DEFAULT_GLOBAL_BATCH_TOKENS = 4_000_000  # Llama 2 (arXiv:2307.09288) Sec. 2.2: 4M tokens
DEFAULT_JOB_GPUS = 256  # capacity default job size when none is given (a choice, not a fact)


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


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: ModelSpec
    tokens: float = Field(gt=0)
    system: System
    n_gpus: int | None = Field(default=None, gt=0)
    seq_len: int | None = Field(default=None, gt=0)
    global_batch_tokens: float = Field(default=DEFAULT_GLOBAL_BATCH_TOKENS, gt=0)
    layout: Layout | None = None
    mfu: float | None = None
    precision: Precision = "bf16"
    days: float | None = Field(default=None, gt=0)
    budget: Budget | None = None
    exchange_rates: ExchangeRates | None = None


class Estimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    scenario: Scenario
    params: ParamCounts
    flops: FlopsPerToken
    total_flops: float
    n_gpus: int
    n_nodes: float
    layout: Layout
    memory: MemoryBreakdown
    throughput: Throughput
    wall_clock_h: float
    run: RunCost
    feasible: bool
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...]
    assumptions: tuple[Assumption, ...]

    @property
    def wall_clock_days(self) -> float:
        return self.wall_clock_h / HOURS_PER_DAY

    def to_json(self) -> dict[str, Any]:
        """The stable `--json` document (keys documented in the README)."""
        cost = self.run.cost
        return {
            "model": self.scenario.model.id,
            "system": self.scenario.system.id,
            "params": self.params.total,
            "params_active": self.params.active,
            "params_non_embedding": self.params.non_embedding,
            "tokens": self.scenario.tokens,
            "seq_len": self.flops.seq_len,
            "flops_per_token": self.flops.model,
            "flops_per_token_hardware": self.flops.hardware,
            "flops_per_token_6n": self.flops.six_n,
            "total_flops": self.total_flops,
            "n_gpus": self.n_gpus,
            "n_nodes": self.n_nodes,
            "layout": self.layout.model_dump(),
            "tokens_per_s": self.throughput.tokens_per_s,
            "mfu": self.throughput.mfu,
            "hfu": self.throughput.hfu,
            "mfu_origin": self.throughput.mfu_origin,
            "wall_clock_days": self.wall_clock_days,
            "gpu_hours": self.run.gpu_hours,
            "node_hours": self.run.node_hours,
            "allocation_unit": self.run.allocation_unit,
            "cost": None if cost is None else {"amount": cost.amount, "currency": cost.currency},
            "energy_mwh": self.run.energy_mwh,
            "co2_t": self.run.co2_t,
            "memory_per_gpu_gib": self.memory.total_gib,
            "memory_capacity_gib": self.memory.capacity_gib,
            "memory_breakdown_gib": {
                "weights": self.memory.weights_gib,
                "gradients": self.memory.gradients_gib,
                "optimizer": self.memory.optimizer_gib,
                "activations": self.memory.activations_gib,
            },
            "fits_memory": self.memory.fits,
            "feasible": self.feasible,
            "reasons": [r.message for r in self.reasons],
            "notes": list(self.notes),
        }


def default_gpus(system: System) -> int:
    """DEFAULT_JOB_GPUS rounded to whole nodes and capped by what one job may use."""
    nodes = max(1, round(DEFAULT_JOB_GPUS / system.gpus_per_node))
    cap = system.max_nodes_per_job or system.nodes
    if cap is not None:
        nodes = min(nodes, cap)
    return nodes * system.gpus_per_node


def _powers_of_two(limit: int) -> list[int]:
    return [2**i for i in range(int(math.log2(max(limit, 1))) + 1)]


def candidate_layouts(model: ModelSpec, system: System, n_gpus: int) -> list[Layout]:
    """Layouts to try, fewest model-parallel GPUs first (v0 heuristic before the planner)."""
    out = []
    for recompute in ("selective", "full"):
        for zero in (1, 3):
            for tp in _powers_of_two(system.gpus_per_node):
                if model.n_heads % tp or (model.kv_heads % tp and tp % model.kv_heads):
                    continue
                for pp in range(1, model.n_layers + 1):
                    if model.n_layers % pp or n_gpus % (tp * pp):
                        continue
                    if zero == 3 and pp > 1:
                        continue
                    out.append(
                        Layout(
                            tp=tp,
                            pp=pp,
                            dp=n_gpus // (tp * pp),
                            zero_stage=zero,
                            recompute=recompute,
                        )
                    )
    out.sort(key=lambda lay: (lay.recompute != "selective", lay.tp * lay.pp, lay.zero_stage))
    return out


def _microbatches(scn: Scenario, layout: Layout, seq_len: int) -> int:
    seqs = scn.global_batch_tokens / seq_len
    return max(1, math.floor(seqs / (layout.dp * layout.micro_batch_seqs)))


def choose_layout(scn: Scenario, n_gpus: int, seq_len: int) -> tuple[Layout, MemoryBreakdown]:
    cap = scn.system.accelerator.memory_gib
    best: tuple[Layout, MemoryBreakdown] | None = None
    for layout in candidate_layouts(scn.model, scn.system, n_gpus):
        mem = memory_per_gpu(
            scn.model,
            layout,
            cap,
            seq_len=seq_len,
            microbatches=_microbatches(scn, layout, seq_len),
        )
        if mem.fits:
            return layout, mem
        if best is None or mem.total_gib < best[1].total_gib:
            best = (layout, mem)
    if best is None:
        raise CapacityError(
            f"no tensor/pipeline split of {scn.model.name} fits {n_gpus} GPUs "
            f"({scn.system.gpus_per_node} per node)",
            field="gpus",
        )
    return best


def gpus_for_deadline(scn: Scenario, fpt: FlopsPerToken, days: float) -> int:
    """Smallest whole-node GPU count that trains `tokens` within `days` at the scenario's MFU."""
    probe = throughput_from_mfu(
        fpt, scn.system.accelerator, 1, mfu=scn.mfu, precision=scn.precision
    )
    gpus = scn.tokens / (probe.tokens_per_s * days * HOURS_PER_DAY * SECONDS_PER_HOUR)
    nodes = max(1, math.ceil(gpus / scn.system.gpus_per_node))
    return nodes * scn.system.gpus_per_node


def estimate(scn: Scenario) -> Estimate:
    model, system = scn.model, scn.system
    seq_len = scn.seq_len or model.seq_len
    notes: list[str] = []
    reasons: list[Reason] = []
    layout_given = scn.layout is not None
    recompute = scn.layout.recompute if scn.layout else "selective"
    fpt = flops_per_token(model, seq_len, recompute)

    if scn.n_gpus is not None:
        n_gpus = scn.n_gpus
    elif scn.layout is not None:
        n_gpus = scn.layout.gpus
    elif scn.days is not None:
        n_gpus = gpus_for_deadline(scn, fpt, scn.days)
        notes.append(f"job sized to finish within {scn.days:g} days: {n_gpus} GPUs")
    else:
        n_gpus = default_gpus(system)
        notes.append(
            f"no --nodes/--gpus given: using {n_gpus} GPUs ({n_gpus // system.gpus_per_node} nodes)"
        )
    if n_gpus % system.gpus_per_node:
        raise CapacityError(
            f"{n_gpus} GPUs is not a multiple of the {system.gpus_per_node} GPUs per node "
            f"of {system.name}",
            field="gpus",
        )

    if scn.layout is not None:
        layout = scn.layout
        if layout.gpus != n_gpus:
            raise CapacityError(
                f"TP x PP x DP x CP = {layout.gpus} but the job has {n_gpus} GPUs", field="dp"
            )
        check_layout(layout, model, system.gpus_per_node)
        mem = memory_per_gpu(
            model,
            layout,
            system.accelerator.memory_gib,
            seq_len=seq_len,
            microbatches=_microbatches(scn, layout, seq_len),
        )
    else:
        layout, mem = choose_layout(scn, n_gpus, seq_len)
        fpt = flops_per_token(model, seq_len, layout.recompute)

    thr = throughput_from_mfu(fpt, system.accelerator, n_gpus, mfu=scn.mfu, precision=scn.precision)
    wall_h = scn.tokens / thr.tokens_per_s / SECONDS_PER_HOUR
    run = run_cost(system, n_gpus, wall_h)
    n_nodes = n_gpus / system.gpus_per_node

    if not mem.fits:
        reasons.append(
            Reason(
                code="memory",
                message=(
                    f"OOM: {mem.total_gib:.1f} GiB per GPU > {mem.usable_gib:.1f} GiB usable "
                    f"({mem.capacity_gib:g} GiB less {mem.headroom_fraction:.0%} headroom) "
                    f"with {layout.describe()}"
                ),
            )
        )
    if system.total_gpus is not None and n_gpus > system.total_gpus:
        reasons.append(
            Reason(
                code="size",
                message=f"needs {n_gpus:,} GPUs, partition has {system.total_gpus:,}",
            )
        )
    elif system.max_nodes_per_job is not None and n_nodes > system.max_nodes_per_job:
        reasons.append(
            Reason(
                code="job-size",
                message=(
                    f"{n_nodes:g} nodes exceeds the {system.max_nodes_per_job}-node limit per job "
                    "(needs a reservation)"
                ),
            )
        )
    if system.status != "operational":
        reasons.append(
            Reason(code="status", message=f"{system.name} is {system.status}", blocking=False)
        )
    if scn.days is not None and wall_h > scn.days * HOURS_PER_DAY * (1 + 1e-9):
        reasons.append(
            Reason(
                code="deadline",
                message=f"takes {wall_h / HOURS_PER_DAY:.1f} days > deadline {scn.days:g} days",
            )
        )
    if scn.budget is not None:
        reasons += _budget_reasons(scn.budget, fpt.model * scn.tokens, wall_h, run, scn)
    if system.max_wall_time_h is not None and wall_h > system.max_wall_time_h:
        jobs = math.ceil(wall_h / system.max_wall_time_h)
        notes.append(
            f"longer than the {system.max_wall_time_h:g} h job limit: a chain of {jobs} jobs"
        )
    if layout_given is False:
        notes.append(f"layout chosen to fit memory: {layout.describe()}")

    return Estimate(
        scenario=scn,
        params=param_counts(model),
        flops=fpt,
        total_flops=fpt.model * scn.tokens,
        n_gpus=n_gpus,
        n_nodes=n_nodes,
        layout=layout,
        memory=mem,
        throughput=thr,
        wall_clock_h=wall_h,
        run=run,
        feasible=not any(r.blocking for r in reasons),
        reasons=tuple(reasons),
        notes=tuple(notes),
        assumptions=tuple(_assumptions(scn, thr, run)),
    )


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


def _budget_reasons(
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


def _assumptions(scn: Scenario, thr: Throughput, run: RunCost) -> list[Assumption]:
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
