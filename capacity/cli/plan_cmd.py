"""`capacity plan`: rank the parallel layouts of one job and say why others were rejected."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capacity.cli.options import CatalogOpt, JsonOpt, scenario_command
from capacity.inputs import MULTISITE_FIELDS, ScenarioOptions


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


@scenario_command(exclude=MULTISITE_FIELDS)
def plan(
    opts: ScenarioOptions,
    top: Annotated[int, typer.Option(help="How many layouts to show.")] = 10,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.scenario import build_scenario
    from capacity.errors import CapacityError
    from capacity.estimate import estimate_with_plan

    if top <= 0:
        raise CapacityError(f"must be positive, got {top}", field="top")
    scn, _ = build_scenario(opts, get_catalog(catalog))
    if scn.calibration is None:
        raise CapacityError(
            "the catalog has no efficiency calibration (catalogs/efficiency/calibration.toml)",
            field="catalog",
        )
    best, pl = estimate_with_plan(scn, top)  # one search: the table and the estimate share it
    assert pl is not None
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
