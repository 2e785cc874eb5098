"""`capacity proposal`: the resource request of a campaign file, ready for a review panel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from capacity.cli.options import CatalogOpt, JsonOpt
from capacity.cli.pdf_out import PdfOpt, check_pdf_target, write_pdf

PDF_NAME = "proposal.pdf"

if TYPE_CHECKING:
    from capacity.scaling.fit import LawFit

HELP = """Turn a campaign file into the resource request of a funding or access proposal.

A campaign (TOML) lists what a project will run over an allocation period: the main
training run(s), ablations, scaling tests, evaluation and fine-tuning, on one or more
systems, by quarter, with a contingency margin. Writes to DIR:

  request.md, request.csv   node-hours or GPU-hours (the system's billing unit) per
                            system, run and quarter; totals with margin; storage;
                            job sizes against the partition's limits

  proposal.html             the tables plus the scaling evidence (strong scaling,
                            memory fit, MFU vs published runs), energy, CO2, the share
                            of each system's capacity, and the assumptions

  proposal.pdf              with --pdf: the page printed on A4 (Playwright + Chromium)

Per [[systems]] entry, `call = "eurohpc-ai-data-intensive"` (see `capacity catalog list
calls`) checks the request in the call's unit against its per-project limits and pool;
`measured_steps = "steps.csv"` (the --measured-steps format, from a benchmark
allocation) adds measured vs predicted performance and re-anchors the request.

With --law FILE.toml (from `capacity fit-law`) both files get a scaling-evidence section:
the ladder runs, the fitted law, its frontier band and the main runs' predicted loss range.

Runs that do not fit the partition, the allocation or the period are listed as
warnings (on stderr and in every file). Examples in examples/campaigns/.

Examples:

  capacity proposal examples/campaigns/leonardo-7b-eurohpc-ai.toml -o proposal/

  capacity proposal campaign.toml -o out/ --json
"""


def register(app: typer.Typer) -> None:
    app.command("proposal", help=HELP)(proposal)


def proposal(
    campaign: Annotated[Path, typer.Argument(help="Campaign file (TOML).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write the request files to.")
    ] = Path("proposal"),
    title: Annotated[str | None, typer.Option(help="Title of proposal.html.")] = None,
    law: Annotated[
        str | None,
        typer.Option(
            help="Your fitted law (.toml from `capacity fit-law`): adds its scaling evidence, "
            "the main runs' loss with its interval."
        ),
    ] = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    pdf: PdfOpt = False,
) -> None:
    from capacity.campaign.io import load_plan
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.files import check_output_folder, write_folder
    from capacity.report.proposal import render_files

    check_output_folder(output, None, field="output")
    if pdf:
        check_pdf_target(output / "proposal.html")
    cat = get_catalog(catalog)
    _campaign, plan = load_plan(campaign, cat)
    fit = _fitted_law(law) if law is not None else None
    # everything rendered before anything is written
    files = render_files(plan, cat, title=title, law=fit)
    # whole: never old and new files mixed (a PDF of an earlier run goes with the old folder)
    write_folder(output, files, field="output", owned=(PDF_NAME,))
    if pdf:
        printed = write_pdf(output / "proposal.html")
        if printed is not None:
            files = {**files, printed.name: ""}
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if json_out:
        doc = plan.to_json()
        doc["files"] = [str(output / n) for n in files]
        print(dump_json(doc))
    else:
        for name in files:
            print(f"wrote {output / name}", file=sys.stderr)


def _fitted_law(value: str) -> LawFit:
    from capacity.cli.law_io import load_law
    from capacity.errors import CapacityError

    fit = load_law(value)
    if isinstance(fit, str):
        raise CapacityError(
            f"'{value}' is a published law; give a law file from `capacity fit-law`", field="law"
        )
    return fit
