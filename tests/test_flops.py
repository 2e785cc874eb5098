"""FLOPs per token against the published formulas."""

from __future__ import annotations

import pytest

from capacity.catalog.schemas import ModelSpec, Source
from capacity.flops import flops_per_token
from capacity.workload import param_counts

SRC = (Source(title="test fixture", locator="hand-written", as_of="2024-01-01"),)


def gpt(layers: int, h: int, heads: int, vocab: int, seq: int) -> ModelSpec:
    return ModelSpec(
        id="gpt",
        name="gpt",
        n_layers=layers,
        d_model=h,
        n_heads=heads,
        ffn_dim=4 * h,
        ffn_kind="gelu",
        vocab_size=vocab,
        seq_len=seq,
        sources=SRC,
    )


@pytest.mark.parametrize(
    ("layers", "h", "heads", "vocab", "seq"),
    [(96, 12288, 96, 51200, 2048), (128, 25600, 160, 51200, 2048), (24, 2304, 24, 51200, 2048)],
)
def test_model_flops_match_megatron_formula(layers, h, heads, vocab, seq):
    """Narayanan et al. 2021 (arXiv:2104.04473) App. A: without recompute,
    F = 72 B s l h^2 (1 + s/(6h) + V/(12 l h)) per iteration, i.e. per token / (B s)."""
    m = gpt(layers, h, heads, vocab, seq)
    expected = 72 * layers * h**2 * (1 + seq / (6 * h) + vocab / (12 * layers * h))
    assert flops_per_token(m, recompute="none").model == pytest.approx(expected, rel=1e-12)


def test_full_recompute_hardware_flops_match_megatron_eq3():
    """Narayanan et al. 2021 Eq. 3 (with activation recomputation):
    F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)); GPT-3 175B shape, Table 1 row 175B."""
    layers, h, vocab, seq = 96, 12288, 51200, 2048
    m = gpt(layers, h, 96, vocab, seq)
    expected = 96 * layers * h**2 * (1 + seq / (6 * h) + vocab / (16 * layers * h))
    assert flops_per_token(m, recompute="full").hardware == pytest.approx(expected, rel=1e-12)


def test_selective_recompute_adds_attention_core_only():
    """Korthikanti et al. 2022 (arXiv:2205.05198) Sec. 5: selective recompute repeats
    the attention score/value matmuls: 4 s^2 h per layer per sequence forward."""
    layers, h, seq = 96, 12288, 2048
    m = gpt(layers, h, 96, 51200, seq)
    f = flops_per_token(m, recompute="selective")
    assert f.hardware - f.model == pytest.approx(4 * seq * h * layers, rel=1e-12)


def test_palm_convention_6n_plus_attention():
    """Chowdhery et al. 2022 (PaLM, arXiv:2204.02311) App. B: 6N + 12 L H Q T, where N
    counts the matmul weights. Our model FLOPs equal it for an untied, bias-free model."""
    m = gpt(32, 4096, 32, 32000, 4096)
    # minus the input embedding and the RMSNorm gains (2 per layer + final)
    n_matmul = param_counts(m).total - m.vocab_size * m.d_model - m.d_model * (2 * 32 + 1)
    f = flops_per_token(m, recompute="none")
    assert f.model == pytest.approx(6 * n_matmul + 12 * 32 * 32 * 128 * 4096, rel=1e-12)


def test_causal_is_smaller_and_6n_close_for_short_context():
    m = gpt(96, 12288, 96, 51200, 2048)
    f = flops_per_token(m)
    assert f.causal < f.model
    # s/(6h) = 2.8 % and the LM head make the exact count ~3-5 % above 6N for GPT-3.
    assert 1.0 < f.model / f.six_n < 1.06


def test_gqa_reduces_kv_projection_flops_but_not_attention_core():
    base = dict(
        id="x",
        name="x",
        n_layers=32,
        d_model=4096,
        n_heads=32,
        ffn_dim=14336,
        vocab_size=32000,
        seq_len=8192,
        sources=SRC,
    )
    mha = ModelSpec(**base)
    gqa = ModelSpec(**base, n_kv_heads=8)
    f_mha, f_gqa = flops_per_token(mha), flops_per_token(gqa)
    # K and V projections shrink 4x: 2 * 2 * h * (h - h/4) MACs per layer saved.
    saved = 3 * 2 * 32 * 2 * 4096 * (4096 - 1024)
    assert f_mha.model - f_gqa.model == pytest.approx(saved, rel=1e-12)
    assert f_mha.forward_attention == f_gqa.forward_attention


def test_moe_counts_active_experts_only():
    base = dict(
        id="x",
        name="x",
        n_layers=32,
        d_model=4096,
        n_heads=32,
        n_kv_heads=8,
        ffn_dim=14336,
        vocab_size=32000,
        seq_len=4096,
        sources=SRC,
    )
    dense = ModelSpec(**base)
    moe = ModelSpec(**base, moe_experts=8, moe_top_k=2)
    extra_expert = 3 * 2 * 32 * 3 * 4096 * 14336  # one more SwiGLU expert, fwd+bwd
    router = 3 * 2 * 32 * 4096 * 8
    delta = flops_per_token(moe).model - flops_per_token(dense).model
    assert delta == pytest.approx(extra_expert + router, rel=1e-12)
    pc = param_counts(moe)
    assert pc.total > pc.active > param_counts(dense).total


def test_sliding_window_counts_the_window_keys(catalog):
    """Mistral 7B (arXiv:2310.06825 Table 1): window 4096 at context 8192. A query counts
    4096 keys instead of 8192; with a causal kernel the band executes w - w^2/2s = 3072."""
    from capacity.flops import flops_per_token

    mistral = catalog.model("mistral-7b")
    assert mistral.sliding_window == 4096
    full = mistral.model_copy(update={"sliding_window": None})
    swa, dense = flops_per_token(mistral, 8192, "none"), flops_per_token(full, 8192, "none")
    assert swa.forward_attention == pytest.approx(dense.forward_attention / 2)
    assert mistral.causal_keys(8192) == 3072 and full.causal_keys(8192) == 4096
    # at or below the window nothing changes
    assert flops_per_token(mistral, 4096).model == flops_per_token(full, 4096).model
    # OLMo 3: the window in 3 of 4 blocks
    olmo = full.model_copy(update={"sliding_window": 4096, "sliding_window_share": 0.75})
    assert olmo.attended_keys(8192) == 0.25 * 8192 + 0.75 * 4096
