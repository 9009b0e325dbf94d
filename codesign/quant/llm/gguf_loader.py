"""Read a llama-architecture GGUF (llama.cpp) into float32 torch tensors.

Dequantization is done by the ``gguf`` package (Q4_1, Q8_0, F16, ...). llama.cpp's
converter permutes the rows of Q and K so that its RoPE can rotate adjacent pairs
(x[2j], x[2j+1]); we undo that permutation so the weights are in the Hugging Face
order (rotate-half: x[j] pairs with x[j + head_dim/2]) that our torch LLaMA and the
safetensors loader share. Reference: llama.cpp ``convert_hf_to_gguf.py``,
``LlamaModel.permute`` (reshape(n_head, 2, hd/2, in).swapaxes(1, 2)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...errors import CodesignError
from .naming import GGUF_NAMES, expected_names, rename

SUPPORTED_ARCHITECTURES = ("llama",)


def _fail(path: Path, problem: str) -> CodesignError:
    return CodesignError(f"'{path}': {problem}", field="--model")


def open_gguf(path: str | Path):
    """Open a GGUF file with gguf.GGUFReader; every failure is one line naming the file."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise _fail(path, f"not a GGUF file (magic {magic!r}, expected b'GGUF')")
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as e:  # the reader raises ValueError/IndexError/... on damaged files
        raise _fail(path, f"unreadable or truncated GGUF ({type(e).__name__}: {e})") from None
    size = path.stat().st_size
    for t in reader.tensors:
        end = int(t.data_offset) + int(t.n_bytes)
        if end > size:
            raise _fail(path, f"truncated: tensor '{t.name}' ends at byte {end} but the file has {size}")
    return reader


def _field(reader, key: str, path: Path, default=None):
    f = reader.fields.get(key)
    if f is None:
        if default is not None:
            return default
        raise _fail(path, f"metadata key '{key}' missing")
    return f.contents()


def gguf_metadata(reader, path: Path) -> dict:
    arch = _field(reader, "general.architecture", path)
    if arch not in SUPPORTED_ARCHITECTURES:
        raise _fail(path, f"unsupported architecture '{arch}'; supported: {', '.join(SUPPORTED_ARCHITECTURES)}")
    p = f"{arch}."
    n_heads = int(_field(reader, p + "attention.head_count", path))
    d_model = int(_field(reader, p + "embedding_length", path))
    names = {t.name for t in reader.tensors}
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    vocab = int(_field(reader, p + "vocab_size", path, default=len(tokens.contents()) if tokens else 0))
    head_dim = d_model // n_heads
    return {
        "name": str(_field(reader, "general.name", path, default=path.stem)),
        "family": "llama",
        "n_layers": int(_field(reader, p + "block_count", path)),
        "d_model": d_model,
        "n_heads": n_heads,
        "n_kv_heads": int(_field(reader, p + "attention.head_count_kv", path, default=n_heads)),
        "head_dim": head_dim,
        "rope_dim": int(_field(reader, p + "rope.dimension_count", path, default=head_dim)),
        "d_ffn": int(_field(reader, p + "feed_forward_length", path)),
        "vocab": vocab,
        "n_experts": 1,
        "top_k": 1,
        "ffn_kind": "swiglu",
        "norm": "rms",
        "tied_embeddings": "output.weight" not in names,
        "max_context": int(_field(reader, p + "context_length", path)),
        "rope_theta": float(_field(reader, p + "rope.freq_base", path, default=10000.0)),
        "norm_eps": float(_field(reader, p + "attention.layer_norm_rms_epsilon", path, default=1e-5)),
        "source": f"GGUF {path.name}",
    }


def unpermute_rotary_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (pairs interleaved -> rotate-half halves)."""
    out, inp = w.shape
    hd = out // n_heads
    return w.reshape(n_heads, hd // 2, 2, inp).swapaxes(1, 2).reshape(out, inp)


def permute_rotary_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's permutation (the inverse of ``unpermute_rotary_rows``); used by tests."""
    out, inp = w.shape
    hd = out // n_heads
    return w.reshape(n_heads, 2, hd // 2, inp).swapaxes(1, 2).reshape(out, inp)


def dequantized_tensor(path, t, name: str, cfg: dict) -> np.ndarray:
    """float32 array of GGUF tensor ``t`` (canonical ``name``), with llama.cpp's Q/K row permutation undone."""
    from gguf.quants import dequantize

    try:
        arr = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
    except Exception as e:
        raise _fail(path, f"cannot dequantize tensor '{t.name}' of type {t.tensor_type.name} ({e})") from None
    if name.endswith("attn.wq"):
        arr = unpermute_rotary_rows(arr, cfg["n_heads"])
    elif name.endswith("attn.wk"):
        arr = unpermute_rotary_rows(arr, cfg["n_kv_heads"])
    return arr


def load_gguf(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config, weights) from a llama GGUF; weights are float32 with canonical names."""
    path = Path(path)
    reader = open_gguf(path)
    cfg = gguf_metadata(reader, path)
    weights: dict[str, torch.Tensor] = {}
    for t in reader.tensors:
        name = rename(t.name, GGUF_NAMES)
        if name is None:
            continue  # e.g. rope_freqs: not a weight of this architecture
        arr = dequantized_tensor(path, t, name, cfg)
        weights[name] = torch.from_numpy(np.array(arr, dtype=np.float32, copy=True))
    missing = [n for n in expected_names(cfg["n_layers"], cfg["tied_embeddings"]) if n not in weights]
    if missing:
        raise _fail(path, f"{len(missing)} tensor(s) missing, first: '{missing[0]}'")
    if cfg["vocab"] != weights["tok_embeddings"].shape[0]:
        cfg["vocab"] = int(weights["tok_embeddings"].shape[0])
    return cfg, weights
