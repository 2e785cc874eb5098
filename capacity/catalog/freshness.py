"""Freshness rule of the catalog: which figures are older than the project allows.

A price or a rate (exchange rate, grid intensity) older than 12 months, or a hardware
figure older than 36 months, is stale. A stale figure may stay when its source says why
(`stale_note`); `capacity catalog validate --stale` lists the others. Pure: `today` is
an argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from pydantic import BaseModel, ConfigDict

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import ExchangeRates, Grid, ModelSpec, Source, Sourced
from capacity.constants import HARDWARE_MAX_AGE_MONTHS, PRICE_MAX_AGE_MONTHS

PRICE_FIELDS = frozenset({"price_per_hour", "price_per_unit"})
# not hardware: a published MFU (a paper's result) and a grid's data year
NOT_DATED = frozenset({"default_mfu", "year"})


class StaleFigure(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry: str  # "clusters/jean-zay/v100-4g", "grids/it", "currency/exchange-rates"
    fields: tuple[str, ...]
    as_of: dt.date
    age_months: int
    limit_months: int
    note: str | None  # the source's stale_note: why it is still used

    def describe(self) -> str:
        what = f"{self.entry} {', '.join(self.fields)} as of {self.as_of}"
        rule = f"{self.age_months} months > {self.limit_months}"
        return f"{what} ({rule})" + (f": {self.note}" if self.note else ": no note")


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole months from `earlier` to `later` (negative if `earlier` is later)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (later.day < earlier.day)


def _limit(field: str) -> int:
    return int(
        PRICE_MAX_AGE_MONTHS.value if field in PRICE_FIELDS else HARDWARE_MAX_AGE_MONTHS.value
    )


def _numeric(rec: Sourced) -> list[str]:
    out = []
    for name in rec.model_fields_set:
        value = getattr(rec, name)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and name not in NOT_DATED:
            out.append(name)
    return sorted(out)


def record_stale(rec: Sourced, entry: str, today: dt.date) -> list[StaleFigure]:
    """Stale figures of one record (an accelerator, a partition, a cloud offering, a grid)."""
    by_source: dict[int, tuple[Source, list[str], int]] = {}
    for field in _numeric(rec):
        src = rec.source_for(field)
        if src is None:
            continue
        as_of = src.as_of
        limit = _limit(field)
        if isinstance(rec, Grid) and field == "gco2_per_kwh":
            # a yearly intensity is as old as the end of its year, whenever it was read
            as_of, limit = min(as_of, dt.date(rec.year, 12, 31)), int(PRICE_MAX_AGE_MONTHS.value)
        if months_between(as_of, today) > limit:
            key = id(src) * 10 + (limit == PRICE_MAX_AGE_MONTHS.value)
            by_source.setdefault(key, (src, [], limit))[1].append(field)
    out = []
    for src, fields, limit in by_source.values():
        as_of = src.as_of
        if isinstance(rec, Grid) and "gco2_per_kwh" in fields:
            as_of = min(as_of, dt.date(rec.year, 12, 31))
        out.append(
            StaleFigure(
                entry=entry,
                fields=tuple(fields),
                as_of=as_of,
                age_months=months_between(as_of, today),
                limit_months=limit,
                note=src.stale_note,
            )
        )
    return out


def sources_stale(sources: Mapping[str, Source], today: dt.date) -> list[StaleFigure]:
    """Stale figures among resolved sources keyed 'entry.field' (a System's `sources`).

    Grids are left to `record_stale`, whose rule dates a yearly figure by its year."""
    grouped: dict[tuple[str, int], tuple[Source, list[str], int]] = {}
    for key, src in sources.items():
        entry, _, field = key.rpartition(".")
        if entry.startswith("grid ") or field in NOT_DATED:
            continue
        limit = _limit(field)
        if months_between(src.as_of, today) > limit:
            grouped.setdefault((entry, id(src)), (src, [], limit))[1].append(field)
    return [
        StaleFigure(
            entry=entry,
            fields=tuple(sorted(fields)),
            as_of=src.as_of,
            age_months=months_between(src.as_of, today),
            limit_months=limit,
            note=src.stale_note,
        )
        for (entry, _), (src, fields, limit) in grouped.items()
    ]


def rates_stale(rates: ExchangeRates, today: dt.date) -> StaleFigure | None:
    age = months_between(rates.date, today)
    limit = int(PRICE_MAX_AGE_MONTHS.value)
    if age <= limit:
        return None
    note = next((s.stale_note for s in rates.sources if s.stale_note), None)
    return StaleFigure(
        entry=f"currency/{rates.id}",
        fields=("rates",),
        as_of=rates.date,
        age_months=age,
        limit_months=limit,
        note=note,
    )


def _records(cat: Catalog) -> Iterator[tuple[str, Sourced]]:
    for a in cat.accelerators.values():
        yield f"accelerators/{a.id}", a
    for c in cat.clusters.values():
        for p in c.partitions:
            yield f"clusters/{c.id}/{p.id}", p
    for o in cat.cloud.values():
        yield f"cloud/{o.id}", o
    for g in cat.grids.values():
        yield f"grids/{g.id}", g


def catalog_stale(cat: Catalog, today: dt.date) -> list[StaleFigure]:
    """Every stale figure of the catalog's hardware, prices, grids and exchange rates."""
    out: list[StaleFigure] = []
    for entry, rec in _records(cat):
        if not isinstance(rec, ModelSpec):
            out += record_stale(rec, entry, today)
    if cat.exchange_rates is not None:
        fx = rates_stale(cat.exchange_rates, today)
        if fx is not None:
            out.append(fx)
    return out


def future_dates(cat: Catalog, today: dt.date) -> list[str]:
    """Sources dated after today: a typo, or a figure not yet published."""
    out = []
    for entry, rec in _records(cat):
        for src in rec.sources:
            if src.as_of > today:
                out.append(f"{entry}: '{src.title}' as of {src.as_of}")
    return out
