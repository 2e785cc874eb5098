"""Model shapes: parameter counts derived from a `ModelSpec`, and shapes from a size.

Counts are exact for the architecture described by the spec (weights, biases,
norms, embeddings); they are checked against the counts published for the
catalog models in tests/test_workload.py.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import ModelSpec, Source
from capacity.constants import Constant
from capacity.errors import CapacityError

# Aspect-ratio rule for `--params 7B`: d_model = 128 x n_layers and 128-wide heads,
# the shape of Llama 2 7B/13B (4096/32, 5120/40). Kaplan et al. 2020 Fig. 5 shows
# loss within ~3 % over a wide d_model/n_layers range, so any ratio near ~100 is fine.
ASPECT_RATIO = Constant(
    128, "d_model / n_layers", "Touvron et al. 2023 (Llama 2, arXiv:2307.09288) Table 1 shapes"
)
HEAD_DIM = Constant(128, "dims", "Touvron et al. 2023 (Llama 2) head size 128 at every size")
DEFAULT_VOCAB = Constant(32000, "tokens", "Touvron et al. 2023 (Llama 2) tokenizer")
DEFAULT_SEQ_LEN = Constant(4096, "tokens", "Touvron et al. 2023 (Llama 2) context length")
HEADS_MULTIPLE = 8  # TP degrees up to a node of 8 GPUs must divide the heads
SWIGLU_FFN_MULTIPLE = Constant(
    256, "dims", "Meta llama reference code: FFN hidden rounded up to a multiple of 256"
)


class ParamCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int
    active: int  # per token (MoE: top-k + shared experts)
    non_embedding: int
    embedding: int  # input embedding (+ learned positions) and untied LM head
    per_layer_total: int  # of an MoE block where the first blocks are dense
    per_layer_active: int


def attention_matmul_weights(m: ModelSpec) -> int:
    """Weights of one block's attention projections (what a token multiplies by)."""
    if m.is_mla:
        assert m.kv_lora_rank is not None  # narrowed by is_mla
        h, heads, lora = m.d_model, m.n_heads, m.kv_lora_rank
        q_up = heads * m.qk_dim
        q = h * m.q_lora_rank + m.q_lora_rank * q_up if m.q_lora_rank else h * q_up
        kv = h * (lora + m.qk_rope_head_dim) + lora * heads * (m.dim_head + m.v_dim)
        return q + kv + heads * m.v_dim * h
    q_out = m.n_heads * m.dim_head
    kv_out = m.kv_heads * m.dim_head
    return m.d_model * q_out + 2 * m.d_model * kv_out + q_out * m.d_model


def attention_params(m: ModelSpec) -> int:
    weights = attention_matmul_weights(m)
    if m.is_mla:  # the norms of the query and KV latents (DeepSeek-V2 modeling code)
        assert m.kv_lora_rank is not None
        per = 2 if m.norm == "layernorm" else 1
        return weights + per * (m.kv_lora_rank + (m.q_lora_rank or 0))
    q_out = m.n_heads * m.dim_head
    kv_out = m.kv_heads * m.dim_head
    bias = q_out + 2 * kv_out + m.d_model if m.linear_bias else 0
    return weights + bias


def mlp_params(m: ModelSpec, ffn_dim: int) -> int:
    """One dense MLP (or one expert): SwiGLU has gate, up and down matrices."""
    if m.ffn_kind == "swiglu":
        return 3 * m.d_model * ffn_dim + ((2 * ffn_dim + m.d_model) if m.linear_bias else 0)
    return 2 * m.d_model * ffn_dim + ((ffn_dim + m.d_model) if m.linear_bias else 0)


def norm_params(m: ModelSpec) -> int:
    per_norm = 2 * m.d_model if m.norm == "layernorm" else m.d_model
    return per_norm


def expert_ffn_dim(m: ModelSpec) -> int:
    return m.moe_expert_ffn_dim or m.ffn_dim


def dense_layer_params(m: ModelSpec) -> int:
    """Parameters of one block with a dense MLP (every block of a dense model)."""
    return attention_params(m) + 2 * norm_params(m) + mlp_params(m, m.ffn_dim)


def layer_params(m: ModelSpec) -> tuple[int, int]:
    """(total, active) parameters of one transformer block (an MoE block for MoE models)."""
    attn = attention_params(m)
    norms = 2 * norm_params(m)
    if not m.is_moe:
        return dense_layer_params(m), dense_layer_params(m)
    assert m.moe_experts is not None and m.moe_top_k is not None  # narrowed by is_moe
    expert = mlp_params(m, expert_ffn_dim(m))
    router = m.d_model * m.moe_experts
    shared = m.moe_shared_experts * expert
    total = attn + norms + router + shared + m.moe_experts * expert
    active = attn + norms + router + shared + m.moe_top_k * expert
    return total, active


def embedding_params(m: ModelSpec) -> int:
    emb = m.vocab_size * m.d_model
    if m.position_embedding == "learned":
        emb += m.seq_len * m.d_model
    if not m.tied_embeddings:
        emb += m.vocab_size * m.d_model
    return emb


def param_counts(m: ModelSpec) -> ParamCounts:
    per_total, per_active = layer_params(m)
    emb = embedding_params(m)
    final_norm = norm_params(m)
    dense = m.moe_dense_layers * dense_layer_params(m)
    n_like = m.n_layers - m.moe_dense_layers
    body_total = n_like * per_total + dense + final_norm
    body_active = n_like * per_active + dense + final_norm
    return ParamCounts(
        total=body_total + emb,
        active=body_active + emb,
        non_embedding=body_total,
        embedding=emb,
        per_layer_total=per_total,
        per_layer_active=per_active,
    )


def lm_head_params(m: ModelSpec) -> int:
    """Weights of the output projection (a matmul even when tied to the input embedding)."""
    return m.vocab_size * m.d_model


def swiglu_ffn_dim(d_model: int) -> int:
    multiple = int(SWIGLU_FFN_MULTIPLE.value)
    return multiple * math.ceil((8 * d_model / 3) / multiple)


def model_from_params(
    n_params: float,
    *,
    vocab_size: int | None = None,
    seq_len: int | None = None,
) -> ModelSpec:
    """A Llama-style dense shape with about `n_params` parameters (aspect-ratio rule).

    n_layers is chosen so that d_model = ASPECT_RATIO x n_layers gives the target
    non-embedding count 12 L d^2 (Kaplan et al. 2020 Sec. 2.1); d_model is then
    rounded to a multiple of the head size (of 8 heads from 8 heads up) and refined so
    the total matches.
    """
    if n_params < 1e6 or n_params > 1e14:
        raise CapacityError("must lie between 1M and 100T parameters", field="params")
    vocab = vocab_size or int(DEFAULT_VOCAB.value)
    seq = seq_len or int(DEFAULT_SEQ_LEN.value)
    head = int(HEAD_DIM.value)
    ratio = ASPECT_RATIO.value
    best: ModelSpec | None = None
    best_err = math.inf
    # Small search around the rule: a handful of candidates, exact counts for each.
    n_layers0 = max(2, round((n_params / (12 * ratio**2)) ** (1 / 3)))
    for n_layers in range(max(2, n_layers0 - 8), n_layers0 + 9):
        d_target = math.sqrt(max(n_params - 2 * vocab * ratio * n_layers, 1) / (12 * n_layers))
        # heads in multiples of 8 once there are 8 (Llama: 32, 40, 64, 128), so that TP up
        # to the 8 GPUs of a node divides them
        unit = head * (HEADS_MULTIPLE if d_target >= head * HEADS_MULTIPLE else 1)
        for d_model in {
            unit * max(1, math.floor(d_target / unit)),
            unit * math.ceil(d_target / unit),
        }:
            spec = _llama_shape(n_layers, d_model, head, vocab, seq)
            err = abs(param_counts(spec).total - n_params) / n_params
            err += 0.02 * abs(d_model / n_layers - ratio) / ratio  # prefer the rule's ratio
            if err < best_err:
                best, best_err = spec, err
    assert best is not None
    return best


def _llama_shape(n_layers: int, d_model: int, head: int, vocab: int, seq: int) -> ModelSpec:
    today = Source(
        title="capacity aspect-ratio rule (capacity.workload.model_from_params)",
        locator="d_model = 128 x n_layers, head 128, SwiGLU 8/3 d rounded to 256",
        as_of="2024-01-01",
    )
    return ModelSpec(
        id=f"dense-{n_layers}x{d_model}",
        name=f"Llama-style dense model, {n_layers} layers x {d_model}",
        n_layers=n_layers,
        d_model=d_model,
        n_heads=d_model // head,
        ffn_dim=swiglu_ffn_dim(d_model),
        ffn_kind="swiglu",
        vocab_size=vocab,
        seq_len=seq,
        sources=(today,),
    )
