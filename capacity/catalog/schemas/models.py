"""Transformer model shapes (catalogs/models/)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from capacity.catalog.schemas.base import Entry
from capacity.constants import CAUSAL_FLASH_FRACTION


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
