"""Published training runs (the `--runs` CSV format) as validated records.

Columns are those of catalogs/runs/published_runs.csv (its README documents
them). Optional extra columns, read when present: `gpus_per_node` and
`inter_node_gbit_per_s` (the run's node and network, when the source gives
them), `flash_attention` (true/false: fused attention kernel used), and
`throughput_duplicate_of` (this row repeats another row's throughput figure, so
statistics count that figure once). Parsing is pure: the CSV reader lives in
`capacity.catalog.runs_io`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import Framework, Grid, ModelSpec, Precision, Source
from capacity.constants import Constant
from capacity.errors import CapacityError
from capacity.layout import HSDP, Recompute
from capacity.planner.framework import flash_default, with_framework_defaults
from capacity.planner.space import SearchSpace
from capacity.system import System

DEFAULT_GPUS_PER_NODE = Constant(
    8,
    "GPUs per node",
    "NVIDIA HGX / DGX A100 and H100 baseboards carry 8 SXM GPUs (DGX A100 and DGX H100 "
    "user guides); used for runs whose source names no node size",
)
VALIDATION_DEFAULT_GPUS = Constant(
    1024,
    "GPUs",
    "planning choice for runs that publish no GPU count (Llama 1/2, OLMo 3): LLaMA 65B "
    "ran on 2,048 A100 (arXiv:2302.13971 Sec. 2.4); per-GPU throughput varies little "
    "with the count once the batch allows the layout",
)

TRUE, FALSE = ("true", "yes", "1"), ("false", "no", "0")
# Columns where 0 is a real value; every other number of a run is positive.
_MAY_BE_ZERO = {
    "moe_shared_experts",
    "zero_stage",
    "qk_rope_head_dim",
    "moe_dense_layers",
    "reported_energy_mwh",
    "reported_co2_t",
    "sliding_window_share",
}
# Fractions of a whole (utilisation, the share of layers with sliding-window attention).
_FRACTIONS = {"reported_mfu", "reported_hfu", "sliding_window_share"}
# Far above any published run (the largest use ~10^5 GPUs); keeps every search bounded.
_MAX_RUN_COUNT = 10**7
# Any other figure (hours, days, tokens in billions, TFLOP/s, MWh) outside this is a typo.
_MIN_RUN_FIGURE, _MAX_RUN_FIGURE = 1e-6, 1e15


class PublishedRun(BaseModel):
    """One row of the runs CSV; None = not reported."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    id: str
    model: str
    year: int | None = None
    params_total_b: float | None = None
    params_active_b: float | None = None
    n_layers: int | None = None
    d_model: int | None = None
    n_heads: int | None = None
    n_kv_heads: int | None = None
    ffn_dim: int | None = None
    ffn_kind: Literal["swiglu", "gelu"] | None = None
    vocab: int | None = None
    seq_len: int | None = None
    moe_experts: int | None = None
    moe_top_k: int | None = None
    moe_shared_experts: int | None = None
    moe_expert_ffn_dim: int | None = None
    global_batch_tokens: float | None = None
    tokens_trained_b: float | None = None
    accelerator: str | None = None
    n_accelerators: int | None = None
    cluster: str | None = None
    tp: int | None = None
    pp: int | None = None
    dp: int | None = None
    cp: int | None = None
    ep: int | None = None
    vpp: int | None = None
    zero_stage: int | None = None
    recompute: Recompute | None = None
    sequence_parallel: bool | None = None
    micro_batch_seqs: int | None = None
    precision: Precision | None = None
    reported_tflops_per_gpu: float | None = None
    reported_tflops_basis: Literal["model", "hardware"] | None = None
    reported_mfu: float | None = None
    reported_hfu: float | None = None
    reported_tokens_per_s_per_gpu: float | None = None
    wallclock_days: float | None = None
    accelerator_hours: float | None = None
    hours_include_downtime: bool | None = None
    reported_energy_mwh: float | None = None
    reported_co2_t: float | None = None
    source: str | None = None
    confidence: Literal["high", "medium", "low"] = "medium"
    notes: str | None = None
    gpus_per_node: int | None = None
    inter_node_gbit_per_s: float | None = None
    flash_attention: bool | None = None
    throughput_duplicate_of: str | None = None
    # Optional architecture columns (catalogs/runs/README.md): MLA, dense-first MoE and
    # sliding-window attention.
    head_dim: int | None = None
    kv_lora_rank: int | None = None
    q_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    v_head_dim: int | None = None
    moe_dense_layers: int | None = None
    sliding_window: int | None = None
    sliding_window_share: float | None = None
    framework: str | None = None  # catalogs/frameworks id or alias; None = unknown

    @field_validator("*")
    @classmethod
    def _in_range(cls, value: Any, info: ValidationInfo) -> Any:
        """Zero, negative or absurd counts and figures (tp = 0, hours = 0) are refused."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        if value < 0 or (value == 0 and info.field_name not in _MAY_BE_ZERO):
            raise ValueError(f"must be positive, got {value}")
        if info.field_name in _FRACTIONS and value > 1:
            raise ValueError(f"is a fraction of at most 1, got {value:g}")
        if info.field_name == "zero_stage" and value > HSDP:
            raise ValueError(f"ZeRO stage must be 0-3, or {HSDP} for HSDP, got {value}")
        if isinstance(value, int) and info.field_name != "year" and value > _MAX_RUN_COUNT:
            raise ValueError(f"{value} is out of range (at most {_MAX_RUN_COUNT:,})")
        if value > _MAX_RUN_FIGURE or 0 < value < _MIN_RUN_FIGURE:
            raise ValueError(
                f"{value:g} is out of range ({_MIN_RUN_FIGURE:g} to {_MAX_RUN_FIGURE:g})"
            )
        return value

    @property
    def gave_layout(self) -> bool:
        return any(x is not None for x in (self.tp, self.pp, self.dp))

    @property
    def gave_gpu_count(self) -> bool:
        return self.n_accelerators is not None or all(
            x is not None for x in (self.tp, self.pp, self.dp)
        )

    @property
    def reported_hours(self) -> float | None:
        if self.accelerator_hours is not None:
            return self.accelerator_hours
        if self.wallclock_days is not None and self.n_accelerators is not None:
            return self.wallclock_days * 24 * self.n_accelerators
        return None

    @property
    def has_throughput(self) -> bool:
        return any(
            x is not None
            for x in (
                self.reported_tokens_per_s_per_gpu,
                self.reported_tflops_per_gpu,
                self.reported_mfu,
                self.reported_hfu,
            )
        )


_INT_RE = re.compile(r"^[+-]?\d+(\.0+)?$")


def _cell(name: str, text: str, annotation: Any) -> Any:
    text = text.strip()
    if text == "":
        return None
    kind = str(annotation)
    if "bool" in kind:
        low = text.lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise ValueError(f"'{text}' is not true/false")
    if "int" in kind and "float" not in kind:
        if not _INT_RE.match(text):
            raise ValueError(f"'{text}' is not a whole number")
        return int(float(text))
    return text


def parse_runs(rows: list[dict[str, str]], origin: str = "runs") -> tuple[PublishedRun, ...]:
    """Validate CSV rows (dicts of strings) into runs; errors name the row and the column."""
    out = []
    seen: set[str] = set()
    fields = PublishedRun.model_fields
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        rid = (row.get("id") or "").strip() or f"line {n}"
        data: dict[str, Any] = {}
        for key, text in row.items():
            if key is None or key not in fields:
                continue  # unknown columns are ignored (future extensions)
            try:
                value = _cell(key, text or "", fields[key].annotation)
            except ValueError as exc:
                raise CapacityError(f"{origin}: row {rid}: {exc}", field=key) from None
            if value is not None:
                data[key] = value
        try:
            run = PublishedRun.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            col = ".".join(str(p) for p in err["loc"])
            raise CapacityError(f"{origin}: row {rid}: {err['msg']}", field=col) from None
        if run.id in seen:
            raise CapacityError(f"{origin}: duplicate id '{run.id}'", field="id")
        seen.add(run.id)
        out.append(run)
    return tuple(out)


_SOURCE = Source(
    title="published run (validation row)",
    locator="catalogs/runs/published_runs.csv",
    as_of=dt.date(2025, 1, 1),
)


def run_model(run: PublishedRun) -> ModelSpec:
    """The run's transformer shape; CapacityError names what is missing."""
    needed = ("n_layers", "d_model", "n_heads", "ffn_dim", "vocab", "seq_len")
    missing = [k for k in needed if getattr(run, k) is None]
    if missing:
        raise CapacityError(f"shape incomplete: no {', '.join(missing)}", field=missing[0])
    moe: dict[str, Any] = {}
    if run.moe_experts:
        moe = {
            "moe_experts": run.moe_experts,
            "moe_top_k": run.moe_top_k,
            "moe_shared_experts": run.moe_shared_experts or 0,
            "moe_expert_ffn_dim": run.moe_expert_ffn_dim,
            "moe_dense_layers": run.moe_dense_layers or 0,
        }
    arch = {
        k: getattr(run, k)
        for k in (
            "head_dim",
            "kv_lora_rank",
            "q_lora_rank",
            "qk_rope_head_dim",
            "v_head_dim",
            "sliding_window",
            "sliding_window_share",
        )
        if getattr(run, k) is not None
    }
    try:
        return ModelSpec(
            id=re.sub(r"[^a-z0-9.\-]", "-", run.id.lower()),
            name=run.model,
            n_layers=run.n_layers,
            d_model=run.d_model,
            n_heads=run.n_heads,
            n_kv_heads=run.n_kv_heads,
            ffn_dim=run.ffn_dim,
            ffn_kind=run.ffn_kind or "swiglu",
            vocab_size=run.vocab,
            seq_len=run.seq_len,
            sources=(_SOURCE,),
            **moe,
            **arch,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CapacityError(f"shape invalid: {err['msg']}", field="shape") from None


MI250X_MODULE, MI250X_GCD = "amd-mi250x", "amd-mi250x-gcd"
MI250X_MODULES_PER_NODE = 4  # LUMI-G and Frontier nodes: 4 modules = 8 GCDs


def run_system(run: PublishedRun, catalog: Catalog) -> System:
    """A one-off system for the run: its accelerator from the catalog, its node and network."""
    if run.accelerator is None:
        raise CapacityError("no accelerator given", field="accelerator")
    acc = catalog.accelerator(run.accelerator)
    if acc.id == MI250X_MODULE and run.gpus_per_node != MI250X_MODULES_PER_NODE:
        # Papers count what PyTorch and Slurm see as a GPU: a GCD, 8 per node (LUMI, Frontier).
        acc = catalog.accelerator(MI250X_GCD)
    if acc.vendor.lower() == "google":
        raise CapacityError(
            f"{acc.name}: the 3D-torus ICI interconnect is not modelled "
            "(no node / fast-domain structure)",
            field="accelerator",
        )
    grid = Grid(
        id="none", name="not used in validation", gco2_per_kwh=0, year=2024, sources=(_SOURCE,)
    )
    return System(
        id=f"run/{run.id}",
        name=run.cluster or f"{acc.name} cluster of {run.id}",
        kind="hpc",
        status="operational",
        country=None,
        accelerator=acc,
        gpus_per_node=run.gpus_per_node or int(DEFAULT_GPUS_PER_NODE.value),
        nodes=None,
        inter_node_gbit_per_s=run.inter_node_gbit_per_s,
        node_power_kw=None,
        pue=None,
        grid=grid,
        allocation_unit="gpu-hour",
        price_per_unit=None,
        currency=None,
        pricing_model=None,
        max_nodes_per_job=None,
        max_wall_time_h=None,
    )


def run_framework(run: PublishedRun, catalog: Catalog) -> Framework:
    """The run's framework entry (`unknown` when the row names none), as it was in the
    run's year (catalogs/frameworks `eras`)."""
    return catalog.framework(run.framework or "unknown").as_of(run.year)


def run_gpus(run: PublishedRun) -> tuple[int, str | None]:
    """GPUs of the run, or the default with a note when the source gives none."""
    if run.n_accelerators is not None:
        return run.n_accelerators, None
    degrees = [run.tp, run.pp, run.dp]
    if all(d is not None for d in degrees):
        n = 1
        for d in (*degrees, run.cp or 1):
            n *= d or 1
        return n, None
    n = int(VALIDATION_DEFAULT_GPUS.value)
    return n, f"no GPU count published: {n} GPUs assumed"


def run_space(
    run: PublishedRun,
    n_gpus: int,
    gpus_per_node: int,
    fw: Framework | None = None,
    *,
    framework_defaults: bool = True,
) -> SearchSpace:
    """The run's own layout where given; its framework's defaults (catalogs/frameworks)
    where it is silent (unless `framework_defaults` is False: `capacity estimate` adds them
    itself when it plans); the planner chooses the rest."""

    def one(x: Any) -> tuple[Any, ...] | None:
        return None if x is None else (x,)

    if run.gave_layout and run.tp is not None and run.pp is not None and run.dp is not None:
        total = run.tp * run.pp * run.dp * (run.cp or 1)
        if total != n_gpus:
            raise CapacityError(
                f"TP x PP x DP x CP = {total} but the run used {n_gpus} GPUs", field="dp"
            )
    tp = one(run.tp)
    if tp is None and run.sequence_parallel:  # sequence parallelism implies TP > 1
        tp = tuple(2**i for i in range(1, 8))
    space = SearchSpace(
        tp=tp,
        pp=one(run.pp),
        dp=one(run.dp),
        cp=one(run.cp) if run.cp is not None else (1,) if run.gave_layout else None,
        ep=one(run.ep),
        vpp=one(run.vpp),
        micro_batch_seqs=one(run.micro_batch_seqs),
        zero_stage=one(run.zero_stage),
        recompute=one(run.recompute),
        sequence_parallel=one(run.sequence_parallel),
        flash_attention=(run.flash_attention,)
        if run.flash_attention is not None
        else (flash_default(fw),),
        tp_across_nodes=run.tp is not None and run.tp > gpus_per_node,
    )
    return with_framework_defaults(space, fw) if framework_defaults else space
