"""Perplexity of a (possibly quantized) LLaMA over a fixed token sample."""

from __future__ import annotations

import math

import torch

from .model import LlamaLM


def perplexity(model: LlamaLM, windows: torch.Tensor, batch: int = 4, progress=None) -> float:
    """exp(mean next-token NLL) over every position but the first of each window."""
    total, count = 0.0, 0
    for s in range(0, windows.shape[0], batch):
        nll, n = model.nll(windows[s:s + batch])
        total += nll
        count += n
        if progress is not None:
            progress(min(s + batch, windows.shape[0]))
    return math.exp(total / count)
