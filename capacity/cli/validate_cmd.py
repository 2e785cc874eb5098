"""`capacity validate`: predict published training runs and report the errors; `--fit` refits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.options import CatalogOpt, JsonOpt


def register(app: typer.Typer) -> None:
    app.command(
        "validate",
        help=(
            "Predict each published training run of a runs CSV (default: the built-in "
            "development set, catalogs/runs/published_runs.csv) with its own layout where it "
            "gives one, else the planner's, and compare throughput and accelerator-hours with "
            "what was reported. Errors are signed fractions, predicted / reported - 1; held-out "
            "errors come from refits that leave the run's source out.\n\n"
            "--fit refits the efficiencies on the runs; --write saves them as a catalog file."
        ),
    )(validate)


def validate(
    runs: Annotated[
        Path | None, typer.Option(help="Runs CSV (the format of catalogs/runs/published_runs.csv).")
    ] = None,
    fit: Annotated[
        bool, typer.Option("--fit", help="Refit the efficiencies on these runs.")
    ] = False,
    write: Annotated[
        Path | None,
        typer.Option(
            help="With --fit: write the calibration TOML here "
            "(e.g. catalogs/efficiency/calibration.toml)."
        ),
    ] = None,
    heldout: Annotated[
        bool, typer.Option("--heldout/--no-heldout", help="Also refit with each source held out.")
    ] = True,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    import datetime as dt
    import sys

    from capacity.catalog.runs_io import read_runs_csv
    from capacity.cli.common import dump_json, get_catalog
    from capacity.cli.files import check_output_file, write_file
    from capacity.errors import CapacityError
    from capacity.validation import calibrate
    from capacity.validation import validate as run_validation
    from capacity.validation.calibration_toml import calibration_toml
    from capacity.validation.runs import parse_runs

    if write is not None and not fit:
        raise CapacityError("--write needs --fit", field="write")
    if write is not None:
        check_output_file(write, field="write", suffixes=(".toml",))
    cat = get_catalog(catalog)
    name, rows = read_runs_csv(runs)
    parsed = parse_runs(rows, name)
    if fit:
        cal, val = calibrate(parsed, cat, dt.date.today())
        if write is not None:
            write_file(write, calibration_toml(cal), field="write", suffixes=(".toml",))
            print(f"wrote {write}", file=sys.stderr)
    else:
        val = run_validation(parsed, cat, heldout=heldout)
        cal = None
    if json_out:
        doc = val.to_json()
        if cal is not None:
            doc["calibration"] = cal.model_dump(mode="json")
        print(dump_json(doc))
        return
    from capacity.cli.validate_view import render_validation

    print(render_validation(val, name, cal))
