"""Read a campaign TOML file, validate it, resolve its systems and models from the catalog.

The I/O edge of `capacity proposal`. Every problem becomes a `CampaignError` that
names the file, the entry (`runs[2] 'ablations'`) and the field, so the CLI prints
one line and exits 2.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from capacity.campaign.plan import plan_campaign
from capacity.campaign.result import CampaignPlan
from capacity.campaign.spec import Campaign, CampaignError
from capacity.catalog.files import InputFileError, read_text
from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import Call, ModelSpec
from capacity.errors import CapacityError
from capacity.measured import MeasuredStep
from capacity.system import System, resolve_system

_TABLES = {"campaign": "[campaign]", "storage": "[storage]"}


def read_campaign(path: Path) -> Campaign:
    """Parse and validate; CampaignError naming file, entry and field on any problem."""
    where = str(path)
    try:  # a regular file of at most a few MiB, strict UTF-8 (never /dev/zero)
        text = read_text(path, field="campaign")
    except InputFileError as exc:
        raise CampaignError(exc.problem, path=where) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"not valid TOML: {exc}", path=where) from None
    except RecursionError:
        raise CampaignError("nested too deeply", path=where) from None
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(exc, data, where) from None
    try:
        campaign.check_references()
    except CampaignError as exc:
        raise exc.with_path(where) from None
    return campaign


def _from_validation(exc: ValidationError, data: dict[str, Any], path: str) -> CampaignError:
    err = exc.errors()[0]
    loc = [p for p in err["loc"]]
    entry: str | None = None
    field: str | None = None
    if loc and isinstance(loc[0], str) and loc[0] in ("systems", "runs"):
        table = loc[0]
        if len(loc) > 1 and isinstance(loc[1], int):
            idx = loc[1]
            items = data.get(table)
            name = None
            if isinstance(items, list) and idx < len(items) and isinstance(items[idx], dict):
                name = items[idx].get("id" if table == "systems" else "name")
            entry = f"{table}[{idx}]" + (f" '{name}'" if isinstance(name, str) else "")
            rest = loc[2:]
        else:
            entry = f"[[{table}]]"
            rest = []
        # Union members (int | list) add their type name to the location: drop it.
        field = str(rest[0]) if rest else None
    elif loc and isinstance(loc[0], str):
        entry = _TABLES.get(loc[0], loc[0])
        field = str(loc[1]) if len(loc) > 1 else None
        if len(loc) == 1 and loc[0] not in _TABLES:
            entry, field = None, loc[0]
    msg = str(err["msg"])
    kind = err["type"]
    if kind == "missing":
        msg = "missing (required)" if field else "missing table"
        if entry in ("[[systems]]", "[[runs]]"):
            msg = f"no {entry} entries"
            field = None
    elif kind == "extra_forbidden":
        msg = f"unknown field{_allowed(loc)}"
    else:
        msg = msg.removeprefix("Value error, ")
        if field and msg.startswith(f"{field}: "):
            msg = msg[len(field) + 2 :]
        value = err.get("input")
        if kind not in ("value_error",) and not isinstance(value, dict | list):
            shown = repr(value) if isinstance(value, str) else str(value)  # a date, not its repr
            msg = f"{msg} (got {shown})"
    return CampaignError(msg, entry=entry, field=field, path=path)


def _allowed(loc: list[Any]) -> str:
    from capacity.campaign.spec import CampaignInfo, CampaignRun, CampaignSystem, StorageInfo

    models: dict[str, type[BaseModel]] = {
        "campaign": CampaignInfo,
        "storage": StorageInfo,
        "systems": CampaignSystem,
        "runs": CampaignRun,
    }
    model = models.get(str(loc[0])) if loc else None
    if model is None or len(loc) < 2:
        return " (top-level tables: campaign, systems, runs, storage)"
    return f" (allowed: {', '.join(model.model_fields)})"


def resolve(
    campaign: Campaign, catalog: Catalog, path: str
) -> tuple[dict[str, System], dict[str, ModelSpec]]:
    """Catalog records for the [[systems]] entries and the models of training runs."""
    from capacity.units import parse_quantity
    from capacity.workload import model_from_params

    rates = catalog.exchange_rates
    currency = campaign.campaign.currency
    if rates is not None and currency not in {rates.base, *rates.rates}:
        raise CampaignError(
            f"no exchange rate for '{currency}' in the catalog (known: "
            f"{', '.join(sorted({rates.base, *rates.rates}))})",
            entry="[campaign]",
            field="currency",
            path=path,
        )
    systems: dict[str, System] = {}
    for i, entry in enumerate(campaign.systems):
        try:
            systems[entry.id] = resolve_system(catalog, entry.system)
        except CapacityError as exc:
            raise CampaignError(
                _bare(exc), entry=f"systems[{i}] '{entry.id}'", field="system", path=path
            ) from None
    models: dict[str, ModelSpec] = {}
    for i, run in enumerate(campaign.runs):
        where = f"runs[{i}] '{run.name}'"
        try:
            if run.model is not None:
                models[run.name] = catalog.model(run.model)
            elif run.params is not None:
                models[run.name] = model_from_params(
                    parse_quantity(run.params, field="params"), seq_len=run.seq_len
                )
        except CapacityError as exc:
            field = "model" if run.model is not None else "params"
            raise CampaignError(_bare(exc), entry=where, field=field, path=path) from None
    return systems, models


def _bare(exc: CapacityError) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def resolve_calls_and_measurements(
    campaign: Campaign, catalog: Catalog, path: Path
) -> tuple[dict[str, Call], dict[str, tuple[MeasuredStep, ...]]]:
    """The access call and the measured steps (CSV next to the campaign) per [[systems]] id."""
    from capacity.catalog.runs_io import read_csv_rows
    from capacity.measured import parse_measured_steps

    calls: dict[str, Call] = {}
    measured: dict[str, tuple[MeasuredStep, ...]] = {}
    for i, entry in enumerate(campaign.systems):
        where = f"systems[{i}] '{entry.id}'"
        try:
            if entry.call is not None:
                calls[entry.id] = catalog.call(entry.call)
            if entry.measured_steps is not None:
                csv_path = path.parent / entry.measured_steps
                measured[entry.id] = parse_measured_steps(
                    read_csv_rows(csv_path, "measured_steps"), str(csv_path)
                )
        except CapacityError as exc:
            field = "call" if entry.call is not None and entry.id not in calls else None
            raise CampaignError(
                _bare(exc), entry=where, field=field or "measured_steps", path=str(path)
            ) from None
    return calls, measured


def load_plan(path: Path, catalog: Catalog) -> tuple[Campaign, CampaignPlan]:
    """Read, validate, resolve and plan: the whole of `capacity proposal` but the writing."""
    campaign = read_campaign(path)
    systems, models = resolve(campaign, catalog, str(path))
    calls, measured = resolve_calls_and_measurements(campaign, catalog, path)
    try:
        plan = plan_campaign(
            campaign,
            systems,
            models,
            catalog.exchange_rates,
            catalog.efficiency.get("calibration"),
            catalog.wan,
            calls=calls,
            measured=measured,
        )
    except CampaignError as exc:
        raise exc.with_path(str(path)) from None
    except CapacityError as exc:
        raise CampaignError(_bare(exc), field=exc.field, path=str(path)) from None
    return campaign, plan
