"""`capacity compare`: one workload across every matching system of the catalog."""

from __future__ import annotations

import sys
from typing import Annotated, cast

import typer

from capacity.cli.estimate_cmd import ClusterOpt
from capacity.cli.options import CatalogOpt, JsonOpt, scenario_command
from capacity.inputs import MULTISITE_FIELDS, ScenarioOptions

HELP = """Compare one training run across HPC partitions and cloud offerings.

Ranks every matching system of the catalog by wall-clock, cost or CO2, with GPU- and
node-hours, energy, memory fit and feasibility. Costs stay in their own currency and are
also converted to --currency with the catalog's dated exchange rates.

Takes the scenario options of `capacity estimate` (batch, precision, layout, goodput,
framework ...): they apply to every system; --nodes and --gpus size the job on each
(GPU counts rounded up to whole nodes), --days sizes it to meet the deadline.

Examples:

  capacity compare --model llama-3-8b --tokens 15T --days 30

  capacity compare --model llama-3-8b --tokens 15T --days 30 --global-batch auto

  capacity compare --params 7B --tokens 2T --nodes 64 --where eu --sort co2

  capacity compare --model mixtral-8x7b --tokens 1T --gpus 512 --where cloud --sort cost --csv
"""

WHERE = ("eu", "europe", "operational", "cloud", "hpc", "all")
SORTS = ("time", "cost", "co2")


def register(app: typer.Typer) -> None:
    app.command("compare", help=HELP)(compare)


@scenario_command(
    exclude=("cluster", "partition", "measured_step_time", "measured_steps", *MULTISITE_FIELDS)
)
def compare(
    opts: ScenarioOptions,
    where: Annotated[
        list[str] | None,
        typer.Option(
            help="Filter (repeatable): eu (EU member states), europe (EU + EEA + UK + "
            "Switzerland), operational, cloud, hpc, all."
        ),
    ] = None,
    sort: Annotated[str, typer.Option(help="Rank by time, cost or co2.")] = "time",
    currency: Annotated[str, typer.Option(help="Currency for converted costs.")] = "EUR",
    only: ClusterOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.scenario import build_scenario, parse_precision
    from capacity.compare import compare_scenario, select_systems
    from capacity.errors import CapacityError
    from capacity.system import all_systems, resolve_system

    for name, values, allowed in (("where", where or [], WHERE), ("sort", [sort], SORTS)):
        for v in values:
            if v not in allowed:
                raise CapacityError(f"'{v}' is not one of {', '.join(allowed)}", field=name)
    currency = currency.upper()
    cat = get_catalog(catalog)
    rates = cat.exchange_rates
    if rates is not None and currency not in {rates.base, *rates.rates}:
        raise CapacityError(f"no exchange rate for '{currency}' in the catalog", field="currency")
    systems = [resolve_system(cat, only)] if only else all_systems(cat)
    systems = select_systems(systems, cast(list, [w for w in (where or []) if w != "all"]))
    if not systems:
        raise CapacityError("no system matches the filters", field="where")
    # One template scenario (built on the first system); each row changes only the
    # system and the job size, so every option the user gave applies to every row.
    template, _ = build_scenario(
        opts.model_copy(update={"cluster": systems[0].id, "nodes": None, "gpus": None}), cat
    )
    gpus = opts.gpus if opts.gpus is not None or opts.nodes is not None else template.n_gpus
    precision = None if opts.precision == "auto" else parse_precision(opts.precision)
    show = sys.stderr.isatty() and not (json_out or csv_out)

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\rcomparing {done}/{total} systems", end="", file=sys.stderr, flush=True)

    rows = compare_scenario(
        template,
        systems,
        nodes=opts.nodes,
        gpus=gpus,
        precision=precision,
        sort=cast(object, sort),  # type: ignore[arg-type]
        currency=currency,
        progress=progress,
    )
    if show:
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr)
    if rows and all(r.estimate is None for r in rows):
        # no system can run it: the input is at fault, so say so once, not in every row
        from collections import Counter

        common, count = Counter(r.error for r in rows).most_common(1)[0]
        alike = "no system can run this job" if count == len(rows) else "and so on every system"
        raise CapacityError(f"{common} ({alike})")
    from capacity.cli.compare_view import render_rows, rows_csv

    if json_out:
        print(
            dump_json(
                {
                    "model": template.model.id,
                    "tokens": template.tokens,
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
        print(render_rows(rows, template.model, template.tokens, currency, _rates_date(cat), sort))


def _rates_date(cat: object) -> str | None:
    rates = getattr(cat, "exchange_rates", None)
    return None if rates is None else str(rates.date)
