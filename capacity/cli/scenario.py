"""Turn validated `ScenarioOptions` into a `Scenario` on the catalog (estimate, plan, report)."""

from __future__ import annotations

from typing import Any, cast

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import ModelSpec, Precision
from capacity.cli.common import resolve_model
from capacity.errors import CapacityError
from capacity.estimate import DEFAULT_GLOBAL_BATCH_TOKENS, Scenario
from capacity.goodput import GoodputInputs
from capacity.inputs import DEFAULT_CLUSTER, MAX_TRAINING_TOKENS, ScenarioOptions
from capacity.layout import Optimizer
from capacity.measured import MeasuredStep, parse_measured_steps
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


def goodput_inputs(opts: ScenarioOptions) -> GoodputInputs:
    """Goodput assumptions with the user's overrides (capacity.goodput documents the defaults)."""
    update: dict[str, Any] = {"enabled": not opts.no_goodput}
    if opts.failure_rate is not None:
        update["failure_rate_per_gpu_h"] = opts.failure_rate
    if opts.restart_min is not None:
        update["restart_min"] = opts.restart_min
    if opts.checkpoint_gbps is not None:
        update["checkpoint_gbyte_per_s_per_node"] = opts.checkpoint_gbps
    if opts.job_hours is not None:
        update["job_wall_limit_h"] = opts.job_hours
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


def check_fixed_degrees(
    spec: ModelSpec,
    *,
    ep: int | None,
    vpp: int | None,
    pp: int | None,
    cp: int | None = None,
    seq_len: int | None = None,
) -> None:
    """Refuse, naming the flag, a fixed degree the model cannot take (whatever the others)."""
    if vpp is not None and vpp > 1 and pp == 1:
        raise CapacityError(
            f"VPP={vpp} interleaves pipeline stages: it needs --pp 2 or more, not 1", field="vpp"
        )
    if cp is not None and cp > 1 and seq_len is not None and seq_len % (2 * cp):
        raise CapacityError(
            f"CP={cp} splits each sequence into 2 x CP = {2 * cp} chunks (load-balanced ring "
            f"attention); a sequence of {seq_len:,} tokens is not a multiple of {2 * cp}",
            field="cp",
        )
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
    seq_len: int | None = None,
) -> tuple[SearchSpace | None, int | None]:
    """Planner constraints from the layout flags, and the GPU count they imply (if any).

    Flags fix their dimension; the planner chooses the others. Ranges and choices are
    checked by `ScenarioOptions`; values that cannot work for this model or node are
    refused here, naming the flag.
    """
    degrees = {"tp": tp, "pp": pp, "dp": dp, "cp": cp, "ep": ep, "vpp": vpp}
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
    check_fixed_degrees(spec, ep=ep, vpp=vpp, pp=pp, cp=cp, seq_len=seq_len)
    if ep is not None and dp is not None and dp % ep:
        raise CapacityError(
            f"EP={ep} must divide the data-parallel degree DP={dp} (the experts are sharded "
            "over the data-parallel replicas)",
            field="ep",
        )
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
        fixed = [n for n, v in (("tp", tp), ("pp", pp), ("cp", cp), ("dp", dp)) if v is not None]
        raise CapacityError(
            f"TP x PP x CP x DP = {model_par} does not divide the {total} GPUs",
            field=fixed[-1] if len(fixed) == 1 else "/".join(fixed),
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


def build_scenario(opts: ScenarioOptions, cat: Catalog) -> tuple[Scenario, str]:
    """The scenario of validated options on the catalog, and the defaults it used ('' if none).

    Resolves what needs the catalog or a file (model, system, framework, measured
    steps) and checks the layout flags against the model and the node.
    """
    from capacity.budget import parse_budget

    n_tokens = parse_quantity(opts.tokens, field="tokens")
    if n_tokens > MAX_TRAINING_TOKENS:
        raise CapacityError(
            f"{n_tokens:.3g} tokens is far beyond any training run (at most "
            f"{MAX_TRAINING_TOKENS:.0e}); check the unit (T = 10^12)",
            field="tokens",
        )
    parsed_budget = parse_budget(opts.budget) if opts.budget else None
    rates = cat.exchange_rates
    if parsed_budget is not None and parsed_budget.currency is not None and rates is not None:
        known = {rates.base, *rates.rates}
        if parsed_budget.currency not in known:  # else the budget would go unchecked
            raise CapacityError(
                f"no exchange rate for '{parsed_budget.currency}' in the catalog (known: "
                f"{', '.join(sorted(known))})",
                field="budget",
            )
    spec = resolve_model(cat, opts.model, opts.params, opts.seq_len)
    system = resolve_system(cat, opts.cluster or DEFAULT_CLUSTER, opts.partition)
    n_gpus = job_gpus(system, opts.nodes, opts.gpus)
    space, implied = build_space(
        spec,
        n_gpus=n_gpus,
        gpus_per_node=system.gpus_per_node,
        tp=opts.tp,
        pp=opts.pp,
        dp=opts.dp,
        cp=opts.cp,
        ep=opts.ep,
        vpp=opts.vpp,
        zero=opts.zero,
        recompute=opts.recompute,
        micro_batch=opts.micro_batch,
        sequence_parallel=opts.sequence_parallel,
        optimizer=opts.optimizer,
        tp_across_nodes=opts.tp_across_nodes,
        seq_len=opts.seq_len or spec.seq_len,
    )
    if n_gpus is None and implied is not None:
        if implied % system.gpus_per_node:
            raise CapacityError(
                f"TP x PP x DP x CP = {implied} is not a multiple of the "
                f"{system.gpus_per_node} GPUs per node",
                field="dp",
            )
        n_gpus = implied
    batch = parse_global_batch(opts.global_batch)
    scn = Scenario(
        model=spec,
        tokens=n_tokens,
        system=system,
        n_gpus=n_gpus,
        seq_len=opts.seq_len,
        global_batch_tokens=batch or DEFAULT_GLOBAL_BATCH_TOKENS,
        global_batch_auto=batch is None,
        space=space,
        mfu=opts.mfu,
        precision=parse_precision(opts.precision, system),
        days=opts.days,
        budget=parsed_budget,
        exchange_rates=cat.exchange_rates,
        calibration=cat.efficiency.get("calibration"),
        goodput=goodput_inputs(opts),
        measured_step_time_s=opts.measured_step_time,
        measured_steps=_measured_steps(opts.measured_steps),
        framework=None if opts.framework is None else cat.framework(opts.framework),
        steady_state=opts.steady_state,
    )
    return scn, opts.defaults_used
