"""HPC clusters with their partitions, queues and billing; cloud offerings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from capacity.catalog.schemas.base import ID_PATTERN, Entry, Sourced

# -- Queue rules and billing conversions of a partition (proposal, issue #13) ------------

# Sanity ceilings far above any real system (the largest have ~10^4 nodes, 6.4 Tbit/s per
# node and instance prices of a few hundred per hour): a typo such as `nodes = 1e20` or a
# price of 1e300 is refused at load instead of flowing into every search and cost.
MAX_SYSTEM_NODES = 10**6
MAX_NODE_GBIT_PER_S = 1e5
MAX_PRICE_PER_HOUR = 1e6

BillingUnit = Literal["node-hour", "gpu-hour", "core-hour", "normalised-gpu-hour"]


class Queue(Sourced):
    """One Slurm QoS (or partition) a job can run in: its wall time and size limits."""

    id: str = Field(min_length=1, description="the QoS or partition name, as in sbatch --qos")
    kind: Literal["qos", "partition"] = Field(
        default="qos", description="selected with sbatch --qos or --partition"
    )
    max_wall_time_h: float = Field(gt=0)
    min_nodes: int | None = Field(default=None, gt=0, le=MAX_SYSTEM_NODES)
    max_nodes: int | None = Field(default=None, gt=0, le=MAX_SYSTEM_NODES)
    max_gpus: int | None = Field(default=None, gt=0, description="GPUs per job")
    default: bool = Field(default=False, description="the QoS a job gets when none is named")
    debug: bool = Field(default=False, description="for tests only; never chosen for production")
    special_access: str | None = Field(
        default=None, description="what a job needs to use it (a request, a reservation)"
    )
    notes: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Queue:
        if self.min_nodes and self.max_nodes and self.min_nodes > self.max_nodes:
            raise ValueError("min_nodes must not exceed max_nodes")
        return self


class BillingRate(Sourced):
    """How many units of another accounting unit one node-hour of the partition costs."""

    unit: BillingUnit
    per_node_hour: float = Field(gt=0)
    label: str = Field(min_length=3, description="what the site calls the unit")


class Partition(Sourced):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    status: Literal["operational", "planned", "retired"] = "operational"
    expected_available: str | None = Field(
        default=None, description="planned: when it is expected to open, as its source says"
    )
    nodes: int = Field(gt=0, le=MAX_SYSTEM_NODES)
    accelerators_per_node: int = Field(gt=0, le=128)
    accelerator: str = Field(description="id of an accelerators/ entry")
    intra_node_topology: str | None = None
    inter_node_fabric: str | None = None
    inter_node_gbit_per_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_NODE_GBIT_PER_S,
        description="injection bandwidth per node, all NICs",
    )
    node_power_kw: float | None = Field(default=None, gt=0, le=200)
    pue: float | None = Field(default=None, ge=1, le=3)
    allocation_unit: Literal["node-hour", "gpu-hour"] = "gpu-hour"
    price_per_unit: float | None = Field(default=None, gt=0, le=MAX_PRICE_PER_HOUR)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    max_nodes_per_job: int | None = Field(default=None, gt=0, le=MAX_SYSTEM_NODES)
    max_wall_time_h: float | None = Field(default=None, gt=0)
    access: tuple[str, ...] = ()
    notes: str | None = None
    # Proposal block (issue #13): QoS rules and billing conversions, sourced per entry.
    queues: tuple[Queue, ...] = ()
    billing: tuple[BillingRate, ...] = ()

    @model_validator(mode="after")
    def _price_has_currency(self) -> Partition:
        if self.price_per_unit is not None and self.currency is None:
            raise ValueError("price_per_unit needs a currency")
        return self

    @property
    def gpus(self) -> int:
        return self.nodes * self.accelerators_per_node


class Cluster(Entry):
    kind: Literal["cluster"] = "cluster"
    site: str
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 code; selects the grid")
    grid: str | None = Field(default=None, description="grids/ id; defaults to the country")
    partitions: tuple[Partition, ...] = Field(min_length=1)
    default_partition: str | None = Field(
        default=None, description="partition used when none is named; default the first"
    )

    @field_validator("partitions")
    @classmethod
    def _unique_partitions(cls, value: tuple[Partition, ...]) -> tuple[Partition, ...]:
        ids = [p.id for p in value]
        if len(ids) != len(set(ids)):
            raise ValueError("partition ids must be unique within a cluster")
        return value

    @model_validator(mode="after")
    def _default_exists(self) -> Cluster:
        ids = [p.id for p in self.partitions]
        if self.default_partition is not None and self.default_partition not in ids:
            raise ValueError(f"default_partition '{self.default_partition}' is not one of {ids}")
        return self

    @property
    def grid_id(self) -> str:
        return self.grid or self.country.lower()


class CloudOffering(Entry):
    kind: Literal["cloud"] = "cloud"
    provider: str
    instance: str
    accelerator: str
    accelerators_per_instance: int = Field(gt=0, le=128)
    interconnect: str | None = None
    inter_node_gbit_per_s: float | None = Field(default=None, gt=0, le=MAX_NODE_GBIT_PER_S)
    price_per_hour: float | None = Field(
        default=None,
        gt=0,
        le=MAX_PRICE_PER_HOUR,
        description="per instance-hour; absent when no public price exists",
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    pricing_model: Literal["on-demand", "reserved-1y", "reserved-3y", "spot", "committed"] = (
        "on-demand"
    )
    region: str
    grid: str = Field(description="grids/ id of the region's electricity")
    pue: float | None = Field(default=None, ge=1, le=3)
    node_power_kw: float | None = Field(default=None, gt=0, le=200)
    max_instances: int | None = Field(default=None, gt=0, le=MAX_SYSTEM_NODES)

    @model_validator(mode="after")
    def _price_has_currency(self) -> CloudOffering:
        if self.price_per_hour is not None and self.currency is None:
            raise ValueError("price_per_hour needs a currency")
        return self
