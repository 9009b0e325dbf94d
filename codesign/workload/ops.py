"""A decoder layer as a list of ops, with MACs and bytes per phase.

Phases: ``prefill`` of ``tokens`` = P prompt tokens per sequence (causal attention over the prompt),
and ``decode``: one new token per sequence attending ``context`` keys (the cache plus itself).
``batch`` sequences run together: weights are read once per step and shared by the batch; the
KV cache and activations scale with the batch.

Bytes follow the numerics contract (docs/NUMERICS.md): W-bit weights with one ``SCALE_BITS``-bit
unsigned scale mantissa per group of ``group`` input features (plus a W-bit zero point when
asymmetric; 16-bit weights are int16 with one scale per output channel); A-bit activations at the
GEMV inputs, int32 (``RESIDUAL_BITS``) residual stream between units; the KV cache at KV bits with
one 8-bit power-of-two shift per token per head (``KV_EXP_BITS``); norm gammas int16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..design import Quant
from ..errors import CodesignError
from .config import ModelConfig

# The widths come from the numerics contract (codesign.quant.numerics owns every one of them):
# group-scale mantissa, KV row exponent, norm gamma/beta, and the int32 residual domain that unit
# outputs and biases live in.
from ..quant.numerics import ACT_BITS as RESIDUAL_BITS  # noqa: E402
from ..quant.numerics import GAMMA_BITS, KV_EXP_BITS, SCALE_BITS  # noqa: E402
from ..quant.numerics import parse_sparsity, sparse_index_bits  # noqa: E402

BIAS_BITS = RESIDUAL_BITS   # biases are added in the int32 residual domain

PHASES = ("prefill", "decode")


@dataclass(frozen=True)
class Op:
    """One op of one decoder layer (or the embedding / LM head) in one phase, for the whole batch."""
    name: str          # workload op name, as Instr.layer_op ("wq", "attn", "ffn_down", ...)
    kind: str          # "gemv" | "norm" | "rope" | "kv_store" | "attn" | "act" | "add" | "embed"
    m: int             # tokens processed (batch x tokens per sequence)
    n: int = 0         # GEMV out-features / vector length
    k: int = 0         # GEMV in-features
    macs: int = 0
    weight_params: int = 0     # parameters read (routed experts only for MoE)
    weight_bytes: float = 0.0  # bytes read from off-chip at the chosen bit-width incl. scales/zero points
    act_bytes: float = 0.0     # activation bytes in + out
    kv_read_bytes: float = 0.0
    kv_write_bytes: float = 0.0
    sfu_elems: int = 0         # elements the special-function unit processes
    copies: float = 1.0        # how many such matrices are read (MoE: distinct experts touched)
    extra: dict = field(default_factory=dict, compare=False)


def weight_bytes(n_out: int, k_in: int, quant: Quant) -> float:
    """Bytes of one ``n_out x k_in`` weight matrix at ``quant`` incl. group scales / zero points.
    N:M sparse (``quant.sparsity``): N of every M weights, each with a ceil(log2 M)-bit index in its
    block (docs/NUMERICS.md, "N:M sparse weight stream"); scales and zero points as dense."""
    sp_n, sp_m = parse_sparsity(quant.sparsity)
    ib = sparse_index_bits(sp_m)
    stored = n_out * k_in * sp_n / sp_m
    if quant.wbits == 16:
        return stored * (16 + ib) / 8 + n_out * SCALE_BITS / 8   # int16, one scale per output channel
    groups = n_out * math.ceil(k_in / quant.group)
    meta_bits = SCALE_BITS + (quant.wbits if quant.zero_point else 0)
    return stored * (quant.wbits + ib) / 8 + groups * meta_bits / 8


def kv_bytes_per_token(cfg: ModelConfig, kvbits: int) -> float:
    """K and V of one token in one layer, with the per-token-per-head shift."""
    return 2 * cfg.n_kv_heads * (cfg.head_dim * kvbits + KV_EXP_BITS) / 8


def experts_touched(cfg: ModelConfig, tokens: int) -> float:
    """Expected distinct experts read when ``tokens`` tokens each route to top_k of n_experts
    (uniform routing): E * (1 - (1 - k/E)^tokens). 1 for dense models."""
    if not cfg.is_moe:
        return 1.0
    e, k = cfg.n_experts, cfg.top_k
    return e * (1.0 - (1.0 - k / e) ** tokens)


def _gemv(name, m, n, k, quant, copies=1.0, active=1.0, bias=False) -> Op:
    """``copies`` matrices read from memory; each token multiplies ``active`` of them."""
    wb = weight_bytes(n, k, quant) * copies + (n * BIAS_BITS / 8 * copies if bias else 0.0)
    return Op(name=name, kind="gemv", m=m, n=n, k=k, macs=int(round(m * n * k * active)),
              weight_params=int(round((n * k + (n if bias else 0)) * copies)), weight_bytes=wb,
              act_bytes=m * active * (k * quant.abits + n * RESIDUAL_BITS) / 8, copies=copies)


def _vec(name, kind, m, n, params=0, in_vectors=1) -> Op:
    return Op(name=name, kind=kind, m=m, n=n, weight_params=params, weight_bytes=params * GAMMA_BITS / 8,
              act_bytes=m * n * (in_vectors + 1) * RESIDUAL_BITS / 8, sfu_elems=m * n)


def layer_ops(cfg: ModelConfig, quant: Quant, phase: str, tokens: int, context: int,
              batch: int = 1) -> list[Op]:
    """Ops of one decoder layer.

    prefill: ``tokens`` = P prompt tokens per sequence, ``context`` = keys before the prompt (0 for a
    fresh prompt). decode: ``tokens`` = 1, ``context`` = keys attended including the new token.
    """
    if phase not in PHASES:
        raise CodesignError(f"got {phase!r}; allowed: {PHASES}", field="phase")
    if tokens < 1 or batch < 1 or context < (1 if phase == "decode" else 0):
        raise CodesignError(f"tokens {tokens}, batch {batch}, context {context} out of range", field="workload")
    d, hd, h, kvh = cfg.d_model, cfg.head_dim, cfg.n_heads, cfg.n_kv_heads
    m = batch * tokens
    norm_params = d * (2 if cfg.norm == "layer" else 1)   # gamma (+ beta for LayerNorm)
    ops: list[Op] = [_vec("attn_norm", "norm", m, d, norm_params)]
    ops += [_gemv("wq", m, h * hd, d, quant, bias=cfg.attn_bias),
            _gemv("wk", m, kvh * hd, d, quant, bias=cfg.attn_bias),
            _gemv("wv", m, kvh * hd, d, quant, bias=cfg.attn_bias)]
    if cfg.learned_pos == 0:
        ops.append(Op(name="rope", kind="rope", m=m, n=(h + kvh) * hd, sfu_elems=m * (h + kvh) * hd,
                      act_bytes=m * (h + kvh) * hd * 2 * RESIDUAL_BITS / 8))
    kv_tok = kv_bytes_per_token(cfg, quant.kvbits)
    ops.append(Op(name="kv_store", kind="kv_store", m=m, n=2 * kvh * hd, kv_write_bytes=m * kv_tok,
                  sfu_elems=m * 2 * kvh * hd))
    if phase == "decode":
        keys = context                                   # keys attended by the one new token
        kv_read = batch * context * kv_tok
    else:
        keys = context * tokens + tokens * (tokens + 1) / 2  # causal: sum over prompt positions
        kv_read = batch * (context + tokens) * kv_tok         # K/V streamed once per prefill
    keys_total = batch * keys
    ops.append(Op(name="attn", kind="attn", m=m, n=h * hd, macs=int(round(2 * h * hd * keys_total)),
                  kv_read_bytes=kv_read, sfu_elems=int(round(h * keys_total)),
                  act_bytes=m * 2 * h * hd * RESIDUAL_BITS / 8, extra={"keys": keys}))
    ops.append(_gemv("wo", m, d, h * hd, quant, bias=cfg.mlp_bias))
    ops.append(_vec("attn_residual", "add", m, d, in_vectors=2))
    ops.append(_vec("ffn_norm", "norm", m, d, norm_params))
    if cfg.is_moe:
        touched = experts_touched(cfg, m)
        if cfg.router == "attention":
            # Yuan2.0-M32 attention router (arXiv 2405.17976 Sec. 2.2): Q, K, V projections d -> E.
            ops.append(_gemv("router", m, 3 * cfg.n_experts, d, quant))
        else:
            ops.append(_gemv("router", m, cfg.n_experts, d, quant))
        ops += [_gemv("ffn_gate", m, cfg.d_ffn, d, quant, copies=touched, active=cfg.top_k),
                _gemv("ffn_up", m, cfg.d_ffn, d, quant, copies=touched, active=cfg.top_k),
                Op(name="ffn_act", kind="act", m=m, n=cfg.d_ffn * cfg.top_k,
                   sfu_elems=m * cfg.d_ffn * cfg.top_k,
                   act_bytes=m * cfg.d_ffn * cfg.top_k * 3 * RESIDUAL_BITS / 8),
                _gemv("ffn_down", m, d, cfg.d_ffn, quant, copies=touched, active=cfg.top_k)]
    elif cfg.ffn_kind == "swiglu":
        ops += [_gemv("ffn_gate", m, cfg.d_ffn, d, quant), _gemv("ffn_up", m, cfg.d_ffn, d, quant),
                _vec("ffn_act", "act", m, cfg.d_ffn, in_vectors=2),
                _gemv("ffn_down", m, d, cfg.d_ffn, quant)]
    else:
        ops += [_gemv("ffn_fc1", m, cfg.d_ffn, d, quant, bias=cfg.mlp_bias),
                _vec("ffn_act", "act", m, cfg.d_ffn),
                _gemv("ffn_fc2", m, d, cfg.d_ffn, quant, bias=cfg.mlp_bias)]
    ops.append(_vec("ffn_residual", "add", m, d, in_vectors=2))
    return ops


def head_ops(cfg: ModelConfig, quant: Quant, phase: str, tokens: int, batch: int = 1) -> list[Op]:
    """Ops outside the layers: embedding gather, final norm, LM head.

    The embedding table is read one row per token (a gather, stored at 16 bits). Prefill computes
    logits for the last prompt token only (what generation needs); decode for every new token."""
    d, m = cfg.d_model, batch * tokens
    emb_row = d * 2 + (d * 2 if cfg.learned_pos else 0)
    ops = [Op(name="x_in", kind="embed", m=m, n=d, weight_bytes=m * emb_row, act_bytes=m * d * RESIDUAL_BITS / 8),
           _vec("final_norm", "norm", batch, d, d * (2 if cfg.norm == "layer" else 1))]
    ops.append(_gemv("lm_head", batch, cfg.vocab, d, quant))
    return ops


def decode_weight_bytes(cfg: ModelConfig, quant: Quant, batch: int = 1) -> float:
    """Off-chip weight bytes read per decode step (all layers + final norm + LM head + embedding rows)."""
    layer = sum(o.weight_bytes for o in layer_ops(cfg, quant, "decode", 1, 1, batch))
    head = sum(o.weight_bytes for o in head_ops(cfg, quant, "decode", 1, batch))
    return cfg.n_layers * layer + head


def param_counts(cfg: ModelConfig) -> dict[str, int]:
    """Total and active (per token) parameters: layers x n_layers + embeddings (+ untied LM head)."""
    d, hd, h, kvh = cfg.d_model, cfg.head_dim, cfg.n_heads, cfg.n_kv_heads
    ab = 1 if cfg.attn_bias else 0
    mb = 1 if cfg.mlp_bias else 0
    attn = d * h * hd + 2 * d * kvh * hd + h * hd * d + ab * (h + 2 * kvh) * hd + mb * d
    norms = 2 * d * (2 if cfg.norm == "layer" else 1)
    if cfg.ffn_kind == "swiglu":
        expert = 3 * d * cfg.d_ffn
    else:
        expert = 2 * d * cfg.d_ffn + mb * (cfg.d_ffn + d)
    router = (3 if cfg.router == "attention" else 1) * d * cfg.n_experts if cfg.is_moe else 0
    layer_total = attn + norms + router + expert * cfg.n_experts
    layer_active = attn + norms + router + expert * cfg.top_k
    embed = cfg.vocab * d + cfg.learned_pos * d
    head = 0 if cfg.tied_embeddings else cfg.vocab * d
    final_norm = d * (2 if cfg.norm == "layer" else 1)
    outside = embed + head + final_norm
    return {"total": cfg.n_layers * layer_total + outside,
            "active": cfg.n_layers * layer_active + outside,
            "per_layer_total": layer_total, "per_layer_active": layer_active,
            "embedding": embed, "lm_head": head}
