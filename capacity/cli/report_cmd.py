"""`capacity report`: one training run as a self-contained HTML page.

The command takes every option of `capacity estimate` (its signature is copied
from `estimate_cmd.estimate`, so the two cannot drift apart) plus the output path,
a title, the scaling law and the comparison currency.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

import capacity.cli.estimate_cmd as estimate_cmd
from capacity.cli.law_io import LAW_HELP

HELP = """Write an HTML report of one training run: headline figures, memory per GPU,
step time, strong scaling, the same run across the catalog, the scaling-law panel and
every assumption with its source.

Takes the same scenario options as `capacity estimate`. The page is one self-contained
file (plotly.js embedded, no request leaves it) that opens offline in any browser.

Examples:

  capacity report --model llama-2-7b --tokens 2T --cluster leonardo-booster --nodes 64
  -o reports/llama2-leonardo.html

  capacity report --params 13B --tokens 300B --cluster jean-zay/h100 --days 30 --json
"""

# Options of `estimate` that are not part of the scenario.
_NOT_SCENARIO = {"json_out"}


def register(app: typer.Typer) -> None:
    app.command("report", help=HELP)(report)


def _own_options() -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter(
            "output",
            kw,
            default=Path("report.html"),
            annotation=Annotated[
                Path, typer.Option("--output", "-o", help="HTML file to write.", dir_okay=False)
            ],
        ),
        inspect.Parameter(
            "title",
            kw,
            default=None,
            annotation=Annotated[
                str | None, typer.Option(help="Page title (default: model, tokens, system).")
            ],
        ),
        inspect.Parameter(
            "law",
            kw,
            default="epoch",
            annotation=Annotated[str, typer.Option(help=LAW_HELP)],
        ),
        inspect.Parameter(
            "currency",
            kw,
            default="EUR",
            annotation=Annotated[str, typer.Option(help="Currency of the cluster comparison.")],
        ),
    ]


def _signature() -> inspect.Signature:
    base = inspect.signature(estimate_cmd.estimate, eval_str=True)
    own = _own_options()
    names = {p.name for p in own}  # the report's own meaning wins (e.g. --currency)
    params = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in base.parameters.values()
        if p.name not in names
    ]
    return inspect.Signature([*params, *own])


HTML_SUFFIXES = (".html", ".htm")


def report(**kwargs: Any) -> None:
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.files import check_output_file, write_file
    from capacity.cli.scenario import build_scenario
    from capacity.errors import CapacityError
    from capacity.estimate import estimate
    from capacity.report.estimate_report import build_report, render_report, report_json
    from capacity.system import all_systems

    output: Path = kwargs.pop("output")
    title: str | None = kwargs.pop("title")
    from capacity.cli.law_io import load_law

    law = load_law(kwargs.pop("law"))
    currency: str = kwargs.pop("currency").upper()
    json_out: bool = bool(kwargs.pop("json_out", False))
    sites: str | None = kwargs.pop("sites", None)
    sync: str = kwargs.pop("sync", "diloco")
    inner_steps: int | None = kwargs.pop("inner_steps", None)
    wan_gbps: float | None = kwargs.pop("wan_gbps", None)
    accepted = set(inspect.signature(build_scenario).parameters)
    scenario_kwargs = {k: v for k, v in kwargs.items() if k in accepted and k not in _NOT_SCENARIO}
    check_output_file(output, field="output", suffixes=HTML_SUFFIXES)
    cat = get_catalog(scenario_kwargs.get("catalog"))
    rates = cat.exchange_rates
    if rates is not None and currency not in {rates.base, *rates.rates}:
        raise CapacityError(f"no exchange rate for '{currency}' in the catalog", field="currency")
    multisite = None
    if sites is not None:
        # the page's single-system sections show the first site alone with its nodes
        from capacity.cli.estimate_cmd import multisite_guard
        from capacity.cli.multisite_opts import multisite_request, parse_sites, site_requests

        multisite_guard(
            cluster=scenario_kwargs.get("cluster"),
            partition=scenario_kwargs.get("partition"),
            nodes=scenario_kwargs.get("nodes"),
            gpus=scenario_kwargs.get("gpus"),
            days=scenario_kwargs.get("days"),
        )
        site_requests(cat, sites)  # bad sites fail here, naming --sites
        first, first_nodes = parse_sites(cat, sites)[0]
        scenario_kwargs.update(cluster=first, nodes=first_nodes)
    scn, _defaults = build_scenario(**scenario_kwargs, cat=cat)
    if sites is not None:
        from capacity.multisite import multisite_estimate

        multisite = multisite_estimate(
            multisite_request(
                scn.model_copy(update={"n_gpus": None}), cat, sites, sync, inner_steps, wan_gbps
            )
        )
        if title is None:
            title = f"{scn.model.name} on {len(multisite.sites)} sites: " + " + ".join(
                s.system_id for s in multisite.sites
            )
    est = estimate(scn)
    rep = build_report(
        est,
        all_systems(cat),
        title=title,
        law=law,
        currency=currency,
        calibration=cat.efficiency.get("calibration"),
        multisite=multisite,
    )
    page = render_report(rep)  # render fully before touching the output file
    write_file(output, page, field="output", suffixes=HTML_SUFFIXES)
    if json_out:
        doc = report_json(rep)
        doc["report"]["path"] = str(output)
        print(dump_json(doc))
    else:
        size_mb = len(page.encode("utf-8")) / 1e6
        print(f"wrote {output} ({size_mb:.1f} MB)", file=sys.stderr)


report.__signature__ = _signature()  # type: ignore[attr-defined]
