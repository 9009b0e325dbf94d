"""Integer golden layer vs the float reference on real weights and real activations.

Two references: ``float`` (the checkpoint's float weights: the total error of the integer layer) and
``datapath`` (the same float layer with the integer model's dequantized weights and gains: the error
of the integer datapath alone: activation/KV quantization, fixed point, LUTs). Metrics are reported on
the layer output and on its update ``out - x`` (the residual stream dominates the output, so the
update is the stricter measure)."""

from __future__ import annotations

import numpy as np

from ..design import Quant
from . import numerics as N
from .float_ref import FloatCache, error_metrics, float_layer
from .golden import IntLayer, prepare_layer
from .real_layer import RealLayers

# Documented bounds (docs/NUMERICS.md, "Accuracy of the integer layer"), checked by
# tests/test_quant_real_layer.py: the integer layer's update (out - x) on real SmolLM2-135M layer-0
# weights and 64 real tokens (prefill 63 + decode 1), against the float layer with the checkpoint's
# float weights. Measured 2026-11-23: W16A16KV16 70.4 dB / cos 0.99999995; W8A8KV8 g128 25.2 dB / 0.9985.
FLOAT_BOUNDS = {  # (wbits, abits, kvbits) -> (minimum SQNR dB, minimum cosine) of the update
    (16, 16, 16): (70.0, 0.99999),   # measured 74.8 / 76.4 dB (update / decode token), docs/NUMERICS.md
    (8, 8, 8): (28.0, 0.999),        # measured 31.7 / 31.7 dB, cosine 0.99966
}


TRACE_OPS = ("attn_norm", "q", "k", "v", "attn", "wo", "attn_residual", "ffn_norm", "ffn_act", "ffn_down", "out")


def dequantized_weights(layer: IntLayer) -> dict:
    """Float weights equal to what the integer layer stores (for the ``datapath`` reference)."""
    w = {f"attn.{n}": N.dequantize_weight_groups(layer.mats[n]) for n in ("wq", "wk", "wv", "wo")}
    if layer.is_moe:
        w["ffn.router"] = N.dequantize_weight_groups(layer.mats["router"])
        for key, wq in layer.mats.items():
            if "." in key:
                n, e = key.split(".")
                w[f"ffn.experts.{e}.{n}"] = N.dequantize_weight_groups(wq)
    else:
        for n in ("w_gate", "w_up", "w_down"):
            w[f"ffn.{n}"] = N.dequantize_weight_groups(layer.mats[n])
    for n, (g, sh) in layer.gammas.items():
        w[n] = g * 2.0 ** -sh
    return w


def compare_layer(weights: dict, cfg, quant: Quant, x: np.ndarray, *, rope_theta: float, norm_eps: float,
                  layer: IntLayer | None = None) -> dict:
    """Prefill x[:-1] then decode x[-1] through the integer layer and both float references."""
    layer = layer or prepare_layer(weights, cfg, quant, rope_theta=rope_theta, norm_eps=norm_eps)
    P = x.shape[0] - 1
    xi = N.to_fixed(x)
    xq = N.from_fixed(xi)                   # the float references see exactly the integer input
    cache = layer.new_cache(P + 1)
    gtrace: dict = {}
    outs = [layer.forward(xi[:P], 0, cache), layer.forward(xi[P:], P, cache, gtrace)]
    gold = N.from_fixed(np.concatenate(outs))
    deq = dequantized_weights(layer)
    kw = dict(rope_theta=rope_theta, norm_eps=norm_eps)
    report = {}
    for name, w in (("float", weights), ("datapath", deq)):
        fc, ftrace = FloatCache(), {}
        ref = np.concatenate([float_layer(w, cfg, xq[:P], 0, fc, **kw),
                              float_layer(w, cfg, xq[P:], P, fc, trace=ftrace, **kw)])
        report[name] = {
            "output": error_metrics(gold, ref),
            "update": error_metrics(gold - xq, ref - xq),
            "decode_update": error_metrics(gold[P:] - xq[P:], ref[P:] - xq[P:]),
        }
        # per unit output of the decode token (each unit sees the integer model's own inputs upstream,
        # so these errors accumulate along the layer)
        report[name]["decode_ops"] = {op: error_metrics(N.from_fixed(gtrace[op]), ftrace[op])
                                      for op in TRACE_OPS if op in gtrace and op in ftrace}
    report["tokens"] = int(x.shape[0])
    return report


def real_layer_report(real: RealLayers, layer_index: int, quant: Quant, ids: list[int]) -> dict:
    """Inputs of ``layer_index``: embeddings of ``ids`` run through the float layers before it."""
    x = real.embeddings[np.asarray(ids)].astype(np.float64)
    for i in range(layer_index):
        x = float_layer(real.layers[i], real.cfg, x, 0, FloatCache(), rope_theta=real.rope_theta,
                        norm_eps=real.norm_eps)
    return compare_layer(real.layers[layer_index], real.cfg, quant, x, rope_theta=real.rope_theta,
                         norm_eps=real.norm_eps)
