"""Read a runs CSV (the `capacity validate --runs` format): the I/O edge of the validation.

The built-in development set is catalogs/runs/published_runs.csv (shipped with
the package like the rest of the catalog); its README cites each row's source.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from capacity.catalog.files import read_text, unique_columns
from capacity.catalog.loader import builtin_catalog_dir
from capacity.errors import CapacityError

# Three times the built-in set (65 published runs); each row is planned (~10 ms) and
# refitted per held-out source, so a generated file of thousands would take minutes.
MAX_RUNS_ROWS = 200


def builtin_runs_path() -> Path:
    return builtin_catalog_dir() / "runs" / "published_runs.csv"


def read_runs_csv(path: str | Path | None = None) -> tuple[str, list[dict[str, str]]]:
    """(file name, rows as dicts of strings); CapacityError(field='runs') if unreadable."""
    p = Path(path) if path is not None else builtin_runs_path()
    reader = csv.DictReader(io.StringIO(read_text(p, field="runs"), newline=""))
    try:
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise CapacityError(f"'{p}' has no 'id' column: not a runs CSV", field="runs")
        unique_columns(reader.fieldnames, p, field="runs")
        rows = [dict(r) for r in reader]
    except csv.Error as exc:
        raise CapacityError(f"cannot read '{p}': {exc}", field="runs") from None
    if not rows:
        raise CapacityError(f"'{p}' has a header but no runs", field="runs")
    if len(rows) > MAX_RUNS_ROWS:
        raise CapacityError(
            f"'{p}' has {len(rows):,} runs; at most {MAX_RUNS_ROWS:,} are validated (each is "
            "planned, and refitted per held-out source)",
            field="runs",
        )
    return str(p), rows


def read_csv_rows(path: str | Path, field: str) -> list[dict[str, str]]:
    """Rows of any small CSV as dicts of strings; CapacityError(field=...) if unreadable."""
    p = Path(path)
    text = read_text(p, field=field)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        unique_columns(reader.fieldnames, p, field=field)
        return [dict(r) for r in reader]
    except csv.Error as exc:
        raise CapacityError(f"cannot read '{p}': {exc}", field=field) from None
