"""Turn CLI options into a validated `Scenario` (shared by estimate, compare, report)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import ModelSpec, Precision
from capacity.cli.common import (
    DEFAULT_CLUSTER,
    DEFAULT_MODEL,
    DEFAULT_TOKENS,
    get_catalog,
    resolve_model,
)
from capacity.errors import CapacityError
from capacity.estimate import DEFAULT_GLOBAL_BATCH_TOKENS, Scenario
from capacity.goodput import GoodputInputs
from capacity.layout import HSDP, Optimizer
from capacity.measured import MeasuredStep, parse_measured_steps
from capacity.memory import OPTIMIZERS
from capacity.planner.space import SearchSpace
from capacity.system import System, resolve_system
from capacity.throughput import default_precision
from capacity.units import parse_quantity

PRECISIONS = ("bf16", "fp16", "fp8", "tf32")
RECOMPUTES = ("none", "selective", "full")


def parse_global_batch(text: str | None) -> float | None:
    """Tokens, or None for 'auto' (the DeepSeek batch rule)."""
    if text is None or str(text).strip().lower() == "auto":
        return None
    return parse_quantity(text, field="global-batch")


def goodput_inputs(
    failure_rate: float | None,
    restart_min: float | None,
    checkpoint_gbps: float | None,
    job_hours: float | None,
    disabled: bool,
) -> GoodputInputs:
    """Goodput assumptions with the user's overrides (capacity.goodput documents the defaults)."""
    for name, value in (
        ("failure-rate", failure_rate),
        ("restart-min", restart_min),
    ):
        if value is not None and value < 0:
            raise CapacityError(f"must not be negative, got {value}", field=name)
    for name, value in (("checkpoint-gbps", checkpoint_gbps), ("job-hours", job_hours)):
        if value is not None and value <= 0:
            raise CapacityError(f"must be positive, got {value}", field=name)
    update: dict[str, Any] = {"enabled": not disabled}
    if failure_rate is not None:
        update["failure_rate_per_gpu_h"] = failure_rate
    if restart_min is not None:
        update["restart_min"] = restart_min
    if checkpoint_gbps is not None:
        update["checkpoint_gbyte_per_s_per_node"] = checkpoint_gbps
    if job_hours is not None:
        update["job_wall_limit_h"] = job_hours
    return GoodputInputs(**update)


def _measured_steps(path: str | None) -> tuple[MeasuredStep, ...]:
    if path is None:
        return ()
    from capacity.catalog.runs_io import read_csv_rows

    return parse_measured_steps(read_csv_rows(path, "measured-steps"), path)


def parse_precision(text: str, system: System | None = None) -> Precision:
    """A precision name; 'auto' = bf16, or fp16 on parts without bf16 (V100)."""
    if text == "auto":
        return default_precision(system.accelerator) if system is not None else "bf16"
    if text not in PRECISIONS:
        raise CapacityError(
            f"'{text}' is not one of auto, {', '.join(PRECISIONS)}", field="precision"
        )
    return cast(Precision, text)


def job_gpus(system: System, nodes: int | None, gpus: int | None) -> int | None:
    if nodes is not None and gpus is not None:
        raise CapacityError("give either --nodes or --gpus, not both", field="gpus")
    if nodes is not None:
        if nodes <= 0:
            raise CapacityError(f"must be positive, got {nodes}", field="nodes")
        return nodes * system.gpus_per_node
    if gpus is not None:
        if gpus <= 0:
            raise CapacityError(f"must be positive, got {gpus}", field="gpus")
        if gpus % system.gpus_per_node:
            raise CapacityError(
                f"{gpus} is not a multiple of the {system.gpus_per_node} GPUs per node of "
                f"{system.name}",
                field="gpus",
            )
    return gpus


def _positive(name: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise CapacityError(f"must be positive, got {value}", field=name)


def check_fixed_degrees(
    spec: ModelSpec, *, ep: int | None, vpp: int | None, pp: int | None
) -> None:
    """Refuse, naming the flag, a fixed degree the model cannot take (whatever the others)."""
    if ep is not None and ep > 1:
        if not spec.is_moe or spec.moe_experts is None:
            raise CapacityError(
                f"EP={ep} needs a mixture-of-experts model; {spec.name} is dense", field="ep"
            )
        if spec.moe_experts % ep:
            raise CapacityError(
                f"EP={ep} must divide the {spec.moe_experts} experts of {spec.name}", field="ep"
            )
    if vpp is not None and vpp > 1:
        if pp is not None and pp * vpp > spec.n_layers:
            raise CapacityError(
                f"PP x VPP = {pp * vpp} chunks exceed the model's {spec.n_layers} layers",
                field="vpp",
            )
        if vpp > spec.n_layers:
            raise CapacityError(
                f"VPP={vpp} chunks per GPU exceed the model's {spec.n_layers} layers",
                field="vpp",
            )


def build_space(
    spec: ModelSpec,
    *,
    n_gpus: int | None,
    gpus_per_node: int,
    tp: int | None = None,
    pp: int | None = None,
    dp: int | None = None,
    cp: int | None = None,
    ep: int | None = None,
    vpp: int | None = None,
    zero: int | None = None,
    recompute: str | None = None,
    micro_batch: int | None = None,
    sequence_parallel: bool | None = None,
    optimizer: str | None = None,
    tp_across_nodes: bool = False,
) -> tuple[SearchSpace | None, int | None]:
    """Planner constraints from the layout flags, and the GPU count they imply (if any).

    Flags fix their dimension; the planner chooses the others. Values that cannot work
    for the model are refused here, naming the flag.
    """
    degrees = {"tp": tp, "pp": pp, "dp": dp, "cp": cp, "ep": ep, "vpp": vpp}
    for name, value in {**degrees, "micro-batch": micro_batch}.items():
        _positive(name, value)
    if zero is not None and not 0 <= zero <= HSDP:
        raise CapacityError(f"ZeRO stage must be 0-3, or 4 for HSDP, got {zero}", field="zero")
    if recompute is not None and recompute not in RECOMPUTES:
        raise CapacityError(
            f"'{recompute}' is not one of {', '.join(RECOMPUTES)}", field="recompute"
        )
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise CapacityError(
            f"'{optimizer}' is not one of {', '.join(OPTIMIZERS)}", field="optimizer"
        )
    given = [*degrees.values(), zero, recompute, micro_batch, sequence_parallel, optimizer]
    if all(v is None for v in given) and not tp_across_nodes:
        return None, None
    if tp is not None and (spec.n_heads % tp or (spec.kv_heads % tp and tp % spec.kv_heads)):
        raise CapacityError(
            f"TP={tp} must divide the {spec.n_heads} attention heads and the {spec.kv_heads} "
            "KV heads (or be a multiple of them)",
            field="tp",
        )
    if pp is not None and pp > spec.n_layers:
        raise CapacityError(f"PP={pp} exceeds the model's {spec.n_layers} layers", field="pp")
    check_fixed_degrees(spec, ep=ep, vpp=vpp, pp=pp)
    implied = None
    if tp is not None and pp is not None and dp is not None:
        implied = tp * pp * dp * (cp or 1)
    if implied is not None and n_gpus is not None and implied != n_gpus:
        raise CapacityError(
            f"TP x PP x DP x CP = {implied:,} but the job has {n_gpus:,} GPUs "
            "(leave one of them out to let the planner choose it)",
            field="dp",
        )
    model_par = (tp or 1) * (pp or 1) * (cp or 1) * (dp or 1)
    total = n_gpus or implied
    if total is not None and total % model_par:
        raise CapacityError(
            f"TP x PP x CP x DP = {model_par} does not divide the {total} GPUs", field="tp"
        )
    if tp is not None and tp > gpus_per_node and not tp_across_nodes:
        raise CapacityError(
            f"TP={tp} exceeds the {gpus_per_node}-GPU node; add --tp-across-nodes to allow it",
            field="tp",
        )

    def one(x: Any) -> tuple[Any, ...] | None:
        return None if x is None else (x,)

    space = SearchSpace(
        tp=one(tp),
        pp=one(pp),
        dp=one(dp),
        cp=one(cp),
        ep=one(ep),
        vpp=one(vpp),
        micro_batch_seqs=one(micro_batch),
        zero_stage=one(zero),
        recompute=one(recompute),
        sequence_parallel=one(sequence_parallel),
        optimizer=(cast(Optimizer, optimizer),) if optimizer else ("adam-mixed",),
        tp_across_nodes=tp_across_nodes,
    )
    return space, implied


def build_scenario(
    *,
    model: str | None,
    params: str | None,
    tokens: str,
    cluster: str | None,
    partition: str | None,
    nodes: int | None,
    gpus: int | None,
    mfu: float | None,
    days: float | None,
    budget: str | None,
    seq_len: int | None,
    global_batch: str,
    precision: str,
    tp: int | None = None,
    pp: int | None = None,
    dp: int | None = None,
    zero: int | None = None,
    recompute: str | None = None,
    micro_batch: int | None = None,
    catalog: Sequence[str] | None = None,
    cat: Catalog | None = None,
    cp: int | None = None,
    ep: int | None = None,
    vpp: int | None = None,
    sequence_parallel: bool | None = None,
    optimizer: str | None = None,
    tp_across_nodes: bool = False,
    measured_step_time: float | None = None,
    measured_steps: str | None = None,
    failure_rate: float | None = None,
    restart_min: float | None = None,
    checkpoint_gbps: float | None = None,
    job_hours: float | None = None,
    no_goodput: bool = False,
    framework: str | None = None,
) -> tuple[Scenario, str]:
    """Return the scenario and a description of the defaults used ('' if none)."""
    from capacity.budget import parse_budget

    cat = cat or get_catalog(catalog)
    defaults = []
    if model is None and params is None:
        defaults.append(f"model {DEFAULT_MODEL}")
    if cluster is None:
        defaults.append(f"cluster {DEFAULT_CLUSTER}")
    if tokens == DEFAULT_TOKENS:
        defaults.append(f"{DEFAULT_TOKENS} tokens")
    if seq_len is not None and seq_len <= 0:
        raise CapacityError(f"must be positive, got {seq_len}", field="seq-len")
    if days is not None and days <= 0:
        raise CapacityError(f"must be positive, got {days}", field="days")
    n_tokens = parse_quantity(tokens, field="tokens")
    parsed_budget = parse_budget(budget) if budget else None
    spec = resolve_model(cat, model, params, seq_len)
    system = resolve_system(cat, cluster or DEFAULT_CLUSTER, partition)
    n_gpus = job_gpus(system, nodes, gpus)
    space, implied = build_space(
        spec,
        n_gpus=n_gpus,
        gpus_per_node=system.gpus_per_node,
        tp=tp,
        pp=pp,
        dp=dp,
        cp=cp,
        ep=ep,
        vpp=vpp,
        zero=zero,
        recompute=recompute,
        micro_batch=micro_batch,
        sequence_parallel=sequence_parallel,
        optimizer=optimizer,
        tp_across_nodes=tp_across_nodes,
    )
    if n_gpus is None and implied is not None:
        if implied % system.gpus_per_node:
            raise CapacityError(
                f"TP x PP x DP x CP = {implied} is not a multiple of the "
                f"{system.gpus_per_node} GPUs per node",
                field="dp",
            )
        n_gpus = implied
    if measured_step_time is not None and measured_step_time <= 0:
        raise CapacityError(
            f"must be positive, got {measured_step_time}", field="measured-step-time"
        )
    scn = Scenario(
        model=spec,
        tokens=n_tokens,
        system=system,
        n_gpus=n_gpus,
        seq_len=seq_len,
        global_batch_tokens=parse_global_batch(global_batch) or DEFAULT_GLOBAL_BATCH_TOKENS,
        global_batch_auto=parse_global_batch(global_batch) is None,
        space=space,
        mfu=mfu,
        precision=parse_precision(precision, system),
        days=days,
        budget=parsed_budget,
        exchange_rates=cat.exchange_rates,
        calibration=cat.efficiency.get("calibration"),
        goodput=goodput_inputs(failure_rate, restart_min, checkpoint_gbps, job_hours, no_goodput),
        measured_step_time_s=measured_step_time,
        measured_steps=_measured_steps(measured_steps),
        framework=None if framework is None else cat.framework(framework),
    )
    only_defaults = model is None and params is None and cluster is None
    return scn, ", ".join(defaults) if only_defaults else ""
