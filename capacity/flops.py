"""Training FLOPs per token, counted from the model shape.

Conventions (stated in every output that shows FLOPs):

* **Model FLOPs** count every matmul of the forward pass once (2 FLOPs per
  multiply-accumulate) and the backward pass as twice the forward
  (Narayanan et al. 2021, arXiv:2104.04473, App. A). The attention score and
  value matmuls are counted in full, s x s per sequence, as Megatron-LM
  (Narayanan 2021 Eq. 3) and PaLM (Chowdhery et al. 2022 App. B,
  6N + 12 L H Q T) do: this is the basis on which published MFU / TFLOP/s
  figures are reported, so utilisation and time stay comparable with them.
* **Causal FLOPs** are the minimum work with a causal mask (half of the s x s
  terms); shown for information, not used for time. With sliding-window attention
  (Mistral, Gemma 2, OLMo 3) a query counts the window's keys instead of the sequence's.
* **Hardware FLOPs** add what activation recomputation executes again:
  selective recompute repeats the attention score/value matmuls, full
  recompute repeats the whole forward of every layer (not the LM head).
  MFU uses model FLOPs, HFU hardware FLOPs (Korthikanti et al. 2022 Sec. 6).
* The input-embedding lookup is not a matmul and costs nothing; the LM head
  is a matmul even with tied embeddings. Norms, softmax, activations and the
  optimizer step (< 2 % of the total) are left out, as in both references.
* MoE counts the router and the top-k + shared experts each token visits; MLA
  (DeepSeek-V2) its down- and up-projections, and its q/k and v head widths.

`6 N D` (Kaplan et al. 2020 Sec. 2.1) is reported beside the exact count.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import ModelSpec
from capacity.constants import BACKWARD_TO_FORWARD, FLOP_PER_MAC, TRAIN_FLOP_PER_PARAM_TOKEN
from capacity.workload import (
    attention_matmul_weights,
    expert_ffn_dim,
    lm_head_params,
    param_counts,
)

Recompute = Literal["none", "selective", "full"]

_MAC = FLOP_PER_MAC.value
_TRAIN = 1 + BACKWARD_TO_FORWARD.value  # forward + backward = 3x forward


class FlopsPerToken(BaseModel):
    """FLOPs per trained token (forward + backward) at one sequence length."""

    model_config = ConfigDict(frozen=True)

    seq_len: int
    model: float  # model FLOPs per token (MFU basis)
    hardware: float  # incl. recomputation (HFU basis)
    causal: float  # model FLOPs with causal-mask savings on the attention core
    six_n: float  # 6 x parameters (active parameters for MoE)
    forward_matmul: float  # weights only, forward, per token
    forward_attention: float  # score + value matmuls, forward, per token
    recompute: Recompute


def layer_matmul_weights(m: ModelSpec) -> float:
    """Weights one token multiplies by in one block, averaged over the blocks (biases and
    norms excluded; an MoE model's leading dense blocks count at their share)."""
    attn = attention_matmul_weights(m)
    mats = 3 if m.ffn_kind == "swiglu" else 2
    dense = attn + mats * m.d_model * m.ffn_dim
    if not m.is_moe:
        return dense
    assert m.moe_experts is not None and m.moe_top_k is not None
    experts = (m.moe_top_k + m.moe_shared_experts) * mats * m.d_model * expert_ffn_dim(m)
    moe = attn + m.d_model * m.moe_experts + experts
    return (m.moe_layers * moe + m.moe_dense_layers * dense) / m.n_layers


def flops_per_token(
    m: ModelSpec, seq_len: int | None = None, recompute: Recompute = "selective"
) -> FlopsPerToken:
    """Training FLOPs per token for `m` at `seq_len` (default: the model's own).

    References: Narayanan et al. 2021 (arXiv:2104.04473) App. A and Eq. 3;
    Korthikanti et al. 2022 (arXiv:2205.05198) Sec. 6 for model vs hardware FLOPs.
    """
    s = seq_len or m.seq_len
    fwd_layers = _MAC * m.n_layers * layer_matmul_weights(m)
    fwd_head = _MAC * lm_head_params(m)
    # QK^T and attention x V: s x d_head per head per token each (MLA: its q/k and v widths;
    # a sliding window: the window's keys instead of the sequence's).
    per_key = _MAC * m.n_layers * m.n_heads * (m.qk_dim + m.v_dim)
    fwd_attn = per_key * m.attended_keys(s)
    model = _TRAIN * (fwd_layers + fwd_head + fwd_attn)
    extra = {"none": 0.0, "selective": fwd_attn, "full": fwd_layers + fwd_attn}[recompute]
    return FlopsPerToken(
        seq_len=s,
        model=model,
        hardware=model + extra,
        causal=_TRAIN * (fwd_layers + fwd_head + per_key * m.causal_keys(s)),
        six_n=TRAIN_FLOP_PER_PARAM_TOKEN.value * param_counts(m).active,
        forward_matmul=fwd_layers + fwd_head,
        forward_attention=fwd_attn,
        recompute=recompute,
    )
