"""Memory per GPU against the ZeRO and Korthikanti papers."""

from __future__ import annotations

import pytest

from capacity.catalog.schemas import ModelSpec, Source
from capacity.layout import Layout
from capacity.memory import activation_bytes_per_layer, memory_per_gpu, model_state_bytes

SRC = (Source(title="test fixture", locator="hand-written", as_of="2024-01-01"),)
GPT3 = ModelSpec(
    id="gpt3",
    name="GPT-3 175B",
    n_layers=96,
    d_model=12288,
    n_heads=96,
    ffn_dim=4 * 12288,
    ffn_kind="gelu",
    vocab_size=51200,
    seq_len=2048,
    sources=SRC,
)


@pytest.mark.parametrize(("stage", "expected_gb"), [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_paper_figure1(stage, expected_gb):
    """Rajbhandari et al. 2020 (ZeRO, arXiv:1910.02054) Fig. 1: Psi = 7.5B, N_d = 64, K = 12."""
    total = sum(model_state_bytes(7.5e9, stage, 64))
    assert total / 1e9 == pytest.approx(expected_gb, abs=0.06)


def test_korthikanti_no_parallelism_formula():
    """Korthikanti et al. 2022 (arXiv:2205.05198) Eq. 1: s b h (34 + 5 a s / h) per layer."""
    s, b, h, a = 2048, 1, 12288, 96
    lay = Layout(
        recompute="none", flash_attention=False, sequence_parallel=False, micro_batch_seqs=b
    )
    assert activation_bytes_per_layer(GPT3, lay, s) == pytest.approx(
        s * b * h * (34 + 5 * a * s / h)
    )


@pytest.mark.parametrize("t", [2, 4, 8])
def test_korthikanti_tensor_parallel_formulas(t):
    """Korthikanti et al. 2022 Table 2: TP only s b h (10 + 24/t + 5 a s/(h t));
    TP + SP + selective recompute: 34 s b h / t; full recompute 2 s b h (/t with SP)."""
    s, b, h, a = 2048, 1, 12288, 96
    tp_only = Layout(tp=t, recompute="none", flash_attention=False, sequence_parallel=False)
    assert activation_bytes_per_layer(GPT3, tp_only, s) == pytest.approx(
        s * b * h * (10 + 24 / t + 5 * a * s / (h * t))
    )
    sel = Layout(tp=t, recompute="selective", flash_attention=False, sequence_parallel=True)
    assert activation_bytes_per_layer(GPT3, sel, s) == pytest.approx(34 * s * b * h / t)
    full = Layout(tp=t, recompute="full", sequence_parallel=True)
    assert activation_bytes_per_layer(GPT3, full, s) == pytest.approx(2 * s * b * h / t)


def test_gpt3_175b_tp1_pp1_no_zero_does_not_fit_80gb():
    """A 175B model without model parallelism or ZeRO needs ~2.8 TB of model state."""
    mem = memory_per_gpu(GPT3, Layout(tp=1, pp=1, dp=64, zero_stage=0), 80)
    assert not mem.fits
    assert mem.total_gib > 2000


def test_megatron_gpt3_layout_fits_80gb():
    """Korthikanti et al. 2022 Table 3/5: GPT-3 175B trains with TP=8, PP=8, SP +
    selective recompute, micro-batch 1 on A100 80GB."""
    lay = Layout(tp=8, pp=8, dp=8, zero_stage=1, recompute="selective", micro_batch_seqs=1)
    mem = memory_per_gpu(GPT3, lay, 80)
    assert mem.fits, mem


def test_pipeline_holds_at_most_microbatches_in_flight():
    lay = Layout(tp=8, pp=8, dp=1)
    few = memory_per_gpu(GPT3, lay, 80, microbatches=2)
    many = memory_per_gpu(GPT3, lay, 80, microbatches=64)
    assert few.activations_gib < many.activations_gib
