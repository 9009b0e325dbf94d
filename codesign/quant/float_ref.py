"""Float reference (torch, float64) of the same decoder layer the golden model computes: RMSNorm,
GQA attention with rotate-half RoPE over a float KV cache, SwiGLU FFN or top-k MoE (Mixtral: softmax
over the selected router logits), residuals. Weights use the names of ``codesign.quant.golden``.
Also the error metrics (SQNR, cosine, max abs) used to compare the integer model against it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import torch

from .golden import FFN_MATS, _strip


def _t(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


@dataclass
class FloatCache:
    k: list = field(default_factory=list)   # per position: [kv_heads, hd]
    v: list = field(default_factory=list)


def _rms(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def _rope(x, pos, theta):
    """x [m, heads, hd], rotate-half pairs."""
    hd = x.shape[-1]
    half = hd // 2
    inv = theta ** (-torch.arange(half, dtype=torch.float64) * 2.0 / hd)
    ang = pos.to(torch.float64)[:, None] * inv[None, :]
    c, s = ang.cos()[:, None, :], ang.sin()[:, None, :]
    x0, x1 = x[..., :half], x[..., half:]
    return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1)


def _swiglu_ffn(h, wg, wu, wd):
    return (torch.nn.functional.silu(h @ wg.T) * (h @ wu.T)) @ wd.T


def float_layer(weights: Mapping, cfg, x, start_pos: int, cache: FloatCache, *, rope_theta: float = 10000.0,
                norm_eps: float = 1e-5, trace: dict | None = None) -> np.ndarray:
    """float64 x [m, d_model] at positions start_pos.. -> [m, d_model]; appends K (after RoPE), V to ``cache``.
    ``trace`` receives the intermediate tensors under the golden model's trace names."""
    tr = trace if trace is not None else {}
    w = {k: _t(v) for k, v in _strip(weights).items()}
    x = _t(x)
    m = x.shape[0]
    H, KV, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    h = _rms(x, w["attn_norm"], norm_eps)
    q = (h @ w["attn.wq"].T).reshape(m, H, hd)
    k = (h @ w["attn.wk"].T).reshape(m, KV, hd)
    v = (h @ w["attn.wv"].T).reshape(m, KV, hd)
    pos = torch.arange(start_pos, start_pos + m)
    q, k = _rope(q, pos, rope_theta), _rope(k, pos, rope_theta)
    del cache.k[start_pos:], cache.v[start_pos:]
    if len(cache.k) != start_pos:
        raise ValueError(f"float cache holds {len(cache.k)} positions, expected {start_pos}")
    cache.k.extend(k.unbind(0))
    cache.v.extend(v.unbind(0))
    K = torch.stack(cache.k, 1)            # [KV, T, hd]
    V = torch.stack(cache.v, 1)
    rep = H // KV
    K, V = K.repeat_interleave(rep, 0), V.repeat_interleave(rep, 0)
    scores = torch.einsum("mhd,htd->mht", q, K) / math.sqrt(hd)
    T = K.shape[1]
    mask = torch.arange(T)[None, :] <= pos[:, None]
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
    o = torch.einsum("mht,htd->mhd", torch.softmax(scores, -1), V).reshape(m, H * hd)
    t = o @ w["attn.wo"].T
    tr.update(attn_norm=h, q=q, k=k, v=v, attn=o.reshape(m, H, hd), wo=t)
    x = x + t
    tr.update(attn_residual=x)
    h = _rms(x, w["ffn_norm"], norm_eps)
    tr["ffn_norm"] = h
    if getattr(cfg, "n_experts", 1) > 1:
        logits = h @ w["ffn.router"].T
        top = torch.topk(logits, cfg.top_k, dim=-1, sorted=True)
        wts = torch.softmax(top.values, -1)
        out = torch.zeros_like(x)
        for t in range(m):
            for s in range(cfg.top_k):
                e = int(top.indices[t, s])
                ws = [w[f"ffn.experts.{e}.{n}"] for n in FFN_MATS]
                out[t] += wts[t, s] * _swiglu_ffn(h[t:t + 1], *ws)[0]
        x = x + out
    else:
        a = torch.nn.functional.silu(h @ w["ffn.w_gate"].T) * (h @ w["ffn.w_up"].T)
        down = a @ w["ffn.w_down"].T
        tr.update(ffn_act=a, ffn_down=down)
        x = x + down
    tr["out"] = x
    for key, val in tr.items():
        if isinstance(val, torch.Tensor):
            tr[key] = val.numpy()
    return x.numpy()


def error_metrics(out, ref) -> dict:
    """SQNR (dB), cosine similarity and max abs error of ``out`` against ``ref`` (flattened)."""
    o = np.asarray(out, dtype=np.float64).reshape(-1)
    r = np.asarray(ref, dtype=np.float64).reshape(-1)
    err = o - r
    noise = float((err ** 2).sum())
    sig = float((r ** 2).sum())
    sqnr = float("inf") if noise == 0 else 10 * math.log10(sig / noise) if sig > 0 else float("-inf")
    den = float(np.linalg.norm(o) * np.linalg.norm(r))
    cos = float(o @ r / den) if den > 0 else 1.0
    return {"sqnr_db": sqnr, "cosine": cos, "max_abs": float(np.abs(err).max()) if err.size else 0.0,
            "ref_max_abs": float(np.abs(r).max()) if r.size else 0.0}
