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
    columns, rows = read_csv_table(p, "runs")
    if "id" not in columns:
        raise CapacityError(f"'{p}' has no 'id' column: not a runs CSV", field="runs")
    if not rows:
        raise CapacityError(f"'{p}' has a header but no runs", field="runs")
    if len(rows) > MAX_RUNS_ROWS:
        raise CapacityError(
            f"'{p}' has {len(rows):,} runs; at most {MAX_RUNS_ROWS:,} are validated (each is "
            "planned, and refitted per held-out source)",
            field="runs",
        )
    return str(p), rows


def read_csv_table(
    path: str | Path, field: str, *, skip_comments: bool = False
) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows as dicts of strings) of a small CSV: read through `read_text` (a
    regular file, capped, strict UTF-8; a leading BOM dropped), a column named twice
    refused, and a csv error (a field over the module's limit, a NUL byte) one
    CapacityError(field=...). `skip_comments` drops lines starting with '#'."""
    p = Path(path)
    text = read_text(p, field=field).removeprefix("\ufeff")
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")] if skip_comments else None
    try:
        reader = csv.DictReader(io.StringIO(text, newline="") if lines is None else lines)
        unique_columns(reader.fieldnames, p, field=field)
        columns = [c.strip() for c in reader.fieldnames or () if c is not None]
        return columns, [dict(r) for r in reader]
    except csv.Error as exc:
        raise CapacityError(f"cannot read '{p}': {exc}", field=field) from None


def read_csv_rows(path: str | Path, field: str) -> list[dict[str, str]]:
    """Rows of any small CSV as dicts of strings; CapacityError(field=...) if unreadable."""
    return read_csv_table(path, field)[1]
