"""A parallel layout of a training job: how the model and the batch are split."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from capacity.catalog.schemas import ModelSpec
from capacity.errors import CapacityError

Recompute = Literal["none", "selective", "full"]
Optimizer = Literal["adam-mixed", "adam-mixed-fp32-grads", "adam-bf16"]


class Layout(BaseModel):
    """TP x PP x DP (x CP) GPUs; EP splits experts inside the DP x TP group."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tp: int = Field(1, ge=1)
    pp: int = Field(1, ge=1)
    dp: int = Field(1, ge=1)
    cp: int = Field(1, ge=1)
    ep: int = Field(1, ge=1)
    vpp: int = Field(1, ge=1, description="interleaved pipeline chunks per GPU")
    zero_stage: int = Field(1, ge=0, le=3)
    recompute: Recompute = "selective"
    sequence_parallel: bool = True
    flash_attention: bool = True
    micro_batch_seqs: int = Field(1, ge=1)
    optimizer: Optimizer = "adam-mixed"

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp * self.cp

    def describe(self) -> str:
        parts = [f"TP{self.tp}", f"PP{self.pp}"]
        if self.vpp > 1:
            parts.append(f"v{self.vpp}")
        parts.append(f"DP{self.dp}")
        if self.cp > 1:
            parts.append(f"CP{self.cp}")
        if self.ep > 1:
            parts.append(f"EP{self.ep}")
        parts += [
            f"ZeRO-{self.zero_stage}",
            f"mb{self.micro_batch_seqs}",
            f"{self.recompute} recompute",
        ]
        return " ".join(parts)


def check_layout(layout: Layout, model: ModelSpec, gpus_per_node: int | None = None) -> None:
    """Raise CapacityError naming the flag when the layout cannot hold the model."""
    if model.n_heads % layout.tp or (model.kv_heads % layout.tp and layout.tp % model.kv_heads):
        raise CapacityError(
            f"TP={layout.tp} must divide the {model.n_heads} attention heads "
            f"and the {model.kv_heads} KV heads (or be a multiple of them)",
            field="tp",
        )
    if layout.pp > model.n_layers:
        raise CapacityError(
            f"PP={layout.pp} exceeds the model's {model.n_layers} layers", field="pp"
        )
    if layout.vpp > 1 and model.n_layers % (layout.pp * layout.vpp):
        raise CapacityError(
            f"PP x VPP = {layout.pp * layout.vpp} must divide the {model.n_layers} layers",
            field="vpp",
        )
    if layout.ep > 1:
        if not model.is_moe:
            raise CapacityError("expert parallelism needs an MoE model", field="ep")
        assert model.moe_experts is not None
        if model.moe_experts % layout.ep or layout.dp % layout.ep:
            raise CapacityError(
                f"EP={layout.ep} must divide the {model.moe_experts} experts and DP={layout.dp}",
                field="ep",
            )
    if layout.cp > 1 and model.seq_len % (2 * layout.cp):
        raise CapacityError(f"CP={layout.cp}: 2 x CP must divide seq_len", field="cp")
