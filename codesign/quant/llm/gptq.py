"""GPTQ (Frantar, Ashkboos, Hoefler, Alistarh, "GPTQ: Accurate Post-Training Quantization for
Generative Pre-trained Transformers", ICLR 2023, arXiv 2210.17323), written from the paper's
Algorithm 1, in the golden numerics contract's integer format.

Per linear layer y = W x with calibration inputs X [n, in]:

1. H = 2/n X^T X (the Hessian of the layer's squared output error), plus dampening
   ``damp`` x mean(diag H) on the diagonal (paper: 1%); a column that calibration never activates
   (H_jj = 0) gets H_jj = 1.
2. The upper Cholesky factor U of H^-1 (H^-1 = U^T U); its rows hold the error-propagation
   coefficients of Algorithm 1.
3. Columns are quantized left to right in blocks of ``block`` (128) columns: column j is rounded to
   the grid, its error e = (w_j - q_j) / U_jj is propagated to the not yet quantized columns of the
   block (w_k -= e U_jk), and once a block is done its accumulated errors update all later columns
   at once (the "lazy batch" update).
4. Group scales are computed when a group starts (the reference implementation's
   ``static_groups=False``), from the weights as updated so far: the contract's ideal scale
   (max|w| / (2^(W-1)-1), or (max - min) / (2^W-1) with a zero point), the contract's 16-bit
   mantissa for the tensor's shift, the contract's zero point. So the scale / zero / q grid is
   exactly ``numerics.quantize_weight_groups``' for that group's ideal scale: GPTQ only chooses which
   integer q each weight gets. With ``act_order`` (columns in order of decreasing H_jj; off by default)
   a group's columns are no longer consecutive in the processing order, and our format's groups are
   consecutive inputs (no per-column group index), so the group scales are then fixed up front from
   the original weights (``static_groups=True`` behaviour).

The per-tensor shift is fixed before the columns are processed, from the original weights, with
``headroom_bits`` (default 1) of room: error compensation can grow a group's maximum, and a mantissa
above 2^16 - 1 would otherwise have to saturate (the largest group scale then has a 15-bit mantissa,
a relative step of 2^-15).

A model is quantized layer by layer as the GPTQ reference does for LLaMA (without its
``--true-sequential`` option): the inputs of layer i are the calibration windows run through the
already quantized layers 0..i-1; the seven linears of layer i take their Hessians from one float pass
of layer i on those inputs (wq/wk/wv share one, w_gate/w_up another); then the quantized layer i
produces the inputs of layer i+1. Everything is float64 and deterministic.
"""

from __future__ import annotations

import numpy as np
import torch

from . import wquant as WQ
from .. import numerics as N

DEFAULT_BLOCK = 128
DEFAULT_DAMP = 0.01


def hessian(x: torch.Tensor) -> torch.Tensor:
    """H = 2/n X^T X (float64) of inputs ``x`` [n, in]."""
    x = x.reshape(-1, x.shape[-1])
    h = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    for s in range(0, x.shape[0], 4096):      # float32 products, float64 accumulation
        c = x[s:s + 4096].to(torch.float32)
        h += (c.T @ c).to(torch.float64)
    return h * (2.0 / max(x.shape[0], 1))


@torch.no_grad()
def gptq_integers(w: torch.Tensor, h: torch.Tensor, bits: int, group: int, zero_point: bool,
                  shift_rows: torch.Tensor, block: int = DEFAULT_BLOCK, damp: float = DEFAULT_DAMP,
                  act_order: bool = False):
    """GPTQ on ``w`` [out, in] with Hessian ``h`` [in, in] and a per-row shift (rows of several tensors
    may share one call): (q int64 [out, in], zero int64 [out, G], mant int64 [out, G])."""
    if bits not in (2, 3, 4, 8):
        raise ValueError(f"GPTQ: bits {bits} (group-wise formats 2, 3, 4, 8 only)")
    W = w.detach().to(torch.float64).clone()
    out_f, n = W.shape
    G = WQ.n_groups(n, group)
    H = h.detach().to(torch.float64).clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    perm = torch.argsort(torch.diag(H), descending=True, stable=True) if act_order else torch.arange(n)
    W, H = W[:, perm], H[perm][:, perm]
    H += damp * float(torch.diag(H).mean()) * torch.eye(n, dtype=torch.float64)
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)

    shift = shift_rows.to(torch.float64).reshape(out_f, 1)
    mant = torch.zeros(out_f, G, dtype=torch.int64)
    scale = torch.zeros(out_f, G, dtype=torch.float64)
    zero = torch.zeros(out_f, G, dtype=torch.float64)
    gid = perm // group                                  # the (consecutive-input) group of each position
    if act_order:   # static groups: scales of the original weights
        w0 = w.detach().to(torch.float64)
        for g in range(G):
            m, s, z = WQ.group_scale(w0[:, g * group:(g + 1) * group], bits, zero_point, shift[:, 0])
            mant[:, g], scale[:, g], zero[:, g] = m, s, z
    else:           # groups must not straddle blocks: the block is a multiple of the group
        block = max(1, -(-block // group)) * group
    Q = torch.zeros(out_f, n, dtype=torch.float64)
    for b0 in range(0, n, block):
        b1 = min(b0 + block, n)
        W1 = W[:, b0:b1].clone()
        U1 = U[b0:b1, b0:b1]
        E1 = torch.zeros(out_f, b1 - b0, dtype=torch.float64)
        for j in range(b1 - b0):
            c = b0 + j
            g = int(gid[c])
            if not act_order and c % group == 0:        # a group starts: its scale from the current weights
                m, s, z = WQ.group_scale(W1[:, j:j + group], bits, zero_point, shift[:, 0])
                mant[:, g], scale[:, g], zero[:, g] = m, s, z
            col = W1[:, j]
            q, deq = WQ.quantize_cols(col, scale[:, g], zero[:, g], bits, zero_point)
            Q[:, c] = q
            e = (col - deq) / U1[j, j]
            W1[:, j:] -= e[:, None] * U1[j, j:][None, :]
            E1[:, j] = e
        W[:, b1:] -= E1 @ U[b0:b1, b1:]
    inv = torch.argsort(perm)
    q = Q[:, inv].round().to(torch.int64)
    return q, zero.to(torch.int64), mant


def gptq_quantize_weight(w: torch.Tensor, h: torch.Tensor, bits: int, group: int, zero_point: bool = False,
                         block: int = DEFAULT_BLOCK, damp: float = DEFAULT_DAMP, act_order: bool = False,
                         shift: int | None = None, headroom_bits: int = 1) -> N.WeightQ:
    """One linear layer: a numerics.WeightQ. ``shift`` forces the per-tensor shift (default: the
    contract's shift of ``w`` minus ``headroom_bits``)."""
    return gptq_weights([w], h, bits, group, zero_point, block, damp, act_order,
                        None if shift is None else [shift], headroom_bits)[0]


def gptq_weights(ws: list[torch.Tensor], h: torch.Tensor, bits: int, group: int, zero_point: bool,
                 block: int = DEFAULT_BLOCK, damp: float = DEFAULT_DAMP, act_order: bool = False,
                 shifts: list[int] | None = None, headroom_bits: int = 1) -> list[N.WeightQ]:
    """Several linears reading the same input (one Hessian), each with its own per-tensor shift, in
    one pass (GPTQ is independent per output row given the scales)."""
    if shifts is None:
        shifts = [WQ.tensor_shift(w, bits, group, zero_point, headroom_bits) for w in ws]
    shift_rows = torch.cat([torch.full((w.shape[0],), s, dtype=torch.int64) for w, s in zip(ws, shifts)])
    q, zero, mant = gptq_integers(torch.cat([w.detach() for w in ws], 0), h, bits, group, zero_point,
                                  shift_rows, block, damp, act_order)
    out, r = [], 0
    for w, s in zip(ws, shifts):
        rows = slice(r, r + w.shape[0])
        out.append(WQ.to_weightq(q[rows].numpy(), zero[rows].numpy(), mant[rows].numpy(), s, bits, group,
                                 zero_point, w.shape[1]))
        r += w.shape[0]
    return out


@torch.no_grad()
def gptq_quantize_model(cfg: dict, weights: dict, bits: int, group: int, zero_point: bool,
                        calib_tokens: torch.Tensor, block: int = DEFAULT_BLOCK, damp: float = DEFAULT_DAMP,
                        act_order: bool = False, headroom_bits: int = 1, progress=None):
    """GPTQ on every decoder linear, layer by layer on ``calib_tokens`` [C, T]:
    (weights with the linears replaced by their dequantized contract integers, {name: WeightQ})."""
    out = dict(weights)
    wqs: dict[str, N.WeightQ] = {}
    x = WQ.embed(weights, calib_tokens)
    for i in range(cfg["n_layers"]):
        _, sites = WQ.run_layer(cfg, out, i, x, capture=True)
        for site, lins in WQ.SITE_LINEARS.items():
            names = [f"layers.{i}.{lin}" for lin in lins]
            res = gptq_weights([out[n] for n in names], hessian(sites[site]), bits, group, zero_point,
                               block, damp, act_order, headroom_bits=headroom_bits)
            for n, wq in zip(names, res):
                wqs[n] = wq
                out[n] = WQ.dequantized(wq)
        del sites
        x, _ = WQ.run_layer(cfg, out, i, x)
        if progress is not None:
            progress(i + 1)
    return out, wqs


def layer_output_error(w: torch.Tensor, wq: N.WeightQ | np.ndarray, x: torch.Tensor) -> float:
    """||X W^T - X W_q^T||_F for inputs ``x`` [n, in] (float64)."""
    wd = N.dequantize_weight_groups(wq) if isinstance(wq, N.WeightQ) else np.asarray(wq)
    x64 = x.to(torch.float64)
    return float(torch.linalg.norm(x64 @ (w.to(torch.float64) - torch.from_numpy(wd)).T))
