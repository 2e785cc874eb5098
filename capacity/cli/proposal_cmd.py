"""`capacity proposal`: the resource request of a campaign file, ready for a review panel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.estimate_cmd import CatalogOpt, JsonOpt

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
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.files import check_output_folder, write_folder
    from capacity.report.campaign_io import load_plan
    from capacity.report.proposal import render_files

    check_output_folder(output, None, field="output")
    cat = get_catalog(catalog)
    _campaign, plan = load_plan(campaign, cat)
    files = render_files(plan, cat, title=title)  # everything rendered before anything is written
    write_folder(output, files, field="output")  # whole: never old and new files mixed
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if json_out:
        doc = plan.to_json()
        doc["files"] = [str(output / n) for n in files]
        print(dump_json(doc))
    else:
        for name in files:
            print(f"wrote {output / name}", file=sys.stderr)
