"""The integer arithmetic of the LLM processor, bit for bit (docs/NUMERICS.md is its prose twin).

Every function here is the definition the HLS kernel (ap_int) and the RTL (Verilog) implement:
numpy int64, deterministic, vectorised over the leading axes. Float appears only where the
*compiler* prepares constants offline (weight quantization, tables, reciprocals); never in the
datapath. Names and constants are a contract: never rename, only add.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- constants
ACT_FRAC = 16            # fractional bits of every int32 activation (residual stream, unit outputs)
ACT_BITS = 32            # activations are int32, saturating
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
SCALE_BITS = 16          # weight group scale: unsigned mantissa bits (+ one per-tensor shift)
ZERO_BITS = 8            # zero points are stored as uint8 (value < 2^W); W = 16: uint16
KV_EXP_BITS = 8          # KV cache: one uint8 power-of-two exponent per (token, K/V head) row
GAMMA_BITS = 16          # RMSNorm gain: int16 with a per-tensor fractional shift (Instr.shift)
MEAN_FRAC = 32           # RMSNorm: mean of squares (and eps, Instr.imm) in Q.32
RECIP_N_FRAC = 32        # RMSNorm mean: Instr.mult = round(2^32 / n)
ISQRT_LUT_BITS = 6       # inverse-sqrt seed LUT: indexed by the top 6 bits of the normalised input
ISQRT_FRAC = 28          # inverse sqrt fixed point: m in [2^28, 2^30) represents [1, 4); y in Q.28
ISQRT_NEWTON = 2         # Newton-Raphson steps after the seed
ROPE_FRAC = 14           # RoPE cos/sin tables: int16 Q1.14
ATTN_SCALE_FRAC = 15     # ATTN: Instr.mult = round(2^15 / sqrt(head_dim))
LOG2E_FRAC = 15
LOG2E_Q = round(math.log2(math.e) * (1 << LOG2E_FRAC))   # 47274: log2(e) in Q1.15 (unsigned 16 bits)
EXP_LUT_BITS = 8         # softmax: 2^-f LUT indexed by the top 8 fractional bits of the exponent
EXP_FRAC = 15            # softmax exp values: unsigned Q0.15 (2^15 = 1.0)
SOFTMAX_RECIP_BITS = 47  # softmax: recip = floor(2^47 / sum) (one division per row)
PROB_FRAC = 15           # probabilities: unsigned Q0.15 (2^15 = 1.0), uint16
SIG_RANGE = 8            # SiLU: sigmoid table covers [-8, 8); outside it sigmoid := 0 or 1
SIG_STEP_BITS = 5        # table step 2^-5; 2*8*32 + 1 = 513 entries
SIG_FRAC = 16            # sigmoid table entries: unsigned Q0.16 (uint16; max entry 65514)
MAX_SHIFT = 63


# ----------------------------------------------------------------------------- tables
def exp2_table() -> np.ndarray:
    """EXP_LUT[i] = round(2^EXP_FRAC * 2^(-i / 2^EXP_LUT_BITS)), i < 256; uint16 (entry 0 = 32768)."""
    i = np.arange(1 << EXP_LUT_BITS, dtype=np.float64)
    return np.round(np.exp2(EXP_FRAC - i / (1 << EXP_LUT_BITS))).astype(np.int64)


def sigmoid_table() -> np.ndarray:
    """SIG_LUT[i] = round(2^16 * sigmoid(-8 + i / 32)), i in [0, 512]; uint16."""
    g = -SIG_RANGE + np.arange(2 * SIG_RANGE * (1 << SIG_STEP_BITS) + 1, dtype=np.float64) / (1 << SIG_STEP_BITS)
    return np.round((1 << SIG_FRAC) / (1.0 + np.exp(-g))).astype(np.int64)


def isqrt_seed_table() -> np.ndarray:
    """ISQRT_LUT[j] for the top-6-bit index idx = 16 + j in [16, 64) of m in [2^28, 2^30):
    round(2^28 / sqrt((idx + 0.5) / 16)) (the inverse sqrt at the middle of the bucket); 48 entries."""
    idx = np.arange(1 << (ISQRT_LUT_BITS - 2), 1 << ISQRT_LUT_BITS, dtype=np.float64)
    return np.round((1 << ISQRT_FRAC) / np.sqrt((idx + 0.5) / (1 << (ISQRT_LUT_BITS - 2)))).astype(np.int64)


def rope_table(positions: int, head_dim: int, theta: float) -> np.ndarray:
    """int16 [positions, head_dim // 2, 2] = (cos, sin) of pos * theta^(-2i/head_dim), Q1.14, round half even
    of the float64 value (abs error <= 2^-15 per entry). Rotate-half pairing: x[i] with x[i + head_dim/2]."""
    half = head_dim // 2
    inv = theta ** (-np.arange(half, dtype=np.float64) * 2.0 / head_dim)
    ang = np.arange(positions, dtype=np.float64)[:, None] * inv[None, :]
    tab = np.stack([np.cos(ang), np.sin(ang)], axis=-1)
    return np.round(tab * (1 << ROPE_FRAC)).astype(np.int16)


EXP_LUT = exp2_table()
SIG_LUT = sigmoid_table()
ISQRT_LUT = isqrt_seed_table()


# ----------------------------------------------------------------------------- basic integer ops
def sat32(v) -> np.ndarray:
    return np.clip(np.asarray(v, dtype=np.int64), I32_MIN, I32_MAX)


def shift_round_sat32(v, sh) -> np.ndarray:
    """y = sat32(v * 2^-sh) with round half up: sh > 0: (v + 2^(sh-1)) >> sh (arithmetic);
    sh <= 0: v << -sh, saturated (no wrap). ``sh`` broadcasts against ``v``; |sh| <= 63."""
    v = np.asarray(v, dtype=np.int64)
    sh = np.asarray(sh, dtype=np.int64)
    if sh.size and 0 < sh.min() and sh.max() <= MAX_SHIFT and np.broadcast_shapes(v.shape, sh.shape) == v.shape:
        # right shifts only (the common case): the ``right`` branch below without the broadcasts
        return np.clip((v + (np.int64(1) << (sh - 1))) >> sh, I32_MIN, I32_MAX)
    sh = np.broadcast_to(sh, v.shape)
    if np.any(np.abs(sh) > MAX_SHIFT):
        raise ValueError("shift out of range")
    pos = np.maximum(sh, 1)
    right = (v + (np.int64(1) << (pos - 1))) >> pos
    lsh = np.maximum(-sh, 0)
    lim = np.int64(I32_MAX) >> np.minimum(lsh, 62)
    left = np.where(v > lim, I32_MAX, np.where(v < -lim - 1, I32_MIN, v << np.minimum(lsh, 31)))
    return sat32(np.where(sh > 0, right, left))


def bitlen(v) -> np.ndarray:
    """Bit length of non-negative int64 values (0 -> 0); exact below 2^53, and for all the
    int32-range values it is used on."""
    v = np.asarray(v, dtype=np.int64)
    if np.any(v < 0):
        raise ValueError("bitlen of a negative value")
    _, e = np.frexp(v.astype(np.float64))
    e = e.astype(np.int64)
    # frexp of a huge int rounded up to a power of two: correct by one where needed
    big = v >= (1 << 53)
    if np.any(big):
        e = np.where(big & ((np.int64(1) << np.minimum(e - 1, 62)) > v), e - 1, e)
    return e


def round_half_away_shift(x, e) -> np.ndarray:
    """round_half_away(x / 2^e) for e >= 0: sign(x) * ((|x| + 2^(e-1)) >> e); e = 0: x."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(e, dtype=np.int64)
    half = np.where(e > 0, np.int64(1) << np.maximum(e - 1, 0), 0)
    mag = (np.abs(x) + half) >> e
    return np.where(x < 0, -mag, mag)


# ----------------------------------------------------------------------------- quantizers
def quantize_pow2(x, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (last axis) dynamic power-of-two quantizer of int32 ``x``.

    e = smallest e >= 0 with max|x| >> e <= 2^(bits-1) - 1, i.e. max(0, bitlen(max|x|) - (bits-1));
    q = clamp(round_half_away(x / 2^e), +-(2^(bits-1) - 1)). Returns (q int64 [..., n], e int64 [...]).
    The value represented is q << e (ACT_FRAC fractional bits). Used for activations (per token,
    ABITS), Q heads (per token-head, ABITS) and the KV cache (per token-head, KVBITS)."""
    x = np.asarray(x, dtype=np.int64)
    qmax = (1 << (bits - 1)) - 1
    amax = np.abs(x).max(axis=-1)
    e = np.maximum(bitlen(amax) - (bits - 1), 0)
    q = np.clip(round_half_away_shift(x, e[..., None]), -qmax, qmax)
    return q, e


def dequantize_pow2(q, e) -> np.ndarray:
    """int32-range fixed-point values q << e."""
    return np.asarray(q, dtype=np.int64) << np.asarray(e, dtype=np.int64)[..., None]


def quantize_activation(x, abits: int, group: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-token INT-``abits`` activations of int32 ``x`` [..., n] with one power-of-two exponent per
    block of ``group`` consecutive elements (the weight group: the MPE applies it where it applies the
    group's weight scale). Returns (q [..., n], e [..., ceil(n / group)]); the last block may be
    shorter (zero padding changes no maximum). A shared exponent per block is OCP Microscaling's
    MXINT8 idea (OCP MX Formats Specification v1.0, 2023, Sec. 5: 32-element blocks, 8-bit shared
    exponent); one exponent per token cost SmolLM2-135M +1.6% perplexity at W8A8KV8 g128, one per
    block +0.5% (docs/ACCURACY.md)."""
    x = np.asarray(x, dtype=np.int64)
    n = x.shape[-1]
    blocks = -(-n // group)
    pad = blocks * group - n
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, pad)]) if pad else x
    q, e = quantize_pow2(xp.reshape(*x.shape[:-1], blocks, group), abits)
    return q.reshape(*x.shape[:-1], blocks * group)[..., :n], e


def dequantize_activation(q, e, group: int) -> np.ndarray:
    """int32-range fixed-point values of block-quantized activations (inverse of quantize_activation)."""
    q = np.asarray(q, dtype=np.int64)
    e = np.repeat(np.asarray(e, dtype=np.int64), group, axis=-1)[..., :q.shape[-1]]
    return q << e


def quantize_kv(x, kvbits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-(token, head) INT-``kvbits`` K or V of int32 ``x`` [..., head_dim]: (q, e)."""
    return quantize_pow2(x, kvbits)


def to_fixed(x, frac: int = ACT_FRAC) -> np.ndarray:
    """float -> int32 fixed point, round half away from zero, saturated."""
    xd = np.asarray(x, dtype=np.float64) * float(1 << frac)
    return sat32(np.sign(xd) * np.floor(np.abs(xd) + 0.5))


def from_fixed(x, frac: int = ACT_FRAC) -> np.ndarray:
    return np.asarray(x, dtype=np.float64) / float(1 << frac)


@dataclass(frozen=True)
class WeightQ:
    """A group-wise quantized [out, in] weight matrix (integers only; what the hardware stores).

    q     int64 [out, groups*group]: symmetric: signed in +-(2^(W-1)-1); zero_point: unsigned [0, 2^W-1].
          Columns >= in_features are padding (q = zero, so w - z = 0).
    zero  int64 [out, groups] (all 0 when symmetric)
    mant  int64 [out, groups]: unsigned SCALE_BITS-bit mantissas, >= 1
    shift per-tensor shift: weight value = (q - zero) * mant * 2^-shift
    """
    q: np.ndarray
    zero: np.ndarray
    mant: np.ndarray
    shift: int
    bits: int
    group: int
    zero_point: bool
    in_features: int
    sparsity: str = "dense"   # "N:M": at most N of every M consecutive inputs have q != zero (prune_nm)

    @property
    def out_features(self) -> int:
        return int(self.q.shape[0])

    @property
    def groups(self) -> int:
        return int(self.mant.shape[1])

    @functools.cached_property
    def blas_matrix(self) -> tuple[np.ndarray, float]:
        """(float64 [out, groups*group] of (q - zero) * mant, max over rows of its absolute row sum):
        the integers ``gemv_q``'s one-GEMM path multiplies (exact: |(q - zero) * mant| < 2^33).
        Cached on the instance: a WeightQ is never changed in place (frozen; ``dataclasses.replace``
        makes a new one without the cache)."""
        d = (self.q.reshape(self.out_features, self.groups, self.group) - self.zero[..., None]) * self.mant[..., None]
        d = d.reshape(self.out_features, -1)
        return d.astype(np.float64), float(np.abs(d).sum(axis=1).max(initial=0))


def parse_sparsity(sparsity: str) -> tuple[int, int]:
    """(N, M) of an N:M sparsity name ("2:4" -> (2, 4)); "dense" is (1, 1): every input kept."""
    if sparsity == "dense":
        return 1, 1
    try:
        n_s, m_s = str(sparsity).split(":")
        n, m = int(n_s), int(m_s)
    except ValueError:
        raise ValueError(f"sparsity {sparsity!r}: expected 'dense' or 'N:M'") from None
    if not 1 <= n < m:
        raise ValueError(f"sparsity {sparsity!r}: needs 1 <= N < M")
    return n, m


def sparse_index_bits(m: int) -> int:
    """Bits of one kept weight's index inside its block of M inputs: ceil(log2 M) (0 when dense)."""
    return (int(m) - 1).bit_length()


def prune_nm(w, n: int, m: int) -> np.ndarray:
    """N:M magnitude pruning along the input dimension (offline, before group quantization).

    In every block of M consecutive inputs of a row (block b = inputs [b*M, (b+1)*M); a last
    partial block is zero-padded for the choice) the N inputs of largest |w| are kept and the
    others set to 0. Ties: the lower input index is kept (a stable sort on -|w|). n = m: unchanged."""
    w = np.asarray(w, dtype=np.float64)
    if n >= m:
        return w.copy()
    out_f, in_f = w.shape
    blocks = -(-in_f // m)
    wp = np.pad(w, ((0, 0), (0, blocks * m - in_f))).reshape(out_f, blocks, m)
    order = np.argsort(-np.abs(wp), axis=-1, kind="stable")      # largest |w| first, ties: lower index
    keep = np.zeros(wp.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :n], True, axis=-1)
    return np.where(keep, wp, 0.0).reshape(out_f, blocks * m)[:, :in_f]


def weight_scale_shift(ideal_max: float) -> int:
    """Per-tensor shift so the largest group scale uses the full SCALE_BITS mantissa."""
    return int(math.floor(math.log2(((1 << SCALE_BITS) - 1) / ideal_max)))


def _ideal_scales(g: np.ndarray, bits: int, zero_point: bool):
    if zero_point:
        lo = np.minimum(g.min(-1), 0.0)
        hi = np.maximum(g.max(-1), 0.0)
        return (hi - lo) / ((1 << bits) - 1), lo
    return np.abs(g).max(-1) / ((1 << (bits - 1)) - 1), None


def quantize_weight_groups(w, bits: int, group: int, zero_point: bool = False,
                           shift: int | None = None, sparsity: str = "dense") -> WeightQ:
    """Offline (compiler) quantization of float ``w`` [out, in], groups of ``group`` along ``in``.

    bits in {2, 3, 4, 8}: group-wise; bits = 16: int16 per output channel (one scale per row, stored
    replicated in every group slot so the MPE datapath is the same). The last group may be shorter
    (zero-padded: padding changes no scale). ``shift`` forces the per-tensor shift (MoE experts share one).
    ``sparsity`` "N:M": ``prune_nm`` first, then the scales and values of the pruned matrix (a pruned
    weight is 0, i.e. q = zero exactly). Dense: value-identical to
    codesign.quant.llm.fake_quant.quantize_weight (round half to even)."""
    w = np.asarray(w, dtype=np.float64)
    sp_n, sp_m = parse_sparsity(sparsity)
    if sp_n < sp_m:
        if group % sp_m:
            raise ValueError(f"sparsity {sparsity}: M = {sp_m} must divide group = {group}")
        w = prune_nm(w, sp_n, sp_m)
    out_f, in_f = w.shape
    groups = -(-in_f // group)
    pad = groups * group - in_f
    wp = np.pad(w, ((0, 0), (0, pad)))
    g = wp.reshape(out_f, groups, group)
    if bits == 16:
        ideal, lo = _ideal_scales(wp, bits, zero_point)
        ideal = np.repeat(ideal[:, None], groups, axis=1)
        lo = None if lo is None else np.repeat(lo[:, None], groups, axis=1)
    else:
        ideal, lo = _ideal_scales(g, bits, zero_point)
    top = float(ideal.max()) if ideal.size else 0.0
    if shift is None:
        shift = weight_scale_shift(top) if top > 0 else 0
    mant = np.clip(np.round(ideal * 2.0 ** shift), 1, (1 << SCALE_BITS) - 1).astype(np.int64)
    scale = mant * 2.0 ** -shift
    if zero_point:
        qmax = (1 << bits) - 1
        z = np.clip(np.round(-lo / scale), 0, qmax).astype(np.int64)
        q = np.clip(np.round(g / scale[..., None]) + z[..., None], 0, qmax).astype(np.int64)
        q = q.reshape(out_f, groups * group)
        if pad:   # padding columns hold the zero point: w - z = 0
            q[:, in_f:] = z[:, -1:]
    else:
        qmax = (1 << (bits - 1)) - 1
        z = np.zeros((out_f, groups), dtype=np.int64)
        q = np.clip(np.round(g / scale[..., None]), -qmax, qmax).astype(np.int64).reshape(out_f, groups * group)
        q[:, in_f:] = 0
    return WeightQ(q=q, zero=z, mant=mant, shift=int(shift), bits=bits, group=group,
                   zero_point=zero_point, in_features=in_f, sparsity=sparsity)


def dequantize_weight_groups(wq: WeightQ) -> np.ndarray:
    """float64 [out, in]: (q - zero) * mant * 2^-shift."""
    out_f = wq.out_features
    d = (wq.q.reshape(out_f, wq.groups, wq.group) - wq.zero[..., None]) * wq.mant[..., None]
    return (d.reshape(out_f, -1)[:, :wq.in_features] * 2.0 ** -wq.shift)


# ----------------------------------------------------------------------------- GEMV (MPE)
def gemv(wq: WeightQ, x, abits: int) -> np.ndarray:
    """int32 y [m, out] = W x for int32 activations x [m, in] (ACT_FRAC).

    1. per token and block of ``wq.group`` inputs: (x_q, e_g) = quantize_activation(x, abits, wq.group)
       (zero-padded to groups*group columns);
    2. per group: acc_g = sum (q - zero) * x_q, exact (|acc_g| < 2^(W+1+A-1+log2(group)), <= 2^41 for W16A16);
    3. per token: e0 = min_g e_g; total = sum_g (acc_g * mant_g) << (e_g - e0) in int64 (wraps modulo
       2^64; no wrap while W+1+A+SCALE_BITS+log2(in)+max(e_g - e0) <= 63);
    4. y = shift_round_sat32(total, shift - e0) (round half up / saturating left shift)."""
    x = np.asarray(x, dtype=np.int64)
    xq, e = quantize_activation(x, abits, wq.group)
    return gemv_q(wq, xq, e)


def gemv_q(wq: WeightQ, xq, e) -> np.ndarray:
    """GEMV on already-quantized activations: x_q [m, in]; e [m, groups] (one exponent per token and
    weight group) or [m] (one per token, i.e. the same for every group)."""
    xq = np.asarray(xq, dtype=np.int64)
    m = xq.shape[0]
    e = np.asarray(e, dtype=np.int64)
    if e.ndim == 1:
        e = np.repeat(e[:, None], wq.groups, axis=1)
    if e.shape != (m, wq.groups):
        raise ValueError(f"activation exponents: shape {e.shape}, expected ({m}, {wq.groups})")
    xp = np.zeros((m, wq.groups * wq.group), dtype=np.int64)
    xp[:, :xq.shape[1]] = xq
    e0 = e.min(axis=1)                                                                     # [m]
    total = np.empty((m, wq.out_features), dtype=np.int64)
    exact = _gemv_blas_rows(wq, xp, e, e0, total)
    if not exact.all():
        rest = ~exact
        total[rest] = _gemv_total_int(wq, xp[rest], e[rest], e0[rest])
    return shift_round_sat32(total, wq.shift - e0[:, None])


def _gemv_blas_rows(wq: WeightQ, xp, e, e0, total) -> np.ndarray:
    """The GEMV's int64 totals as one float64 GEMM, for the tokens where that is exact; returns the
    mask of those tokens (their rows of ``total`` written).

    total[t, o] = sum_g acc_g * mant_g << (e_g - e0) = sum_k X[t, k] W[o, k] with the integers
    W[o, k] = (q - zero) * mant of k's group and X[t, k] = x_q << (e_g - e0). Every partial sum
    (in whatever order BLAS adds) is bounded by sum_k |X[t, k]| |W[o, k]| <= max_k |X[t, k]| *
    max_o sum_k |W[o, k]|; below 2^52 every product and partial sum is an integer float64 holds
    exactly, so the result equals the int64 contract bit for bit (no int64 wrap either: the bound
    is below 2^63). Tokens above it (a block exponent far above the token's smallest) take
    ``_gemv_total_int``."""
    w, wl1 = wq.blas_matrix
    de = e - e0[:, None]                                                                   # [m, G] >= 0
    xg = xp.reshape(xp.shape[0], wq.groups, wq.group)
    xmax = np.abs(xg).max(axis=-1, initial=0)                                              # [m, G]
    # max_k |X[t, k]| = max_g max|x_q| * 2^(e_g - e0), exact in float64; the bound's float rounding is
    # covered by testing against 2^52, half of float64's exact-integer range
    ok = (xmax.astype(np.float64) * np.exp2(de)).max(axis=1, initial=0.0) * wl1 < 2.0 ** 52
    if ok.any():
        rows = np.flatnonzero(ok)
        xs = (xg[rows] << de[rows][..., None]).reshape(len(rows), -1).astype(np.float64)
        total[rows] = (xs @ w.T).astype(np.int64)
    return ok


def _gemv_total_int(wq: WeightQ, xp, e, e0) -> np.ndarray:
    """The GEMV's int64 totals by the contract's steps: per-group sums (float64 BLAS where
    max|q - zero| * max|x_q| * group < 2^53, else int64 einsum), then acc_g * mant_g << (e_g - e0)
    summed in int64 (wrapping modulo 2^64 as the contract states)."""
    m = xp.shape[0]
    d = (wq.q.reshape(wq.out_features, wq.groups, wq.group) - wq.zero[..., None])          # [out, G, g]
    xg = xp.reshape(m, wq.groups, wq.group)
    bound = int(np.abs(d).max(initial=0)) * int(np.abs(xg).max(initial=0)) * wq.group
    if bound < (1 << 53):
        # every product and partial sum is an integer below 2^53: float64 BLAS is exact (and fast)
        accf = np.matmul(xg.transpose(1, 0, 2).astype(np.float64), d.transpose(1, 2, 0).astype(np.float64))
        acc = accf.transpose(1, 2, 0).astype(np.int64)                                     # [m, out, G]
    else:
        acc = np.einsum("ogk,mgk->mog", d, xg, optimize=False)
    with np.errstate(over="ignore"):
        return ((acc * wq.mant[None]) << (e - e0[:, None])[:, None, :]).sum(axis=-1, dtype=np.int64)


# ----------------------------------------------------------------------------- RMSNorm
def recip_n(n: int) -> int:
    """Instr.mult of NORM: round(2^32 / n), n >= 2 (fits 32 unsigned bits)."""
    if n < 2:
        raise ValueError("NORM needs n >= 2")
    return int(round((1 << RECIP_N_FRAC) / n))


def eps_fixed(eps: float) -> int:
    """Instr.imm of NORM: eps in MEAN_FRAC (Q.32) fixed point (round half even; eps < 0.5)."""
    return int(round(eps * (1 << MEAN_FRAC)))


def isqrt_norm(v) -> tuple[np.ndarray, np.ndarray]:
    """Integer inverse square root of v >= 1 (int64, MEAN_FRAC fractional bits: v means v * 2^-32).

    Normalise by an even shift: j = ceil((bitlen(v) - 30) / 2), m = v >> 2j (or << -2j), so
    m in [2^28, 2^30) means m * 2^-28 in [1, 4). Seed y = ISQRT_LUT[(m >> 24) - 16]; then
    ISQRT_NEWTON steps y = (y * ((3 << 28) - ((m * ((y * y) >> 28)) >> 28))) >> 29 (floors).
    Returns (y, s): 1/sqrt(v * 2^-32) = y * 2^-(28 + s) with s = j - 2 (relative error < 2^-20)."""
    v = np.asarray(v, dtype=np.int64)
    if np.any(v < 1):
        raise ValueError("isqrt of a value < 1")
    b = bitlen(v)
    j = -((30 - b) // 2)                    # ceil((b - 30) / 2)
    m = np.where(j >= 0, v >> np.maximum(2 * j, 0), v << np.maximum(-2 * j, 0))
    y = ISQRT_LUT[(m >> (ISQRT_FRAC + 2 - ISQRT_LUT_BITS)) - (1 << (ISQRT_LUT_BITS - 2))]
    three = np.int64(3) << ISQRT_FRAC
    for _ in range(ISQRT_NEWTON):
        y2 = (y * y) >> ISQRT_FRAC
        my = (m * y2) >> ISQRT_FRAC
        y = (y * (three - my)) >> (ISQRT_FRAC + 1)
    return y, j + (ISQRT_FRAC - MEAN_FRAC) // 2


def sum_squares(x) -> list[int]:
    """Exact sum of x*x per row of int32 x [m, n] (Q.32; < 2^(62 + log2 n), an 80-bit accumulator in
    hardware). Computed exactly from 16-bit halves x = xh*2^16 + xl (each partial sum fits int64)."""
    x = np.asarray(x, dtype=np.int64)
    xh, xl = x >> 16, x & 0xFFFF
    a = (xh * xh).sum(axis=-1)
    b = (2 * xh * xl).sum(axis=-1)
    c = (xl * xl).sum(axis=-1)
    return [(int(ai) << 32) + (int(bi) << 16) + int(ci) for ai, bi, ci in zip(a.reshape(-1), b.reshape(-1), c.reshape(-1))]


def rmsnorm(x, gamma_q, gamma_shift: int, mult: int, eps_q: int) -> np.ndarray:
    """int32 RMSNorm of x [m, n] with int16 gamma [n] (gamma = gamma_q * 2^-gamma_shift).

    ss = sum x*x exactly (Q.32); mean = (ss * mult) >> 32 (Q.32, <= 2^62); v = max(mean + eps_q, 1);
    (y, s) = isqrt_norm(v); t = shift_round_sat32(x * y, 28 + s) (|t| <= sqrt(n)*2^16);
    out = shift_round_sat32(t * gamma_q, gamma_shift)."""
    x = np.asarray(x, dtype=np.int64)
    lead = x.shape[:-1]
    mean = np.array([(ss * int(mult)) >> RECIP_N_FRAC for ss in sum_squares(x)], dtype=np.int64).reshape(lead)
    v = np.maximum(mean + np.int64(eps_q), 1)
    y, s = isqrt_norm(v)
    t = shift_round_sat32(x * y[..., None], (ISQRT_FRAC + s)[..., None])
    return shift_round_sat32(t * np.asarray(gamma_q, dtype=np.int64), gamma_shift)


def quantize_gamma(gamma) -> tuple[np.ndarray, int]:
    """float gain -> (int16 gamma_q, gamma_shift): the largest shift <= 15 with max|gamma_q| <= 32767."""
    g = np.asarray(gamma, dtype=np.float64)
    top = float(np.abs(g).max()) if g.size else 0.0
    sh = 15 if top == 0 else min(15, int(math.floor(math.log2(32767.0 / top))))
    return np.clip(np.round(g * 2.0 ** sh), -32768, 32767).astype(np.int64), sh


# ----------------------------------------------------------------------------- RoPE
def rope(x, table, positions) -> np.ndarray:
    """Rotate int32 x [m, heads, head_dim] in rotate-half pairs (x0 = x[i], x1 = x[i + hd/2]) by the int16
    table rows ``table[positions[t]]`` ([positions, hd/2, 2] = cos, sin Q1.14):
    y0 = sat32((x0*c - x1*s + 2^13) >> 14), y1 = sat32((x0*s + x1*c + 2^13) >> 14)."""
    x = np.asarray(x, dtype=np.int64)
    half = x.shape[-1] // 2
    tab = np.asarray(table, dtype=np.int64)[np.asarray(positions)]       # [m, half, 2]
    c, s = tab[:, None, :, 0], tab[:, None, :, 1]
    x0, x1 = x[..., :half], x[..., half:]
    y0 = shift_round_sat32(x0 * c - x1 * s, ROPE_FRAC)
    y1 = shift_round_sat32(x0 * s + x1 * c, ROPE_FRAC)
    return np.concatenate([y0, y1], axis=-1)


# ----------------------------------------------------------------------------- softmax
def softmax_int(scores, valid=None) -> np.ndarray:
    """Integer softmax over the last axis of int32 scores (ACT_FRAC): uint16 probabilities Q0.15.

    mx = max over valid entries; u = -(((s - mx) * LOG2E_Q) >> 15) >= 0 (base-2 exponent, Q.16, floor);
    ev = EXP_LUT[(u & 0xFFFF) >> 8] >> min(u >> 16, 31) (0 where not valid); sum = sum ev (>= 2^15);
    recip = floor(2^47 / sum) (one sequential division per row); p = (ev * recip + 2^31) >> 32."""
    s = np.asarray(scores, dtype=np.int64)
    valid = np.ones(s.shape, dtype=bool) if valid is None else np.broadcast_to(valid, s.shape)
    mx = np.where(valid, s, np.iinfo(np.int64).min).max(axis=-1, keepdims=True)
    d = np.where(valid, s - mx, 0)
    u = -((d * LOG2E_Q) >> LOG2E_FRAC)
    ip = np.minimum(u >> ACT_FRAC, 31)
    idx = (u & ((1 << ACT_FRAC) - 1)) >> (ACT_FRAC - EXP_LUT_BITS)
    ev = np.where(valid, EXP_LUT[idx] >> ip, 0)
    total = ev.sum(axis=-1, keepdims=True)
    recip = (np.int64(1) << SOFTMAX_RECIP_BITS) // np.maximum(total, 1)
    sh = SOFTMAX_RECIP_BITS - PROB_FRAC
    return (ev * recip + (np.int64(1) << (sh - 1))) >> sh


# ----------------------------------------------------------------------------- attention
def _matmul_exact(a, b) -> np.ndarray:
    """int64 a @ b through float64 BLAS; the caller has bounded every partial sum below 2^53."""
    return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)


def attn_scale(head_dim: int) -> int:
    """Instr.mult of ATTN: round(2^15 / sqrt(head_dim))."""
    return int(round((1 << ATTN_SCALE_FRAC) / math.sqrt(head_dim)))


def attention(q, k_q, k_e, v_q, v_e, n_valid, abits: int, mult: int) -> np.ndarray:
    """Causal GQA attention of int32 queries q [m, heads, hd] over a quantized cache
    k_q/v_q [kv_heads, T, hd], k_e/v_e [kv_heads, T]; token t attends keys [0, n_valid[t]).

    q_q, e_q = quantize_pow2(q per (token, head), abits); dot = sum q_q * k_q (int64, < 2^39 for A,KV<=16,
    hd<=256); score = shift_round_sat32(dot * mult, 31 - e_q - e_k) (ACT_FRAC + 15 = 31);
    p = softmax_int(score over valid keys); acc = sum p * (v_q << e_v) (int64);
    out = shift_round_sat32(acc, PROB_FRAC). Query head h reads kv head h // (heads // kv_heads)."""
    q = np.asarray(q, dtype=np.int64)
    m, heads, hd = q.shape
    kvh, T = np.asarray(k_e).shape
    rep = heads // kvh
    qq, eq = quantize_pow2(q, abits)                                    # [m, H, hd], [m, H]
    kv_of = np.arange(heads) // rep
    kq = np.asarray(k_q, dtype=np.int64)[kv_of]                         # [H, T, hd]
    ke = np.asarray(k_e, dtype=np.int64)[kv_of]                         # [H, T]
    # float64 BLAS is exact where every partial sum is an integer below 2^53 (bounds below); else int64
    if int(np.abs(qq).max(initial=0)) * int(np.abs(kq).max(initial=0)) * hd < (1 << 53):
        dot = _matmul_exact(qq.transpose(1, 0, 2), kq.transpose(0, 2, 1)).transpose(1, 0, 2)
    else:
        dot = np.einsum("mhd,htd->mht", qq, kq)
    score = shift_round_sat32(dot * np.int64(mult), (ACT_FRAC + ATTN_SCALE_FRAC) - eq[..., None] - ke[None])
    valid = np.arange(T)[None, None, :] < np.asarray(n_valid)[:, None, None]
    p = softmax_int(score, valid)                                       # [m, H, T]
    v = dequantize_pow2(np.asarray(v_q, dtype=np.int64), np.asarray(v_e))[kv_of]   # [H, T, hd]
    if int(p.sum(axis=-1).max(initial=0)) * int(np.abs(v).max(initial=0)) < (1 << 53):   # p >= 0
        acc = _matmul_exact(p.transpose(1, 0, 2), v).transpose(1, 0, 2)
    else:
        acc = np.einsum("mht,htd->mhd", p, v)
    return shift_round_sat32(acc, PROB_FRAC)


# ----------------------------------------------------------------------------- SiLU / SwiGLU / ADD
def sigmoid_fixed(g) -> np.ndarray:
    """sigmoid of int32 g (ACT_FRAC) in Q0.16: SIG_LUT with linear interpolation on [-8, 8),
    0 below, 2^16 at and above 8. off = g + 8*2^16; i = off >> 11; f = off & 2047;
    s = L[i] + (((L[i+1] - L[i]) * f + 1024) >> 11)."""
    g = np.asarray(g, dtype=np.int64)
    lo, hi = -(SIG_RANGE << ACT_FRAC), SIG_RANGE << ACT_FRAC
    off = np.clip(g, lo, hi - 1) - lo
    fb = ACT_FRAC - SIG_STEP_BITS
    i = off >> fb
    f = off & ((1 << fb) - 1)
    s = SIG_LUT[i] + (((SIG_LUT[i + 1] - SIG_LUT[i]) * f + (1 << (fb - 1))) >> fb)
    return np.where(g >= hi, 1 << SIG_FRAC, np.where(g < lo, 0, s))


def silu(g) -> np.ndarray:
    """silu(g) = sat32((g * sigmoid_fixed(g) + 2^15) >> 16), int32 ACT_FRAC."""
    g = np.asarray(g, dtype=np.int64)
    return shift_round_sat32(g * sigmoid_fixed(g), SIG_FRAC)


def swiglu(gate, up) -> np.ndarray:
    """ACT func SWIGLU: sat32((silu(gate) * up + 2^15) >> 16)."""
    return shift_round_sat32(silu(gate) * np.asarray(up, dtype=np.int64), ACT_FRAC)


def add_sat(a, b) -> np.ndarray:
    """ADD: sat32(a + b)."""
    return sat32(np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64))


def add_weighted(a, b, w) -> np.ndarray:
    """ADD with a MoE slot: sat32(a + shift_round_sat32(b * w, PROB_FRAC)), w the token's Q0.15 routing weight."""
    b = shift_round_sat32(np.asarray(b, dtype=np.int64) * np.asarray(w, dtype=np.int64), PROB_FRAC)
    return add_sat(a, b)


def route_topk(logits, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """MoE routing of int32 router logits [m, E]: the top_k experts by logit (ties: lower index first),
    weights = softmax_int over the selected logits (Q0.15). Returns (experts [m, k], weights [m, k])."""
    lg = np.asarray(logits, dtype=np.int64)
    order = np.lexsort((np.broadcast_to(np.arange(lg.shape[-1]), lg.shape), -lg), axis=-1)[..., :top_k]
    sel = np.take_along_axis(lg, order, axis=-1)
    return order, softmax_int(sel)
