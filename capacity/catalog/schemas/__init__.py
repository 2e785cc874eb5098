"""Pydantic schemas of the catalog files (one TOML file per entity, file name = id).

Every numeric figure must be covered by a `[[sources]]` entry that lists it in
`fields`, with a title, an `as_of` date and a url or a locator. Unknown values
are left out (None), never written as 0. Models are frozen and forbid extra
keys, so a typo in a catalog file is an error, not a silently ignored field.

Modules: `base` (Frozen, Source, Sourced, Entry, ids), `hardware` (Accelerator),
`systems` (Cluster, Partition, Queue, BillingRate, CloudOffering), `models`
(ModelSpec), `other_kinds` (Grid, ExchangeRates, Call, WanSite, Framework),
`efficiency` (EfficiencyCalibration and its parts), `registry` (KINDS). Every public
name is re-exported here, so `from capacity.catalog.schemas import X` keeps working.
"""

from __future__ import annotations

from capacity.catalog.schemas.base import (
    ID_PATTERN,
    Entry,
    Frozen,
    Source,
    Sourced,
    is_valid_id,
)
from capacity.catalog.schemas.efficiency import (
    REFERENCE_FRAMEWORK,
    EfficiencyCalibration,
    FabricEfficiency,
    FrameworkEfficiency,
    GemmEfficiency,
    ResidualBand,
)
from capacity.catalog.schemas.hardware import Accelerator, Precision
from capacity.catalog.schemas.models import ModelSpec
from capacity.catalog.schemas.other_kinds import (
    FRAMEWORK_FEATURES,
    Call,
    CallSystem,
    ExchangeRates,
    Framework,
    Grid,
    WanSite,
)
from capacity.catalog.schemas.registry import KINDS
from capacity.catalog.schemas.systems import (
    BillingRate,
    BillingUnit,
    CloudOffering,
    Cluster,
    Partition,
    Queue,
)

__all__ = [
    "FRAMEWORK_FEATURES",
    "ID_PATTERN",
    "KINDS",
    "REFERENCE_FRAMEWORK",
    "Accelerator",
    "BillingRate",
    "BillingUnit",
    "Call",
    "CallSystem",
    "CloudOffering",
    "Cluster",
    "EfficiencyCalibration",
    "Entry",
    "ExchangeRates",
    "FabricEfficiency",
    "Framework",
    "FrameworkEfficiency",
    "Frozen",
    "GemmEfficiency",
    "Grid",
    "ModelSpec",
    "Partition",
    "Precision",
    "Queue",
    "ResidualBand",
    "Source",
    "Sourced",
    "WanSite",
    "is_valid_id",
]
