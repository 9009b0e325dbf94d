"""Real weights and real activations for the golden model: one decoder layer of a checkpoint and the
embeddings of real English tokens (docstrings of the Python standard library, tokenized with the
model's own tokenizer). GGUF files are read with the LLM helper's loader functions, but only the
tensors of the layers needed and the embeddings;
a Hugging Face folder goes through ``codesign.quant.llm.load_checkpoint``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import CodesignError
from ..workload.config import ModelConfig


@dataclass
class RealLayers:
    cfg: ModelConfig
    ckpt_cfg: dict
    layers: dict           # layer index -> {canonical name without prefix: float32 array}
    embeddings: np.ndarray  # [vocab, d_model]
    path: Path
    reader: object = None   # the open GGUF reader (parsing one takes seconds: reused for the tokenizer)

    @property
    def rope_theta(self) -> float:
        return float(self.ckpt_cfg.get("rope_theta", 10000.0))

    @property
    def norm_eps(self) -> float:
        return float(self.ckpt_cfg.get("norm_eps", 1e-5))


def model_config(ckpt_cfg: dict) -> ModelConfig:
    names = {f.name for f in fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in ckpt_cfg.items() if k in names}).validate()


def load_layers(model: str | Path = "smollm2-135m", upto: int = 0) -> RealLayers:
    """Layers 0..upto of a GGUF file / HF folder / known model name, plus the token embeddings."""
    from .llm.checkpoint import load_checkpoint, resolve_model

    path = resolve_model(model)
    reader = None
    if path.is_dir():
        ckpt_cfg, w = load_checkpoint(path)
        tensors = {k: v.numpy() for k, v in w.items()}
    else:
        ckpt_cfg, tensors, reader = _read_gguf_layers(path, upto)
    cfg = model_config(ckpt_cfg)
    if not 0 <= upto < cfg.n_layers:
        raise CodesignError(f"got {upto}; allowed: 0..{cfg.n_layers - 1}", field="--layer")
    layers = {}
    for i in range(upto + 1):
        pre = f"layers.{i}."
        layers[i] = {k[len(pre):]: np.asarray(v, dtype=np.float32) for k, v in tensors.items() if k.startswith(pre)}
    return RealLayers(cfg, ckpt_cfg, layers, np.asarray(tensors["tok_embeddings"], dtype=np.float32), path, reader)


def _read_gguf_layers(path: Path, upto: int):
    from .llm.gguf_loader import _fail, dequantized_tensor, gguf_metadata, open_gguf
    from .llm.naming import GGUF_NAMES, rename

    reader = open_gguf(path)
    cfg = gguf_metadata(reader, path)
    if not 0 <= upto < cfg["n_layers"]:
        raise CodesignError(f"got {upto}; allowed: 0..{cfg['n_layers'] - 1}", field="--layer")
    wanted = {"tok_embeddings"}
    out = {}
    for t in reader.tensors:
        name = rename(t.name, GGUF_NAMES)
        if name is None:
            continue
        if name not in wanted and not (name.startswith("layers.") and int(name.split(".")[1]) <= upto):
            continue
        out[name] = dequantized_tensor(path, t, name, cfg)
    need = ["tok_embeddings"] + [f"layers.{i}.{n}" for i in range(upto + 1)
                                 for n in ("attn_norm", "ffn_norm", "attn.wq", "attn.wk", "attn.wv", "attn.wo",
                                           "ffn.w_gate", "ffn.w_up", "ffn.w_down")]
    missing = [n for n in need if n not in out]
    if missing:
        raise _fail(path, f"{len(missing)} tensor(s) missing, first: '{missing[0]}'")
    return cfg, out, reader


def _tokenizer(path: Path, reader=None):
    """The GGUF's BPE tokenizer (``codesign.quant.llm.tokenizer``), built from an already open reader
    when there is one (same fields and checks as ``tokenizer_from_gguf``)."""
    from .llm.tokenizer import BPETokenizer, tokenizer_from_gguf

    if reader is None:
        return tokenizer_from_gguf(path)

    def get(key, default=None):
        f = reader.fields.get(key)
        return f.contents() if f is not None else default

    if get("tokenizer.ggml.model") != "gpt2" or not get("tokenizer.ggml.tokens") or not get("tokenizer.ggml.merges"):
        return tokenizer_from_gguf(path)       # its error messages
    return BPETokenizer(get("tokenizer.ggml.tokens"), get("tokenizer.ggml.merges"), get("tokenizer.ggml.token_type"),
                        pre=get("tokenizer.ggml.pre", "gpt2"), bos_id=get("tokenizer.ggml.bos_token_id"),
                        eos_id=get("tokenizer.ggml.eos_token_id"))


def real_token_ids(path: str | Path, count: int, reader=None) -> list[int]:
    """The first ``count`` tokens of the standard-library docstring text, tokenized from the GGUF's
    own vocabulary (the LLM helper's tokenizer and text sample)."""
    from .llm.text_sample import docstring_text

    path = Path(path)
    if path.is_dir():
        raise CodesignError("real-text tokens need the tokenizer of a GGUF file; give a .gguf model", field="--model")
    text, _ = docstring_text()
    ids: list[int] = []
    chunk = 4 * count + 64
    tok = _tokenizer(path, reader)
    while len(ids) < count:
        ids = tok.encode(text[:chunk])
        if chunk >= len(text):
            break
        chunk *= 2
    if len(ids) < count:
        raise CodesignError(f"only {len(ids)} tokens of text available, asked for {count}", field="--context")
    return ids[:count]
