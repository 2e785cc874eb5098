"""One place to train on: an HPC partition or a cloud offering, seen the same way."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import (
    Accelerator,
    BillingRate,
    CloudOffering,
    Grid,
    Queue,
    Source,
)
from capacity.errors import CapacityError


class System(BaseModel):
    """A homogeneous pool of nodes with its accelerator, network, price and grid."""

    model_config = ConfigDict(frozen=True)

    id: str  # "leonardo-booster/booster" or "aws-p5-48xlarge"
    name: str
    kind: Literal["hpc", "cloud"]
    status: str
    country: str | None
    accelerator: Accelerator
    gpus_per_node: int
    nodes: int | None  # None: elastic cloud capacity
    inter_node_gbit_per_s: float | None
    node_power_kw: float | None
    pue: float | None
    grid: Grid
    allocation_unit: Literal["node-hour", "gpu-hour"]
    price_per_unit: float | None
    currency: str | None
    pricing_model: str | None
    max_nodes_per_job: int | None
    max_wall_time_h: float | None
    access: tuple[str, ...] = ()
    sources: dict[str, Source] = {}
    queues: tuple[Queue, ...] = ()  # QoS rules of the partition (empty: only max_*)
    # False: no scale-out fabric, so a job cannot span nodes (single-GPU cloud instances)
    multi_node: bool = True
    expected_available: str | None = None  # a planned partition: when it should open
    billing: tuple[BillingRate, ...] = ()  # sourced conversions of a node-hour

    @property
    def total_gpus(self) -> int | None:
        return None if self.nodes is None else self.nodes * self.gpus_per_node

    @property
    def price_per_gpu_hour(self) -> float | None:
        if self.price_per_unit is None:
            return None
        if self.allocation_unit == "node-hour":
            return self.price_per_unit / self.gpus_per_node
        return self.price_per_unit


def _collect(entry: object, prefix: str, out: dict[str, Source]) -> None:
    sources: tuple[Source, ...] = getattr(entry, "sources", ())
    for src in sources:
        for field in src.fields:
            out[f"{prefix}{field}"] = src


def resolve_system(catalog: Catalog, key: str, partition: str | None = None) -> System:
    """Find `key` among clusters (optionally `cluster/partition`) and cloud offerings."""
    if "/" in key and partition is None:
        key, partition = key.split("/", 1)
    if key in catalog.cloud or (key not in catalog.clusters and _is_cloud_alias(catalog, key)):
        if partition:
            raise CapacityError("cloud offerings have no partitions", field="partition")
        return _from_cloud(catalog, key)
    cluster = catalog.cluster(key)
    parts = {p.id: p for p in cluster.partitions}
    if partition is None:
        default = cluster.default_partition
        operational = [p for p in cluster.partitions if p.status == "operational"]
        part = parts[default] if default else (operational or list(cluster.partitions))[0]
    elif partition in parts:
        part = parts[partition]
    else:
        raise CapacityError(
            f"cluster '{cluster.id}' has no partition '{partition}' "
            f"(choose from {', '.join(parts)})",
            field="partition",
        )
    acc = catalog.accelerator(part.accelerator)
    sources: dict[str, Source] = {}
    _collect(acc, f"{acc.id}.", sources)
    _collect(part, f"{cluster.id}/{part.id}.", sources)
    grid = catalog.grid(cluster.grid_id)
    _collect(grid, f"grid {grid.id}.", sources)
    return System(
        id=f"{cluster.id}/{part.id}",
        name=f"{cluster.name} — {part.name}",
        kind="hpc",
        status=part.status,
        country=cluster.country,
        accelerator=acc,
        gpus_per_node=part.accelerators_per_node,
        nodes=part.nodes,
        inter_node_gbit_per_s=part.inter_node_gbit_per_s,
        node_power_kw=part.node_power_kw,
        pue=part.pue,
        grid=grid,
        allocation_unit=part.allocation_unit,
        price_per_unit=part.price_per_unit,
        currency=part.currency,
        pricing_model=None,
        max_nodes_per_job=part.max_nodes_per_job,
        max_wall_time_h=part.max_wall_time_h,
        access=part.access,
        sources=sources,
        queues=part.queues,
        billing=part.billing,
        expected_available=part.expected_available,
    )


def _is_cloud_alias(catalog: Catalog, key: str) -> bool:
    low = key.lower()
    return any(low in (a.lower() for a in o.aliases) for o in catalog.cloud.values())


def _multi_node(off: CloudOffering) -> bool:
    """Whether instances can be joined into one job. A one-GPU instance that states no
    inter-node bandwidth is a single-GPU VM or pod (their catalog notes: no InfiniBand);
    an interconnect given as "no scale-out fabric" says so outright."""
    if off.interconnect and "no scale-out" in off.interconnect.lower():
        return False
    return not (off.accelerators_per_instance == 1 and off.inter_node_gbit_per_s is None)


def _from_cloud(catalog: Catalog, key: str) -> System:
    off = catalog.cloud_offering(key)
    acc = catalog.accelerator(off.accelerator)
    grid = catalog.grid(off.grid)
    sources: dict[str, Source] = {}
    _collect(acc, f"{acc.id}.", sources)
    _collect(off, f"{off.id}.", sources)
    _collect(grid, f"grid {grid.id}.", sources)
    return System(
        id=off.id,
        name=off.name,
        kind="cloud",
        status="operational",
        country=None,
        accelerator=acc,
        gpus_per_node=off.accelerators_per_instance,
        nodes=off.max_instances,
        inter_node_gbit_per_s=off.inter_node_gbit_per_s,
        node_power_kw=off.node_power_kw,
        pue=off.pue,
        grid=grid,
        allocation_unit="node-hour",
        price_per_unit=off.price_per_hour,
        currency=off.currency,
        pricing_model=off.pricing_model,
        max_nodes_per_job=off.max_instances,
        max_wall_time_h=None,
        sources=sources,
        multi_node=_multi_node(off),
    )


def all_systems(catalog: Catalog) -> list[System]:
    out = []
    for cl in catalog.clusters.values():
        for part in cl.partitions:
            out.append(resolve_system(catalog, cl.id, part.id))
    out += [_from_cloud(catalog, oid) for oid in catalog.cloud]
    return out
