"""Model configurations: built-in presets (each with its source) and a Hugging Face config.json loader.

Every preset value is copied from the model's published ``config.json`` on the Hugging Face hub
(the ``source`` field names the repository). ``load_model_config`` accepts a preset name or a path
to a ``config.json`` of the LLaMA, Mistral/Mixtral, Qwen2, GPT-2 or OPT families.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import CodesignError

FFN_KINDS = ("swiglu", "gelu", "relu")
NORMS = ("rms", "layer")
ROUTERS = ("linear", "attention")


@dataclass(frozen=True)
class ModelConfig:
    name: str
    family: str               # "llama" | "mistral" | "mixtral" | "qwen2" | "gpt2" | "opt" | "yuan2"
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ffn: int                # per expert for MoE
    vocab: int
    n_experts: int = 1        # 1 for dense
    top_k: int = 1            # 1 for dense
    ffn_kind: str = "swiglu"
    norm: str = "rms"
    tied_embeddings: bool = False
    max_context: int = 2048
    source: str = ""
    attn_bias: bool = False   # biases on Q/K/V (Qwen2, GPT-2, OPT)
    mlp_bias: bool = False    # biases on the FFN and the attention output (GPT-2, OPT)
    learned_pos: int = 0      # rows of a learned position-embedding table (GPT-2, OPT); 0 = RoPE
    router: str = "linear"    # MoE router: "linear" (Mixtral) or "attention" (Yuan2.0-M32)

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1

    @property
    def gqa_ratio(self) -> int:
        """Query heads per K/V head (1 = multi-head attention)."""
        return self.n_heads // self.n_kv_heads

    def validate(self) -> "ModelConfig":
        where = f"model '{self.name}'"
        for f in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ffn", "vocab",
                  "n_experts", "top_k", "max_context"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise CodesignError(f"{where}: must be a positive integer, got {v!r}", field=f)
        if self.n_heads % self.n_kv_heads:
            raise CodesignError(f"{where}: n_heads {self.n_heads} is not a multiple of n_kv_heads "
                                f"{self.n_kv_heads}", field="n_kv_heads")
        if self.top_k > self.n_experts:
            raise CodesignError(f"{where}: top_k {self.top_k} > n_experts {self.n_experts}", field="top_k")
        if self.ffn_kind not in FFN_KINDS:
            raise CodesignError(f"{where}: got {self.ffn_kind!r}; allowed: {FFN_KINDS}", field="ffn_kind")
        if self.norm not in NORMS:
            raise CodesignError(f"{where}: got {self.norm!r}; allowed: {NORMS}", field="norm")
        if self.router not in ROUTERS:
            raise CodesignError(f"{where}: got {self.router!r}; allowed: {ROUTERS}", field="router")
        return self


def _hf(repo: str) -> str:
    return f"Hugging Face {repo} config.json"


def _llama(name, L, d, h, kv, ffn, vocab, ctx, src, tied=False, head_dim=None, **kw) -> ModelConfig:
    return ModelConfig(name=name, family=kw.pop("family", "llama"), n_layers=L, d_model=d, n_heads=h,
                       n_kv_heads=kv, head_dim=head_dim or d // h, d_ffn=ffn, vocab=vocab,
                       tied_embeddings=tied, max_context=ctx, source=src, **kw)


def _gpt2(name, L, d, h, repo) -> ModelConfig:
    # GPT-2: n_inner = 4 * n_embd, vocab 50257, n_positions 1024, tied LM head, LayerNorm, GELU.
    return ModelConfig(name=name, family="gpt2", n_layers=L, d_model=d, n_heads=h, n_kv_heads=h,
                       head_dim=d // h, d_ffn=4 * d, vocab=50257, ffn_kind="gelu", norm="layer",
                       tied_embeddings=True, max_context=1024, source=_hf(repo), attn_bias=True,
                       mlp_bias=True, learned_pos=1024)


PRESETS: dict[str, ModelConfig] = {c.name: c for c in (
    _llama("llama2-7b", 32, 4096, 32, 32, 11008, 32000, 4096, _hf("meta-llama/Llama-2-7b-hf")),
    _llama("llama2-13b", 40, 5120, 40, 40, 13824, 32000, 4096, _hf("meta-llama/Llama-2-13b-hf")),
    _llama("llama3-8b", 32, 4096, 32, 8, 14336, 128256, 8192, _hf("meta-llama/Meta-Llama-3-8B")),
    _llama("llama3.2-1b", 16, 2048, 32, 8, 8192, 128256, 131072, _hf("meta-llama/Llama-3.2-1B"),
           tied=True, head_dim=64),
    _llama("tinyllama-1.1b", 22, 2048, 32, 4, 5632, 32000, 2048,
           _hf("TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T")),
    _llama("smollm2-135m", 30, 576, 9, 3, 1536, 49152, 8192, _hf("HuggingFaceTB/SmolLM2-135M"),
           tied=True),
    # stories15M (karpathy/llama2.c README model table and its run.c header: dim 288, hidden_dim 768,
    # 6 layers, 6 heads, 6 KV heads, vocab 32000, max_seq_len 256; classifier shares the embedding):
    # a LLaMA-2 architecture small enough for a ULX3S's 32 MB SDRAM (codesign sweep --device ulx3s)
    _llama("stories15m", 6, 288, 6, 6, 768, 32000, 256, "karpathy/llama2.c README (stories15M, TinyStories)",
           tied=True),
    _llama("qwen2-7b", 28, 3584, 28, 4, 18944, 152064, 131072, _hf("Qwen/Qwen2-7B"),
           family="qwen2", attn_bias=True),
    _llama("mixtral-8x7b", 32, 4096, 32, 8, 14336, 32000, 32768, _hf("mistralai/Mixtral-8x7B-v0.1"),
           family="mixtral", n_experts=8, top_k=2),
    # Yuan2.0-M32: github IEIT-Yuan/Yuan2.0-M32 examples/pretrain_yuan2.0_moe_2x32B.sh (24 layers,
    # hidden 2048, 16 heads, kv-channels 256, 32 experts, top-2, attention router, seq 4096) and
    # arXiv 2405.17976 (40B total / 3.7B active; vocab 135040). FFN 8192 per expert (4 x hidden, the
    # Megatron default the script leaves unset) reproduces the 40B. The localized-filtering (LFA)
    # convolutions of the attention are not modelled (~0.2B parameters).
    _llama("yuan2-m32", 24, 2048, 16, 16, 8192, 135040, 4096,
           "github IEIT-Yuan/Yuan2.0-M32 examples/pretrain_yuan2.0_moe_2x32B.sh + arXiv 2405.17976",
           family="yuan2", head_dim=256, n_experts=32, top_k=2, router="attention"),
    # ChatGLM2-6B (THUDM/chatglm2-6b config.json: num_layers 28, hidden_size 4096, ffn_hidden_size
    # 13696, kv_channels 128, num_attention_heads 32, multi_query_group_num 2, padded_vocab_size 65024,
    # seq_length 32768, add_qkv_bias, RMSNorm, SwiGLU, untied output layer). Used by EdgeLLM.
    _llama("chatglm2-6b", 28, 4096, 32, 2, 13696, 65024, 32768, _hf("THUDM/chatglm2-6b"),
           family="chatglm", attn_bias=True),
    ModelConfig(name="opt-6.7b", family="opt", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=32,
                head_dim=128, d_ffn=16384, vocab=50272, ffn_kind="relu", norm="layer",
                tied_embeddings=True, max_context=2048, source=_hf("facebook/opt-6.7b"),
                attn_bias=True, mlp_bias=True, learned_pos=2048 + 2),  # OPT offsets positions by 2
    _gpt2("gpt2-124m", 12, 768, 12, "openai-community/gpt2"),
    _gpt2("gpt2-355m", 24, 1024, 16, "openai-community/gpt2-medium"),
    _gpt2("gpt2-774m", 36, 1280, 20, "openai-community/gpt2-large"),
    _gpt2("gpt2-1.5b", 48, 1600, 25, "openai-community/gpt2-xl"),
    # DFX's GPT-2 1.5B (Hong et al., MICRO 2022, evaluation: heads adjusted from 25 to 24 to split over
    # four cards); embedding 1536, head dim 64, 24 heads, 48 blocks as tabulated by IANUS (Seo et al.,
    # ASPLOS 2024, Table 3, "GPT XL"); the rest as GPT-2 XL (vocab 50257, 1024 positions, n_inner 4 x d)
    replace(_gpt2("gpt2-1.5b-dfx", 48, 1536, 24, "openai-community/gpt2-xl"),
            source="DFX (MICRO 2022) GPT-2 1.5B with 24 heads; IANUS (ASPLOS 2024) Table 3: d 1536, 24 x 64, 48 layers"),
)}
ALIASES = {"gpt2": "gpt2-124m", "gpt2-medium": "gpt2-355m", "gpt2-large": "gpt2-774m",
           "gpt2-xl": "gpt2-1.5b", "llama-7b": "llama2-7b", "mixtral": "mixtral-8x7b",
           "yuan2.0-m32": "yuan2-m32", "llama3.2-1b-instruct": "llama3.2-1b",
           "smollm2-135m-instruct": "smollm2-135m"}


# Upper bounds of a config.json value: far above any published model, low enough that the
# analytical model's integer arithmetic (bytes = layers x width x width x ...) cannot overflow.
# A value above one is almost certainly a typo.
MAX_VALUE = {"n_layers": 1 << 14, "d_model": 1 << 20, "n_heads": 1 << 14, "n_kv_heads": 1 << 14,
             "head_dim": 1 << 14, "d_ffn": 1 << 22, "vocab": 1 << 24, "n_experts": 1 << 14, "top_k": 1 << 14,
             "max_context": 1 << 27}
SWIGLU_ACTS = ("silu", "swish")
GPT2_ACTS = ("gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "gelu_python", "gelu_accurate")
OPT_ACTS = ("relu", "gelu")


class _HF:
    """Reads one config.json: every error names the file and the Hugging Face key."""

    def __init__(self, cfg: dict, where: str):
        self.cfg, self.where = cfg, where
        self.keys: dict[str, str] = {}     # ModelConfig field -> the config.json key it came from

    def error(self, key: str, message: str) -> CodesignError:
        return CodesignError(f"{message} (in '{self.where}')", field=key)

    def int(self, field: str, key: str | tuple[str, ...], default: Any = None) -> Any:
        keys = (key,) if isinstance(key, str) else key
        for k in keys:
            if k in self.cfg and self.cfg[k] is not None:
                v = self.cfg[k]
                if isinstance(v, float) and v.is_integer():   # 4096.0: JSON writers do this
                    v = int(v)
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise self.error(k, f"got {v!r}; must be a positive integer")
                top = MAX_VALUE.get(field)
                if top is not None and v > top:
                    raise self.error(k, f"got {v}; at most {top} (a typo?)")
                self.keys[field] = k
                return v
        if default is None:
            raise self.error(keys[0], "missing; this model type needs it")
        self.keys[field] = keys[0]
        return default

    def flag(self, key: str, default: bool) -> bool:
        v = self.cfg.get(key, default)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.error(key, f"got {v!r}; must be true or false")
        return v

    def choice(self, key: str, default: str, allowed: tuple[str, ...], what: str = "") -> str:
        v = self.cfg.get(key, default)
        if v is None:
            v = default
        if not isinstance(v, str) or v not in allowed:
            raise self.error(key, f"got {v!r}; allowed: {', '.join(allowed)}{what}")
        return v

    def check(self, m: ModelConfig, head_dim_given: bool) -> ModelConfig:
        """The model's own consistency, in the config.json's terms."""
        k = self.keys
        if not head_dim_given and m.d_model % m.n_heads:
            raise self.error(k["n_heads"], f"{m.n_heads} does not divide {k['d_model']} {m.d_model}, "
                                           "so a head has no integer width")
        if m.n_kv_heads > m.n_heads or m.n_heads % m.n_kv_heads:
            raise self.error(k["n_kv_heads"], f"{m.n_kv_heads} does not divide {k['n_heads']} {m.n_heads}, "
                                              "so the query heads do not share key/value heads evenly")
        if m.top_k > m.n_experts:
            raise self.error(k["top_k"], f"{m.top_k} is more than {k['n_experts']} {m.n_experts}")
        return m.validate()


def config_from_hf(cfg: Any, name: str, where: str = "config.json") -> ModelConfig:
    """Translate a Hugging Face ``config.json`` dict into a ModelConfig.

    The model is checked for consistency (positive sizes, heads dividing the width, key/value heads
    dividing the heads, experts, known activations); every error names the config.json key and file.
    """
    if not isinstance(cfg, dict):
        raise CodesignError(f"'{where}' must hold a JSON object", field="config.json")
    r = _HF(cfg, where)
    mtype = cfg.get("model_type")
    if mtype in ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe"):
        d = r.int("d_model", "hidden_size")
        h = r.int("n_heads", "num_attention_heads")
        kv = r.int("n_kv_heads", "num_key_value_heads", default=h)
        ffn = r.int("d_ffn", "moe_intermediate_size" if mtype == "qwen2_moe" else "intermediate_size")
        experts = r.int("n_experts", ("num_local_experts", "num_experts"), default=1)
        top_k = r.int("top_k", "num_experts_per_tok", default=1) if experts > 1 else 1
        r.keys.setdefault("top_k", "num_experts_per_tok")
        r.choice("hidden_act", "silu", SWIGLU_ACTS, " (SwiGLU)")
        head_dim_given = cfg.get("head_dim") is not None
        head_dim = r.int("head_dim", "head_dim", default=max(1, d // h))
        return r.check(ModelConfig(
            name=name, family=mtype, n_layers=r.int("n_layers", "num_hidden_layers"), d_model=d,
            n_heads=h, n_kv_heads=kv, head_dim=head_dim,
            d_ffn=ffn, vocab=r.int("vocab", "vocab_size"), n_experts=experts, top_k=top_k,
            tied_embeddings=r.flag("tie_word_embeddings", False),
            max_context=r.int("max_context", "max_position_embeddings", default=2048),
            source=f"config file {where}", attn_bias=mtype.startswith("qwen2"),
        ), head_dim_given)
    if mtype == "gpt2":
        d = r.int("d_model", ("n_embd", "hidden_size"))
        r.choice("activation_function", "gelu_new", GPT2_ACTS)
        h = r.int("n_heads", ("n_head", "num_attention_heads"))
        r.keys["n_kv_heads"] = r.keys["n_heads"]
        pos = r.int("max_context", ("n_positions", "n_ctx"), default=1024)
        r.keys["top_k"] = r.keys["n_experts"] = "model_type"
        return r.check(ModelConfig(
            name=name, family="gpt2", n_layers=r.int("n_layers", ("n_layer", "num_hidden_layers")),
            d_model=d, n_heads=h, n_kv_heads=h, head_dim=max(1, d // h),
            d_ffn=r.int("d_ffn", "n_inner", default=4 * d), vocab=r.int("vocab", "vocab_size"),
            ffn_kind="gelu", norm="layer", tied_embeddings=r.flag("tie_word_embeddings", True),
            max_context=pos, source=f"config file {where}", attn_bias=True, mlp_bias=True,
            learned_pos=pos,
        ), False)
    if mtype == "opt":
        d = r.int("d_model", "hidden_size")
        h = r.int("n_heads", "num_attention_heads")
        r.keys["n_kv_heads"] = r.keys["n_heads"]
        act = r.choice("activation_function", "relu", OPT_ACTS)
        if cfg.get("word_embed_proj_dim", d) not in (d, None):
            raise r.error("word_embed_proj_dim", "projected embeddings (word_embed_proj_dim != hidden_size) "
                                                 "are not supported")
        pos = r.int("max_context", "max_position_embeddings", default=2048)
        r.keys["top_k"] = r.keys["n_experts"] = "model_type"
        return r.check(ModelConfig(
            name=name, family="opt", n_layers=r.int("n_layers", "num_hidden_layers"), d_model=d,
            n_heads=h, n_kv_heads=h, head_dim=max(1, d // h), d_ffn=r.int("d_ffn", "ffn_dim"),
            vocab=r.int("vocab", "vocab_size"), ffn_kind=act, norm="layer",
            tied_embeddings=r.flag("tie_word_embeddings", True), max_context=pos,
            source=f"config file {where}", attn_bias=True, mlp_bias=True, learned_pos=pos + 2,
        ), False)
    allowed = "llama, mistral, mixtral, qwen2, qwen2_moe, gpt2, opt"
    raise r.error("model_type", f"got {mtype!r}; allowed: {allowed}")


def load_model_config(name_or_path: str) -> ModelConfig:
    """A preset by name (case-insensitive) or a Hugging Face config.json path (file or folder)."""
    if not isinstance(name_or_path, str) or not name_or_path:
        raise CodesignError("must be a preset name or a config.json path", field="--model")
    key = name_or_path.lower()
    key = ALIASES.get(key, key)
    if key in PRESETS:
        return PRESETS[key]
    path = Path(name_or_path)
    try:
        if path.is_dir():
            path = path / "config.json"
        is_file = path.is_file()
    except (OSError, ValueError):   # a name too long for a path, a NUL byte
        is_file = False
    if is_file:
        from ..fsutil import load_user_file

        data = load_user_file(path, "--model", "json")
        name = data.get("_name_or_path") if isinstance(data, dict) else None
        if not isinstance(name, str):
            name = None
        return config_from_hf(data, name=str(name or path.parent.name or path.stem), where=str(path))
    raise CodesignError(f"unknown model {name_or_path!r}: not a preset and no such config.json; "
                        f"presets: {', '.join(sorted(PRESETS))}", field="--model")


def with_overrides(cfg: ModelConfig, **kw) -> ModelConfig:
    return replace(cfg, **kw).validate()
