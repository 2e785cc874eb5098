"""The campaign file's schema: systems, runs and storage of an allocation request.

Frozen pydantic models (extra fields forbidden) that `capacity.campaign.io`
fills from TOML; errors name the file, the entry and the field. The request
arithmetic lives in `capacity.campaign.plan`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from capacity.constants import Constant
from capacity.errors import CapacityError
from capacity.units import parse_quantity

# -- Constants ----------------------------------------------------------------
CHECKPOINT_BYTES_FULL_STATE = Constant(
    16,
    "B/param",
    "Rajbhandari et al. 2020 (ZeRO, arXiv:1910.02054) Sec. 3.1: mixed-precision Adam holds "
    "16 B/param of model states (2 fp16/bf16 weights + 2 grads + 12 fp32 master, momentum, "
    "variance); a restartable checkpoint keeps about that much",
)
CHECKPOINT_BYTES_WEIGHTS = Constant(
    2, "B/param", "bf16 weights only (2 B/param), the released form of a trained model"
)
DEFAULT_CHECKPOINTS_KEPT = Constant(
    2,
    "checkpoints per run",
    "capacity planning default (a choice, not a fact): the latest full checkpoint plus one "
    "earlier one to fall back to; set `checkpoints_kept` per run or under [storage]",
)
BYTES_PER_TB = 1e12  # decimal terabyte, as storage is billed and requested
MONTHS_PER_QUARTER = 3

RunKind = Literal["main", "ablation", "scaling-test", "evaluation", "fine-tuning"]
RUN_KINDS: tuple[RunKind, ...] = ("main", "ablation", "scaling-test", "evaluation", "fine-tuning")
# Kinds whose trained weights are kept at the end (checkpoint retention aside).
KEEPS_FINAL_WEIGHTS = frozenset({"main", "ablation", "fine-tuning"})


class CampaignError(CapacityError):
    """A campaign file that cannot be planned: names the file, the entry and the field."""

    def __init__(
        self,
        message: str,
        *,
        entry: str | None = None,
        field: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.entry = entry
        self.path = path

    def with_path(self, path: str) -> CampaignError:
        return CampaignError(str(self.args[0]), entry=self.entry, field=self.field, path=path)

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.entry) if p]
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join([*parts, str(self.args[0])])


# Sanity bounds far beyond any allocation: they keep the planning finite and bounded.
MAX_NODES = 10**6
MAX_COUNT = 100_000
MAX_JOB_HOURS = 8_784  # one job of a year
MAX_MONTHS = 60  # the longest allocation period
MAX_QUARTERS = MAX_MONTHS // MONTHS_PER_QUARTER
MAX_NODE_LIST = 1_000  # sizes of one scaling test: one job each
MAX_CHECKPOINTS_KEPT = 1_000
MIN_WAN_GBPS, MAX_WAN_GBPS = 1e-3, 1e5  # 1 Mbit/s to 100 Tbit/s between sites, as --wan-gbps
# Entries of one file: each run is planned (a few ms to 0.1 s), so a generated file of
# thousands would take minutes; `count` repeats a run instead (the examples list 4-5 runs).
MAX_RUNS = 200
MAX_SYSTEMS = 50
MAX_ALLOCATION = 1e12  # units: far above any pool in catalogs/calls (at most ~3e6 a cut-off)
MAX_DATASET_TB = 1e6  # an exabyte: far above any training set (15T tokens is ~30 TB)


class _Frozen(BaseModel):
    # inf/nan are never a campaign figure (hours_per_job = inf): refused in every field
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _quantity(value: Any, field: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str | int | float):
        return parse_quantity(value, field=field)
    return value


class CampaignInfo(_Frozen):
    """[campaign]: the allocation period and the margin."""

    name: str = Field(min_length=1)
    project: str | None = None
    call: str | None = Field(default=None, description="the access call, e.g. EuroHPC AI")
    start: dt.date = Field(
        ge=dt.date(2000, 1, 1),
        le=dt.date(2100, 12, 31),
        description="first day of the allocation period",
    )
    months: int = Field(gt=0, le=MAX_MONTHS, description="length of the allocation period")
    contingency_fraction: float = Field(
        default=0.0, ge=0, le=1, description="margin added to every system's total"
    )
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")


class CampaignSystem(_Frozen):
    """[[systems]]: one partition or cloud offering the request asks time on."""

    id: str = Field(min_length=1, description="name the runs use for this system")
    system: str = Field(min_length=1, description="catalog id: cluster[/partition] or cloud id")
    access: str | None = Field(default=None, description="access route, e.g. EuroHPC AI")
    access_share: float | None = Field(
        default=None, gt=0, le=1, description="fraction of the system the access route manages"
    )
    access_share_source: str | None = None
    allocation: float | None = Field(
        default=None,
        gt=0,
        le=MAX_ALLOCATION,
        description="ceiling of the request, in the system's billing unit",
    )
    dataset_tb: float = Field(
        default=0.0, ge=0, le=MAX_DATASET_TB, description="training data stored there"
    )
    # Proposal (issue #13): the access call the request goes to, and benchmark measurements.
    call: str | None = Field(default=None, description="catalogs/calls id or alias")
    measured_steps: str | None = Field(
        default=None, description="measured-steps CSV (relative to the campaign file)"
    )
    measured_steps_source: str | None = Field(
        default=None, description="where and on what machine the steps were measured"
    )
    measured_steps_model: str | None = Field(
        default=None, description="catalog model measured (default: the first main run's)"
    )

    @field_validator("allocation", mode="before")
    @classmethod
    def _parse_allocation(cls, value: Any) -> Any:
        return _quantity(value, "allocation")

    @model_validator(mode="after")
    def _share_sourced(self) -> CampaignSystem:
        if self.access_share is not None and not self.access_share_source:
            raise ValueError("access_share needs an access_share_source")
        return self


class CampaignRun(_Frozen):
    """[[runs]]: a training run (tokens) or a fixed job (hours_per_job), `count` times."""

    name: str = Field(min_length=1)
    kind: RunKind
    system: str = Field(min_length=1, description="id of a [[systems]] entry")
    model: str | None = Field(default=None, description="catalog model id")
    params: float | None = Field(default=None, gt=0, description="or a size, e.g. '1B'")
    tokens: float | None = Field(default=None, gt=0, description="training tokens per run")
    hours_per_job: float | None = Field(
        default=None,
        gt=0,
        le=MAX_JOB_HOURS,
        description="wall-clock hours of one job, instead of tokens",
    )
    nodes: int | tuple[int, ...] = Field(description="nodes per job; a list: one job each")
    count: int = Field(default=1, ge=1, le=MAX_COUNT, description="how many such runs")
    concurrent: int = Field(default=1, ge=1, le=MAX_COUNT, description="runs at the same time")
    quarters: tuple[int, ...] | None = Field(
        default=None, min_length=1, description="quarters of the period (1 = first)"
    )
    mfu: float | None = Field(default=None, gt=0, le=1)
    seq_len: int | None = Field(default=None, gt=0)
    checkpoints_kept: int | None = Field(default=None, ge=0, le=MAX_CHECKPOINTS_KEPT)
    # A run spread over several [[systems]] (capacity.multisite): `system`/`nodes` are the
    # first site, `sites` the others (system id -> nodes), synchronised by `sync`.
    sites: dict[str, int] | None = Field(
        default=None, description="other [[systems]] ids of a multi-site run -> their nodes"
    )
    sync: Literal["diloco", "streaming", "ddp"] = "diloco"
    inner_steps: int | None = Field(default=None, gt=0)
    wan_gbps: float | None = Field(default=None, ge=MIN_WAN_GBPS, le=MAX_WAN_GBPS)

    @field_validator("params", "tokens", mode="before")
    @classmethod
    def _parse_counts(cls, value: Any, info: Any) -> Any:
        return _quantity(value, info.field_name)

    @field_validator("nodes")
    @classmethod
    def _positive_nodes(cls, value: int | tuple[int, ...]) -> int | tuple[int, ...]:
        values = (value,) if isinstance(value, int) else value
        if not values:
            raise ValueError("give at least one node count")
        if any(v <= 0 for v in values):
            raise ValueError(f"node counts must be positive, got {value}")
        if any(v > MAX_NODES for v in values):
            raise ValueError(f"node counts above {MAX_NODES:,} are not a job, got {max(values)}")
        if len(values) > MAX_NODE_LIST:
            raise ValueError(
                f"{len(values):,} node counts (one job each); at most {MAX_NODE_LIST:,}"
            )
        return value

    @field_validator("quarters")
    @classmethod
    def _positive_quarters(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and any(q <= 0 for q in value):
            raise ValueError(f"quarters count from 1, got {list(value)}")
        if value is not None and any(q > MAX_QUARTERS for q in value):
            raise ValueError(
                f"a period has at most {MAX_QUARTERS} quarters ({MAX_MONTHS} months), "
                f"got {list(value)}"
            )
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"each quarter once, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _workload(self) -> CampaignRun:
        if (self.tokens is None) == (self.hours_per_job is None):
            raise ValueError("give either tokens (a training run) or hours_per_job (a fixed job)")
        if self.tokens is not None and (self.model is None) == (self.params is None):
            raise ValueError("a training run needs either model or params")
        if self.model is not None and self.params is not None:
            raise ValueError("give either model or params, not both")
        return self

    @model_validator(mode="after")
    def _multisite(self) -> CampaignRun:
        if self.sites is None:
            given = [k for k in ("sync", "inner_steps", "wan_gbps") if k in self.model_fields_set]
            if given:  # they shape a run over several sites; on one system they did nothing
                raise ValueError(f"{given[0]}: only for a run over several sites (give sites)")
            return self
        if self.tokens is None:
            raise ValueError("a multi-site run (sites) is a training run: give tokens")
        if not isinstance(self.nodes, int) or self.count != 1:
            raise ValueError("a multi-site run takes one node count per site and count = 1")
        if not self.sites or any(n <= 0 for n in self.sites.values()):
            raise ValueError("sites: give each other site's nodes, all positive")
        if any(n > MAX_NODES for n in self.sites.values()):
            raise ValueError(f"sites: node counts above {MAX_NODES:,} are not a job")
        if self.system in self.sites:
            raise ValueError(f"site '{self.system}' is given twice (system and sites)")
        return self

    @property
    def site_nodes(self) -> dict[str, int]:
        """Every site of the run -> its nodes (the run's own system first)."""
        first = self.nodes if isinstance(self.nodes, int) else self.nodes[0]
        return {self.system: first, **(self.sites or {})}

    @property
    def node_counts(self) -> tuple[int, ...]:
        return (self.nodes,) if isinstance(self.nodes, int) else self.nodes


class StorageInfo(_Frozen):
    """[storage]: the checkpoint retention policy."""

    checkpoints_kept: int = Field(
        default=int(DEFAULT_CHECKPOINTS_KEPT.value), ge=0, le=MAX_CHECKPOINTS_KEPT
    )


class Campaign(_Frozen):
    campaign: CampaignInfo
    systems: tuple[CampaignSystem, ...] = Field(min_length=1, max_length=MAX_SYSTEMS)
    runs: tuple[CampaignRun, ...] = Field(min_length=1, max_length=MAX_RUNS)
    storage: StorageInfo = StorageInfo()

    def check_references(self) -> None:
        """Unique ids, and every run naming a [[systems]] entry (CampaignError otherwise)."""
        seen: set[str] = set()
        for i, s in enumerate(self.systems):
            if s.id in seen:
                raise CampaignError(
                    f"duplicate system id '{s.id}'",
                    entry=entry_name("systems", i, s.id),
                    field="id",
                )
            seen.add(s.id)
        names: set[str] = set()
        for i, r in enumerate(self.runs):
            where = entry_name("runs", i, r.name)
            if r.name in names:
                raise CampaignError(f"duplicate run name '{r.name}'", entry=where, field="name")
            names.add(r.name)
            n_q = -(-self.campaign.months // MONTHS_PER_QUARTER)
            outside = [q for q in r.quarters or () if q > n_q]
            if outside:  # the request would count their hours in the total, in no quarter
                raise CampaignError(
                    f"quarter(s) {', '.join(f'Q{q}' for q in outside)} lie outside the "
                    f"{self.campaign.months}-month period (Q1-Q{n_q})",
                    entry=where,
                    field="quarters",
                )
            for other in r.sites or {}:
                if other not in seen:
                    raise CampaignError(
                        f"unknown system '{other}' in sites; the [[systems]] entries are "
                        f"{', '.join(sorted(seen))}",
                        entry=where,
                        field="sites",
                    )
            if r.system not in seen:
                raise CampaignError(
                    f"unknown system '{r.system}'; the [[systems]] entries are "
                    f"{', '.join(sorted(seen))}",
                    entry=where,
                    field="system",
                )


def entry_name(table: str, index: int, name: str | None = None) -> str:
    return f"{table}[{index}]" + (f" '{name}'" if name else "")


# -- The plan -------------------------------------------------------------------
