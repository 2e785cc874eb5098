"""`capacity compare`: one workload across every matching system of the catalog."""

from __future__ import annotations

import sys
from typing import Annotated, cast

import typer

from capacity.cli.estimate_cmd import CatalogOpt, ClusterOpt, JsonOpt, ModelOpt, ParamsOpt

HELP = """Compare one training run across HPC partitions and cloud offerings.

Ranks every matching system of the catalog by wall-clock, cost or CO2, with GPU- and
node-hours, energy, memory fit and feasibility. Costs stay in their own currency and are
also converted to --currency with the catalog's dated exchange rates.

Examples:

  capacity compare --model llama-3-8b --tokens 15T --days 30

  capacity compare --params 7B --tokens 2T --nodes 64 --where eu --sort co2

  capacity compare --model mixtral-8x7b --tokens 1T --gpus 512 --where cloud --sort cost --csv
"""

WHERE = ("eu", "europe", "operational", "cloud", "hpc", "all")
SORTS = ("time", "cost", "co2")


def register(app: typer.Typer) -> None:
    app.command("compare", help=HELP)(compare)


def compare(
    model: ModelOpt = None,
    params: ParamsOpt = None,
    tokens: Annotated[str, typer.Option(help="Training tokens, e.g. 15T.")] = "1T",
    nodes: Annotated[int | None, typer.Option(help="Nodes (instances) on every system.")] = None,
    gpus: Annotated[
        int | None, typer.Option(help="GPUs on every system (rounded up to whole nodes).")
    ] = None,
    days: Annotated[
        float | None, typer.Option(help="Deadline: size the job on each system to meet it.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            help="Filter (repeatable): eu (EU member states), europe (EU + EEA + UK + "
            "Switzerland), operational, cloud, hpc, all."
        ),
    ] = None,
    sort: Annotated[str, typer.Option(help="Rank by time, cost or co2.")] = "time",
    currency: Annotated[str, typer.Option(help="Currency for converted costs.")] = "EUR",
    seq_len: Annotated[int | None, typer.Option(help="Training sequence length.")] = None,
    mfu: Annotated[float | None, typer.Option(help="Override the MFU on every system.")] = None,
    only: ClusterOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    from capacity.cli.common import dump_json, get_catalog, resolve_model
    from capacity.compare import compare as run_compare
    from capacity.compare import select_systems
    from capacity.errors import CapacityError
    from capacity.system import all_systems, resolve_system
    from capacity.units import parse_quantity

    n_tokens = parse_quantity(tokens, field="tokens")
    for w in where or ():
        if w not in WHERE:
            raise CapacityError(f"'{w}' is not one of {', '.join(WHERE)}", field="where")
    if sort not in SORTS:
        raise CapacityError(f"'{sort}' is not one of {', '.join(SORTS)}", field="sort")
    for name, value in (("nodes", nodes), ("gpus", gpus), ("days", days)):
        if value is not None and value <= 0:
            raise CapacityError(f"must be positive, got {value}", field=name)
    currency = currency.upper()
    cat = get_catalog(catalog)
    if cat.exchange_rates is not None and currency not in {
        cat.exchange_rates.base,
        *cat.exchange_rates.rates,
    }:
        raise CapacityError(f"no exchange rate for '{currency}' in the catalog", field="currency")
    spec = resolve_model(cat, model, params, seq_len)
    systems = [resolve_system(cat, only)] if only else all_systems(cat)
    systems = select_systems(systems, cast(list, [w for w in (where or []) if w != "all"]))
    if not systems:
        raise CapacityError("no system matches the filters", field="where")
    show = sys.stderr.isatty() and not (json_out or csv_out)

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\rcomparing {done}/{total} systems", end="", file=sys.stderr, flush=True)

    rows = run_compare(
        spec,
        n_tokens,
        systems,
        nodes=nodes,
        gpus=gpus,
        days=days,
        seq_len=seq_len,
        mfu=mfu,
        sort=cast(object, sort),  # type: ignore[arg-type]
        currency=currency,
        rates=cat.exchange_rates,
        calibration=cat.efficiency.get("calibration"),
        progress=progress,
    )
    if show:
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr)
    from capacity.cli.compare_view import render_rows, rows_csv

    if json_out:
        print(
            dump_json(
                {
                    "model": spec.id,
                    "tokens": n_tokens,
                    "currency": currency,
                    "exchange_rates_date": _rates_date(cat),
                    "sort": sort,
                    "rows": [r.to_json() for r in rows],
                }
            )
        )
    elif csv_out:
        print(rows_csv(rows), end="")
    else:
        print(render_rows(rows, spec, n_tokens, currency, _rates_date(cat), sort))


def _rates_date(cat: object) -> str | None:
    rates = getattr(cat, "exchange_rates", None)
    return None if rates is None else str(rates.date)
