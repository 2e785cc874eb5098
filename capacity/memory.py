"""Memory per GPU during training: model states and activations.

Model states follow the ZeRO paper (Rajbhandari et al. 2020, arXiv:1910.02054,
Sec. 3.1 and 5): bf16 weights and gradients plus 12 B/param of fp32 Adam
state, sharded over data parallelism by ZeRO stage 1 (optimizer), 2 (+grads)
and 3 (+weights). Activations follow Korthikanti et al. 2022
(arXiv:2205.05198, Sec. 4), counted tensor by tensor so that GQA, SwiGLU and
MoE shapes are handled; for a GPT block with a 4h GeLU MLP it reduces to the
paper's s*b*h*(34 + 5*a*s/h) bytes per layer. The pipeline holds up to PP
micro-batches in flight on its first stage (1F1B), more with interleaving
(Narayanan et al. 2021 Sec. 2.2; Megatron-LM theoretical_memory_usage.py).
What is not modelled (framework workspace, NCCL buffers, fragmentation) is
covered by the headroom kept free (MEMORY_HEADROOM_FRACTION).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import ModelSpec
from capacity.constants import (
    ACT_BYTES,
    ADAM_STATE_BYTES_BF16,
    ADAM_STATE_BYTES_FP32,
    DROPOUT_MASK_BYTES,
    GRAD_BYTES_BF16,
    GRAD_BYTES_FP32,
    LOGITS_BYTES_FP32,
    MEMORY_HEADROOM_FRACTION,
    WEIGHT_BYTES_BF16,
)
from capacity.layout import Layout
from capacity.units import GIB
from capacity.workload import attention_params, expert_ffn_dim, mlp_params, norm_params

# bytes per parameter: (weights, gradients, optimizer state)
OPTIMIZER_BYTES: dict[str, tuple[float, float, float]] = {
    "adam-mixed": (WEIGHT_BYTES_BF16.value, GRAD_BYTES_BF16.value, ADAM_STATE_BYTES_FP32.value),
    "adam-mixed-fp32-grads": (
        WEIGHT_BYTES_BF16.value,
        GRAD_BYTES_FP32.value,
        ADAM_STATE_BYTES_FP32.value,
    ),
    "adam-bf16": (WEIGHT_BYTES_BF16.value, GRAD_BYTES_BF16.value, ADAM_STATE_BYTES_BF16.value),
}


class MemoryBreakdown(BaseModel):
    """Peak memory of the most loaded GPU (GiB)."""

    model_config = ConfigDict(frozen=True)

    weights_gib: float
    gradients_gib: float
    optimizer_gib: float
    activations_gib: float
    total_gib: float
    capacity_gib: float
    usable_gib: float
    headroom_fraction: float
    params_per_gpu: float

    @property
    def fits(self) -> bool:
        return self.total_gib <= self.usable_gib


def model_state_bytes(
    params: float, zero_stage: int, shards: int, optimizer: str = "adam-mixed"
) -> tuple[float, float, float]:
    """(weights, gradients, optimizer) bytes per GPU for `params` replicated over `shards`.

    ZeRO paper (Rajbhandari et al. 2020) Sec. 5: stage 1 shards the optimizer
    state, stage 2 also the gradients, stage 3 also the weights.
    """
    w_b, g_b, o_b = OPTIMIZER_BYTES[optimizer]
    weights = params * w_b / (shards if zero_stage >= 3 else 1)
    grads = params * g_b / (shards if zero_stage >= 2 else 1)
    optim = params * o_b / (shards if zero_stage >= 1 else 1)
    return weights, grads, optim


def stage_params(m: ModelSpec, layout: Layout) -> float:
    """Parameters held by the most loaded pipeline stage on one GPU (after TP and EP)."""
    layers = math.ceil(m.n_layers / layout.pp)
    dense = attention_params(m) + 2 * norm_params(m)
    if m.is_moe:
        assert m.moe_experts is not None
        expert = mlp_params(m, expert_ffn_dim(m))
        per_layer = (
            (dense + m.moe_shared_experts * expert) / layout.tp
            + m.d_model * m.moe_experts  # router, replicated
            + m.moe_experts / layout.ep * expert / layout.tp
        )
    else:
        per_layer = (dense + mlp_params(m, m.ffn_dim)) / layout.tp
    body = layers * per_layer
    embed = m.vocab_size * m.d_model / layout.tp
    if m.position_embedding == "learned":
        embed += m.seq_len * m.d_model
    head = m.vocab_size * m.d_model / layout.tp  # tied weights get a copy on the last stage
    if layout.pp == 1:
        return body + embed + (0 if m.tied_embeddings else head)
    return body + max(embed, head)


def activation_bytes_per_layer(m: ModelSpec, layout: Layout, seq_len: int) -> float:
    """Stored activations of one layer for one micro-batch (Korthikanti 2022 Sec. 4.1)."""
    s = seq_len / layout.cp
    b = layout.micro_batch_seqs
    h = m.d_model
    t = layout.tp
    a2, d1 = ACT_BYTES.value, DROPOUT_MASK_BYTES.value
    if layout.recompute == "full":
        stored = a2 * s * b * h  # only the layer input
        return stored / t if layout.sequence_parallel else stored
    q = m.n_heads * m.dim_head
    kv = m.kv_heads * m.dim_head
    # Replicated across TP unless sequence parallel: the two norm inputs, the attention
    # and MLP inputs, two dropout masks (Korthikanti's 10 s*b*h).
    replicated = (2 * a2 + 2 * a2 + 2 * d1) * s * b * h
    # Split by TP: Q, K, V, attention output (input of the output projection), MLP hidden.
    attn = a2 * s * b * (2 * q + 2 * kv)
    f = expert_ffn_dim(m)
    tokens_per_expert = (m.moe_top_k or 1) + m.moe_shared_experts
    mlp_tensors = 3 if m.ffn_kind == "swiglu" else 2  # gate & up & product, or fc1 & act
    mlp = a2 * s * b * f * mlp_tensors * tokens_per_expert
    scores = 0.0
    if not layout.flash_attention and layout.recompute == "none":
        # softmax output (2 B), dropout mask (1 B), dropout output (2 B) per score.
        scores = (2 * a2 + d1) * m.n_heads * s * s * b
    split = attn + mlp + scores
    if layout.sequence_parallel:
        return (replicated + split) / t
    return replicated + split / t


def memory_per_gpu(
    m: ModelSpec,
    layout: Layout,
    capacity_gib: float,
    *,
    seq_len: int | None = None,
    microbatches: int | None = None,
    headroom_fraction: float = MEMORY_HEADROOM_FRACTION.value,
) -> MemoryBreakdown:
    """Peak memory on the first pipeline stage (or the last, if its LM head is larger).

    microbatches: micro-batches per optimizer step per pipeline (limits in-flight ones).
    """
    s = seq_len or m.seq_len
    params = stage_params(m, layout)
    # ZeRO shards over every data-parallel-like replica (DP x CP).
    weights, grads, optim = model_state_bytes(
        params, layout.zero_stage, layout.dp * layout.cp, layout.optimizer
    )

    layers = math.ceil(m.n_layers / layout.pp)
    in_flight = layout.pp if microbatches is None else min(layout.pp, microbatches)
    interleave = 1 + (layout.pp - 1) / (layout.pp * layout.vpp) if layout.vpp > 1 else 1.0
    per_layer = activation_bytes_per_layer(m, layout, s)
    acts = per_layer * layers * in_flight * interleave
    if layout.recompute == "full":  # one layer is rebuilt in full during backward
        acts += activation_bytes_per_layer(m, layout.model_copy(update={"recompute": "none"}), s)
    # fp32 logits of the last stage (Korthikanti 2022 Sec. 4.1), one micro-batch.
    logits = LOGITS_BYTES_FP32.value * s / layout.cp * layout.micro_batch_seqs * m.vocab_size
    logits /= layout.tp
    acts = acts + logits if layout.pp == 1 else max(acts, logits + per_layer * layers)

    total = weights + grads + optim + acts
    return MemoryBreakdown(
        weights_gib=weights / GIB,
        gradients_gib=grads / GIB,
        optimizer_gib=optim / GIB,
        activations_gib=acts / GIB,
        total_gib=total / GIB,
        capacity_gib=capacity_gib,
        usable_gib=capacity_gib * (1 - headroom_fraction),
        headroom_fraction=headroom_fraction,
        params_per_gpu=params,
    )
