"""Shared pieces of the calibrated weight quantizers (GPTQ: ``gptq.py``, AWQ: ``awq.py``).

- The contract's group quantizer for a *given* per-row shift, on torch float64 (``group_scale``,
  ``quantize_cols``): the same mantissa / zero point / q grid as ``numerics.quantize_weight_groups``
  computes for a group's ideal scale, so a calibrated method only changes *which* integer each weight
  gets, never the format.
- ``to_weightq``: the integers as a ``numerics.WeightQ`` (checked against the contract's ranges).
- A layer-by-layer driver over the torch LLaMA (``site_inputs``, ``run_layer``): the inputs of the four
  linear-input sites of one decoder layer on calibration windows, and the layer's output.
- ``calibration_windows``: calibration token windows disjoint from the evaluation windows.
- ``quantize_model``: one entry point by method name ("rtn", "gptq", "awq") for the sweep.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import numerics as N
from .model import LlamaLM, rope_tables
from .naming import LINEARS

METHODS = ("rtn", "gptq", "awq")
SITES = ("attn_in", "wo_in", "ffn_in", "down_in")
# the linears that read each site's input (in LlamaLM.layer's order of activation() calls)
SITE_LINEARS = {"attn_in": ("attn.wq", "attn.wk", "attn.wv"), "wo_in": ("attn.wo",),
                "ffn_in": ("ffn.w_gate", "ffn.w_up"), "down_in": ("ffn.w_down",)}


# ----------------------------------------------------------------------------- the contract's grid
def qmax_of(bits: int, zero_point: bool) -> int:
    return (1 << bits) - 1 if zero_point else (1 << (bits - 1)) - 1


def ideal_scale(g: torch.Tensor, bits: int, zero_point: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """numerics._ideal_scales on the last dim of float64 ``g``: (ideal scale, lo or None)."""
    if zero_point:
        lo = g.amin(-1).clamp(max=0.0)
        hi = g.amax(-1).clamp(min=0.0)
        return (hi - lo) / ((1 << bits) - 1), lo
    return g.abs().amax(-1) / ((1 << (bits - 1)) - 1), None


def tensor_shift(w: torch.Tensor, bits: int, group: int, zero_point: bool, headroom_bits: int = 0) -> int:
    """The per-tensor shift numerics.quantize_weight_groups picks for ``w`` [out, in], minus
    ``headroom_bits`` (room for group maxima that grow while a method updates the weights)."""
    out_f, in_f = w.shape
    pad = (-in_f) % group
    g = torch.nn.functional.pad(w.to(torch.float64), (0, pad)).reshape(out_f, -1, group)
    top = float(ideal_scale(g, bits, zero_point)[0].max()) if g.numel() else 0.0
    return (N.weight_scale_shift(top) if top > 0 else 0) - headroom_bits


def group_scale(g: torch.Tensor, bits: int, zero_point: bool, shift: torch.Tensor):
    """(mant int64, scale float64, zero float64) of groups ``g`` [..., group] for per-row ``shift``
    (broadcast against g's leading dims): numerics.quantize_weight_groups' formulas exactly."""
    ideal, lo = ideal_scale(g, bits, zero_point)
    p2 = torch.exp2(shift.to(torch.float64))
    mant = torch.clamp(torch.round(ideal * p2), 1, (1 << N.SCALE_BITS) - 1)
    scale = mant / p2                      # mant * 2^-shift, exact (a power-of-two division)
    if zero_point:
        zero = torch.clamp(torch.round(-lo / scale), 0, (1 << bits) - 1)
    else:
        zero = torch.zeros_like(scale)
    return mant.to(torch.int64), scale, zero


def quantize_cols(w: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, bits: int, zero_point: bool):
    """(q, dequantized value) of float64 ``w`` with broadcastable scale / zero (the contract's rounding)."""
    qm = qmax_of(bits, zero_point)
    if zero_point:
        q = torch.clamp(torch.round(w / scale) + zero, 0, qm)
    else:
        q = torch.clamp(torch.round(w / scale), -qm, qm)
    return q, (q - zero) * scale


def to_weightq(q: np.ndarray, zero: np.ndarray, mant: np.ndarray, shift: int, bits: int, group: int,
               zero_point: bool, in_features: int) -> N.WeightQ:
    """A numerics.WeightQ from integers (q [out, in] unpadded), checked against the contract's ranges."""
    q = np.asarray(q, dtype=np.int64)
    zero = np.asarray(zero, dtype=np.int64)
    mant = np.asarray(mant, dtype=np.int64)
    out_f = q.shape[0]
    groups = -(-in_features // group)
    pad = groups * group - in_features
    qp = np.zeros((out_f, groups * group), dtype=np.int64)
    qp[:, :in_features] = q
    if pad:
        qp[:, in_features:] = zero[:, -1:]     # padding holds the zero point: w - z = 0
    wq = N.WeightQ(q=qp, zero=zero, mant=mant, shift=int(shift), bits=bits, group=group,
                   zero_point=zero_point, in_features=in_features)
    check_weightq(wq)
    return wq


def check_weightq(wq: N.WeightQ) -> None:
    """Raise ValueError unless ``wq`` holds only values the hardware format can store."""
    qm = qmax_of(wq.bits, wq.zero_point)
    lo = 0 if wq.zero_point else -qm
    if wq.q.shape != (wq.out_features, wq.groups * wq.group) or wq.mant.shape != wq.zero.shape:
        raise ValueError("WeightQ shapes")
    if wq.q.min(initial=0) < lo or wq.q.max(initial=0) > qm:
        raise ValueError(f"q outside [{lo}, {qm}]")
    if wq.mant.min(initial=1) < 1 or wq.mant.max(initial=1) > (1 << N.SCALE_BITS) - 1:
        raise ValueError("scale mantissa outside [1, 2^SCALE_BITS - 1]")
    if wq.zero.min(initial=0) < 0 or wq.zero.max(initial=0) > (qm if wq.zero_point else 0):
        raise ValueError("zero point out of range")
    if not 0 <= wq.shift <= N.MAX_SHIFT:
        raise ValueError("shift out of range")


def dequantized(wq: N.WeightQ) -> torch.Tensor:
    """The float32 weight the torch emulation runs: exactly the contract's dequantized integers."""
    return torch.from_numpy(N.dequantize_weight_groups(wq).astype(np.float32))


# ----------------------------------------------------------------------------- layer-by-layer driver
class _Capture:
    """A LlamaLM scheme that records the inputs of the four linear-input sites (no quantization)."""

    def __init__(self):
        self.inputs: dict[str, list[torch.Tensor]] = {s: [] for s in SITES}
        self._n = 0

    def weight(self, name, w):
        return w

    def activation(self, x):
        self.inputs[SITES[self._n % len(SITES)]].append(x.detach().reshape(-1, x.shape[-1]))
        self._n += 1
        return x

    def kv(self, x):
        return x

    def query(self, x):
        return x


def embed(weights: dict, tokens: torch.Tensor) -> torch.Tensor:
    return weights["tok_embeddings"][tokens]


@torch.no_grad()
def run_layer(cfg: dict, weights: dict, i: int, x: torch.Tensor, capture: bool = False, batch: int = 8):
    """(layer i's output for hidden states ``x`` [B, T, d], {site: inputs [B*T, in]} when ``capture``)."""
    cap = _Capture() if capture else None
    model = LlamaLM(cfg, weights, cap)
    cos, sin = rope_tables(torch.arange(x.shape[1]), cfg["head_dim"], cfg["rope_theta"])
    outs = [model.layer(i, x[s:s + batch], cos, sin) for s in range(0, x.shape[0], batch)]
    y = torch.cat(outs, dim=0)
    if not capture:
        return y, None
    return y, {s: torch.cat(v, dim=0) for s, v in cap.inputs.items()}


def calibration_windows(tokenizer, n_eval: int | None = None, n_calibration: int = 32, window: int = 256,
                        builder=None) -> torch.Tensor:
    """``n_calibration`` token windows [C, window] disjoint from the ``n_eval`` evaluation windows of
    ``builder`` (default ``text_sample.build_sample``, whose calibration windows are taken from the
    windows the evaluation sample does not use). Any [C, T] int64 tensor works as calibration data."""
    from .axes import DEFAULT_WINDOWS
    from .text_sample import build_sample

    builder = builder or build_sample
    _, cal = builder(tokenizer, DEFAULT_WINDOWS if n_eval is None else n_eval, window=window,
                     calibration=n_calibration)
    return cal


# ----------------------------------------------------------------------------- one entry point
def rtn_quantize_model(cfg: dict, weights: dict, bits: int, group: int, zero_point: bool = False):
    """Round to nearest (numerics.quantize_weight_groups) on every decoder linear: (weights, {name: WeightQ})."""
    out, wqs = dict(weights), {}
    for i in range(cfg["n_layers"]):
        for lin in LINEARS:
            n = f"layers.{i}.{lin}"
            wqs[n] = N.quantize_weight_groups(weights[n].detach().numpy(), bits, group, zero_point)
            out[n] = dequantized(wqs[n])
    return out, wqs


def quantize_model(method: str, cfg: dict, weights: dict, bits: int, group: int, zero_point: bool = False,
                   calib_tokens: torch.Tensor | None = None, **options):
    """(weights with every decoder linear replaced by its dequantized contract integers, {name: WeightQ}).

    ``method`` "rtn" (no calibration), "gptq" (``gptq.gptq_quantize_model``), "awq"
    (``awq.awq_quantize_model``: also rescales norm gains and the rows of wv / w_up). ``options`` go to
    the method."""
    if method == "rtn":
        if options:
            raise ValueError(f"rtn takes no options, got {sorted(options)}")
        return rtn_quantize_model(cfg, weights, bits, group, zero_point)
    if calib_tokens is None or calib_tokens.shape[0] == 0:
        raise ValueError(f"{method} needs calibration windows")
    if method == "gptq":
        from .gptq import gptq_quantize_model
        return gptq_quantize_model(cfg, weights, bits, group, zero_point, calib_tokens, **options)
    if method == "awq":
        from .awq import awq_quantize_model
        return awq_quantize_model(cfg, weights, bits, group, zero_point, calib_tokens, **options)
    raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")


def n_groups(in_features: int, group: int) -> int:
    return math.ceil(in_features / group)
