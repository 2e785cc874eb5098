"""Read a Hugging Face `config.json` (already parsed to a dict) into a `ModelSpec`.

Families: Llama, Mistral, Mixtral, Qwen2 (and other Llama-like configs), DeepSeek-V2/V3
(MLA + DeepSeekMoE, also Kimi K2), GPT-NeoX, Falcon, Bloom and GPT-2. Key names follow
the `transformers` configuration classes.
Pure: the CLI reads the file and passes the dict.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError

from capacity.catalog.schemas import ModelSpec, Source
from capacity.constants import Constant
from capacity.errors import CapacityError

# config.json's max_position_embeddings is the context a model serves, reached by a short
# long-context phase at the end; pre-training runs shorter sequences.
PRETRAIN_SEQ_CAP = Constant(
    8192,
    "tokens",
    "Llama 3 (arXiv:2407.21783) Sec. 3.4: pre-trained at 8K, extended to 128K at the end; "
    "DeepSeek-V3 (arXiv:2412.19437) Sec. 4.2: 4K, then 32K and 128K",
)

_LLAMA_LIKE = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "olmo", "olmo2", "gemma", "yi"}


# Keys read as whole numbers (shapes, counts, lengths); every one is checked before use.
_INT_KEYS = (
    "num_hidden_layers",
    "n_layer",
    "hidden_size",
    "n_embed",
    "n_embd",
    "num_attention_heads",
    "n_head",
    "intermediate_size",
    "ffn_hidden_size",
    "n_inner",
    "vocab_size",
    "max_position_embeddings",
    "seq_length",
    "n_positions",
    "n_ctx",
    "num_key_value_heads",
    "num_kv_heads",
    "n_head_kv",
    "head_dim",
    "num_local_experts",
    "num_experts",
    "num_experts_per_tok",
    "moe_intermediate_size",
    "moe_layer_freq",
    "n_routed_experts",
    "qk_nope_head_dim",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_rope_head_dim",
    "v_head_dim",
    "n_shared_experts",
    "first_k_dense_replace",
    "sliding_window",
)
# Above any real model's figure by orders of magnitude; keeps the arithmetic finite.
_MAX_CONFIG_INT = 10**9


def _check_types(cfg: dict[str, Any]) -> None:
    """Refuse values of the wrong type in one line naming the key (JSON allows anything)."""
    for key in _INT_KEYS:
        value = cfg.get(key)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise CapacityError(
                f"config.json: {key} must be a whole number, got {json_repr(value)}",
                field="model",
            )
        if not 0 <= value <= _MAX_CONFIG_INT:
            raise CapacityError(
                f"config.json: {key} = {value} is out of range (0 to {_MAX_CONFIG_INT:,})",
                field="model",
            )
        cfg[key] = value
    for key in ("model_type", "_name_or_path"):
        if cfg.get(key) is not None and not isinstance(cfg[key], str):
            raise CapacityError(
                f"config.json: {key} must be a string, got {json_repr(cfg[key])}", field="model"
            )
    for key in ("architectures", "layer_types"):
        value = cfg.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise CapacityError(
                f"config.json: {key} must be a list of strings, got {json_repr(value)}",
                field="model",
            )


def json_repr(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _get(cfg: dict[str, Any], *keys: str, default: Any = None, required: bool = True) -> Any:
    for key in keys:
        if cfg.get(key) is not None:
            return cfg[key]
    if required and default is None:
        raise CapacityError(f"config.json has none of the keys {', '.join(keys)}", field="model")
    return default


def family_of(cfg: dict[str, Any]) -> str:
    mtype = str(cfg.get("model_type", "")).lower()
    archs = " ".join(cfg.get("architectures") or []).lower()
    for fam in ("gpt_neox", "falcon", "bloom", "gpt2", "mixtral", "qwen2_moe"):
        if mtype == fam:
            return fam
    if mtype in {"deepseek_v2", "deepseek_v3", "kimi_k2"} or "deepseekv" in archs:
        return "deepseek"
    if mtype in {"refinedweb", "refinedwebmodel", "rw"} or "rwforcausallm" in archs:
        return "falcon"
    if mtype in _LLAMA_LIKE or any(f in archs for f in ("llama", "mistral", "qwen2")):
        return "mixtral" if "mixtral" in archs else "llama"
    if "gptneox" in archs:
        return "gpt_neox"
    if "gpt2" in archs:
        return "gpt2"
    if "bloom" in archs:
        return "bloom"
    if "num_hidden_layers" in cfg and "hidden_size" in cfg and "intermediate_size" in cfg:
        return "llama"  # most decoder-only configs use these names
    raise CapacityError(
        f"unsupported model_type '{cfg.get('model_type')}' (supported: Llama, Mistral, Mixtral, "
        "Qwen2, DeepSeek-V2/V3, GPT-NeoX, Falcon, Bloom, GPT-2)",
        field="model",
    )


def _standard_keys(
    cfg: dict[str, Any], ffn_kind: str = "swiglu", default_seq: int = 4096
) -> dict[str, Any]:
    """The shape keys that Llama, Mistral, Qwen, DeepSeek and GPT-NeoX configs share."""
    return {
        "n_layers": _get(cfg, "num_hidden_layers"),
        "d_model": _get(cfg, "hidden_size"),
        "n_heads": _get(cfg, "num_attention_heads"),
        "ffn_dim": _get(cfg, "intermediate_size"),
        "ffn_kind": ffn_kind,
        "vocab_size": _get(cfg, "vocab_size"),
        "seq_len": _get(cfg, "max_position_embeddings", default=default_seq),
        "tied_embeddings": bool(cfg.get("tie_word_embeddings", False)),
    }


def _sliding_window(cfg: dict[str, Any]) -> dict[str, Any]:
    """Sliding-window attention: the window, and the share of the blocks that use it."""
    window = cfg.get("sliding_window")
    if not window or cfg.get("use_sliding_window") is False:  # Qwen2 keeps the key, unused
        return {}
    kinds = cfg.get("layer_types")  # newer configs name each block's attention
    if isinstance(kinds, list) and kinds:
        n_sliding = sum(1 for k in kinds if "sliding" in str(k))
        return (
            {"sliding_window": window, "sliding_window_share": n_sliding / len(kinds)}
            if n_sliding
            else {}
        )
    share = 0.5 if str(cfg.get("model_type")) == "gemma2" else 1.0  # Gemma 2 alternates
    return {"sliding_window": window, "sliding_window_share": share}


def spec_from_hf_config(cfg: dict[str, Any], *, name: str = "config.json") -> ModelSpec:
    """Build a ModelSpec from a config dict; CapacityError(field='model') when it cannot."""
    try:
        return _spec_from_hf_config(cfg, name=name)
    except CapacityError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:  # a combination no check foresaw
        raise CapacityError(f"config.json: unusable values ({exc})", field="model") from None


def _spec_from_hf_config(cfg: dict[str, Any], *, name: str) -> ModelSpec:
    """Read a Hugging Face config.json into a ModelSpec. Long on purpose: one key mapping
    per model family (Llama-style, MLA/MoE, GPT-NeoX, Falcon, Bloom, GPT-2), read
    top to bottom against the families' config docs."""
    if not isinstance(cfg, dict):
        raise CapacityError("config.json must hold a JSON object", field="model")
    cfg = dict(cfg)
    _check_types(cfg)
    fam = family_of(cfg)
    fields: dict[str, Any]
    if fam in ("llama", "mixtral"):
        fields = {
            **_standard_keys(cfg),
            "n_kv_heads": cfg.get("num_key_value_heads"),
            "head_dim": cfg.get("head_dim"),
            **_sliding_window(cfg),
        }
        experts = cfg.get("num_local_experts") or cfg.get("num_experts")
        if experts:
            fields["moe_experts"] = experts
            fields["moe_top_k"] = _get(cfg, "num_experts_per_tok")
            if cfg.get("moe_intermediate_size"):
                fields["moe_expert_ffn_dim"] = cfg["moe_intermediate_size"]
    elif fam == "deepseek":
        # DeepSeek-V2/V3 (and Kimi K2): MLA attention, DeepSeekMoE after the first dense blocks.
        if int(cfg.get("moe_layer_freq", 1)) != 1:
            raise CapacityError(
                "config.json: MoE blocks every moe_layer_freq > 1 layers are not modelled",
                field="model",
            )
        experts = cfg.get("n_routed_experts")
        fields = {
            **_standard_keys(cfg),
            "head_dim": _get(cfg, "qk_nope_head_dim"),
            "kv_lora_rank": _get(cfg, "kv_lora_rank"),
            "q_lora_rank": cfg.get("q_lora_rank"),
            "qk_rope_head_dim": cfg.get("qk_rope_head_dim", 0),
            "v_head_dim": cfg.get("v_head_dim"),
        }
        if experts:
            fields.update(
                moe_experts=experts,
                moe_top_k=_get(cfg, "num_experts_per_tok"),
                moe_shared_experts=cfg.get("n_shared_experts") or 0,
                moe_expert_ffn_dim=_get(cfg, "moe_intermediate_size"),
                moe_dense_layers=cfg.get("first_k_dense_replace") or 0,
            )
    elif fam == "gpt_neox":
        fields = {
            **_standard_keys(cfg, ffn_kind="gelu", default_seq=2048),
            "norm": "layernorm",
            "linear_bias": True,
            "parallel_block": bool(cfg.get("use_parallel_residual", True)),
        }
    elif fam == "falcon":
        d = _get(cfg, "hidden_size", "n_embed")
        heads = _get(cfg, "num_attention_heads", "n_head")
        if cfg.get("new_decoder_architecture"):
            kv = _get(cfg, "num_kv_heads", "n_head_kv")
        elif cfg.get("multi_query", True):
            kv = 1
        else:
            kv = heads
        fields = {
            "n_layers": _get(cfg, "num_hidden_layers", "n_layer"),
            "d_model": d,
            "n_heads": heads,
            "n_kv_heads": kv,
            "ffn_dim": cfg.get("ffn_hidden_size") or 4 * d,
            "ffn_kind": "gelu",
            "vocab_size": _get(cfg, "vocab_size"),
            "seq_len": _get(cfg, "max_position_embeddings", default=2048),
            "tied_embeddings": bool(cfg.get("tie_word_embeddings", True)),
            "position_embedding": "alibi" if cfg.get("alibi") else "rope",
            "norm": "layernorm",
            "linear_bias": bool(cfg.get("bias", False)),
            "parallel_block": bool(cfg.get("parallel_attn", True)),
        }
    elif fam == "bloom":
        d = _get(cfg, "hidden_size", "n_embed")
        fields = {
            "n_layers": _get(cfg, "n_layer", "num_hidden_layers"),
            "d_model": d,
            "n_heads": _get(cfg, "n_head", "num_attention_heads"),
            "ffn_dim": 4 * d,
            "ffn_kind": "gelu",
            "vocab_size": _get(cfg, "vocab_size"),
            "seq_len": _get(cfg, "seq_length", default=2048),
            "tied_embeddings": True,
            "position_embedding": "alibi",
            "norm": "layernorm",
            "linear_bias": True,
        }
    elif fam == "gpt2":
        d = _get(cfg, "n_embd", "hidden_size")
        fields = {
            "n_layers": _get(cfg, "n_layer", "num_hidden_layers"),
            "d_model": d,
            "n_heads": _get(cfg, "n_head", "num_attention_heads"),
            "ffn_dim": cfg.get("n_inner") or 4 * d,
            "ffn_kind": "gelu",
            "vocab_size": _get(cfg, "vocab_size"),
            "seq_len": _get(cfg, "n_positions", "n_ctx", default=1024),
            "tied_embeddings": True,
            "position_embedding": "learned",
            "norm": "layernorm",
            "linear_bias": True,
        }
    else:
        raise CapacityError(f"unsupported model family '{fam}'", field="model")
    src = Source(
        title=f"Hugging Face config.json ({name})",
        locator="as given by the user",
        as_of=dt.date.today(),
    )
    notes = None
    cap = int(PRETRAIN_SEQ_CAP.value)
    if fields.get("seq_len") and fields["seq_len"] > cap:
        notes = (
            f"training sequence {cap:,} tokens: the config's {fields['seq_len']:,}-token context "
            "is usually reached by a short long-context phase (Llama 3, DeepSeek-V3); "
            "--seq-len changes it"
        )
        fields["seq_len"] = cap
    ident = str(cfg.get("_name_or_path") or cfg.get("model_type") or "hf-model")
    slug = "".join(ch if ch.isalnum() else "-" for ch in ident.lower()).strip("-") or "hf-model"
    try:
        return ModelSpec(
            id=slug,
            name=f"{ident} (from {name})",
            sources=(src,),
            notes=notes,
            **{k: v for k, v in fields.items() if v is not None},
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise CapacityError(
            f"config.json gives an invalid shape: {f'{loc}: ' if loc else ''}{msg}", field="model"
        ) from None
