"""Pydantic schemas of the catalog files (one TOML file per entity, file name = id).

Every numeric figure must be covered by a `[[sources]]` entry that lists it in
`fields`, with a title, an `as_of` date and a url or a locator. Unknown values
are left out (None), never written as 0. Models are frozen and forbid extra
keys, so a typo in a catalog file is an error, not a silently ignored field.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from capacity.constants import CAUSAL_FLASH_FRACTION

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


Precision = Literal["bf16", "fp16", "fp8", "tf32"]


class Accelerator(Entry):
    """One accelerator as the scheduler sees it (for MI250X: one GCD or the whole module)."""

    kind: Literal["accelerator"] = "accelerator"
    vendor: str
    status: Literal["available", "announced"] = "available"
    memory_gib: float = Field(gt=0, le=2048)
    hbm_tbyte_per_s: float | None = Field(default=None, gt=0, le=100)
    peak_tflops_bf16: float | None = Field(default=None, gt=0, le=10_000, description="dense")
    peak_tflops_fp16: float | None = Field(default=None, gt=0, le=10_000, description="dense")
    peak_tflops_fp8: float | None = Field(default=None, gt=0, le=20_000, description="dense")
    peak_tflops_tf32: float | None = Field(default=None, gt=0, le=10_000, description="dense")
    intra_node_gbyte_per_s: float | None = Field(
        default=None,
        gt=0,
        description="GPU-to-GPU link bandwidth per GPU, both directions added (vendor convention)",
    )
    tdp_w: float | None = Field(default=None, gt=0, le=5000)
    default_mfu: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="published model-FLOPs utilisation used when no planner or --mfu is given",
    )

    def peak_tflops(self, precision: Precision) -> float | None:
        value: float | None = getattr(self, f"peak_tflops_{precision}")
        return value


# -- Queue rules and billing conversions of a partition (proposal, issue #13) ------------

BillingUnit = Literal["node-hour", "gpu-hour", "core-hour", "normalised-gpu-hour"]


class Queue(Sourced):
    """One Slurm QoS (or partition) a job can run in: its wall time and size limits."""

    id: str = Field(min_length=1, description="the QoS or partition name, as in sbatch --qos")
    kind: Literal["qos", "partition"] = Field(
        default="qos", description="selected with sbatch --qos or --partition"
    )
    max_wall_time_h: float = Field(gt=0)
    min_nodes: int | None = Field(default=None, gt=0)
    max_nodes: int | None = Field(default=None, gt=0)
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
    nodes: int = Field(gt=0)
    accelerators_per_node: int = Field(gt=0, le=128)
    accelerator: str = Field(description="id of an accelerators/ entry")
    intra_node_topology: str | None = None
    inter_node_fabric: str | None = None
    inter_node_gbit_per_s: float | None = Field(
        default=None, gt=0, description="injection bandwidth per node, all NICs"
    )
    node_power_kw: float | None = Field(default=None, gt=0, le=200)
    pue: float | None = Field(default=None, ge=1, le=3)
    allocation_unit: Literal["node-hour", "gpu-hour"] = "gpu-hour"
    price_per_unit: float | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    max_nodes_per_job: int | None = Field(default=None, gt=0)
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
    inter_node_gbit_per_s: float | None = Field(default=None, gt=0)
    price_per_hour: float | None = Field(
        default=None, gt=0, description="per instance-hour; absent when no public price exists"
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    pricing_model: Literal["on-demand", "reserved-1y", "reserved-3y", "spot", "committed"] = (
        "on-demand"
    )
    region: str
    grid: str = Field(description="grids/ id of the region's electricity")
    pue: float | None = Field(default=None, ge=1, le=3)
    node_power_kw: float | None = Field(default=None, gt=0, le=200)
    max_instances: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _price_has_currency(self) -> CloudOffering:
        if self.price_per_hour is not None and self.currency is None:
            raise ValueError("price_per_hour needs a currency")
        return self


class Grid(Entry):
    kind: Literal["grid"] = "grid"
    gco2_per_kwh: float = Field(ge=0, le=2000)
    year: int = Field(ge=2000, le=2100)


class ModelSpec(Entry):
    """Transformer shape. Parameter counts are derived, never typed in."""

    kind: Literal["model"] = "model"
    n_layers: int = Field(gt=0)
    d_model: int = Field(gt=0)
    n_heads: int = Field(gt=0)
    n_kv_heads: int | None = Field(default=None, gt=0, description="GQA/MQA; default = n_heads")
    head_dim: int | None = Field(default=None, gt=0, description="default d_model / n_heads")
    ffn_dim: int = Field(gt=0, description="hidden size of one dense MLP (or one expert)")
    ffn_kind: Literal["swiglu", "gelu"] = "swiglu"
    vocab_size: int = Field(gt=0)
    seq_len: int = Field(gt=0, description="training context length")
    tied_embeddings: bool = False
    position_embedding: Literal["rope", "learned", "alibi"] = "rope"
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    linear_bias: bool = False
    parallel_block: bool = Field(default=False, description="attention and MLP read the same input")
    moe_experts: int | None = Field(default=None, gt=1)
    moe_top_k: int | None = Field(default=None, gt=0)
    moe_shared_experts: int = Field(default=0, ge=0)
    moe_expert_ffn_dim: int | None = Field(default=None, gt=0, description="default ffn_dim")
    moe_dense_layers: int = Field(
        default=0, ge=0, description="leading blocks with a dense MLP of ffn_dim (DeepSeek)"
    )
    # Multi-head latent attention (DeepSeek-V2 arXiv:2405.04434 Sec. 2.1): K and V come
    # from a shared latent of kv_lora_rank, Q from one of q_lora_rank (or directly);
    # head_dim is the no-RoPE part of a query/key head, qk_rope_head_dim the RoPE part.
    kv_lora_rank: int | None = Field(default=None, gt=0, description="MLA: KV latent width")
    q_lora_rank: int | None = Field(default=None, gt=0, description="MLA: query latent width")
    qk_rope_head_dim: int = Field(default=0, ge=0, description="MLA: decoupled RoPE key dims")
    v_head_dim: int | None = Field(default=None, gt=0, description="MLA: default head_dim")
    # Sliding-window attention (Mistral 7B arXiv:2310.06825 Sec. 2): a query attends to the
    # last `sliding_window` tokens, in `sliding_window_share` of the blocks (the rest full).
    sliding_window: int | None = Field(default=None, gt=0, description="tokens a query sees")
    sliding_window_share: float = Field(
        default=1.0, gt=0, le=1, description="share of the blocks with the window"
    )
    reported_params_b: float | None = Field(
        default=None, gt=0, description="the parameter count its authors publish (for tests)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        kv = self.n_kv_heads or self.n_heads
        if self.n_heads % kv:
            raise ValueError(f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({kv})")
        if self.head_dim is None and self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) is not divisible by n_heads ({self.n_heads}); "
                "give head_dim"
            )
        if (self.moe_experts is None) != (self.moe_top_k is None):
            raise ValueError("moe_experts and moe_top_k go together")
        if self.moe_experts and self.moe_top_k and self.moe_top_k > self.moe_experts:
            raise ValueError("moe_top_k cannot exceed moe_experts")
        if self.moe_dense_layers and (
            self.moe_experts is None or self.moe_dense_layers >= self.n_layers
        ):
            raise ValueError("moe_dense_layers needs an MoE model and fewer than n_layers")
        mla_only = (self.q_lora_rank, self.v_head_dim, self.qk_rope_head_dim or None)
        if self.kv_lora_rank is None and any(x is not None for x in mla_only):
            raise ValueError("q_lora_rank, qk_rope_head_dim and v_head_dim need kv_lora_rank (MLA)")
        if self.sliding_window is None and self.sliding_window_share != 1.0:
            raise ValueError("sliding_window_share needs sliding_window")
        if self.kv_lora_rank is not None and self.n_kv_heads not in (None, self.n_heads):
            raise ValueError("MLA gives every head its own key and value: leave n_kv_heads out")
        return self

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def dim_head(self) -> int:
        return self.head_dim or self.d_model // self.n_heads

    @property
    def is_moe(self) -> bool:
        return self.moe_experts is not None

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def qk_dim(self) -> int:
        """Width of one query/key head in the score matmul (MLA adds the RoPE part)."""
        return self.dim_head + self.qk_rope_head_dim

    @property
    def v_dim(self) -> int:
        return self.v_head_dim or self.dim_head

    def attended_keys(self, seq_len: int) -> float:
        """Keys per query in the model-FLOPs count, averaged over the blocks: the whole
        sequence (the s x s convention), or the window where there is one."""
        if self.sliding_window is None:
            return float(seq_len)
        share = self.sliding_window_share
        return (1 - share) * seq_len + share * min(self.sliding_window, seq_len)

    def causal_keys(self, seq_len: int) -> float:
        """Keys per query a causal kernel executes: half the sequence, or the band of the
        window (w - w^2 / 2s when the window is shorter than the sequence)."""
        full = seq_len * CAUSAL_FLASH_FRACTION.value
        if self.sliding_window is None:
            return full
        w = min(self.sliding_window, seq_len)
        band = w - w * w / (2 * seq_len) if w < seq_len else full
        share = self.sliding_window_share
        return (1 - share) * full + share * band

    @property
    def moe_layers(self) -> int:
        return self.n_layers - self.moe_dense_layers if self.is_moe else 0


class ExchangeRates(Sourced):
    """Dated exchange rates: 1 unit of `base` = rate units of each currency."""

    id: str = Field(pattern=ID_PATTERN)
    base: str = Field(pattern=r"^[A-Z]{3}$")
    date: dt.date
    rates: dict[str, float]

    @field_validator("rates")
    @classmethod
    def _positive(cls, rates: dict[str, float]) -> dict[str, float]:
        for code, rate in rates.items():
            if not rate > 0:
                raise ValueError(f"rate of {code} must be positive, got {rate}")
        return rates


# -- Access calls (catalogs/calls/, proposal, issue #13) -----------------------------------


class CallSystem(Sourced):
    """What one call offers on one system: per-project limits and the pool per cut-off."""

    system: str = Field(min_length=1, description="cluster id or cluster/partition")
    min_request: float | None = Field(default=None, gt=0, description="in the call's unit")
    max_request: float | None = Field(default=None, gt=0, description="in the call's unit")
    pool_per_cutoff: float | None = Field(
        default=None, gt=0, description="total the call offers on the system per cut-off"
    )
    notes: str | None = None


class Call(Entry):
    """An access call (EuroHPC mode, GENCI access...): unit, limits, pools and period."""

    kind: Literal["call"] = "call"
    funder: str
    unit: BillingUnit
    period_months: int | None = Field(default=None, gt=0, le=60)
    min_request: float | None = Field(
        default=None, gt=0, description="per project on any system, in the call's unit"
    )
    max_request: float | None = Field(
        default=None, gt=0, description="per project on any system, in the call's unit"
    )
    cutoffs: tuple[dt.date, ...] = ()
    systems: tuple[CallSystem, ...] = ()
    url: str | None = None

    def for_system(self, system_id: str) -> CallSystem | None:
        """The call's entry for 'cluster/partition' (or the whole cluster)."""
        cluster = system_id.split("/", 1)[0]
        exact = [s for s in self.systems if s.system == system_id]
        return exact[0] if exact else next((s for s in self.systems if s.system == cluster), None)


class WanSite(Entry):
    """What a training job at one site can send over the wide-area network (catalogs/wan/).

    The uplink is the site's research-network access, shared with all its other
    traffic: an upper bound on what a job gets, never a promise. Unknown figures are
    left out; the multi-site planner then states the assumption it uses instead.
    """

    kind: Literal["wan"] = "wan"
    cluster: str = Field(description="clusters/ id of the site's system")
    network: str = Field(description="research network the site is attached to, e.g. GARR")
    uplink_gbit_per_s: float | None = Field(
        default=None, gt=0, description="site access capacity to the research network"
    )


FRAMEWORK_FEATURES = (
    "flash_attention",
    "sequence_parallel",
    "interleaved_pipeline",
    "zero_stage",
    "recompute",
    "tensor_parallel",
    "pipeline_parallel",
)


class Framework(Entry):
    """A training framework: what it does by default where a run or a user is silent.

    `fit_family` names the entry of the calibration's `frameworks` whose fitted GEMM
    share it uses (NeMo runs Megatron-Core; llm-foundry and torchtitan run FSDP).
    Defaults are left unset (None) where the framework has no single default.
    """

    kind: Literal["framework"] = "framework"
    fit_family: str = Field(pattern=ID_PATTERN)
    flash_attention: bool | None = None
    sequence_parallel: bool | None = None
    interleaved_pipeline: bool | None = None
    zero_stage: int | None = Field(default=None, ge=0, le=3)
    recompute: Literal["none", "selective", "full"] | None = None
    tensor_parallel: bool | None = Field(
        default=None, description="false: the framework's usual recipe runs without TP"
    )
    pipeline_parallel: bool | None = Field(
        default=None, description="false: the framework's usual recipe runs without PP"
    )


KINDS: dict[str, type[Entry]] = {
    "accelerators": Accelerator,
    "clusters": Cluster,
    "cloud": CloudOffering,
    "grids": Grid,
    "models": ModelSpec,
    "calls": Call,
    "wan": WanSite,
    "frameworks": Framework,
}


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


# -- Throughput-model efficiency parameters (catalogs/efficiency/) ------------------------


REFERENCE_FRAMEWORK = "megatron-lm"  # GEMM efficiencies are fitted relative to it


class GemmEfficiency(Sourced):
    """Achievable dense-GEMM efficiency of one accelerator family (fitted or assumed)."""

    id: str = Field(pattern=ID_PATTERN)
    accelerators: tuple[str, ...] = Field(
        default=(), description="accelerator ids it applies to; empty for the default entry"
    )
    gemm_efficiency: float = Field(
        gt=0, le=1, description="fraction of the dense peak reached by large GEMMs"
    )
    calibrated: bool = Field(description="fitted on published runs of this family")
    note: str | None = None
    anchors: tuple[str, ...] = Field(
        default=(), description="ids of the published runs (catalogs/runs) it is fitted on"
    )
    anchor_sources: int | None = Field(
        default=None, ge=0, description="distinct sources of the anchors"
    )


class FrameworkEfficiency(Sourced):
    """Fitted speed parameters of one training framework family (relative to Megatron-LM)."""

    id: str = Field(pattern=ID_PATTERN)
    gemm_share: float = Field(
        gt=0,
        le=1.5,
        description="achieved share of the accelerator's fitted GEMM efficiency "
        "(kernels, fusion, compile); Megatron-LM = 1 by definition",
    )
    calibrated: bool = Field(description="fitted on published runs of this framework")
    n_rows: int = Field(default=0, ge=0)
    note: str | None = None


class FabricEfficiency(Sourced):
    """Bus efficiency and per-hop latency of a class of links."""

    id: Literal["intra-node", "inter-node"]
    bus_efficiency: float = Field(gt=0, le=1)
    latency_us: float = Field(ge=0, le=1000)
    note: str | None = None


class ResidualBand(Sourced):
    """Quantiles of predicted / reported ratios on the validation set (for intervals)."""

    id: str = Field(pattern=ID_PATTERN, description="throughput, hours or measured")
    ratio_p10: float = Field(gt=0)
    ratio_p90: float = Field(gt=0)
    n_rows: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ResidualBand:
        if self.ratio_p10 > self.ratio_p90:
            raise ValueError("ratio_p10 must not exceed ratio_p90")
        return self


class EfficiencyCalibration(Entry):
    """The few physical efficiency parameters of the step-time model, with provenance."""

    kind: Literal["efficiency"] = "efficiency"
    gemm: tuple[GemmEfficiency, ...] = Field(min_length=1)
    fabrics: tuple[FabricEfficiency, ...] = Field(min_length=2)
    gemm_memory_exposure: float = Field(
        ge=0, le=1, description="share of a GEMM's HBM traffic time not hidden behind compute"
    )
    flash_attention_fraction: float = Field(
        gt=0, le=1, description="FlashAttention speed relative to the GEMM efficiency"
    )
    hbm_efficiency: float = Field(gt=0, le=1, description="achieved / peak HBM bandwidth")
    dp_overlap_fraction: float = Field(
        ge=0, le=1, description="share of one micro-batch's compute that hides DP traffic"
    )
    planner_practical_efficiency: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="share of the planner's optimum that runs without a published, tuned "
        "layout reached (median over such runs); applied when the planner picks the layout",
    )
    residuals: tuple[ResidualBand, ...] = ()
    frameworks: tuple[FrameworkEfficiency, ...] = ()
    end_to_end_overhead: float = Field(
        default=1.0,
        ge=1.0,
        description="whole-run hours over steady-state hours (evaluations, ramp-up, extra "
        "phases), median over runs publishing both; 1 = not derived",
    )
    end_to_end_overhead_p10: float | None = Field(default=None, ge=1.0)
    end_to_end_overhead_p90: float | None = Field(default=None, ge=1.0)
    fit_command: str | None = None
    fit_rows: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _has_default(self) -> EfficiencyCalibration:
        if "default" not in {g.id for g in self.gemm}:
            raise ValueError("gemm needs an entry with id = 'default'")
        if {f.id for f in self.fabrics} != {"intra-node", "inter-node"}:
            raise ValueError("fabrics needs one 'intra-node' and one 'inter-node' entry")
        return self

    def gemm_for(self, accelerator_id: str) -> GemmEfficiency:
        for g in self.gemm:
            if accelerator_id in g.accelerators:
                return g
        return next(g for g in self.gemm if g.id == "default")

    def framework_share(self, family: str | None) -> tuple[float, bool]:
        """GEMM share of a framework family, and whether it was fitted.

        A family without a fitted entry (or `unknown`) gets the geometric mean of the
        fitted families (the reference family counts as 1): the spread across
        frameworks then goes into the interval.
        """
        fitted = {f.id: f.gemm_share for f in self.frameworks if f.calibrated}
        if family is not None and family in fitted:
            return fitted[family], True
        if not fitted:
            return 1.0, False
        logs = [0.0] + [math.log(v) for k, v in fitted.items() if k != REFERENCE_FRAMEWORK]
        return math.exp(sum(logs) / len(logs)), False

    def fabric(self, fabric_id: str) -> FabricEfficiency:
        return next(f for f in self.fabrics if f.id == fabric_id)

    def residual(self, band_id: str) -> ResidualBand | None:
        return next((r for r in self.residuals if r.id == band_id), None)


KINDS["efficiency"] = EfficiencyCalibration
