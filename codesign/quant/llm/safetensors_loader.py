"""Load a Hugging Face LLaMA checkpoint folder (``config.json`` + ``*.safetensors``).

The safetensors format is small enough to read without the ``safetensors`` package:
an 8-byte little-endian header length N, N bytes of JSON
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``,
then the raw little-endian tensor bytes (offsets relative to the end of the header).
Spec: https://github.com/huggingface/safetensors#format
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch

from ...errors import CodesignError
from .naming import HF_NAMES, expected_names, rename

SUPPORTED_MODEL_TYPES = ("llama",)
_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_MAX_HEADER = 100 * 1024 * 1024  # the format's own limit (100 MB header)


def _fail(path: Path, problem: str) -> CodesignError:
    return CodesignError(f"'{path}': {problem}", field="--model")


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """All tensors of one .safetensors file as numpy arrays (BF16 widened to float32)."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _fail(path, f"truncated: {size} bytes, no safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER or 8 + n > size:
            raise _fail(path, f"truncated or not safetensors: header of {n} bytes in a {size}-byte file")
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise _fail(path, f"corrupt safetensors header ({e})") from None
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else np.zeros(0, np.uint8)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], list(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise _fail(path, f"corrupt header entry for '{name}'") from None
        if end > data.size or begin > end:
            raise _fail(path, f"truncated: tensor '{name}' needs bytes {begin}..{end} of {data.size}")
        raw = np.asarray(data[begin:end])
        if dtype == "BF16":
            arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype in _DTYPES:
            arr = raw.view(_DTYPES[dtype])
        else:
            raise _fail(path, f"tensor '{name}' has unsupported dtype {dtype}; supported: BF16, {', '.join(_DTYPES)}")
        count = int(np.prod(shape)) if shape else 1
        if arr.size != count:
            raise _fail(path, f"tensor '{name}': {arr.size} elements for shape {shape}")
        out[name] = arr.reshape(shape)
    return out


def hf_config(cfg: dict, folder: Path) -> dict:
    mtype = cfg.get("model_type")
    if mtype not in SUPPORTED_MODEL_TYPES:
        raise _fail(folder / "config.json",
                    f"unsupported architecture model_type={mtype!r}; supported: {', '.join(SUPPORTED_MODEL_TYPES)}")
    try:
        d_model = int(cfg["hidden_size"])
        n_heads = int(cfg["num_attention_heads"])
        out = {
            "name": folder.name,
            "family": "llama",
            "n_layers": int(cfg["num_hidden_layers"]),
            "d_model": d_model,
            "n_heads": n_heads,
            "n_kv_heads": int(cfg.get("num_key_value_heads") or n_heads),
            "head_dim": int(cfg.get("head_dim") or d_model // n_heads),
            "d_ffn": int(cfg["intermediate_size"]),
            "vocab": int(cfg["vocab_size"]),
            "n_experts": 1,
            "top_k": 1,
            "ffn_kind": "swiglu",
            "norm": "rms",
            "tied_embeddings": bool(cfg.get("tie_word_embeddings", False)),
            "max_context": int(cfg.get("max_position_embeddings", 2048)),
            "rope_theta": float(cfg.get("rope_theta", 10000.0)),
            "norm_eps": float(cfg.get("rms_norm_eps", 1e-6)),
            "source": f"HF checkpoint {folder}",
        }
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(folder / "config.json", f"missing or invalid field {e}") from None
    if cfg.get("hidden_act", "silu") != "silu":
        raise _fail(folder / "config.json", f"unsupported hidden_act {cfg['hidden_act']!r}; supported: silu")
    if cfg.get("rope_scaling"):
        raise _fail(folder / "config.json", "rope_scaling is not supported (plain RoPE only)")
    out["rope_dim"] = out["head_dim"]
    return out


def load_hf_folder(folder: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    folder = Path(folder)
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise _fail(folder, "no config.json in the checkpoint folder")
    try:
        raw_cfg = json.loads(cfg_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _fail(cfg_path, f"not valid JSON ({e})") from None
    cfg = hf_config(raw_cfg, folder)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise _fail(folder, "no *.safetensors file in the checkpoint folder")
    weights: dict[str, torch.Tensor] = {}
    for f in files:
        for name, arr in read_safetensors(f).items():
            canon = rename(name, HF_NAMES)
            if canon is not None:
                weights[canon] = torch.from_numpy(np.array(arr, dtype=np.float32))
    if cfg["tied_embeddings"]:
        weights.pop("output", None)
    elif "output" not in weights and "tok_embeddings" in weights:
        raise _fail(folder, "lm_head.weight missing and tie_word_embeddings is false")
    missing = [n for n in expected_names(cfg["n_layers"], cfg["tied_embeddings"]) if n not in weights]
    if missing:
        raise _fail(folder, f"{len(missing)} tensor(s) missing, first: '{missing[0]}'")
    return cfg, weights
