"""`capacity estimate`: one training run on one system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from capacity.cli.multisite_opts import first_site
from capacity.cli.options import CatalogOpt, JsonOpt, scenario_command
from capacity.inputs import ScenarioOptions

if TYPE_CHECKING:
    from capacity.estimate import Estimate

# Kept for commands with options of their own (compare --only, optimal --cluster).
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        "-c",
        help="Cluster id (optionally cluster/partition) or cloud offering id. "
        "Default: leonardo-booster.",
    ),
]
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


@scenario_command()
def estimate(
    opts: ScenarioOptions,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    currency: Annotated[
        str | None,
        typer.Option(
            help="Also give the cost in this currency, e.g. EUR (the catalog's dated ECB rates)."
        ),
    ] = None,
) -> None:
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.scenario import build_scenario
    from capacity.estimate import estimate as run_estimate

    cat = get_catalog(catalog)
    if opts.sites is not None:
        from capacity.cli.multisite_opts import site_requests

        site_requests(cat, opts.sites)  # bad sites fail here, naming --sites
        opts = opts.model_copy(update={"cluster": first_site(opts.sites)})
    scn, defaults = build_scenario(opts, cat)
    if opts.sites is not None:
        from capacity.cli.multisite_opts import multisite_request, render_multisite
        from capacity.multisite import multisite_estimate

        ms = multisite_estimate(multisite_request(scn, cat, opts))
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
