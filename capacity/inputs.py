"""Every user option of a training-run scenario, validated once: `ScenarioOptions`.

The commands `estimate`, `plan`, `report`, `compare` and `optimal` take the same
options; each is one field here, with its help text (`description`) and, where the
flag differs from the field name, its command-line spelling (`cli`). The CLI builds
its typer options from these fields (`capacity.cli.options`), so adding an option is
a one-place change: add the field here and read it where the scenario is built
(`capacity.cli.scenario.build_scenario`).

Validation (ranges, finiteness, choices, mutual exclusions) happens once, in
`ScenarioOptions.parse`, and every problem becomes one `CapacityError` naming the flag.
Options that need the catalog (a model, a system, a layout that must fit the model)
are checked where they are resolved.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from capacity.errors import CapacityError

PRECISIONS = ("auto", "bf16", "fp16", "fp8", "tf32")
RECOMPUTE_CHOICES = ("none", "selective", "full")
OPTIMIZER_CHOICES = ("adam-mixed", "adam-mixed-fp32-grads", "adam-bf16")
SYNC_CHOICES = ("diloco", "streaming", "ddp")  # capacity.multisite.SYNC_METHODS
MULTISITE_FIELDS = ("sites", "sync", "inner_steps", "wan_gbps")  # estimate and report only
MAX_ZERO_STAGE = 4  # 4 = HSDP (FSDP hybrid shard), see capacity.layout.HSDP

# Ceiling of --tokens: 640x the 15.6T tokens Llama 3 405B was pre-trained on (Dubey et al.
# 2024, arXiv:2407.21783), so a wrong unit ('1e15T') is refused, not planned.
MAX_TRAINING_TOKENS = 1e16

DEFAULT_MODEL = "mistral-7b"
DEFAULT_CLUSTER = "leonardo-booster"
DEFAULT_TOKENS = "1T"
DEFAULT_GLOBAL_BATCH = "4M"


def _opt(help_text: str, *cli: str, **kw: Any) -> Any:
    """A field with its help text and, optionally, its flag spelling(s)."""
    extra: Any = {"cli": list(cli)} if cli else None
    return Field(description=help_text, json_schema_extra=extra, **kw)


class ScenarioOptions(BaseModel):
    """The options that describe one training run, as the user gives them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- what is trained --------------------------------------------------------------
    model: str | None = _opt(
        "Built-in model name (see `capacity catalog list models`) or a Hugging Face "
        f"config.json path. Default: {DEFAULT_MODEL}.",
        "--model",
        "-m",
        default=None,
    )
    params: str | None = _opt(
        "Model size instead of --model, e.g. 7B: a Llama-style shape is derived.", default=None
    )
    tokens: str = _opt("Training tokens, e.g. 2T or 1.5e12.", default=DEFAULT_TOKENS)
    seq_len: int | None = _opt("Training sequence length.", default=None, gt=0)
    global_batch: str = _opt(
        "Global batch in tokens, e.g. 4M, or 'auto' for the DeepSeek batch rule.",
        default=DEFAULT_GLOBAL_BATCH,
    )
    # -- where and how big --------------------------------------------------------------
    cluster: str | None = _opt(
        "Cluster[/partition] or cloud offering id, e.g. jean-zay/h100. "
        f"Default: {DEFAULT_CLUSTER}.",
        "--cluster",
        "-c",
        default=None,
    )
    partition: str | None = _opt("Partition of the cluster.", default=None)
    nodes: int | None = _opt("Nodes (or cloud instances) to use.", default=None, gt=0)
    gpus: int | None = _opt("GPUs to use (a multiple of the node).", default=None, gt=0)
    days: float | None = _opt(
        "Deadline in days; without --nodes/--gpus the job is sized to meet it.",
        default=None,
        gt=0,
    )
    budget: str | None = _opt(
        "Budget to check: '500k gpu-hours', '40k node-hours', '2M EUR'.", default=None
    )
    # -- efficiency ---------------------------------------------------------------------
    mfu: float | None = _opt(
        "Model-FLOPs utilisation to assume, e.g. 0.4.", default=None, gt=0, le=1
    )
    precision: str = _opt(
        "Peak to use: auto (bf16, or fp16 where the part has no bf16), bf16, fp16, fp8 "
        "(uncalibrated: linear layers only, 0.81 of the bf16 GEMM efficiency), tf32.",
        default="auto",
    )
    framework: str | None = _opt(
        "Training framework (catalogs/frameworks): megatron-lm, nemo, deepspeed, fsdp "
        "(torchtitan, llm-foundry), jax, or unknown (the default: the spread across "
        "frameworks). Settings you leave out take its defaults, not the fastest choice.",
        default=None,
    )
    # -- layout (each flag fixes its dimension; the planner chooses the rest) ------------
    tp: int | None = _opt("Fixed tensor-parallel degree.", default=None, gt=0)
    pp: int | None = _opt("Fixed pipeline-parallel degree.", default=None, gt=0)
    dp: int | None = _opt("Fixed data-parallel degree.", default=None, gt=0)
    cp: int | None = _opt("Fixed context-parallel degree.", default=None, gt=0)
    ep: int | None = _opt("Fixed expert-parallel degree (MoE).", default=None, gt=0)
    vpp: int | None = _opt(
        "Interleaved pipeline chunks per GPU (1 = plain 1F1B).", default=None, gt=0
    )
    zero: int | None = _opt(
        "ZeRO stage 0-3, or 4 for HSDP (FSDP hybrid shard: ZeRO-3 inside the node, "
        "replicas across nodes).",
        default=None,
        ge=0,
        le=MAX_ZERO_STAGE,
    )
    recompute: str | None = _opt("Activation recompute: none, selective or full.", default=None)
    micro_batch: int | None = _opt("Micro-batch in sequences.", default=None, gt=0)
    sequence_parallel: bool | None = _opt(
        "Force sequence parallelism on or off.", "--sp/--no-sp", default=None
    )
    optimizer: str | None = _opt(
        "adam-mixed (default), adam-mixed-fp32-grads or adam-bf16.", default=None
    )
    tp_across_nodes: bool = _opt(
        "Let TP span nodes (slow fabric).", "--tp-across-nodes", default=False
    )
    # -- measurements -------------------------------------------------------------------
    measured_step_time: float | None = _opt(
        "Measured seconds per step of this job's layout on this system: re-anchors "
        "the GEMM efficiency and narrows the interval.",
        default=None,
        gt=0,
    )
    measured_steps: str | None = _opt(
        "CSV of measured steps from a benchmark allocation (columns tp, pp, dp, ..., "
        "step_time_s; see capacity/measured.py): re-anchors the model on this system.",
        default=None,
    )
    # -- goodput ------------------------------------------------------------------------
    failure_rate: float | None = _opt(
        "Failures per GPU-hour (default: Llama 3's 2.0e-5).", default=None, ge=0
    )
    restart_min: float | None = _opt(
        "Minutes to restart after a failure or between jobs.", default=None, ge=0
    )
    checkpoint_gbps: float | None = _opt(
        "Checkpoint write bandwidth per node, GB/s.", default=None, gt=0
    )
    job_hours: float | None = _opt(
        "Job wall-time limit, hours (default: the partition's).", default=None, gt=0
    )
    no_goodput: bool = _opt(
        "Leave failures, checkpoints, job chains and the end-to-end overhead out.",
        "--no-goodput",
        default=False,
    )
    steady_state: bool = _opt(
        "Time the steady-state steps only: leave out the fitted end-to-end overhead of a "
        "whole run (evaluations, batch ramp-up, extra phases).",
        "--steady-state",
        default=False,
    )

    # -- one run over several sites (capacity.multisite) --------------------------------
    sites: str | None = _opt(
        "Train over several sites joined by a WAN: cluster[/partition]:nodes,... e.g. "
        "leonardo-booster:256,marenostrum5/acc:100. Replaces --cluster/--nodes.",
        default=None,
    )
    sync: str = _opt(
        "How the sites synchronise: diloco (every --inner-steps, int8), streaming (Streaming "
        "DiLoCo: fragments, overlap, fp4) or ddp (every step: shows why it fails).",
        default="diloco",
    )
    inner_steps: int | None = _opt(
        "DiLoCo inner steps H between syncs (default 100, as INTELLECT-1).", default=None, gt=0
    )
    wan_gbps: float | None = _opt(
        "WAN Gbit/s one site can send to the others (default: the smallest catalog uplink, "
        "10 Gbit/s assumed where none is published). Best: a measured all-reduce.",
        default=None,
        gt=0,
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioOptions:
        for name, value in self:
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name}: must be a finite number, got {value}")
        if self.nodes is not None and self.gpus is not None:
            raise ValueError("gpus: give either --nodes or --gpus, not both")
        if self.model and self.params:
            raise ValueError("params: give either --model or --params, not both")
        if self.partition is not None and self.cluster is not None and "/" in self.cluster:
            raise ValueError(
                f"partition: '{self.cluster}' already names a partition; give it either there "
                "or with --partition, not both"
            )
        if self.mfu is not None and (self.measured_step_time or self.measured_steps):
            # --mfu bypasses the step-time model that a measurement re-anchors: one is ignored
            raise ValueError(
                "mfu: give either --mfu or a measurement (--measured-step-time, "
                "--measured-steps), not both"
            )
        choices = (
            ("precision", self.precision, PRECISIONS),
            ("recompute", self.recompute, RECOMPUTE_CHOICES),
            ("optimizer", self.optimizer, OPTIMIZER_CHOICES),
        )
        for name, value, allowed in choices:
            if value is not None and value not in allowed:
                raise ValueError(f"{name}: '{value}' is not one of {', '.join(allowed)}")
        self._multisite()
        return self

    def _multisite(self) -> None:
        if self.sync not in SYNC_CHOICES:
            raise ValueError(f"sync: '{self.sync}' is not one of {', '.join(SYNC_CHOICES)}")
        if self.sites is None:
            for name in ("inner_steps", "wan_gbps"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: only with --sites (a run over several sites)")
            return
        for name in ("cluster", "partition", "nodes", "gpus"):
            if getattr(self, name) is not None:
                raise ValueError(f"{name}: give the systems and their nodes in --sites instead")
        if self.days is not None:
            raise ValueError("days: deadline sizing is not available with --sites")
        for name in ("measured_step_time", "measured_steps"):
            if getattr(self, name) is not None:  # it re-anchors one system; it was ignored
                raise ValueError(f"{name}: a measurement is not available with --sites")
        if self.inner_steps is not None and self.sync == "ddp":
            raise ValueError("inner_steps: ddp syncs every step; --inner-steps needs diloco")

    @classmethod
    def parse(cls, **values: Any) -> ScenarioOptions:
        """Validate; any problem is one CapacityError naming the flag (`--seq-len`)."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = str(err["msg"]).removeprefix("Value error, ")
            field = str(err["loc"][0]) if err["loc"] else None
            if field is None and ": " in msg:  # from the model validator: "field: message"
                field, msg = msg.split(": ", 1)
            msg = _bound_message(field, err["type"], err.get("input")) or msg
            raise CapacityError(msg, field=(field or "options").replace("_", "-")) from None

    @property
    def defaults_used(self) -> str:
        """What the built-in default scenario filled in ('' when the user chose the run)."""
        if self.model is not None or self.params is not None or self.cluster is not None:
            return ""
        parts = [f"model {DEFAULT_MODEL}", f"cluster {DEFAULT_CLUSTER}"]
        if self.tokens == DEFAULT_TOKENS:
            parts.append(f"{DEFAULT_TOKENS} tokens")
        return ", ".join(parts)

    def given(self) -> dict[str, Any]:
        """The options the user set (for messages and for copying onto a template)."""
        return {k: getattr(self, k) for k in self.model_fields_set}


def _bound_message(field: str | None, kind: str, value: Any) -> str | None:
    """The project's wording for a value out of its range ('must be positive, got 0')."""
    if field == "zero":
        return f"ZeRO stage must be 0-3, or 4 for HSDP, got {value}"
    if field == "mfu" and kind in ("greater_than", "less_than_equal"):
        return f"must lie in (0, 1], got {value}"
    if kind == "greater_than":
        return f"must be positive, got {value}"
    if kind == "greater_than_equal":
        return f"must not be negative, got {value}"
    return None
