"""Read a runs CSV (the `capacity validate --runs` format): the I/O edge of the validation.

The built-in development set is catalogs/runs/published_runs.csv (shipped with
the package like the rest of the catalog); its README cites each row's source.
"""

from __future__ import annotations

import csv
from pathlib import Path

from capacity.catalog.loader import builtin_catalog_dir
from capacity.errors import CapacityError


def builtin_runs_path() -> Path:
    return builtin_catalog_dir() / "runs" / "published_runs.csv"


def read_runs_csv(path: str | Path | None = None) -> tuple[str, list[dict[str, str]]]:
    """(file name, rows as dicts of strings); CapacityError(field='runs') if unreadable."""
    p = Path(path) if path is not None else builtin_runs_path()
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "id" not in reader.fieldnames:
                raise CapacityError(f"'{p}' has no 'id' column: not a runs CSV", field="runs")
            return str(p), [dict(r) for r in reader]
    except FileNotFoundError:
        raise CapacityError(f"no such file '{p}'", field="runs") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CapacityError(f"cannot read '{p}': {exc}", field="runs") from None


def read_csv_rows(path: str | Path, field: str) -> list[dict[str, str]]:
    """Rows of any small CSV as dicts of strings; CapacityError(field=...) if unreadable."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    except FileNotFoundError:
        raise CapacityError(f"no such file '{p}'", field=field) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CapacityError(f"cannot read '{p}': {exc}", field=field) from None
