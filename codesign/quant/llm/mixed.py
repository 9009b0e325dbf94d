"""Per-layer mixed-precision weights on the reference model: a sensitivity ranking of its units and
the perplexity of "the k most sensitive units at more bits" profiles (issue 15, item 3).

A *unit* is one decoder layer's attention projections (wq, wk, wv, wo) or its FFN projections
(w_gate, w_up, w_down): the granularity at which a design gives a layer its own weight bits (the
processor runs each GEMV at its instruction's precision, issue 16).

Method. The model is quantized twice with the same quantizer, uniformly at the low and at the high
bits (same smoothing, same calibration). A mixed model takes each unit's linears from one of the two
(``splice``): every linear is still a valid integer weight of the numerics contract at its own bits,
so a row measures what the hardware computes. For GPTQ the two runs are each layer-sequential at one
precision; a spliced unit did not see the other precision's upstream errors during its own
quantization (a re-run of GPTQ per profile would), a second-order effect stated with the rows.
AWQ cannot be spliced this way (its scales are folded into the norm gains and other weights, which
differ between the two runs); RTN and GPTQ can.

Ranking (``rank_units``): the benefit of a unit is the drop of the summed NLL when only that unit is
raised to the high bits (all others low), measured on calibration windows disjoint from the
evaluation sample, so the profile rows measured on the sample are not selected on it. The greedy
order (largest benefit first) defines profile k = the first k units.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .model import LlamaLM
from .perplexity import window_nll

UNIT_CLASSES = ("attn", "ffn")
CLASS_LINEARS = {"attn": ("attn.wq", "attn.wk", "attn.wv", "attn.wo"),
                 "ffn": ("ffn.w_gate", "ffn.w_up", "ffn.w_down")}
SPLICEABLE_METHODS = ("rtn", "gptq")


def units(n_layers: int) -> list[tuple[int, str]]:
    return [(i, c) for i in range(n_layers) for c in UNIT_CLASSES]


def splice(w_lo: dict, w_hi: dict, raised) -> dict:
    """``w_lo`` with the linears of every unit in ``raised`` ((layer, class) pairs) from ``w_hi``."""
    out = dict(w_lo)
    for i, c in raised:
        for lin in CLASS_LINEARS[c]:
            out[f"layers.{i}.{lin}"] = w_hi[f"layers.{i}.{lin}"]
    return out


def profile_method(method: str, k: int) -> str:
    """The accuracy table's method name of profile k (k = 0: the uniform row's own name)."""
    return method if k == 0 else f"{method}+mp{k}"


def rank_units(cfg: dict, w_lo: dict, w_hi: dict, scheme, windows: torch.Tensor,
               progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Every unit with its benefit (NLL drop per scored token, nats) when raised alone, largest first
    (ties: in layer order). ``scheme``: the activation / KV quantizer (a PrequantizedWeights)."""
    tokens = windows.shape[0] * (windows.shape[1] - 1)
    base = float(window_nll(LlamaLM(cfg, w_lo, scheme), windows).sum())
    out = []
    all_units = units(cfg["n_layers"])
    for n, u in enumerate(all_units):
        nll = float(window_nll(LlamaLM(cfg, splice(w_lo, w_hi, [u]), scheme), windows).sum())
        out.append({"layer": u[0], "unit": u[1], "benefit_nats_per_token": round((base - nll) / tokens, 8)})
        if progress:
            progress(n + 1, len(all_units))
    order = sorted(range(len(out)), key=lambda j: (-out[j]["benefit_nats_per_token"], j))
    return [out[j] for j in order]


def measure_profiles(cfg: dict, w_lo: dict, w_hi: dict, scheme, windows: torch.Tensor, ranking: list[dict],
                     profiles, on_progress: Callable[[str], None] | None = None) -> dict[int, dict]:
    """{k: {"window_nll": [...], "seconds"}} of profile k (the first k units of ``ranking`` raised)."""
    out = {}
    for k in profiles:
        if on_progress:
            on_progress(f"profile {k}")
        t0 = time.time()
        raised = [(r["layer"], r["unit"]) for r in ranking[:k]]
        nll = window_nll(LlamaLM(cfg, splice(w_lo, w_hi, raised), scheme), windows)
        out[k] = {"window_nll": [round(float(v), 6) if np.isfinite(v) else None for v in nll],
                  "seconds": round(time.time() - t0, 1)}
    return out
