"""`capacity estimate`: one training run on one system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from capacity.cli.multisite_opts import InnerStepsOpt, SitesOpt, SyncOpt, WanGbpsOpt, first_site

if TYPE_CHECKING:
    from capacity.estimate import Estimate

Recompute = Literal["none", "selective", "full"]

# Options shared with `report` and `compare`.
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Built-in model name (see `capacity catalog list models`) or a Hugging Face "
        "config.json path. Default: mistral-7b.",
    ),
]
ParamsOpt = Annotated[
    str | None,
    typer.Option(help="Model size instead of --model, e.g. 7B: a Llama-style shape is derived."),
]
TokensOpt = Annotated[str, typer.Option(help="Training tokens, e.g. 2T or 1.5e12.")]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        "-c",
        help="Cluster id (optionally cluster/partition) or cloud offering id. "
        "Default: leonardo-booster.",
    ),
]
CatalogOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--catalog",
        help="Extra catalog folder (repeatable); its entries add to or override the built-in "
        "ones. Also read from CAPACITY_CATALOG_PATH.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
PartitionOpt = Annotated[str | None, typer.Option(help="Partition of the cluster.")]
NodesOpt = Annotated[int | None, typer.Option(help="Nodes (or cloud instances) to use.")]
GpusOpt = Annotated[int | None, typer.Option(help="GPUs to use (a multiple of the node).")]
GlobalBatchOpt = Annotated[
    str,
    typer.Option(help="Global batch in tokens, e.g. 4M, or 'auto' for the DeepSeek batch rule."),
]
SeqLenOpt = Annotated[int | None, typer.Option(help="Training sequence length.")]
FrameworkOpt = Annotated[
    str | None,
    typer.Option(
        help=(
            "Training framework (catalogs/frameworks): megatron-lm, nemo, deepspeed, fsdp "
            "(torchtitan, llm-foundry), jax, or unknown (the default: the spread across "
            "frameworks). Settings you leave out take its defaults, not the fastest choice."
        )
    ),
]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        help=(
            "Peak to use: auto (bf16, or fp16 where the part has no bf16), bf16, fp16, fp8 "
            "(uncalibrated: linear layers only, 0.81 of the bf16 GEMM efficiency), tf32."
        )
    ),
]
TpOpt = Annotated[int | None, typer.Option(help="Fixed tensor-parallel degree.")]
PpOpt = Annotated[int | None, typer.Option(help="Fixed pipeline-parallel degree.")]
CpOpt = Annotated[int | None, typer.Option(help="Fixed context-parallel degree.")]
EpOpt = Annotated[int | None, typer.Option(help="Fixed expert-parallel degree (MoE).")]
ZeroOpt = Annotated[
    int | None,
    typer.Option(
        help="ZeRO stage 0-3, or 4 for HSDP (FSDP hybrid shard: ZeRO-3 inside the node, "
        "replicas across nodes)."
    ),
]
RecomputeOpt = Annotated[
    str | None, typer.Option(help="Activation recompute: none, selective or full.")
]
MicroBatchOpt = Annotated[int | None, typer.Option(help="Micro-batch in sequences.")]
TpAcrossNodesOpt = Annotated[
    bool, typer.Option("--tp-across-nodes", help="Let TP span nodes (slow fabric).")
]


def register(app: typer.Typer) -> None:
    app.command(
        "estimate",
        help=(
            "Estimate time, GPU/node-hours, cost, energy, CO2 and memory fit of one training run."
            "\n\nWith no options: a Mistral-7B-class model on 1T tokens on Leonardo Booster."
            "\n\nExamples:\n\n"
            "  capacity estimate --model llama-2-7b --tokens 2T --cluster leonardo-booster "
            "--nodes 64\n\n"
            "  capacity estimate --params 13B --tokens 300B --cluster jean-zay/h100 --days 30\n\n"
            "  capacity estimate --model ./config.json --tokens 1T --cluster aws-p5-48xlarge "
            "--gpus 512 --json\n\n"
            "  capacity estimate --model llama-2-70b --tokens 2T "
            "--sites leonardo-booster:256,marenostrum5/acc:100 --sync diloco --inner-steps 100"
        ),
    )(estimate)


def estimate(
    model: ModelOpt = None,
    params: ParamsOpt = None,
    tokens: TokensOpt = "1T",
    cluster: ClusterOpt = None,
    partition: PartitionOpt = None,
    nodes: NodesOpt = None,
    gpus: GpusOpt = None,
    mfu: Annotated[
        float | None, typer.Option(help="Model-FLOPs utilisation to assume, e.g. 0.4.")
    ] = None,
    days: Annotated[
        float | None,
        typer.Option(help="Deadline in days; without --nodes/--gpus the job is sized to meet it."),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(help="Budget to check: '500k gpu-hours', '40k node-hours', '2M EUR'."),
    ] = None,
    seq_len: SeqLenOpt = None,
    global_batch: GlobalBatchOpt = "4M",
    precision: PrecisionOpt = "auto",
    framework: FrameworkOpt = None,
    tp: TpOpt = None,
    pp: PpOpt = None,
    dp: Annotated[int | None, typer.Option(help="Fixed data-parallel degree.")] = None,
    zero: ZeroOpt = None,
    recompute: RecomputeOpt = None,
    micro_batch: MicroBatchOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    cp: CpOpt = None,
    ep: EpOpt = None,
    vpp: Annotated[
        int | None, typer.Option(help="Interleaved pipeline chunks per GPU (1 = plain 1F1B).")
    ] = None,
    sequence_parallel: Annotated[
        bool | None, typer.Option("--sp/--no-sp", help="Force sequence parallelism on or off.")
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option(help="adam-mixed (default), adam-mixed-fp32-grads or adam-bf16."),
    ] = None,
    tp_across_nodes: TpAcrossNodesOpt = False,
    measured_step_time: Annotated[
        float | None,
        typer.Option(
            help="Measured seconds per step of this job's layout on this system: re-anchors "
            "the GEMM efficiency and narrows the interval."
        ),
    ] = None,
    measured_steps: Annotated[
        str | None,
        typer.Option(
            help="CSV of measured steps from a benchmark allocation (columns tp, pp, dp, ..., "
            "step_time_s; see capacity/measured.py): re-anchors the model on this system."
        ),
    ] = None,
    failure_rate: Annotated[
        float | None, typer.Option(help="Failures per GPU-hour (default: Llama 3's 2.0e-5).")
    ] = None,
    restart_min: Annotated[
        float | None, typer.Option(help="Minutes to restart after a failure or between jobs.")
    ] = None,
    checkpoint_gbps: Annotated[
        float | None, typer.Option(help="Checkpoint write bandwidth per node, GB/s.")
    ] = None,
    job_hours: Annotated[
        float | None, typer.Option(help="Job wall-time limit, hours (default: the partition's).")
    ] = None,
    no_goodput: Annotated[
        bool, typer.Option("--no-goodput", help="Leave failures, checkpoints and job chains out.")
    ] = False,
    currency: Annotated[
        str | None,
        typer.Option(
            help="Also give the cost in this currency, e.g. EUR (the catalog's dated ECB rates)."
        ),
    ] = None,
    sites: SitesOpt = None,
    sync: SyncOpt = "diloco",
    inner_steps: InnerStepsOpt = None,
    wan_gbps: WanGbpsOpt = None,
) -> None:
    from capacity.cli.common import dump_json
    from capacity.cli.scenario import build_scenario
    from capacity.estimate import estimate as run_estimate

    if sites is not None:
        from capacity.cli.common import get_catalog
        from capacity.cli.multisite_opts import site_requests

        multisite_guard(cluster=cluster, partition=partition, nodes=nodes, gpus=gpus, days=days)
        site_requests(get_catalog(catalog), sites)  # bad sites fail here, naming --sites
        cluster = first_site(sites)
    scn, defaults = build_scenario(
        model=model,
        params=params,
        tokens=tokens,
        cluster=cluster,
        partition=partition,
        nodes=nodes,
        gpus=gpus,
        mfu=mfu,
        days=days,
        budget=budget,
        seq_len=seq_len,
        global_batch=global_batch,
        precision=precision,
        framework=framework,
        tp=tp,
        pp=pp,
        dp=dp,
        zero=zero,
        recompute=recompute,
        micro_batch=micro_batch,
        catalog=catalog,
        cp=cp,
        ep=ep,
        vpp=vpp,
        sequence_parallel=sequence_parallel,
        optimizer=optimizer,
        tp_across_nodes=tp_across_nodes,
        measured_step_time=measured_step_time,
        measured_steps=measured_steps,
        failure_rate=failure_rate,
        restart_min=restart_min,
        checkpoint_gbps=checkpoint_gbps,
        job_hours=job_hours,
        no_goodput=no_goodput,
    )
    if sites is not None:
        from capacity.cli.common import get_catalog
        from capacity.cli.multisite_opts import multisite_request, render_multisite
        from capacity.multisite import multisite_estimate

        ms = multisite_estimate(
            multisite_request(scn, get_catalog(catalog), sites, sync, inner_steps, wan_gbps)
        )
        if json_out:
            print(dump_json({"model": scn.model.id, "multisite": ms.to_json()}))
        else:
            print(render_multisite(ms))
        return
    est = run_estimate(scn)
    converted = convert_cost(est, currency)
    if json_out:
        doc = est.to_json()
        if currency is not None:
            doc["cost_converted"] = converted
        print(dump_json(doc))
        return
    from capacity.cli.render import render_estimate

    if defaults:
        print(f"Default scenario ({defaults}); see `capacity estimate --help`.\n")
    print(render_estimate(est))
    if converted is not None:
        print(
            f"\ncost in {converted['currency']}: {converted['amount']:,.0f} "
            f"(1 {converted['base']} = {converted['rate']:g} {converted['quote']}, ECB rate of "
            f"{converted['rate_date']})"
        )


def multisite_guard(**given: Any) -> None:
    """--sites names the systems and their nodes: the single-system options clash with it."""
    from capacity.errors import CapacityError

    for name, value in given.items():
        if value is not None:
            raise CapacityError(
                "give the systems and their nodes in --sites instead"
                if name != "days"
                else "deadline sizing is not available with --sites",
                field=name,
            )


def convert_cost(est: Estimate, currency: str | None) -> dict[str, Any] | None:
    """The cost in `currency` with the rate and its date, or None (no price or same currency)."""
    from capacity.errors import CapacityError
    from capacity.estimate import convert

    if currency is None:
        return None
    currency = currency.upper()
    rates = est.scenario.exchange_rates
    known = set() if rates is None else {rates.base, *rates.rates}
    if currency not in known:
        raise CapacityError(f"no exchange rate for '{currency}' in the catalog", field="currency")
    cost = est.run.cost
    if cost is None:
        return None
    conv = convert(cost, currency, rates)
    assert conv is not None and rates is not None
    quote = cost.currency if cost.currency != rates.base else currency
    return {
        "amount": conv.amount,
        "currency": currency,
        "base": rates.base,
        "quote": quote,
        "rate": rates.rates.get(quote, 1.0),
        "rate_date": str(rates.date),
    }
