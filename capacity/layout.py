"""A parallel layout of a training job: how the model and the batch are split."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from capacity.catalog.schemas import ModelSpec
from capacity.errors import CapacityError

Recompute = Literal["none", "selective", "full"]
Optimizer = Literal["adam-mixed", "adam-mixed-fp32-grads", "adam-bf16"]
RECOMPUTES: tuple[Recompute, ...] = ("none", "selective", "full")
RECOMPUTE_CODES: dict[str, int] = {name: i for i, name in enumerate(RECOMPUTES)}


# PyTorch FSDP HYBRID_SHARD: weights, gradients and optimizer state sharded over the
# data-parallel ranks inside a node, replicated across nodes (all-reduce of the shards).
HSDP = 4


class Layout(BaseModel):
    """TP x PP x DP (x CP) GPUs; EP splits experts inside the DP x TP group."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tp: int = Field(1, ge=1)
    pp: int = Field(1, ge=1)
    dp: int = Field(1, ge=1)
    cp: int = Field(1, ge=1)
    ep: int = Field(1, ge=1)
    vpp: int = Field(1, ge=1, description="interleaved pipeline chunks per GPU")
    zero_stage: int = Field(
        1, ge=0, le=4, description="0-3: ZeRO stage; 4: HSDP (ZeRO-3 inside the node)"
    )
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
        if self.tp > 1 and self.sequence_parallel:
            parts.append("SP")
        if not self.flash_attention:
            parts.append("no-flash")
        parts += [
            "HSDP" if self.zero_stage == HSDP else f"ZeRO-{self.zero_stage}",
            f"mb{self.micro_batch_seqs}",
            f"{self.recompute} recompute",
        ]
        return " ".join(parts)


def check_layout(
    layout: Layout,
    model: ModelSpec,
    gpus_per_node: int | None = None,
    seq_len: int | None = None,
) -> None:
    """Raise CapacityError naming the flag when the layout cannot hold the model.

    PP need not divide the layers: stages then hold ceil or floor(L / PP) blocks, as
    Llama 3 405B's 126 layers on PP=16 (arXiv:2407.21783 Sec. 3.3.2).
    """
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
    if layout.vpp > 1 and (layout.pp == 1 or layout.pp * layout.vpp > model.n_layers):
        raise CapacityError(
            f"interleaving needs PP > 1 and PP x VPP = {layout.pp * layout.vpp} chunks "
            f"of at least one of the {model.n_layers} layers",
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
    seq = seq_len or model.seq_len
    if layout.cp > 1 and seq % (2 * layout.cp):
        raise CapacityError(
            f"CP={layout.cp}: 2 x CP must divide the sequence length {seq}", field="cp"
        )
