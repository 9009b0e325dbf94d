"""The numerics contract's quantizers on float torch tensors, value-exact.

These produce exactly the values the integer hardware represents (the dequantized integers), so a
float matmul on them differs from the integer datapath only by float32 accumulation rounding
(relative ~1e-7 per dot product, far below any quantization step measured here). They follow the
contract in the common brief / docs/NUMERICS.md:

- activations (per token, dynamic, INT-A): the value is first in int32 fixed point with
  ``act_frac`` fractional bits (round half away from zero); shift e = the smallest e >= 0 with
  max|x| >> e <= 2^(A-1) - 1 (leading-one detector); q = round-half-away(x / 2^e) clamped to
  +-(2^(A-1) - 1); value = q * 2^(e - act_frac). The KV cache uses the same quantizer per token
  per head at KV bits.
- weights (group-wise INT-W along the input dimension): symmetric q in +-(2^(W-1)-1), or
  unsigned q in [0, 2^W - 1] with a W-bit zero point; per-group scale = an unsigned
  ``scale_bits``-bit mantissa times one per-tensor power of two. W = 16 is int16 per output channel.
  When ``in`` is not a multiple of the group (576 = 4 x 128 + 64) the last group is shorter.

When the golden helper's ``codesign.quant.numerics`` provides the same functions, ``quantized.py``
uses those instead (see ``quantized.numerics_source``).
"""

from __future__ import annotations

import math

import torch

# The numerics contract owns both widths (codesign.quant.numerics); the emulation reads them from it.
from ..numerics import ACT_FRAC as DEFAULT_ACT_FRAC  # noqa: E402
from ..numerics import SCALE_BITS as DEFAULT_SCALE_BITS  # noqa: E402


def _round_half_away(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def quantize_activation(x: torch.Tensor, bits: int, act_frac: int = DEFAULT_ACT_FRAC,
                        group: int | None = None) -> torch.Tensor:
    """Dequantized per-row (last dim) dynamic INT-``bits`` values of ``x`` (any shape); ``group``: one
    exponent per block of ``group`` elements of the row instead of one per row (the GEMV input)."""
    if group is not None:
        n = x.shape[-1]
        pad = (-n) % group
        xp = torch.nn.functional.pad(x, (0, pad)) if pad else x
        blocks = xp.reshape(*x.shape[:-1], (n + pad) // group, group)
        return quantize_activation(blocks, bits, act_frac).reshape(*x.shape[:-1], n + pad)[..., :n]
    xd = x.to(torch.float64)
    xi = _round_half_away(xd * (2.0 ** act_frac))          # int32 fixed point (exact in float64)
    qmax = 2 ** (bits - 1) - 1
    amax = xi.abs().amax(dim=-1, keepdim=True)
    # smallest e >= 0 with floor(amax / 2^e) <= qmax; floor(log2) via frexp avoids float log error
    e = torch.zeros_like(amax)
    over = amax > qmax
    if bool(over.any()):
        ratio = torch.floor(amax[over] / qmax)
        _, exp = torch.frexp(ratio)            # ratio = m * 2^exp, m in [0.5, 1): 2^(exp-1) <= ratio < 2^exp
        cand = exp.to(torch.float64)           # 2^cand > ratio  ->  amax >> cand <= qmax
        # the smallest e may be one less: check floor(amax / 2^(cand-1)) <= qmax
        smaller = torch.floor(amax[over] / torch.exp2(cand - 1)) <= qmax
        e[over] = torch.where(smaller, cand - 1, cand)
    step = torch.exp2(e)
    q = torch.clamp(_round_half_away(xi / step), -qmax, qmax)
    return (q * step * (2.0 ** -act_frac)).to(x.dtype)


def quantize_weight(w: torch.Tensor, bits: int, group: int, zero_point: bool = False,
                    scale_bits: int = DEFAULT_SCALE_BITS) -> torch.Tensor:
    """Dequantized group-wise INT-``bits`` weights; ``w`` is [out, in], groups of ``group`` along ``in``."""
    out_f, in_f = w.shape
    wd = w.to(torch.float64)
    if bits == 16:  # int16 per output channel
        group = in_f
    pad = (-in_f) % group  # a last, shorter group (576 = 4 x 128 + 64): zero padding changes no scale
    if pad:
        wd = torch.nn.functional.pad(wd, (0, pad))
    g = wd.reshape(out_f, (in_f + pad) // group, group)
    if zero_point:
        qmax = 2 ** bits - 1
        lo, hi = g.amin(-1, keepdim=True).clamp(max=0), g.amax(-1, keepdim=True).clamp(min=0)
        ideal = (hi - lo) / qmax
    else:
        qmax = 2 ** (bits - 1) - 1
        ideal = g.abs().amax(-1, keepdim=True) / qmax
    top = float(ideal.max())
    if top <= 0:
        return torch.zeros_like(w)
    # one per-tensor shift: the largest scale uses the full mantissa width
    shift = math.floor(math.log2((2 ** scale_bits - 1) / top))
    mant = torch.clamp(torch.round(ideal * 2.0 ** shift), 1, 2 ** scale_bits - 1)
    scale = mant * 2.0 ** -shift
    if zero_point:
        z = torch.clamp(torch.round(-lo / scale), 0, qmax)
        q = torch.clamp(torch.round(g / scale) + z, 0, qmax)
        deq = (q - z) * scale
    else:
        q = torch.clamp(torch.round(g / scale), -qmax, qmax)
        deq = q * scale
    return deq.reshape(out_f, in_f + pad)[:, :in_f].to(w.dtype)
