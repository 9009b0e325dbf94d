"""SmoothQuant-style per-channel smoothing, folded into the weights offline (no hardware cost).

Per-token activation quantization suffers from a few input channels with large magnitude (LLaMA
RMSNorm gains and SwiGLU products make them). SmoothQuant (Xiao et al., "SmoothQuant: Accurate and
Efficient Post-Training Quantization for Large Language Models", ICML 2023, Eq. 4) divides input
channel j of a linear layer by s_j = max|X_j|^alpha / max|W_:,j|^(1-alpha) and multiplies column j
of the weight by s_j: the float product is unchanged, the activation outliers shrink. Every division
here is folded into a weight the processor already has, so the arithmetic is untouched:

- attention input: 1/s into the attention RMSNorm gain, s into the columns of wq, wk, wv;
- FFN input: 1/s into the FFN RMSNorm gain, s into the columns of w_gate, w_up;
- down-projection input silu(gate) * up: 1/s into the rows of w_up, s into the columns of w_down;
- output-projection input (attention output): 1/s into the rows of wv (per K/V head channel, so the
  factor is shared by the query heads of a GQA group: max over the group), s into the columns of wo;
- keys (stored in the KV cache at KV bits): 1/s into the rows of wk, s into the rows of wq of the
  query heads that share the K/V head, so q.k is unchanged. RoPE rotates dimension j with
  j + head_dim/2, so both get the same factor (the max of the pair), and the rotation commutes.

The per-channel maxima come from a calibration sample disjoint from the perplexity windows.
"""

from __future__ import annotations

import torch

from .model import LlamaLM

SITES = ("attn_in", "wo_in", "ffn_in", "down_in")
DEFAULT_ALPHA = 0.5  # SmoothQuant's default migration strength (paper, Sec. 4 / Fig. 5)


class _Probe:
    """Records per-channel max |x| at each of the four linear-input sites of every layer."""

    def __init__(self):
        self.calls = 0
        self._seen: set = set()
        self.maxima: dict[tuple[int, str], torch.Tensor] = {}

    def weight(self, name, w):
        return w

    def kv(self, x):
        # called with K then V per layer, [B, KV, T, hd]; only K is smoothed here (V via wo_in)
        layer = self.calls // len(SITES)
        if (layer, "k") not in self._seen:
            self._seen.add((layer, "k"))
            m = x.detach().abs().amax(dim=(0, 2))  # [KV, hd]
            key = (layer, "k")
            self.maxima[key] = torch.maximum(self.maxima[key], m) if key in self.maxima else m
        return x

    def activation(self, x):
        layer, site = divmod(self.calls, len(SITES))
        self.calls += 1
        m = x.detach().abs().reshape(-1, x.shape[-1]).amax(0)
        key = (layer, SITES[site])
        self.maxima[key] = torch.maximum(self.maxima[key], m) if key in self.maxima else m
        return x


@torch.no_grad()
def activation_maxima(cfg: dict, weights: dict[str, torch.Tensor], windows: torch.Tensor) -> dict:
    probe = _Probe()
    model = LlamaLM(cfg, weights, probe)
    for b in range(windows.shape[0]):
        probe.calls, probe._seen = 0, set()  # the site order restarts at layer 0 for every pass
        model.hidden(windows[b:b + 1])
    return probe.maxima


def _factor(xmax: torch.Tensor, wmax: torch.Tensor, alpha: float) -> torch.Tensor:
    s = xmax.clamp(min=1e-5).pow(alpha) / wmax.clamp(min=1e-5).pow(1 - alpha)
    return s.clamp(min=1e-5)


@torch.no_grad()
def smooth_weights(cfg: dict, weights: dict[str, torch.Tensor], maxima: dict,
                   alpha: float = DEFAULT_ALPHA, alpha_k: float | None = None) -> dict[str, torch.Tensor]:
    """A new weight dict whose float model computes the same function with smaller activation outliers."""
    w = dict(weights)
    H, KV, hd = cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    rep = H // KV
    for i in range(cfg["n_layers"]):
        p = f"layers.{i}."
        for site, norm, lins in (("attn_in", "attn_norm", ("attn.wq", "attn.wk", "attn.wv")),
                                 ("ffn_in", "ffn_norm", ("ffn.w_gate", "ffn.w_up"))):
            wmax = torch.stack([w[p + n].abs().amax(0) for n in lins]).amax(0)
            s = _factor(maxima[(i, site)], wmax, alpha)
            w[p + norm] = w[p + norm] / s
            for n in lins:
                w[p + n] = w[p + n] * s[None, :]
        # down-projection input: rows of w_up carry 1/s
        s = _factor(maxima[(i, "down_in")], w[p + "ffn.w_down"].abs().amax(0), alpha)
        w[p + "ffn.w_up"] = w[p + "ffn.w_up"] / s[:, None]
        w[p + "ffn.w_down"] = w[p + "ffn.w_down"] * s[None, :]
        # output-projection input: channel (head h, dim d) comes from V channel (h // rep, d)
        xmax = maxima[(i, "wo_in")].view(KV, rep, hd).amax(1)
        wmax = w[p + "attn.wo"].abs().amax(0).view(KV, rep, hd).amax(1)
        s_kv = _factor(xmax, wmax, alpha)                        # [KV, hd]
        w[p + "attn.wv"] = w[p + "attn.wv"] / s_kv.reshape(-1)[:, None]
        s_q = s_kv[:, None, :].expand(KV, rep, hd).reshape(-1)   # [H * hd]
        w[p + "attn.wo"] = w[p + "attn.wo"] * s_q[None, :]
        if (i, "k") in maxima and alpha_k != 0:
            half = hd // 2
            kmax = maxima[(i, "k")]                                   # [KV, hd]
            kmax = torch.maximum(kmax[:, :half], kmax[:, half:]).repeat(1, 2)
            qmax = w[p + "attn.wq"].abs().amax(1).view(KV, rep, hd).amax(1)
            qmax = torch.maximum(qmax[:, :half], qmax[:, half:]).repeat(1, 2)
            s_k = _factor(kmax, qmax, alpha if alpha_k is None else alpha_k)                         # [KV, hd]
            w[p + "attn.wk"] = w[p + "attn.wk"] / s_k.reshape(-1)[:, None]
            s_q = s_k[:, None, :].expand(KV, rep, hd).reshape(-1)
            w[p + "attn.wq"] = w[p + "attn.wq"] * s_q[:, None]
    return w
