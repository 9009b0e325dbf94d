"""Perplexity of a (possibly quantized) LLaMA over a fixed token sample.

``window_nll`` keeps the summed NLL of every window (float64, nats): the table stores them so a
confidence interval of the perplexity increase can be computed (and re-computed) by resampling
windows paired between a configuration and the reference (``codesign.quant.bootstrap``)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .model import LlamaLM


@torch.no_grad()
def window_nll(model: LlamaLM, windows: torch.Tensor, batch: int = 4, progress=None) -> np.ndarray:
    """Summed next-token NLL (nats) of every window [n_windows], over every position but the first."""
    out = np.zeros(windows.shape[0], dtype=np.float64)
    for s in range(0, windows.shape[0], batch):
        chunk = windows[s:s + batch]
        h = model.hidden(chunk)[:, :-1]
        target = chunk[:, 1:]
        for b in range(h.shape[0]):  # one window at a time keeps the [T, vocab] logits small
            logp = torch.log_softmax(h[b] @ model.lm_head.T, dim=-1)
            out[s + b] = float(-logp.gather(-1, target[b, :, None]).sum(dtype=torch.float64))
        if progress is not None:
            progress(min(s + batch, windows.shape[0]))
    return out


def ppl_from_nll(nll: np.ndarray, tokens_per_window: int) -> float:
    """exp(mean NLL per scored token) from per-window sums (every window scores the same count)."""
    nll = np.asarray(nll, dtype=np.float64)
    mean = float(nll.sum()) / (nll.size * tokens_per_window)
    return math.exp(mean) if math.isfinite(mean) else float("inf")


def perplexity(model: LlamaLM, windows: torch.Tensor, batch: int = 4, progress=None) -> float:
    """exp(mean next-token NLL) over every position but the first of each window."""
    return ppl_from_nll(window_nll(model, windows, batch, progress), windows.shape[1] - 1)
