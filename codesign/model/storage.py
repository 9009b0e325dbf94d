"""Off-chip capacity: the stored weights of the whole model and the KV cache of a workload, as
closed forms in the bit-widths (the capacity check of feasibility.py)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..design import QUANT_ALLOWED, Workload
from ..quant.numerics import GAMMA_BITS, KV_EXP_BITS, SCALE_BITS
from ..workload.config import ModelConfig
from ..workload.ops import param_counts


@lru_cache(maxsize=64)
def storage_table(cfg: ModelConfig) -> dict:
    """Stored weights (every expert, LM head, norms, embedding) as a closed form in the bit-widths:
    bytes = lin * w/8 + groups[g] * (SCALE_BITS + z*w)/8 + fixed  (w < 16), or int16 per channel."""
    d, hd, h, kvh = cfg.d_model, cfg.head_dim, cfg.n_heads, cfg.n_kv_heads
    mats = [(h * hd, d), (kvh * hd, d), (kvh * hd, d), (d, h * hd)]
    e = cfg.n_experts
    if cfg.ffn_kind == "swiglu":
        mats += [(cfg.d_ffn, d)] * (2 * e) + [(d, cfg.d_ffn)] * e
    else:
        mats += [(cfg.d_ffn, d)] * e + [(d, cfg.d_ffn)] * e
    if cfg.is_moe:
        mats.append((e * (3 if cfg.router == "attention" else 1), d))
    lin = cfg.n_layers * sum(n * k for n, k in mats) + cfg.vocab * d
    nout = cfg.n_layers * sum(n for n, _ in mats) + cfg.vocab
    groups = {g: cfg.n_layers * sum(n * -(-k // g) for n, k in mats) + cfg.vocab * -(-d // g)
              for g in sorted(QUANT_ALLOWED["group"])}
    pc = param_counts(cfg)
    fixed = (pc["total"] - lin) * GAMMA_BITS / 8    # norms, biases, (untied) embedding table: 16 bits
    return {"lin": lin, "nout": nout, "groups": groups, "fixed": fixed}


def total_weight_bytes(cfg: ModelConfig, p) -> np.ndarray:
    t = storage_table(cfg)
    g = p["group"]
    groups = np.select([g == gg for gg in t["groups"]], list(t["groups"].values()), default=t["groups"][32])
    w, z = p["wbits"], p["zero_point"]
    quant = t["lin"] * w / 8 + groups * (SCALE_BITS + z * w) / 8
    return t["fixed"] + np.where(w == 16, t["lin"] * 2 + t["nout"] * SCALE_BITS / 8, quant)


def kv_cache_bytes(cfg: ModelConfig, workload: Workload, kvbits) -> np.ndarray:
    """The KV cache of every layer at the workload's full context: K and V rows of ``kvbits`` per
    element plus one exponent per row (numerics KV_EXP_BITS)."""
    return (2 * cfg.n_kv_heads * (cfg.head_dim * kvbits + KV_EXP_BITS) / 8
            * cfg.n_layers * (workload.prompt + workload.generate) * workload.batch)
