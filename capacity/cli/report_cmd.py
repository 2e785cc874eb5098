"""`capacity report`: one training run as a self-contained HTML page.

The command takes the shared scenario options (`capacity.cli.options`, the same as
`capacity estimate`) plus the output path, a title, the scaling law and the
comparison currency.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.law_io import LAW_HELP
from capacity.cli.options import CatalogOpt, JsonOpt, scenario_command
from capacity.cli.pdf_out import PdfOpt, check_pdf_target, write_pdf
from capacity.inputs import ScenarioOptions

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


def register(app: typer.Typer) -> None:
    app.command("report", help=HELP)(report)


HTML_SUFFIXES = (".html", ".htm")


@scenario_command()
def report(
    opts: ScenarioOptions,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write.", dir_okay=False)
    ] = Path("report.html"),
    title: Annotated[
        str | None, typer.Option(help="Page title (default: model, tokens, system).")
    ] = None,
    law: Annotated[str, typer.Option(help=LAW_HELP)] = "epoch",
    currency: Annotated[str, typer.Option(help="Currency of the cluster comparison.")] = "EUR",
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    pdf: PdfOpt = False,
) -> None:
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.files import check_output_file, write_file
    from capacity.cli.law_io import load_law
    from capacity.cli.scenario import build_scenario
    from capacity.errors import CapacityError
    from capacity.estimate import estimate
    from capacity.report.estimate_report import build_report, render_report, report_json
    from capacity.system import all_systems

    fitted_law = load_law(law)
    currency = currency.upper()
    check_output_file(output, field="output", suffixes=HTML_SUFFIXES)
    if pdf:
        check_pdf_target(output)
    cat = get_catalog(catalog)
    rates = cat.exchange_rates
    if rates is not None and currency not in {rates.base, *rates.rates}:
        raise CapacityError(f"no exchange rate for '{currency}' in the catalog", field="currency")
    multisite = None
    if opts.sites is not None:
        # the page's single-system sections show the first site alone with its nodes
        from capacity.cli.multisite_opts import parse_sites, site_requests

        site_requests(cat, opts.sites)  # bad sites fail here, naming --sites
        first, first_nodes = parse_sites(cat, opts.sites)[0]
        opts = opts.model_copy(update={"cluster": first, "nodes": first_nodes})
    scn, _defaults = build_scenario(opts, cat)
    if opts.sites is not None:
        from capacity.cli.multisite_opts import multisite_request
        from capacity.multisite import multisite_estimate

        multisite = multisite_estimate(
            multisite_request(scn.model_copy(update={"n_gpus": None}), cat, opts)
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
        law=fitted_law,
        currency=currency,
        calibration=cat.efficiency.get("calibration"),
        multisite=multisite,
    )
    page = render_report(rep)  # render fully before touching the output file
    write_file(output, page, field="output", suffixes=HTML_SUFFIXES)
    if pdf:
        write_pdf(output)
    if json_out:
        doc = report_json(rep)
        doc["report"]["path"] = str(output)
        print(dump_json(doc))
    else:
        size_mb = len(page.encode("utf-8")) / 1e6
        print(f"wrote {output} ({size_mb:.1f} MB)", file=sys.stderr)
