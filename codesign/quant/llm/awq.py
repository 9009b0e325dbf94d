"""AWQ (Lin, Tang, Tang, Yang, Chen, Wang, Xiao, Dang, Gan, Han, "AWQ: Activation-aware Weight
Quantization for LLM Compression and Acceleration", MLSys 2024, arXiv 2306.00978), written from the
paper (Sec. 3.2), in the golden numerics contract's integer format.

For each group of linears reading one input X (per decoder layer: wq/wk/wv, wo, w_gate/w_up, w_down),
a per-input-channel factor s = mean_tokens|X|^alpha, normalised by sqrt(max(s) min(s)), with alpha
searched on the grid {0, 1/20, ..., 19/20} to minimise the mean squared error of those linears'
outputs on calibration data, || X W^T - (X / s) Q(W diag(s))^T ||^2 with Q the contract's RTN
(``numerics.quantize_weight_groups``). The quantized weight is Q(W diag(s)); 1/s is folded into the
op that produces X, so the float model is unchanged before quantization:

- wq/wk/wv input: the attention RMSNorm gain (divided by s);
- w_gate/w_up input: the FFN RMSNorm gain;
- w_down input silu(gate) * up: the rows of w_up (exact: the product is linear in up);
- wo input (the attention output, channel (head h, dim d) = V channel (h // rep, d)): the rows of wv,
  with one factor per V channel shared by the query heads of its GQA group (the mean of |X| over the
  group), so attention's weighted sum of V commutes with it. ``fold_vo=False`` leaves wo unscaled.

All four are exact in float. In the integer processor the gains are int16 with a per-tensor shift
(numerics.quantize_gamma), exactly as the SmoothQuant factors already folded there are, and wv's
rescaled rows change only the per-token-head power-of-two exponent of the V cache (at KV16: below
its resolution). The factors of all four sites are searched on the original float layer and then
applied together, as the AWQ reference implementation does; the search loss is each site's
linear-output error (the reference measures the whole attention / MLP block output for wq/wk/wv and
w_gate/w_up).

Weight clipping (``clip=True``, as the paper's released code does after scaling): for every linear
but wq and wk, per output row and group, the clamp |w| <= r max|w| with r in {1, 0.95, ..., 0.55}
minimising the group's partial-output error over all calibration tokens; the clamped weight
is then RTN-quantized (the clamp only changes the group's ideal scale, so it stays in the format).

Calibration inputs come from the float model (the reference's order: layer i's inputs are the float
layer i-1's outputs). Both searches evaluate the output error of a weight change D over every
calibration token through the inputs' Gram matrix G = X^T X / n (error = sum((D G) * D); the clip
search needs only G's diagonal group blocks), so their cost does not grow with the calibration
set. Deterministic: no sampling.
"""

from __future__ import annotations

import torch

from . import fake_quant
from . import wquant as WQ
from .. import numerics as N

N_GRID = 20
MAX_SHRINK = 0.5
FOLD = {"attn_in": "attn_norm", "ffn_in": "ffn_norm", "down_in": "ffn.w_up", "wo_in": "attn.wv"}


def _rtn(w: torch.Tensor, bits: int, group: int, zero_point: bool) -> torch.Tensor:
    """The contract's RTN values (fake_quant.quantize_weight is value-identical to numerics)."""
    return fake_quant.quantize_weight(w.to(torch.float64), bits, group, zero_point)


def act_mean(x: torch.Tensor) -> torch.Tensor:
    return x.abs().to(torch.float64).mean(0)


def gqa_shared(v: torch.Tensor, cfg: dict) -> torch.Tensor:
    """A per-channel statistic of the wo input [H*hd] averaged over each GQA group: [KV*hd]."""
    H, KV, hd = cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    return v.view(KV, H // KV, hd).mean(1).reshape(-1)


def gqa_expand(s_kv: torch.Tensor, cfg: dict) -> torch.Tensor:
    H, KV, hd = cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    return s_kv.view(KV, 1, hd).expand(KV, H // KV, hd).reshape(-1)


def gram(x: torch.Tensor) -> torch.Tensor:
    """X^T X / n (float64) of inputs ``x`` [n, in]: the output error of any weight change D over these
    inputs is sum((D G) * D) / out, so the searches below are exact over every calibration token at a
    cost independent of their number."""
    x = x.reshape(-1, x.shape[-1])
    g = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    for s in range(0, x.shape[0], 4096):      # float32 products, float64 accumulation
        c = x[s:s + 4096].to(torch.float32)
        g += (c.T @ c).to(torch.float64)
    return g / max(x.shape[0], 1)


def _output_mse(d: torch.Tensor, g32: torch.Tensor) -> float:
    """Mean over tokens and outputs of (x . d_row)^2 for a weight error ``d`` [out, in], Gram ``g32``."""
    d32 = d.to(torch.float32)
    return float(((d32 @ g32) * d32).sum(dtype=torch.float64))


@torch.no_grad()
def search_scale(x: torch.Tensor | None, ws: list[torch.Tensor], bits: int, group: int, zero_point: bool,
                 n_grid: int = N_GRID, stat: torch.Tensor | None = None, expand=None,
                 g: torch.Tensor | None = None):
    """(best s, best alpha, {alpha: output MSE}) for linears ``ws`` reading inputs ``x`` [n, in] (or
    their Gram matrix ``g`` plus the per-channel ``stat``): the MSE of X W^T - (X / s) Q(W s)^T.

    ``stat`` overrides the per-channel mean|x| (the GQA-shared one for wo, whose factor ``expand``
    maps to the input size)."""
    g = gram(x) if g is None else g
    g32 = g.to(torch.float32)
    stat = act_mean(x) if stat is None else stat
    expand = expand or (lambda s: s)
    n_out = sum(w.shape[0] for w in ws)
    best, losses = None, {}
    for k in range(n_grid):
        alpha = k / n_grid
        s = stat.pow(alpha).clamp(min=1e-4)
        s = s / (s.max() * s.min()).sqrt()
        sx = expand(s)
        loss = 0.0
        for w in ws:
            w64 = w.to(torch.float64)
            loss += _output_mse(_rtn(w64 * sx[None, :], bits, group, zero_point) / sx[None, :] - w64, g32)
        losses[alpha] = loss / n_out
        if best is None or losses[alpha] < best[2]:
            best = (s, alpha, losses[alpha])
    return best[0], best[1], losses


@torch.no_grad()
def search_clip(w: torch.Tensor, x: torch.Tensor | None, bits: int, group: int, zero_point: bool,
                n_grid: int = N_GRID, max_shrink: float = MAX_SHRINK, g: torch.Tensor | None = None) -> torch.Tensor:
    """The clamped weight: per (row, group), |w| <= r max|w| with the r in {1, 1 - 1/n_grid, ...,
    1 - max_shrink + 1/n_grid} of least error of the group's partial output on inputs ``x`` [n, in]
    (or their Gram matrix ``g``: only its diagonal group blocks matter)."""
    w64 = w.to(torch.float64)
    out_f, in_f = w64.shape
    pad = (-in_f) % group
    G = (in_f + pad) // group
    wg = torch.nn.functional.pad(w64, (0, pad)).view(out_f, G, group)
    gm = torch.nn.functional.pad(gram(x) if g is None else g, (0, pad, 0, pad))
    blocks = torch.stack([gm[k * group:(k + 1) * group, k * group:(k + 1) * group] for k in range(G)])  # [G, g, g]
    shift = WQ.tensor_shift(w64, bits, group, zero_point)   # clipping only lowers maxima
    amax = wg.abs().amax(-1)                                  # [out, G]
    best_m, best_err = amax.clone(), None
    for k in range(int(max_shrink * n_grid)):
        m = amax * (1 - k / n_grid)
        cw = torch.maximum(torch.minimum(wg, m[..., None]), -m[..., None])
        _, scale, zero = WQ.group_scale(cw, bits, zero_point, torch.full((out_f, 1), shift))
        _, deq = WQ.quantize_cols(cw, scale[..., None], zero[..., None], bits, zero_point)
        d = deq - wg                                                               # [out, G, g]
        err = torch.einsum("ogk,gkl,ogl->og", d, blocks, d)
        if best_err is None:
            best_err = err
            continue
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_m = torch.where(better, m, best_m)
    cw = torch.maximum(torch.minimum(wg, best_m[..., None]), -best_m[..., None])
    return cw.reshape(out_f, -1)[:, :in_f].to(w.dtype)


@torch.no_grad()
def awq_scale_layer(cfg: dict, w: dict, i: int, sites: dict, bits: int, group: int, zero_point: bool,
                    n_grid: int = N_GRID, fold_vo: bool = True, grams: dict | None = None) -> dict:
    """Search and fold the four sites' factors of layer i into ``w`` (in place); {site: alpha}.
    ``grams`` (filled here when given) receives each site's Gram matrix of the *scaled* inputs X / s."""
    p = f"layers.{i}."
    found = {}
    for site, lins in WQ.SITE_LINEARS.items():
        g = gram(sites[site])
        stat = act_mean(sites[site])
        ws = [w[p + n] for n in lins]
        if site == "wo_in" and fold_vo:
            s_kv, alpha, _ = search_scale(None, ws, bits, group, zero_point, n_grid, stat=gqa_shared(stat, cfg),
                                          expand=lambda s: gqa_expand(s, cfg), g=g)
            found[site] = (gqa_expand(s_kv, cfg), s_kv, alpha)
        elif site != "wo_in":
            s, alpha, _ = search_scale(None, ws, bits, group, zero_point, n_grid, stat=stat, g=g)
            found[site] = (s, s, alpha)
        if grams is not None:
            s_in = found[site][0] if site in found else torch.ones(g.shape[0], dtype=torch.float64)
            grams[site] = g / (s_in[:, None] * s_in[None, :])
    for site, (s_in, s_prev, _) in found.items():      # apply all, as the reference does
        for n in WQ.SITE_LINEARS[site]:
            w[p + n] = (w[p + n].to(torch.float64) * s_in[None, :]).to(torch.float32)
        prev = p + FOLD[site]
        if w[prev].dim() == 1:                          # a norm gain
            w[prev] = (w[prev].to(torch.float64) / s_prev).to(torch.float32)
        else:                                           # rows of the producing linear
            w[prev] = (w[prev].to(torch.float64) / s_prev[:, None]).to(torch.float32)
    return {site: a for site, (_, _, a) in found.items()}


@torch.no_grad()
def awq_fold_model(cfg: dict, weights: dict, bits: int, group: int, zero_point: bool, calib_tokens: torch.Tensor,
                   n_grid: int = N_GRID, fold_vo: bool = True, clip: bool = True, progress=None):
    """(the scaled (and clipped) float weights, {layer: {site: alpha}}) before RTN: the float model of
    the scaled weights computes what the original does (clipping aside)."""
    w = dict(weights)
    x = WQ.embed(weights, calib_tokens)
    alphas = {}
    for i in range(cfg["n_layers"]):
        x_next, sites = WQ.run_layer(cfg, weights, i, x, capture=True)   # the float model's activations
        grams = {}
        alphas[i] = awq_scale_layer(cfg, w, i, sites, bits, group, zero_point, n_grid, fold_vo, grams)
        if clip:
            for site, lins in WQ.SITE_LINEARS.items():
                for lin in lins:
                    if lin in ("attn.wq", "attn.wk"):   # attention scores: not clipped (reference)
                        continue
                    n = f"layers.{i}.{lin}"
                    w[n] = search_clip(w[n], None, bits, group, zero_point, n_grid, g=grams[site])
        x = x_next
        del sites
        if progress is not None:
            progress(i + 1)
    return w, alphas


def awq_quantize_model(cfg: dict, weights: dict, bits: int, group: int, zero_point: bool,
                       calib_tokens: torch.Tensor, n_grid: int = N_GRID, fold_vo: bool = True, clip: bool = True,
                       progress=None):
    """AWQ on every decoder linear: (weights with the folded gains / rows and the linears replaced by
    their dequantized contract integers, {name: WeightQ})."""
    w, _ = awq_fold_model(cfg, weights, bits, group, zero_point, calib_tokens, n_grid, fold_vo, clip, progress)
    wqs = {}
    for i in range(cfg["n_layers"]):
        for site, lins in WQ.SITE_LINEARS.items():
            for lin in lins:
                n = f"layers.{i}.{lin}"
                wqs[n] = N.quantize_weight_groups(w[n].detach().numpy(), bits, group, zero_point)
                WQ.check_weightq(wqs[n])
                w[n] = WQ.dequantized(wqs[n])
    return w, wqs
