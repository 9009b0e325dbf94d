"""Off-chip capacity: the stored weights of the whole model and the KV cache of a workload, as
closed forms in the bit-widths (the capacity check of feasibility.py)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..design import QUANT_ALLOWED, Workload
from ..quant.numerics import GAMMA_BITS, KV_EXP_BITS, SCALE_BITS
from ..quant.pack import sparsity_nm
from ..workload.config import ModelConfig
from ..workload.ops import param_counts


@lru_cache(maxsize=64)
def storage_table(cfg: ModelConfig) -> dict:
    """Stored weights (every expert, LM head, norms, embedding) as a closed form in the bit-widths:
    bytes = lin * N/M * (w + index bits)/8 + groups[g] * (SCALE_BITS + z*w)/8 + fixed  (w < 16), or
    int16 per channel (N = M = 1, no index bits, when dense)."""
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
    # N:M sparse: N of every M weights stored, each with its ceil(log2 M)-bit index (quant.pack);
    # the scale and zero-point blocks are those of the dense matrix
    sp_n, sp_m, ib = sparsity_nm(p["sparsity"], np.result_type(w))
    lin = t["lin"] * sp_n / sp_m
    quant = lin * (w + ib) / 8 + groups * (SCALE_BITS + z * w) / 8
    return t["fixed"] + np.where(w == 16, lin * (16 + ib) / 8 + t["nout"] * SCALE_BITS / 8, quant)


def kv_cache_bytes(cfg: ModelConfig, workload: Workload, kvbits) -> np.ndarray:
    """The KV cache of every layer at the workload's full context: K and V rows of ``kvbits`` per
    element plus one exponent per row (numerics KV_EXP_BITS)."""
    return (2 * cfg.n_kv_heads * (cfg.head_dim * kvbits + KV_EXP_BITS) / 8
            * cfg.n_layers * (workload.prompt + workload.generate) * workload.batch)
