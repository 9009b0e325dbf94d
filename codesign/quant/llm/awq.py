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
minimising the group's partial-output error on ``clip_tokens`` calibration tokens; the clamped weight
is then RTN-quantized (the clamp only changes the group's ideal scale, so it stays in the format).

Calibration inputs come from the float model (the reference's order: layer i's inputs are the float
layer i-1's outputs). Deterministic: no sampling; token subsets are evenly strided.
"""

from __future__ import annotations

import torch

from . import fake_quant
from . import wquant as WQ
from .. import numerics as N

N_GRID = 20
MAX_SHRINK = 0.5
FOLD = {"attn_in": "attn_norm", "ffn_in": "ffn_norm", "down_in": "ffn.w_up", "wo_in": "attn.wv"}


def _strided(x: torch.Tensor, n: int | None) -> torch.Tensor:
    if n is None or x.shape[0] <= n:
        return x
    idx = torch.arange(n) * x.shape[0] // n
    return x[idx]


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


@torch.no_grad()
def search_scale(x: torch.Tensor, ws: list[torch.Tensor], bits: int, group: int, zero_point: bool,
                 n_grid: int = N_GRID, stat: torch.Tensor | None = None, expand=None):
    """(best s [in], best alpha, {alpha: loss}) for linears ``ws`` reading ``x`` [n, in].

    ``stat`` overrides the per-channel mean|x| (the GQA-shared one for wo); ``expand`` maps a factor
    of ``stat``'s size to the input size."""
    x32 = x.to(torch.float32)                 # float32 products (speed); losses summed in float64
    ref = [x32 @ w.to(torch.float32).T for w in ws]
    stat = act_mean(x) if stat is None else stat
    expand = expand or (lambda s: s)
    best, losses = None, {}
    for k in range(n_grid):
        alpha = k / n_grid
        s = stat.pow(alpha).clamp(min=1e-4)
        s = s / (s.max() * s.min()).sqrt()
        sx = expand(s)
        loss = 0.0
        for w, r in zip(ws, ref):
            wq = _rtn(w.to(torch.float64) * sx[None, :], bits, group, zero_point) / sx[None, :]
            loss += float((x32 @ wq.to(torch.float32).T - r).to(torch.float64).pow(2).sum())
        loss /= sum(r.numel() for r in ref)
        losses[alpha] = loss
        if best is None or loss < best[2]:
            best = (s, alpha, loss)
    return best[0], best[1], losses


@torch.no_grad()
def search_clip(w: torch.Tensor, x: torch.Tensor, bits: int, group: int, zero_point: bool,
                n_grid: int = N_GRID, max_shrink: float = MAX_SHRINK, rows: int = 256) -> torch.Tensor:
    """The clamped weight: per (row, group), |w| <= r max|w| with the r in {1, 1 - 1/n_grid, ...,
    1 - max_shrink + 1/n_grid} of least partial-output error on ``x`` [n, in]."""
    w64 = w.to(torch.float64)
    out_f, in_f = w64.shape
    pad = (-in_f) % group
    G = (in_f + pad) // group
    wg = torch.nn.functional.pad(w64, (0, pad)).view(out_f, G, group)
    xg = torch.nn.functional.pad(x.to(torch.float64), (0, pad)).view(x.shape[0], G, group)
    shift = WQ.tensor_shift(w64, bits, group, zero_point)   # clipping only lowers maxima
    amax = wg.abs().amax(-1)                                  # [out, G]
    best_m = amax.clone()
    for r0 in range(0, out_f, rows):
        sl = slice(r0, min(r0 + rows, out_f))
        w_r = wg[sl]
        ref = torch.einsum("ngk,ogk->nog", xg, w_r)
        best_err = None
        for k in range(int(max_shrink * n_grid)):
            m = amax[sl] * (1 - k / n_grid)
            cw = torch.maximum(torch.minimum(w_r, m[..., None]), -m[..., None])
            _, scale, zero = WQ.group_scale(cw, bits, zero_point, torch.full((cw.shape[0], 1), shift))
            _, deq = WQ.quantize_cols(cw, scale[..., None], zero[..., None], bits, zero_point)
            err = (torch.einsum("ngk,ogk->nog", xg, deq) - ref).pow(2).mean(0)    # [rows, G]
            if best_err is None:
                best_err = err
                continue
            better = err < best_err
            best_err = torch.where(better, err, best_err)
            best_m[sl] = torch.where(better, m, best_m[sl])
    cw = torch.maximum(torch.minimum(wg, best_m[..., None]), -best_m[..., None])
    return cw.reshape(out_f, -1)[:, :in_f].to(w.dtype)


@torch.no_grad()
def awq_scale_layer(cfg: dict, w: dict, i: int, sites: dict, bits: int, group: int, zero_point: bool,
                    n_grid: int = N_GRID, fold_vo: bool = True, search_tokens: int | None = 2048) -> dict:
    """Search and fold the four sites' factors of layer i into ``w`` (in place); {site: alpha}."""
    p = f"layers.{i}."
    found = {}
    for site, lins in WQ.SITE_LINEARS.items():
        if site == "wo_in" and not fold_vo:
            continue
        x = _strided(sites[site], search_tokens)
        ws = [w[p + n] for n in lins]
        if site == "wo_in":
            s_kv, alpha, _ = search_scale(x, ws, bits, group, zero_point, n_grid,
                                          stat=gqa_shared(act_mean(sites[site]), cfg),
                                          expand=lambda s: gqa_expand(s, cfg))
            found[site] = (gqa_expand(s_kv, cfg), s_kv, alpha)
        else:
            s, alpha, _ = search_scale(x, ws, bits, group, zero_point, n_grid, stat=act_mean(sites[site]))
            found[site] = (s, s, alpha)
    for site, (s_in, s_prev, _) in found.items():      # apply all, as the reference does
        for n in WQ.SITE_LINEARS[site]:
            w[p + n] = (w[p + n].to(torch.float64) * s_in[None, :]).to(torch.float32)
        prev = p + FOLD[site]
        if w[prev].dim() == 1:                          # a norm gain
            w[prev] = (w[prev].to(torch.float64) / s_prev).to(torch.float32)
        else:                                           # rows of the producing linear
            w[prev] = (w[prev].to(torch.float64) / s_prev[:, None]).to(torch.float32)
        sites[site] = sites[site] / s_in.to(sites[site].dtype)[None, :]
    return {site: a for site, (_, _, a) in found.items()}


@torch.no_grad()
def awq_fold_model(cfg: dict, weights: dict, bits: int, group: int, zero_point: bool, calib_tokens: torch.Tensor,
                   n_grid: int = N_GRID, fold_vo: bool = True, clip: bool = True, search_tokens: int | None = 2048,
                   clip_tokens: int = 512, progress=None):
    """(the scaled (and clipped) float weights, {layer: {site: alpha}}) before RTN: the float model of
    the scaled weights computes what the original does (clipping aside)."""
    w = dict(weights)
    x = WQ.embed(weights, calib_tokens)
    alphas = {}
    for i in range(cfg["n_layers"]):
        x_next, sites = WQ.run_layer(cfg, weights, i, x, capture=True)   # the float model's activations
        alphas[i] = awq_scale_layer(cfg, w, i, sites, bits, group, zero_point, n_grid, fold_vo, search_tokens)
        if clip:
            for site, lins in WQ.SITE_LINEARS.items():
                xs = _strided(sites[site], clip_tokens)
                for lin in lins:
                    if lin in ("attn.wq", "attn.wk"):   # attention scores: not clipped (reference)
                        continue
                    n = f"layers.{i}.{lin}"
                    w[n] = search_clip(w[n], xs, bits, group, zero_point, n_grid)
        x = x_next
        del sites
        if progress is not None:
            progress(i + 1)
    return w, alphas


def awq_quantize_model(cfg: dict, weights: dict, bits: int, group: int, zero_point: bool,
                       calib_tokens: torch.Tensor, n_grid: int = N_GRID, fold_vo: bool = True, clip: bool = True,
                       search_tokens: int | None = 2048, clip_tokens: int = 512, progress=None):
    """AWQ on every decoder linear: (weights with the folded gains / rows and the linears replaced by
    their dequantized contract integers, {name: WeightQ})."""
    w, _ = awq_fold_model(cfg, weights, bits, group, zero_point, calib_tokens, n_grid, fold_vo, clip,
                          search_tokens, clip_tokens, progress)
    wqs = {}
    for i in range(cfg["n_layers"]):
        for site, lins in WQ.SITE_LINEARS.items():
            for lin in lins:
                n = f"layers.{i}.{lin}"
                wqs[n] = N.quantize_weight_groups(w[n].detach().numpy(), bits, group, zero_point)
                WQ.check_weightq(wqs[n])
                w[n] = WQ.dequantized(wqs[n])
    return w, wqs
