"""`capacity catalog ...`: list, show, validate and describe the catalog."""

from __future__ import annotations

from typing import Annotated

import typer

from capacity.cli.options import CatalogOpt, JsonOpt

catalog_app = typer.Typer(
    help="Browse and check the catalog of accelerators, clusters, cloud offerings, grids and "
    "models. Every figure carries its source and date.",
    no_args_is_help=True,
)

KIND_NAMES = ("accelerators", "clusters", "cloud", "models", "grids", "calls", "frameworks", "wan")


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")


@catalog_app.command("list")
def list_entries(
    kind: Annotated[
        str | None,
        typer.Argument(
            help="accelerators, clusters, cloud, models, grids, calls, frameworks or wan"
        ),
    ] = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List catalog entries (all kinds, or one)."""
    from capacity.cli.catalog_view import list_rows
    from capacity.cli.common import dump_json, get_catalog, table
    from capacity.errors import CapacityError

    kinds: tuple[str, ...] = KIND_NAMES
    if kind is not None:
        alias = {
            "accelerator": "accelerators",
            "cluster": "clusters",
            "model": "models",
            "grid": "grids",
            "clouds": "cloud",
            "call": "calls",
            "framework": "frameworks",
        }
        kind = alias.get(kind, kind)
        if kind not in KIND_NAMES:
            raise CapacityError(f"'{kind}' is not one of {', '.join(KIND_NAMES)}", field="KIND")
        kinds = (kind,)
    cat = get_catalog(catalog)
    if json_out:
        print(dump_json({k: list_rows(cat, k)[1] for k in kinds}))
        return
    for k in kinds:
        headers, rows = list_rows(cat, k)
        print(f"{k} ({len(rows)})")
        print(table([[str(r[h]) for h in headers] for r in rows], headers))
        print()


@catalog_app.command("show")
def show(
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="Entry id or alias.")],
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show one entry with every figure and its source."""
    from capacity.cli.catalog_view import find_entry, render_entry
    from capacity.cli.common import dump_json, get_catalog

    cat = get_catalog(catalog)
    entry = find_entry(cat, entry_id)
    if json_out:
        print(dump_json(entry.model_dump(mode="json")))
    else:
        print(render_entry(entry))


@catalog_app.command("validate")
def validate(
    folder: Annotated[
        str | None, typer.Argument(metavar="[DIR]", help="Catalog folder; default: built-in.")
    ] = None,
    stale: Annotated[
        bool,
        typer.Option(
            "--stale",
            help="Also list figures older than the freshness rule (price or rate > 12 months, "
            "hardware > 36 months) and sources dated in the future; exit 1 if one has no "
            "stale_note saying why it is kept.",
        ),
    ] = False,
) -> None:
    """Validate a catalog folder (with the built-in one for references); exit 2 on error."""
    from capacity.catalog.loader import load_catalog, validate_folder

    if folder is None:
        cat = load_catalog()
        n = sum(len(getattr(cat, k)) for k in KIND_NAMES)
        print(f"ok: built-in catalog, {n} entries")
    else:
        loaded = validate_folder(folder)
        cat = load_catalog([folder])
        print(f"ok: {folder}: {len(loaded)} entries valid")
    if stale:
        _report_stale(cat)


def _report_stale(cat: object) -> None:
    import datetime as dt

    from capacity.catalog.freshness import catalog_stale, future_dates
    from capacity.catalog.loader import Catalog

    assert isinstance(cat, Catalog)
    today = dt.date.today()
    found = catalog_stale(cat, today)
    unnoted = [s for s in found if s.note is None]
    future = future_dates(cat, today)
    print(
        f"freshness rule on {today}: {len(found)} stale figure group(s), "
        f"{len(unnoted)} without a note"
    )
    for s in sorted(found, key=lambda s: (s.note is not None, s.entry)):
        print(f"  {'STALE' if s.note is None else 'kept '} {s.describe()}")
    for line in future:
        print(f"  FUTURE {line}")
    if unnoted or future:
        raise typer.Exit(1)


@catalog_app.command("schema")
def schema(
    kind: Annotated[
        str, typer.Argument(help="accelerators, clusters, cloud, models, grids or calls")
    ] = "clusters",
) -> None:
    """Print the JSON Schema of one kind of catalog file (for editors)."""
    from capacity.catalog.schemas import KINDS
    from capacity.cli.common import dump_json
    from capacity.errors import CapacityError

    if kind not in KINDS:
        raise CapacityError(f"'{kind}' is not one of {', '.join(KINDS)}", field="KIND")
    print(dump_json(KINDS[kind].model_json_schema()))
