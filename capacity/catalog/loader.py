"""Read catalog folders (TOML, one entity per file) into a validated `Catalog`.

This is an I/O edge: the core never reads files. The built-in catalog ships
inside the package (`capacity/_catalogs`, from the repository's `catalogs/`);
user folders given with `--catalog DIR` or `CAPACITY_CATALOG_PATH` add or
override entries, and every override is recorded in `Catalog.overrides`.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from capacity.catalog.files import InputFileError, read_text
from capacity.catalog.schemas import (
    KINDS,
    Accelerator,
    Call,
    CloudOffering,
    Cluster,
    EfficiencyCalibration,
    Entry,
    ExchangeRates,
    Framework,
    Grid,
    ModelSpec,
    WanSite,
)
from capacity.errors import CapacityError, CatalogError

ENV_VAR = "CAPACITY_CATALOG_PATH"
T = TypeVar("T", bound=Entry)


def builtin_catalog_dir() -> Path:
    """The catalog shipped with the package (wheel) or the repository's `catalogs/` (editable)."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_catalogs"
    if packaged.is_dir():
        return packaged
    return here.parent / "catalogs"


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    accelerators: dict[str, Accelerator]
    clusters: dict[str, Cluster]
    cloud: dict[str, CloudOffering]
    grids: dict[str, Grid]
    models: dict[str, ModelSpec]
    exchange_rates: ExchangeRates | None = None
    roots: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    efficiency: dict[str, EfficiencyCalibration] = {}
    calls: dict[str, Call] = {}
    wan: dict[str, WanSite] = {}
    frameworks: dict[str, Framework] = {}

    def _get(self, kind: str, key: str, field: str, table: dict[str, T]) -> T:
        entry = table.get(key)
        if entry is None:
            entry = self._by_alias(table, key)
        if entry is None:
            names = list(table) + [a for e in table.values() for a in e.aliases]
            close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CapacityError(
                f"unknown {kind} '{key}'{hint} (see `capacity catalog list {kind}s`)",
                field=field,
            )
        return entry

    @staticmethod
    def _by_alias(table: dict[str, T], key: str) -> T | None:
        low = key.lower()
        for entry in table.values():
            if low in (a.lower() for a in entry.aliases) or low == entry.name.lower():
                return entry
        return None

    def accelerator(self, key: str) -> Accelerator:
        return self._get("accelerator", key, "accelerator", self.accelerators)

    def cluster(self, key: str) -> Cluster:
        return self._get("cluster", key, "cluster", self.clusters)

    def cloud_offering(self, key: str) -> CloudOffering:
        return self._get("cloud offering", key, "cluster", self.cloud)

    def grid(self, key: str) -> Grid:
        return self._get("grid", key, "grid", self.grids)

    def model(self, key: str) -> ModelSpec:
        return self._get("model", key, "model", self.models)

    def call(self, key: str) -> Call:
        return self._get("call", key, "call", self.calls)

    def framework(self, key: str) -> Framework:
        return self._get("framework", key, "framework", self.frameworks)


def _format_validation(err: ValidationError) -> tuple[str, str]:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(file)"
    return loc, first["msg"]


def _resolve_partition_locations(data: dict[str, Any], loc: str) -> str:
    """Turn `partitions.0.nodes` into `partitions[booster].nodes` for a readable error."""
    parts = loc.split(".")
    if len(parts) > 1 and parts[0] == "partitions" and parts[1].isdigit():
        try:
            pid = data["partitions"][int(parts[1])].get("id", parts[1])
        except (KeyError, IndexError, AttributeError):
            return loc
        return f"partitions[{pid}]" + ("." + ".".join(parts[2:]) if parts[2:] else "")
    return loc


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML table; CatalogError naming the file when it cannot be read."""
    try:
        text = read_text(path, field="catalog")
    except InputFileError as exc:
        raise CatalogError(str(path), exc.problem) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(str(path), f"malformed TOML: {exc}") from None
    except RecursionError:
        raise CatalogError(str(path), "nested too deeply") from None


def load_file(path: Path, model: type[T]) -> T:
    """Parse and validate one TOML file; errors name the file and the field."""
    data = _read_toml(path)
    try:
        entry = model.model_validate(data)
    except ValidationError as exc:
        loc, msg = _format_validation(exc)
        raise CatalogError(str(path), msg, field=_resolve_partition_locations(data, loc)) from None
    if entry.id != path.stem:
        raise CatalogError(str(path), f"id '{entry.id}' must equal the file name", field="id")
    return entry


def _iter_files(root: Path, kind: str) -> Iterable[Path]:
    folder = root / kind
    if folder.is_dir():
        yield from sorted(folder.glob("*.toml"))


def _check_references(
    cat: dict[str, dict[str, Any]],
    origin: dict[tuple[str, str], Path],
    rates: ExchangeRates | None = None,
) -> None:
    accs, grids = cat["accelerators"], cat["grids"]
    _check_currencies(cat, origin, rates)
    for cid, cl in cat["clusters"].items():
        for part in cl.partitions:
            if part.accelerator not in accs:
                raise CatalogError(
                    str(origin["clusters", cid]),
                    f"unknown accelerator '{part.accelerator}'",
                    field=f"partitions[{part.id}].accelerator",
                )
        if cl.grid_id not in grids:
            raise CatalogError(
                str(origin["clusters", cid]), f"no grid entry '{cl.grid_id}'", field="country"
            )
    for call_id, call in cat.get("calls", {}).items():
        for cs in call.systems:
            cluster, _, part = cs.system.partition("/")
            cl = cat["clusters"].get(cluster)
            if cl is None or (part and part not in {p.id for p in cl.partitions}):
                raise CatalogError(
                    str(origin["calls", call_id]),
                    f"unknown system '{cs.system}'",
                    field="systems.system",
                )
    for wid, w in cat["wan"].items():
        if w.cluster not in cat["clusters"]:
            raise CatalogError(
                str(origin["wan", wid]), f"unknown cluster '{w.cluster}'", field="cluster"
            )
    for oid, off in cat["cloud"].items():
        if off.accelerator not in accs:
            raise CatalogError(
                str(origin["cloud", oid]),
                f"unknown accelerator '{off.accelerator}'",
                field="accelerator",
            )
        if off.grid not in grids:
            raise CatalogError(
                str(origin["cloud", oid]), f"no grid entry '{off.grid}'", field="grid"
            )


def _check_currencies(
    cat: dict[str, dict[str, Any]],
    origin: dict[tuple[str, str], Path],
    rates: ExchangeRates | None,
) -> None:
    """Every price is in a currency the exchange-rate table converts (else it is compared
    with euros as if it were one)."""
    if rates is None:
        return
    known = {rates.base, *rates.rates}
    priced = [("cloud", oid, off.currency) for oid, off in cat["cloud"].items()]
    priced += [
        ("clusters", cid, part.currency)
        for cid, cl in cat["clusters"].items()
        for part in cl.partitions
    ]
    for kind, eid, currency in priced:
        if currency is not None and currency not in known:
            raise CatalogError(
                str(origin[kind, eid]),
                f"no exchange rate for {currency} (the exchange-rate table, base {rates.base}, "
                f"converts {', '.join(sorted(known))})",
                field="currency",
            )


def catalog_roots(extra: Sequence[str | Path] = ()) -> list[Path]:
    """Built-in catalog first, then CAPACITY_CATALOG_PATH entries, then --catalog folders."""
    roots = [builtin_catalog_dir()]
    env = os.environ.get(ENV_VAR, "")
    roots += [Path(p) for p in env.split(os.pathsep) if p]
    roots += [Path(p) for p in extra]
    for root in roots[1:]:
        _check_root(root)
    return roots


def _check_root(root: Path) -> None:
    """A user catalog folder holds entries in kind subfolders; say so when it does not."""
    try:
        if not root.exists():
            raise CapacityError(f"catalog folder '{root}' does not exist", field="catalog")
        if not root.is_dir():
            raise CapacityError(f"'{root}' is not a folder: give a catalog folder", field="catalog")
        if any((root / kind).is_dir() for kind in KINDS) or (root / "currency").is_dir():
            return
        loose = sorted(p.name for p in root.glob("*.toml"))
    except OSError as exc:
        raise CapacityError(f"cannot read '{root}': {exc.strerror}", field="catalog") from None
    kinds = ", ".join(f"{k}/" for k in (*KINDS, "currency"))
    if loose:
        raise CapacityError(
            f"'{root}' has TOML files at its top level ({', '.join(loose[:3])}"
            f"{', ...' if len(loose) > 3 else ''}); put each in its kind subfolder: {kinds}",
            field="catalog",
        )
    raise CapacityError(f"'{root}' has none of the catalog subfolders {kinds}", field="catalog")


def load_catalog(extra: Sequence[str | Path] = (), *, include_builtin: bool = True) -> Catalog:
    """Load and cross-check the catalog. Later roots override earlier ones, announced."""
    roots = catalog_roots(extra)
    if not include_builtin:
        roots = roots[1:]
    return _load_cached(tuple(str(r) for r in roots))


@lru_cache(maxsize=8)
def _load_cached(roots: tuple[str, ...]) -> Catalog:
    tables: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    origin: dict[tuple[str, str], Path] = {}
    overrides: list[str] = []
    rates: ExchangeRates | None = None
    for root_s in roots:
        root = Path(root_s)
        for kind, model in KINDS.items():
            for path in _iter_files(root, kind):
                entry = load_file(path, model)
                if entry.id in tables[kind]:
                    overrides.append(
                        f"{kind}/{entry.id}: {path} overrides {origin[kind, entry.id]}"
                    )
                tables[kind][entry.id] = entry
                origin[kind, entry.id] = path
        fx = root / "currency" / "exchange-rates.toml"
        if fx.is_file():
            rates = _load_rates(fx)
    _check_references(tables, origin, rates)
    return Catalog(
        accelerators=tables["accelerators"],
        clusters=tables["clusters"],
        cloud=tables["cloud"],
        grids=tables["grids"],
        models=tables["models"],
        exchange_rates=rates,
        roots=roots,
        overrides=tuple(overrides),
        efficiency=tables["efficiency"],
        calls=tables["calls"],
        wan=tables["wan"],
        frameworks=tables["frameworks"],
    )


def _load_rates(path: Path) -> ExchangeRates:
    data = _read_toml(path)
    try:
        return ExchangeRates.model_validate(data)
    except ValidationError as exc:
        loc, msg = _format_validation(exc)
        raise CatalogError(str(path), msg, field=loc) from None


def validate_folder(folder: str | Path) -> list[str]:
    """Validate every file of a catalog folder on its own; return 'kind/id' of what loaded."""
    root = Path(folder)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise CapacityError(f"'{root}' {what}", field="DIR")
    if root.resolve() != builtin_catalog_dir().resolve():
        _check_root(root)
    loaded = []
    for kind, model in KINDS.items():
        for path in _iter_files(root, kind):
            loaded.append(f"{kind}/{load_file(path, model).id}")
    return loaded
