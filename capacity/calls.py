"""A request checked against the access call it goes to (catalogs/calls/).

The call fixes the unit (EuroHPC: node-hours; GENCI: normalised GPU-hours), the
per-project minimum and maximum and the pool offered per cut-off. The request is
converted to the call's unit with the partition's sourced billing rates; where no
rate exists (GENCI normalisation of H100 hours) the check says so instead of guessing.
Every finding names the figure and its source.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from capacity.billing import UNIT_LABELS, bill
from capacity.catalog.schemas import Call, Source
from capacity.system import System


class CallCheck(BaseModel):
    """One system's request against one call."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    call_name: str
    system_id: str
    unit: str  # the call's unit
    unit_label: str
    requested: float | None  # in the call's unit; None when no conversion exists
    min_request: float | None = None
    max_request: float | None = None
    pool_per_cutoff: float | None = None
    share_of_pool: float | None = None
    period_months: int | None = None
    offered: bool = True  # the call lists the system (or lists none)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.warnings


def _cite(src: Source | None) -> str:
    if src is None:
        return ""
    where = src.url or src.locator or ""
    return f" [{src.title}, as of {src.as_of}{', ' + where if where else ''}]"


def check_request(call: Call, system: System, node_hours: float, months: int) -> CallCheck:
    """`node_hours` on `system` (with margin) against `call`, over an allocation of `months`."""
    label = UNIT_LABELS.get(call.unit, call.unit)
    billed = bill(system, node_hours, call.unit)
    requested = None if billed is None else billed.amount
    entry = call.for_system(system.id)
    warnings: list[str] = []
    notes: list[str] = []
    sources: list[Source] = list(call.sources)
    offered = entry is not None or not call.systems
    if entry is not None:
        sources += entry.sources
    if not offered:
        listed = ", ".join(s.system for s in call.systems)
        cite = _cite(call.source_for("*"))
        warnings.append(f"{call.name} does not list {system.id} (it lists {listed}){cite}")
    lo = entry.min_request if entry and entry.min_request else call.min_request
    hi = entry.max_request if entry and entry.max_request else call.max_request
    pool = entry.pool_per_cutoff if entry else None
    src = (entry.source_for("max_request") if entry else None) or call.source_for("max_request")
    if requested is None:  # not a breach: the applicant states the hours per GPU type
        notes.append(
            f"{call.name} counts {label}, and the catalog has no sourced factor converting "
            f"{system.name} hours to them: the request cannot be checked against the call; "
            "state it in the system's own unit"
        )
    else:
        if billed is not None and billed.per_node_hour != 1 and call.unit != "node-hour":
            notes.append(
                f"converted at {billed.per_node_hour:g} {billed.label} per node-hour"
                + _cite(billed.source)
            )
        if hi is not None and requested > hi:
            warnings.append(
                f"{requested:,.0f} {label} exceeds the {hi:,.0f} {label} per project of "
                f"{call.name}{_cite(src)}"
            )
        if lo is not None and requested < lo:
            lsrc = (entry.source_for("min_request") if entry else None) or call.source_for(
                "min_request"
            )
            warnings.append(
                f"{requested:,.0f} {label} is under the {lo:,.0f} {label} minimum of "
                f"{call.name}{_cite(lsrc)}"
            )
    if call.period_months is not None and months > call.period_months:
        warnings.append(
            f"the campaign runs {months} months; {call.name} allocates {call.period_months} "
            f"months{_cite(call.source_for('period_months'))}"
        )
    share = None if requested is None or pool is None else requested / pool
    return CallCheck(
        call_id=call.id,
        call_name=call.name,
        system_id=system.id,
        unit=call.unit,
        unit_label=label,
        requested=requested,
        min_request=lo,
        max_request=hi,
        pool_per_cutoff=pool,
        share_of_pool=share,
        period_months=call.period_months,
        offered=offered,
        warnings=tuple(warnings),
        notes=tuple(notes),
        sources=tuple(sources),
    )
