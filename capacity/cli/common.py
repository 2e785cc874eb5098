"""Shared CLI plumbing: resolve user inputs into core objects, print, write files atomically."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from capacity.catalog.loader import Catalog, load_catalog
from capacity.catalog.schemas import ModelSpec
from capacity.errors import CapacityError
from capacity.inputs import DEFAULT_MODEL


def get_catalog(extra: Sequence[str] | None) -> Catalog:
    cat = load_catalog(list(extra or ()))
    for line in cat.overrides:
        print(f"note: catalog override: {line}", file=sys.stderr)
    return cat


def resolve_model(
    catalog: Catalog, model: str | None, params: str | None, seq_len: int | None = None
) -> ModelSpec:
    from capacity.units import parse_quantity

    if model and params:
        raise CapacityError("give either --model or --params, not both", field="params")
    if params:
        from capacity.workload import model_from_params

        return model_from_params(parse_quantity(params, field="params"), seq_len=seq_len)
    if model is not None and not model.strip():
        raise CapacityError("is empty: give a model name or a config.json path", field="model")
    name = model or DEFAULT_MODEL
    looks_like_path = name.endswith(".json") or os.sep in name or _is_file(Path(name))
    if looks_like_path:
        spec = _model_from_config(Path(name))
        if spec.notes and seq_len is None:
            print(f"note: {spec.notes}", file=sys.stderr)
        return spec
    return catalog.model(name)


def _model_from_config(path: Path) -> ModelSpec:
    from capacity.catalog.files import read_json
    from capacity.hf_config import spec_from_hf_config

    if _is_dir(path):
        path = path / "config.json"
    return spec_from_hf_config(read_json(path, field="model"), name=path.name)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system is simply not a folder
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.exists() and not path.is_dir()
    except OSError:
        return False


def dump_json(obj: Any) -> str:
    try:
        return json.dumps(obj, indent=2, default=str, allow_nan=False)
    except ValueError:  # inf/nan: an input far outside what the models cover
        raise CapacityError(
            "the result is not a finite number: an input is far outside the range the models cover",
            field="result",
        ) from None


def write_atomic(path: Path, text: str) -> None:  # for the gallery; CLI outputs use cli.files
    """Write to a temporary file beside `path`, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (umask applied).
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table(rows: Sequence[Sequence[str]], headers: Sequence[str] | None = None) -> str:
    """A plain aligned text table (no colour codes, so it pastes into proposals)."""
    all_rows = [list(headers)] if headers else []
    all_rows += [list(r) for r in rows]
    if not all_rows:
        return ""
    widths = [max(len(r[i]) for r in all_rows if i < len(r)) for i in range(len(all_rows[0]))]
    lines = []
    for n, row in enumerate(all_rows):
        last = len(row) - 1
        cells = [
            c.ljust(widths[i]) if i in (0, last) else c.rjust(widths[i]) for i, c in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if headers and n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def kv_table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
