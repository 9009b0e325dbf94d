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
from .perplexity import perplexity
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
    W8A8KV8, then W x group at A8 KV8, then the A and KV sweeps at W4 g128, then the rest."""
    def rank(c):
        w, a, kv, g = c
        if (w, a, kv) == (8, 8, 8) and g == 128:
            return 0
        if (a, kv) == (8, 8):
            return 1
        if w == 4 and g == 128:
            return 2
        return 3
    return sorted(configs, key=lambda c: (rank(c), -c[0], -c[3], -c[1], -c[2]))


def key(c: tuple, zero_point: bool = False) -> str:
    return "w{}a{}kv{}g{}".format(*c) + ("z" if zero_point else "")


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def measure(cfg: dict, weights: dict[str, torch.Tensor], windows: torch.Tensor, configs: list[tuple],
            calibration: torch.Tensor | None = None, alpha: float | None = DEFAULT_ALPHA,
            zero_point: bool = False, done: dict | None = None, baseline: float | None = None,
            on_result: Callable[[float, dict], None] | None = None,
            on_progress: Callable[[str], None] | None = None, method: str = "rtn",
            method_options: dict | None = None) -> tuple[float, dict]:
    """(baseline ppl, {key: {"wbits", "abits", "kvbits", "group", "ppl", "seconds"}}).

    ``alpha`` None disables smoothing; otherwise SmoothQuant factors from ``calibration`` are folded
    into the weights before quantization (the float model is unchanged by it).

    ``method``: the weight quantizer, "rtn" (round to nearest, the default), "gptq" or "awq"
    (``wquant.quantize_model``, calibrated on ``calibration``; ``method_options`` go to it). Every
    method's weights are the contract's integers; results of a non-RTN method carry "method"."""
    results = dict(done or {})
    if baseline is None:
        baseline = perplexity(LlamaLM(cfg, weights), windows)
        if on_result:
            on_result(baseline, results)
    todo = [c for c in configs if key(c, zero_point) not in results]
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
            qw, _ = quantize_model(method, cfg, base_w, wbits, group, zero_point, calibration,
                                   **(method_options or {}))
        for c in cs:
            t0 = time.time()
            if on_progress:
                on_progress(key(c, zero_point))
            scheme = QuantScheme(c[0], c[1], c[2], c[3], zero_point)
            ppl = perplexity(LlamaLM(cfg, qw, PrequantizedWeights(scheme)), windows)
            results[key(c, zero_point)] = {"wbits": c[0], "abits": c[1], "kvbits": c[2], "group": c[3],
                                           "zero_point": zero_point, "ppl": _finite(ppl), "seconds": round(time.time() - t0, 1)}
            if method != "rtn":
                results[key(c, zero_point)]["method"] = method
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
