"""Base models of every catalog record: frozen, no extra keys, every figure sourced."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9.\-]*$"
_ID_RE = re.compile(ID_PATTERN)


class Frozen(BaseModel):
    # inf/nan are never a figure (a price of inf, a rate of nan): refused in every file.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Source(Frozen):
    """Where a figure comes from: the original document, where in it, and when it was read."""

    title: str = Field(min_length=3)
    url: str | None = None
    locator: str | None = Field(
        default=None, description="table, section or page inside the source"
    )
    as_of: dt.date = Field(description="date the figure was published or last checked")
    fields: tuple[str, ...] = Field(
        default=("*",), description="the figures this source covers; '*' = all of this entry's"
    )
    note: str | None = None
    estimated: bool = Field(
        default=False,
        description="the figures are derived by us, not stated by the source; `basis` says how",
    )
    basis: str | None = Field(
        default=None, description="how an estimated figure is derived (e.g. 'target 1 EF / peak')"
    )
    stale_note: str | None = Field(
        default=None,
        description="why a figure older than the freshness rule is still the one to use",
    )

    @model_validator(mode="after")
    def _url_or_locator(self) -> Source:
        if not self.url and not self.locator:
            raise ValueError("a source needs a url or a locator")
        if self.estimated and not self.basis:
            raise ValueError("an estimated figure needs its basis")
        if self.basis and not self.estimated:
            raise ValueError("basis is for estimated figures: add estimated = true")
        return self

    def label(self) -> str:
        """One line for a reader: '(estimate: basis) title, locator, as of date'."""
        parts = [self.title, self.locator or "", self.url or "", f"as of {self.as_of}"]
        text = ", ".join(p for p in parts if p)
        return f"(estimate: {self.basis}) {text}" if self.estimated else text


def _numeric_fields(model: BaseModel) -> list[str]:
    out = []
    for name in model.model_fields_set:  # defaults (e.g. 0 shared experts) need no source
        value = getattr(model, name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out.append(name)
    return out


class Sourced(Frozen):
    """Base of every catalog record: its numeric figures must each have a source."""

    sources: tuple[Source, ...] = ()

    @model_validator(mode="after")
    def _every_figure_sourced(self) -> Sourced:
        covered: set[str] = set()
        for src in self.sources:
            covered.update(src.fields)
        numeric = _numeric_fields(self)
        if "*" in covered:
            return self
        missing = [f for f in numeric if f not in covered]
        if missing:
            raise ValueError(
                "figure(s) without a source: "
                + ", ".join(missing)
                + " (add them to the `fields` of a [[sources]] entry)"
            )
        unknown = covered - set(type(self).model_fields)
        if unknown:
            raise ValueError(f"[[sources]] names unknown field(s): {', '.join(sorted(unknown))}")
        return self

    def source_for(self, field: str) -> Source | None:
        """The source naming `field`, else one covering all figures ('*')."""
        named = [s for s in self.sources if field in s.fields]
        wild = [s for s in self.sources if "*" in s.fields]
        found = named or wild
        return found[0] if found else None


class Entry(Sourced):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    aliases: tuple[str, ...] = ()
    notes: str | None = None


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))
