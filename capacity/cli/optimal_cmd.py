"""`capacity optimal`: compute-optimal model size and tokens for a budget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from capacity.cli.law_io import LAW_HELP
from capacity.cli.options import CatalogOpt, JsonOpt, scenario_command
from capacity.inputs import MULTISITE_FIELDS, ScenarioOptions

if TYPE_CHECKING:
    from capacity.budget_optimal import BudgetOptimum
    from capacity.estimate import Estimate
    from capacity.scaling import OptimalAllocation

HELP = """Compute-optimal model size N* and tokens D* for a budget, with the expected loss.

The budget is a number with its unit: '5.76e23 flops', '500k gpu-hours', '40k node-hours',
'2M EUR', or '60 days' (with --nodes/--gpus). Anything but FLOPs is converted through the
throughput `capacity estimate` predicts on --cluster.

What is spent, one rule: the training FLOPs (6ND) equal the budget. With
--inference-tokens the model is the one with the least training + inference FLOPs for the
loss it reaches, among those whose training costs exactly the budget (Sardana & Frankle
2023); the loss it reaches is shown beside the compute-optimal model's on the same FLOPs.
With --target-loss the training FLOPs are what the target costs. The table of other sizes
is round multiples of the chosen size, all on the same training FLOPs.

--law FILE.toml uses your own fit (`capacity fit-law`): the loss comes with its bootstrap
interval and a note when the plan lies beyond the fitted runs.

Examples:

  capacity optimal --budget '500k gpu-hours' --cluster leonardo-booster

  capacity optimal --budget '2M USD' --cluster aws-p5-48xlarge --law chinchilla

  capacity optimal --target-loss 2.1 --cluster jean-zay/h100 --nodes 64

  capacity optimal --budget '1e24 flops' --inference-tokens 2e13

  capacity optimal --budget '1e22 flops' --law my_law.toml
"""


def register(app: typer.Typer) -> None:
    app.command("optimal", help=HELP)(optimal)


# The model and its tokens are what `optimal` decides; --budget is what it spends.
NOT_OPTIONS_OF_OPTIMAL = (
    *MULTISITE_FIELDS,
    "model",
    "params",
    "tokens",
    "days",
    "budget",
    "tp",
    "pp",
    "dp",
    "cp",
    "ep",
    "vpp",
    "zero",
    "recompute",
    "micro_batch",
    "sequence_parallel",
    "optimizer",
    "tp_across_nodes",
    "measured_step_time",
    "measured_steps",
)


@scenario_command(exclude=NOT_OPTIONS_OF_OPTIMAL)
def optimal(
    opts: ScenarioOptions,
    budget: Annotated[
        str | None, typer.Option(help="Budget with its unit, e.g. '500k gpu-hours'.")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            "-c",
            help="Cluster[/partition] or cloud offering id; without one, only FLOP budgets.",
        ),
    ] = None,
    law: Annotated[str, typer.Option(help=LAW_HELP)] = "epoch",
    unique_tokens: Annotated[
        str | None, typer.Option(help="Unique tokens available, e.g. 3T (data-constrained).")
    ] = None,
    inference_tokens: Annotated[
        str | None, typer.Option(help="Lifetime inference tokens, e.g. 1e13 (inference-aware).")
    ] = None,
    target_loss: Annotated[
        float | None, typer.Option(help="Instead of a budget: the loss to reach (nats/token).")
    ] = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    from capacity.budget import parse_budget
    from capacity.budget_optimal import optimal_for_budget
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.law_io import load_law
    from capacity.cli.scenario import build_scenario
    from capacity.errors import CapacityError
    from capacity.units import parse_quantity

    law_used = load_law(law)  # unknown law or bad file: clear error before anything else
    parsed = parse_budget(budget) if budget else None
    if target_loss is not None and target_loss <= 0:
        raise CapacityError(f"must be positive, got {target_loss}", field="target-loss")
    unique = (
        parse_quantity(unique_tokens, field="unique-tokens", minimum=1) if unique_tokens else None
    )
    inference = (
        parse_quantity(inference_tokens, field="inference-tokens", minimum=1)
        if inference_tokens
        else None
    )
    cat = get_catalog(catalog)
    if cluster is not None and "/" in cluster and opts.partition is not None:
        raise CapacityError(
            f"'{cluster}' already names a partition; give it either there or with "
            "--partition, not both",
            field="partition",
        )
    opts = opts.model_copy(update={"cluster": cluster})
    if opts.cluster is None and (opts.nodes or opts.gpus):
        raise CapacityError("--nodes/--gpus need --cluster", field="cluster")
    # The template is built with the default model; every size copies it with its own.
    template = build_scenario(opts, cat)[0] if opts.cluster is not None else None
    res = optimal_for_budget(
        law=law_used,
        budget=parsed,
        target_loss=target_loss,
        system=None if template is None else template.system,
        n_gpus=None if template is None else template.n_gpus,
        unique_tokens=unique,
        inference_tokens=inference,
        mfu=opts.mfu,
        seq_len=opts.seq_len,
        exchange_rates=cat.exchange_rates,
        calibration=cat.efficiency.get("calibration"),
        template=template,
    )
    if json_out:
        print(dump_json(to_json(res)))
        return
    print(render_optimal(res))


def to_json(res: BudgetOptimum) -> dict[str, object]:
    opt, est = res.optimum, res.estimate
    doc: dict[str, object] = {
        "law": opt.law,
        "law_name": res.law_name,
        "budget_text": None if res.budget is None else res.budget.describe(),
        "params": opt.params,
        "tokens": opt.tokens,
        "tokens_per_param": opt.tokens_per_param,
        "loss": opt.loss,
        "flops": opt.flops,
        "method": opt.method,
        "budget": None if res.budget is None else res.budget.model_dump(),
        "target_loss": res.target_loss,
        "conversion": res.conversion,
        "unique_tokens": opt.unique_tokens,
        "epochs": opt.epochs,
        "inference_tokens": opt.inference_tokens,
        "inference_flops": opt.inference_flops,
        "total_flops": opt.total_flops,
        "compute_optimal_params": opt.compute_optimal_params,
        "compute_optimal_loss": opt.compute_optimal_loss,
        "loss_interval": None if res.loss_interval is None else res.loss_interval.model_dump(),
        "params_interval": (
            None if res.params_interval is None else res.params_interval.model_dump()
        ),
        "interval": res.interval_label,
        "extrapolation": res.extrapolation,
        "shape": {
            "n_layers": res.model.n_layers,
            "d_model": res.model.d_model,
            "n_heads": res.model.n_heads,
            "ffn_dim": res.model.ffn_dim,
        },
        "alternatives": [
            {
                "label": size_label(a),
                "size_factor": a.size_factor,
                "params": a.params,
                "tokens": a.tokens,
                "loss": a.loss,
                "loss_delta": a.loss - opt.loss,
                "flops": a.flops,
                "total_flops": a.total_flops,
            }
            for a in res.alternatives
        ],
        "suggested_global_batch_tokens": res.hyperparams.batch_tokens,
        "suggested_learning_rate": res.hyperparams.learning_rate,
        "hyperparams_source": res.hyperparams.source,
        "hyperparams_extrapolated": res.hyperparams.extrapolated,
    }
    if est is not None:
        cost = est.run.cost
        doc.update(
            system=est.scenario.system.id,
            n_gpus=est.n_gpus,
            wall_clock_days=est.wall_clock_days,
            gpu_hours=est.run.gpu_hours,
            node_hours=est.run.node_hours,
            cost=None if cost is None else {"amount": cost.amount, "currency": cost.currency},
            energy_mwh=est.run.energy_mwh,
            co2_t=est.run.co2_t,
            mfu=est.throughput.mfu,
            feasible=est.feasible,
            verdict=est.verdict,
            reasons=[r.message for r in est.reasons if r.blocking],
        )
    return doc


def _verdict_text(est: Estimate) -> str:
    """The estimate's verdict, with why when the chosen size cannot run here (a budget's
    optimum can outgrow the system: a 19B model on one 80 GB GPU does not fit)."""
    why = [r.message for r in est.reasons if r.blocking]
    return est.verdict + (": " + "; ".join(why) if why else "")


def size_label(a: OptimalAllocation) -> str:
    """'1/4 x N', '2 x N', 'compute-optimal': multiples of the chosen size N."""
    if a.method == "compute_optimal" and a.size_factor != 1.0:
        return "compute-optimal"
    if a.method != "alternative":
        return "N (chosen)" if a.method == "inference_aware" else "N (optimum)"
    f = a.size_factor
    text = f"1/{1 / f:g}" if f < 1 and float(1 / f).is_integer() else f"{f:g}"
    return f"{text} x N"


def render_optimal(res: BudgetOptimum) -> str:
    """The text `capacity optimal` prints. Long because it is one table of rows in print
    order plus the alternatives table; each row is one figure."""
    from capacity import fmt
    from capacity.cli.common import kv_table, table
    from capacity.cli.render import span
    from capacity.scaling.fit import far_beyond_fit

    opt, est = res.optimum, res.estimate
    head = (
        f"target loss {res.target_loss:g}"
        if res.target_loss is not None
        else (res.budget.describe() if res.budget else "")
    )
    loss = f"{opt.loss:.3f} nats/token"
    if res.loss_interval is not None:
        iv = res.loss_interval
        loss += f" ({iv.low:.3f}-{iv.high:.3f}, {res.interval_label})"
    if res.target_loss is not None:
        spent = ": what reaching the target costs"
    elif res.budget is not None and res.budget.unit == "flops":
        spent = " = the budget"
    else:
        spent = ": what the budget buys"
    n_text = fmt.count(opt.params)
    if res.params_interval is not None and opt.method == "compute_optimal":
        pi = res.params_interval
        n_text += f" ({fmt.count(pi.low)}-{fmt.count(pi.high)})"
    rows: list[tuple[str, str]] = [
        ("budget", head),
        ("conversion", res.conversion),
        ("law", f"{res.law_name or opt.law} ({opt.method.replace('_', ' ')})"),
        ("N* (parameters)", n_text),
        ("D* (tokens)", fmt.count(opt.tokens)),
        ("tokens / parameter", f"{opt.tokens_per_param:.1f}"),
        ("expected loss", loss),
        ("training FLOPs", f"{fmt.sci(opt.flops)} (6ND){spent}"),
        (
            "shape used",
            f"{res.model.n_layers} layers x d_model {res.model.d_model}, "
            f"{res.model.n_heads} heads, FFN {res.model.ffn_dim}",
        ),
    ]
    if far_beyond_fit(res.extrapolation):
        rows.append(
            (
                "fitted range",
                f"this plan lies {res.extrapolation:.0f}x beyond the fitted runs: the interval "
                "covers the fit's noise, not a change of regime",
            )
        )
    if opt.epochs is not None:
        rows.append(("epochs over unique data", f"{opt.epochs:.2f}"))
    if opt.inference_flops is not None:
        rows.append(("inference FLOPs", f"{fmt.sci(opt.inference_flops)} (2N x inference tokens)"))
    if opt.compute_optimal_params is not None and opt.compute_optimal_loss is not None:
        n_co = opt.compute_optimal_params
        life_co = opt.flops + 2 * n_co * (opt.inference_tokens or 0.0)
        rows.append(
            (
                "vs compute-optimal",
                f"{fmt.count(n_co)} on the same training FLOPs reaches "
                f"{opt.compute_optimal_loss:.3f} ({opt.compute_optimal_loss - opt.loss:+.3f}); "
                f"lifetime FLOPs {fmt.sci(opt.total_flops)} vs {fmt.sci(life_co)} "
                f"({opt.total_flops / life_co - 1:+.0%})",
            )
        )
    if est is not None:
        cost = est.run.cost
        rows += [
            ("system", f"{est.scenario.system.name} [{est.scenario.system.id}]"),
            ("job", f"{est.n_gpus:,} GPUs, MFU {est.throughput.mfu:.1%}"),
            ("verdict", _verdict_text(est)),
            (
                "wall-clock",
                span(est.wall_clock_days, est.intervals.get("wall_clock_days")) + " days",
            ),
            ("GPU-hours", f"{est.run.gpu_hours:,.0f}"),
            ("node-hours", f"{est.run.node_hours:,.0f}"),
            ("cost", fmt.money(cost.amount, cost.currency) if cost else "no public price"),
        ]
    hp = res.hyperparams
    rows.append(
        (
            "suggested batch / LR",
            f"{fmt.count(hp.batch_tokens)} tokens, peak LR {hp.learning_rate:.2e}"
            + (" (extrapolated beyond the fit)" if hp.extrapolated else "")
            + f" [{hp.source}]",
        )
    )
    lifetime = opt.inference_tokens is not None
    alt = [
        [
            size_label(a),
            fmt.count(a.params),
            fmt.count(a.tokens),
            f"{a.loss:.3f}",
            f"{a.loss - opt.loss:+.3f}",
            *([fmt.sci(a.total_flops)] if lifetime else []),
        ]
        for a in sorted([*res.alternatives, opt], key=lambda r: r.params)
    ]
    headers = [
        "size",
        "params",
        "tokens",
        "loss",
        "vs N",
        *(["lifetime FLOPs"] if lifetime else []),
    ]
    return (
        kv_table(rows)
        + f"\n\nSame training FLOPs ({fmt.sci(opt.flops)}, 6ND), other sizes"
        + " (smaller models are cheaper to serve):\n"
        + table(alt, headers)
    )
