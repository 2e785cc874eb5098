"""`capacity plan`: rank the parallel layouts of one job and say why others were rejected."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capacity.cli.estimate_cmd import CatalogOpt, ClusterOpt, JsonOpt, ModelOpt, ParamsOpt


def register(app: typer.Typer) -> None:
    app.command(
        "plan",
        help=(
            "Search every parallel layout (TP, PP with interleaving, DP, CP, EP, micro-batch, "
            "ZeRO 0-3, recompute, sequence parallelism) of a training job and rank the ones "
            "that fit in memory by throughput, with the time breakdown of a step and why "
            "whole families were rejected.\n\nExamples:\n\n"
            "  capacity plan --model llama-3-405b --tokens 15T --cluster scaleway-nabu "
            "--gpus 16384 --global-batch 16M --seq-len 8192\n\n"
            "  capacity plan --model llama-2-7b --tokens 2T --cluster leonardo-booster "
            "--nodes 64 --top 5 --json"
        ),
    )(plan)


def plan(
    model: ModelOpt = None,
    params: ParamsOpt = None,
    tokens: Annotated[str, typer.Option(help="Training tokens, e.g. 2T.")] = "1T",
    cluster: ClusterOpt = None,
    partition: Annotated[str | None, typer.Option(help="Partition of the cluster.")] = None,
    nodes: Annotated[int | None, typer.Option(help="Nodes (or cloud instances) to use.")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs to use (a multiple of the node).")] = None,
    global_batch: Annotated[
        str, typer.Option(help="Global batch in tokens, e.g. 4M, or 'auto' (DeepSeek rule).")
    ] = "4M",
    seq_len: Annotated[int | None, typer.Option(help="Training sequence length.")] = None,
    top: Annotated[int, typer.Option(help="How many layouts to show.")] = 10,
    precision: Annotated[str, typer.Option(help="bf16, fp16, fp8 or tf32.")] = "bf16",
    tp: Annotated[int | None, typer.Option(help="Fix the tensor-parallel degree.")] = None,
    pp: Annotated[int | None, typer.Option(help="Fix the pipeline-parallel degree.")] = None,
    cp: Annotated[int | None, typer.Option(help="Fix the context-parallel degree.")] = None,
    ep: Annotated[int | None, typer.Option(help="Fix the expert-parallel degree.")] = None,
    zero: Annotated[int | None, typer.Option(help="Fix the ZeRO stage (0-3).")] = None,
    recompute: Annotated[
        str | None, typer.Option(help="Fix recompute: none, selective or full.")
    ] = None,
    micro_batch: Annotated[int | None, typer.Option(help="Fix the micro-batch size.")] = None,
    tp_across_nodes: Annotated[
        bool, typer.Option("--tp-across-nodes", help="Let TP span nodes (slow fabric).")
    ] = False,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    from capacity.cli.common import dump_json
    from capacity.cli.scenario import build_scenario
    from capacity.errors import CapacityError
    from capacity.estimate import estimate, plan_scenario

    if top <= 0:
        raise CapacityError(f"must be positive, got {top}", field="top")
    scn, _ = build_scenario(
        model=model,
        params=params,
        tokens=tokens,
        cluster=cluster,
        partition=partition,
        nodes=nodes,
        gpus=gpus,
        mfu=None,
        days=None,
        budget=None,
        seq_len=seq_len,
        global_batch=global_batch,
        precision=precision,
        tp=tp,
        pp=pp,
        cp=cp,
        ep=ep,
        zero=zero,
        recompute=recompute,
        micro_batch=micro_batch,
        tp_across_nodes=tp_across_nodes,
        catalog=catalog,
    )
    best = estimate(scn)
    pl = plan_scenario(scn, best.n_gpus, top)
    if json_out:
        print(dump_json(plan_json(pl, best)))
        return
    from capacity.cli.plan_view import render_plan

    print(render_plan(pl, best))


def plan_json(pl: Any, best: Any) -> dict[str, Any]:
    from capacity.cli.plan_view import layout_days

    req = pl.request
    layouts = []
    for i, c in enumerate(pl.choices, start=1):
        days, iv = layout_days(c, best)
        layouts.append(
            {
                "rank": i,
                **c.to_json(),
                "wall_clock_days": days,
                "interval": None if iv is None else {"p10": iv.p10, "p90": iv.p90},
            }
        )
    return {
        "model": req.model.id,
        "system": req.system.id,
        "n_gpus": req.n_gpus,
        "seq_len": req.seq_len,
        "global_batch_tokens": req.global_batch_tokens,
        "tokens": best.scenario.tokens,
        "n_candidates": pl.n_candidates,
        "n_feasible": pl.n_feasible,
        "layouts": layouts,
        "rejected": [r.model_dump() for r in pl.rejections],
        "goodput": None if best.goodput is None else best.goodput.to_json(),
        "interval_note": best.interval_note,
        "notes": list(pl.notes),
        "feasible": best.feasible,
        "reasons": [r.message for r in best.reasons],
    }
