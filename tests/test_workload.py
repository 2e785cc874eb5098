"""Parameter counts of the built-in models and of Hugging Face configs vs their publications."""

from __future__ import annotations

import json

import pytest
from conftest import DATA

from capacity.hf_config import spec_from_hf_config
from capacity.workload import model_from_params, param_counts

# Models whose authors publish only a nominal size (e.g. Hoffmann et al. 2022 Table 4
# lists Chinchilla as "70B" although its shape gives ~65B, Rae et al. 2021 Gopher "280B").
NOMINAL = {"chinchilla-70b": 0.08, "gopher-280b": 0.08, "falcon-40b": 0.04}


def test_every_catalog_model_matches_its_published_count(catalog):
    """Each catalog model's derived count vs `reported_params_b`, whose source
    (paper table or model card) is cited in the model's TOML file."""
    checked = 0
    for model in catalog.models.values():
        if model.reported_params_b is None:
            continue
        tol = NOMINAL.get(model.id, 0.015)
        got = param_counts(model).total / 1e9
        assert got == pytest.approx(model.reported_params_b, rel=tol), model.id
        checked += 1
    assert checked >= 11


@pytest.mark.parametrize(
    ("name", "published"),
    [
        # Radford et al. 2019 (GPT-2) as released on the hub: 124,439,808 parameters.
        ("gpt2.json", 124_439_808),
        # BigScience bloom-560m model card: 559,214,592 parameters.
        ("bloom-560m.json", 559_214_592),
        # Black et al. 2022 (GPT-NeoX-20B, arXiv:2204.06745) Table 1: 20,554,567,680.
        ("gpt-neox-20b.json", 20_554_567_680),
        # Touvron et al. 2023 (Llama 2) HF checkpoint: 6,738,415,616.
        ("llama-2-7b.json", 6_738_415_616),
        # Jiang et al. 2023 (Mistral 7B) HF checkpoint: 7,241,732,096.
        ("mistral-7b.json", 7_241_732_096),
        # Jiang et al. 2024 (Mixtral, arXiv:2401.04088): 46.7B total.
        ("mixtral-8x7b.json", 46.7e9),
        # Qwen2 technical report (arXiv:2407.10671) / model card: 7.62B.
        ("qwen2-7b.json", 7.62e9),
        # DeepSeek-V2 (arXiv:2405.04434) Sec. 3.1.2: 236B total (MLA + DeepSeekMoE).
        ("deepseek-v2.json", 236e9),
        # DeepSeek-V3 technical report (arXiv:2412.19437) Sec. 4.2: 671B total.
        ("deepseek-v3.json", 671e9),
    ],
)
def test_hf_config_param_counts(name, published):
    cfg = json.loads((DATA / "hf_configs" / name).read_text())
    spec = spec_from_hf_config(cfg, name=name)
    assert param_counts(spec).total == pytest.approx(published, rel=0.005)


def test_falcon_config_nominal_size():
    """Almazrouei et al. 2023 (The Falcon Series, arXiv:2311.16867) name the model 7B;
    the hub's 7.22B counts the LM head stored beside the tied input embedding."""
    cfg = json.loads((DATA / "hf_configs" / "falcon-7b.json").read_text())
    spec = spec_from_hf_config(cfg, name="falcon-7b.json")
    assert spec.kv_heads == 1 and spec.parallel_block
    assert param_counts(spec).total == pytest.approx(7e9, rel=0.02)


@pytest.mark.parametrize(
    ("name", "active_b"),
    [
        # DeepSeek-V2 (arXiv:2405.04434) Sec. 3.1.2: 21B activated per token.
        ("deepseek-v2.json", 21),
        # DeepSeek-V3 (arXiv:2412.19437) Sec. 4.2: 37B activated per token.
        ("deepseek-v3.json", 37),
    ],
)
def test_mla_moe_active_params(name, active_b):
    cfg = json.loads((DATA / "hf_configs" / name).read_text())
    spec = spec_from_hf_config(cfg, name=name)
    assert spec.is_mla and spec.qk_dim == 192 and spec.v_dim == 128 and spec.moe_dense_layers
    assert param_counts(spec).active / 1e9 == pytest.approx(active_b, rel=0.02)


def test_mla_attention_flops_use_its_head_widths(catalog):
    """Scores over (128 + 64)-wide query/key heads and 128-wide value heads (DeepSeek-V3
    report Sec. 2.1.1), 128 heads, 61 layers: 2 x 61 x s x 128 x (192 + 128) forward."""
    from capacity.flops import flops_per_token

    m = catalog.model("deepseek-v3")
    f4k, f8k = flops_per_token(m, 4096, "none"), flops_per_token(m, 8192, "none")
    assert f4k.forward_attention == 2 * 61 * 4096 * 128 * (192 + 128)
    assert (f8k.model - f4k.model) == pytest.approx(3 * f4k.forward_attention)


@pytest.mark.parametrize(
    ("name", "window"),
    [
        # Mistral 7B v0.1: "sliding_window": 4096 in every block (paper Table 1, window_size)
        ("mistral-7b.json", 4096),
        # Qwen2 keeps "sliding_window" in its config with "use_sliding_window": false
        ("qwen2-7b.json", None),
        ("llama-2-7b.json", None),
    ],
)
def test_sliding_window_from_config(name, window):
    cfg = json.loads((DATA / "hf_configs" / name).read_text())
    spec = spec_from_hf_config(cfg, name=name)
    assert spec.sliding_window == window and spec.sliding_window_share == 1.0


def test_sliding_window_share_from_layer_types():
    cfg = json.loads((DATA / "hf_configs" / "mistral-7b.json").read_text())
    cfg["layer_types"] = ["sliding_attention"] * 3 * 8 + ["full_attention"] * 8
    assert spec_from_hf_config(cfg).sliding_window_share == 0.75


def test_mixtral_active_params():
    """Jiang et al. 2024 (Mixtral of Experts, arXiv:2401.04088) Sec. 2: 13B active of 47B."""
    cfg = json.loads((DATA / "hf_configs" / "mixtral-8x7b.json").read_text())
    pc = param_counts(spec_from_hf_config(cfg))
    assert pc.active / 1e9 == pytest.approx(12.9, rel=0.02)


@pytest.mark.parametrize("size", [1e8, 1e9, 7e9, 41e9, 70e9, 115e9, 400e9])
def test_params_rule_hits_the_target(size):
    spec = model_from_params(size)
    assert param_counts(spec).total == pytest.approx(size, rel=0.05)
    assert 64 <= spec.d_model / spec.n_layers <= 200
    if size >= 1e9:  # TP up to 8 divides the heads (Llama 2: 32, 40, 64 heads)
        assert spec.n_heads % 8 == 0


def test_config_context_longer_than_pretraining_is_capped_with_a_note():
    """Qwen2-7B's config says 131,072 positions; it was pre-trained at 4K then 32K (Qwen2
    report arXiv:2407.10671 Sec. 3.2): planning the whole run at 131K would be wrong."""
    cfg = json.loads((DATA / "hf_configs" / "qwen2-7b.json").read_text())
    spec = spec_from_hf_config(cfg)
    assert spec.seq_len == 8192 and spec.notes and "131,072" in spec.notes
    llama = json.loads((DATA / "hf_configs" / "llama-2-7b.json").read_text())
    assert spec_from_hf_config(llama).seq_len == 4096 and spec_from_hf_config(llama).notes is None
