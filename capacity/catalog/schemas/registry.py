"""The kinds of catalog file: folder name -> schema of one file in it."""

from __future__ import annotations

from capacity.catalog.schemas.base import Entry
from capacity.catalog.schemas.efficiency import EfficiencyCalibration
from capacity.catalog.schemas.hardware import Accelerator
from capacity.catalog.schemas.models import ModelSpec
from capacity.catalog.schemas.other_kinds import Call, Framework, Grid, WanSite
from capacity.catalog.schemas.systems import CloudOffering, Cluster

KINDS: dict[str, type[Entry]] = {
    "accelerators": Accelerator,
    "clusters": Cluster,
    "cloud": CloudOffering,
    "grids": Grid,
    "models": ModelSpec,
    "calls": Call,
    "wan": WanSite,
    "frameworks": Framework,
    "efficiency": EfficiencyCalibration,
}
