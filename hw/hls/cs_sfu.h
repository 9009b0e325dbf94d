// cs_sfu.h -- the special-function unit: RMSNorm, RoPE, KV quantizer/store, attention with the
// integer softmax, SwiGLU, residual add. Each function is the golden model's function of the same
// name in codesign/quant/numerics.py, bit for bit; LUT contents are generated from that module
// into codesign_config.h. Element loops are pipelined (II=1) with SFU_LANES lanes unrolled; the
// multi-pass ops (norm, quantizer, softmax) keep only scalars between passes and re-read their
// input, as the RTL blocks do. Memory layouts (gamma, RoPE table, KV cache) follow docs/ISA.md
// through the address helpers in cs_layout.h.
#ifndef CS_SFU_H
#define CS_SFU_H

#include <ap_int.h>
#include <stdint.h>

#include "codesign_config.h"
#include "cs_layout.h"
#include "cs_mem.h"
#include "cs_ops.h"

namespace cs {
namespace sfu {

static const int L = cfg::SFU_LANES;

// ADD: numerics.add_sat.
inline void add(act_t abuf[], int src, int src2, int dst, int n) {
    for (int i0 = 0; i0 < n; i0 += L) {
#pragma HLS PIPELINE II=1
        CS_BEAT();
        for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
            const int i = i0 + l;
            if (i < n) abuf[dst + i] = (int32_t)sat32((int64_t)abuf[src + i] + (int64_t)abuf[src2 + i]);
        }
    }
}

// numerics.sigmoid_fixed: SIG_LUT with linear interpolation on [-SIG_RANGE, SIG_RANGE), Q0.SIG_FRAC.
inline int64_t sigmoid_fixed(int64_t g) {
    const int64_t lo = -((int64_t)cfg::SIG_RANGE << cfg::ACT_FRAC), hi = (int64_t)cfg::SIG_RANGE << cfg::ACT_FRAC;
    if (g >= hi) return (int64_t)1 << cfg::SIG_FRAC;
    if (g < lo) return 0;
    const int fb = cfg::ACT_FRAC - cfg::SIG_STEP_BITS;
    const int64_t off = g - lo;
    const int i = (int)(off >> fb);
    const int64_t f = off & (((int64_t)1 << fb) - 1);
    const int64_t a = cfg::SIG_LUT[i], b = cfg::SIG_LUT[i + 1];
    return a + (((b - a) * f + ((int64_t)1 << (fb - 1))) >> fb);
}

// ACT func SWIGLU: numerics.swiglu(gate, up) = sat32(rnd(silu(gate) * up >> ACT_FRAC)).
inline void act(act_t abuf[], int src, int src2, int dst, int n) {
    for (int i0 = 0; i0 < n; i0 += L) {
#pragma HLS PIPELINE II=1
        CS_BEAT();
        for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
            const int i = i0 + l;
            if (i < n) {
                const int64_t g = (int32_t)abuf[src + i];
                const int64_t s = shift_round_sat32(g * sigmoid_fixed(g), cfg::SIG_FRAC);
                abuf[dst + i] = (int32_t)shift_round_sat32(s * (int64_t)(int32_t)abuf[src2 + i], cfg::ACT_FRAC);
            }
        }
    }
}

// numerics.isqrt_norm: v >= 1 (Q.MEAN_FRAC) -> (y, s) with 1/sqrt(v * 2^-MEAN_FRAC) = y * 2^-(ISQRT_FRAC + s).
inline void isqrt_norm(int64_t v, int64_t& y, int& s) {
    const int b = bitlen((uint64_t)v);
    const int d = 30 - b;
    // j = ceil((b - 30) / 2) = -floor((30 - b) / 2)
    const int j = -(d >= 0 ? d / 2 : -((-d + 1) / 2));
    const int64_t m = j >= 0 ? (v >> (2 * j)) : (v << (-2 * j));
    y = cfg::ISQRT_LUT[(int)(m >> (cfg::ISQRT_FRAC + 2 - cfg::ISQRT_LUT_BITS)) - (1 << (cfg::ISQRT_LUT_BITS - 2))];
    const int64_t three = (int64_t)3 << cfg::ISQRT_FRAC;
    for (int it = 0; it < cfg::ISQRT_NEWTON; ++it) {
        const int64_t y2 = (y * y) >> cfg::ISQRT_FRAC;
        const int64_t my = (m * y2) >> cfg::ISQRT_FRAC;
        y = (y * (three - my)) >> (cfg::ISQRT_FRAC + 1);
    }
    s = j + (cfg::ISQRT_FRAC - cfg::MEAN_FRAC) / 2;
}

// NORM func RMS: numerics.rmsnorm(x, gamma_q, gamma_shift = ins.shift, mult = ins.mult, eps_q = ins.imm).
// Pass 1: ss = sum x*x exactly (80-bit accumulator, Q.32); mean = (ss * mult) >> 32; one inverse sqrt.
// Pass 2: y = shift_round_sat32(shift_round_sat32(x * y, 28 + s) * gamma, gamma_shift).
inline void rmsnorm(act_t abuf[], const word_t* gmem_io, uint64_t gamma_addr, int src, int dst, int m, int n,
                    int gamma_shift, uint32_t mult, int32_t eps_q) {
    for (int t = 0; t < m; ++t) {
        ap_uint<80> ss = 0;
        for (int i0 = 0; i0 < n; i0 += L) {  // pass 1
#pragma HLS PIPELINE II=1
            CS_BEAT();
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int i = i0 + l;
                if (i < n) {
                    const int64_t x = (int32_t)abuf[src + t * n + i];
                    ss += (ap_uint<80>)(uint64_t)(x * x);
                }
            }
        }
        const ap_uint<112> prod = (ap_uint<112>)ss * (ap_uint<112>)mult;
        const int64_t mean = (int64_t)(uint64_t)(prod >> cfg::RECIP_N_FRAC);
        int64_t v = mean + (int64_t)eps_q;
        if (v < 1) v = 1;
        int64_t y;
        int s;
        isqrt_norm(v, y, s);
        BitReader<cfg::PORT_BITS> gr(gmem_io, gamma_addr);
        for (int i0 = 0; i0 < n; i0 += L) {  // pass 2
#pragma HLS PIPELINE II=1
            CS_BEAT();
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int i = i0 + l;
                if (i < n) {
                    const int64_t gamma = (int16_t)(uint16_t)gr.pop<16>();
                    const int64_t x = (int32_t)abuf[src + t * n + i];
                    const int64_t tn = shift_round_sat32(x * y, cfg::ISQRT_FRAC + s);
                    abuf[dst + t * n + i] = (int32_t)shift_round_sat32(tn * gamma, gamma_shift);
                }
            }
        }
    }
}

// numerics.rope on one head vector of one token at table row `pos` (rotate-half pairs).
inline void rope_head(act_t abuf[], const word_t* gmem_io, uint64_t table_addr, int src, int dst, int hd, int pos) {
    const int half = hd / 2;
    BitReader<cfg::PORT_BITS> tr(gmem_io, layout::rope_row_addr(table_addr, pos, hd));
    for (int i0 = 0; i0 < half; i0 += L) {
#pragma HLS PIPELINE II=1
        CS_BEAT();
        for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
            const int i = i0 + l;
            if (i < half) {
                const int64_t c = (int16_t)(uint16_t)tr.pop<16>();
                const int64_t s = (int16_t)(uint16_t)tr.pop<16>();
                const int64_t x0 = (int32_t)abuf[src + i];
                const int64_t x1 = (int32_t)abuf[src + half + i];
                abuf[dst + i] = (int32_t)shift_round_sat32(x0 * c - x1 * s, cfg::ROPE_FRAC);
                abuf[dst + half + i] = (int32_t)shift_round_sat32(x0 * s + x1 * c, cfg::ROPE_FRAC);
            }
        }
    }
}

// max |x| over n elements at abuf[src] (the quantizer's first pass).
inline uint64_t max_abs(const act_t abuf[], int src, int n) {
    uint64_t amax = 0;
    for (int i0 = 0; i0 < n; i0 += L) {
#pragma HLS PIPELINE II=1
        CS_BEAT();
        for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
            if (i0 + l < n) {
                const uint64_t a = abs64((int32_t)abuf[src + i0 + l]);
                if (a > amax) amax = a;
            }
        }
    }
    return amax;
}

// numerics.quantize_kv of one (token, head) vector, written at its slot of the KV image.
inline void kv_write(const act_t abuf[], int src, int hd, word_t* gmem_kv, uint64_t base, int kvh, int tokens,
                     int which, int head, int pos) {
    const uint64_t amax = max_abs(abuf, src, hd);  // pass 1
    const int e = pow2_exponent(amax, cfg::KVBITS);
    layout::kv_write_exp(gmem_kv, base, kvh, tokens, hd, which, head, pos, e);
    uint64_t bitpos = layout::kv_value_bit(base, kvh, tokens, hd, which, head, pos);
    for (int i0 = 0; i0 < hd; i0 += L) {  // pass 2
#pragma HLS PIPELINE II=1
        CS_BEAT();
        for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
            if (i0 + l < hd) {
                const int64_t q = quantize_pow2((int32_t)abuf[src + i0 + l], e, cfg::KVBITS);
                write_bits<cfg::PORT_BITS>(gmem_kv, bitpos, cfg::KVBITS, (uint64_t)q);
                bitpos += cfg::KVBITS;
            }
        }
    }
}

// numerics.softmax_int pieces: the base-2 exponent of (s - mx) and its LUT value.
inline int64_t softmax_exp(int64_t s, int64_t mx) {
    const int64_t d = s - mx;
    const int64_t u = -((d * cfg::LOG2E_Q) >> cfg::LOG2E_FRAC);
    int64_t ip = u >> cfg::ACT_FRAC;
    if (ip > 31) ip = 31;
    const int idx = (int)((u & (((int64_t)1 << cfg::ACT_FRAC) - 1)) >> (cfg::ACT_FRAC - cfg::EXP_LUT_BITS));
    return cfg::EXP_LUT[idx] >> ip;
}

// ATTN: numerics.attention for the queries of one token (m == 1 per call) over keys [0, n_valid).
// QK and PV run on an MPE-shaped ROWS x COLS array of lanes: QK takes ROWS keys x COLS dimensions
// per beat, PV ROWS output dimensions x COLS keys per beat; the softmax is three SFU passes
// (max during QK, exp + sum, probabilities) with one reciprocal per row.
inline void attention(act_t abuf[], const word_t* gmem_kv, uint64_t base, int src, int dst, int heads, int kvh,
                      int hd, int n_valid, int tokens, uint32_t mult) {
    static const int R = cfg::ROWS, C = cfg::COLS;
    static int64_t score[cfg::KVBUF_DEPTH];
    static int64_t prob[cfg::KVBUF_DEPTH];
    static int ke[cfg::KVBUF_DEPTH], ve[cfg::KVBUF_DEPTH];
    static int64_t acc[cfg::ROWS];
    static int64_t qq[cfg::MAX_HEAD_DIM];
#pragma HLS ARRAY_PARTITION variable=acc cyclic factor=CS_ROWS
#pragma HLS ARRAY_PARTITION variable=qq cyclic factor=CS_COLS
#pragma HLS ARRAY_PARTITION variable=prob cyclic factor=CS_COLS
    const int rep = heads / kvh;
    for (int h = 0; h < heads; ++h) {
        const int g = h / rep;
        const int q0 = src + h * hd;
        // per (token, head) query quantizer: numerics.quantize_pow2(q, ABITS)
        const int eq = pow2_exponent(max_abs(abuf, q0, hd), cfg::ABITS);
        for (int i0 = 0; i0 < hd; i0 += L) {
#pragma HLS PIPELINE II=1
            CS_BEAT();
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                if (i0 + l < hd) qq[i0 + l] = quantize_pow2((int32_t)abuf[q0 + i0 + l], eq, cfg::ABITS);
            }
        }
        for (int j = 0; j < n_valid; ++j) {  // the exponents of the rows (uint8 each)
#pragma HLS PIPELINE II=1
            CS_BEAT();
            ke[j] = layout::kv_read_exp(gmem_kv, base, kvh, tokens, hd, 0, g, j);
            ve[j] = layout::kv_read_exp(gmem_kv, base, kvh, tokens, hd, 1, g, j);
        }
        // QK: dot = sum q_q * k_q; score = shift_round_sat32(dot * mult, 31 - e_q - e_k); running max
        int64_t mx = 0;
        for (int j0 = 0; j0 < n_valid; j0 += R) {
            int64_t dot[R];
            for (int r = 0; r < R; ++r) dot[r] = 0;
            for (int i0 = 0; i0 < hd; i0 += C) {
#pragma HLS PIPELINE II=1
                CS_BEAT();
                for (int r = 0; r < R; ++r) {
#pragma HLS UNROLL
                    const int j = j0 + r;
                    if (j >= n_valid) continue;
                    const uint64_t row = layout::kv_value_bit(base, kvh, tokens, hd, 0, g, j);
                    for (int c = 0; c < C; ++c) {
#pragma HLS UNROLL
                        const int i = i0 + c;
                        if (i < hd)
                            dot[r] += qq[i] * read_bits_signed<cfg::PORT_BITS>(
                                                  gmem_kv, row + (uint64_t)i * cfg::KVBITS, cfg::KVBITS);
                    }
                }
            }
            for (int r = 0; r < R && j0 + r < n_valid; ++r) {
                const int j = j0 + r;
                const int64_t sc = shift_round_sat32(dot[r] * (int64_t)mult,
                                                     cfg::ACT_FRAC + cfg::ATTN_SCALE_FRAC - eq - ke[j]);
                score[j] = sc;
                if (j == 0 || sc > mx) mx = sc;
            }
        }
        // numerics.softmax_int: exp + sum (pass 2), one reciprocal, probabilities (pass 3)
        int64_t total = 0;
        for (int j0 = 0; j0 < n_valid; j0 += L) {
#pragma HLS PIPELINE II=1
            CS_BEAT();
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                if (j0 + l < n_valid) {
                    prob[j0 + l] = softmax_exp(score[j0 + l], mx);
                    total += prob[j0 + l];
                }
            }
        }
        const int64_t recip = ((int64_t)1 << cfg::SOFTMAX_RECIP_BITS) / (total > 0 ? total : 1);
        const int psh = cfg::SOFTMAX_RECIP_BITS - cfg::PROB_FRAC;
        for (int j0 = 0; j0 < n_valid; j0 += L) {
#pragma HLS PIPELINE II=1
            CS_BEAT();
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                if (j0 + l < n_valid) prob[j0 + l] = (prob[j0 + l] * recip + ((int64_t)1 << (psh - 1))) >> psh;
            }
        }
        // PV: acc[i] = sum_j p_j * (v_q[j][i] << e_v[j]) (int64 wrap); out = shift_round_sat32(acc, PROB_FRAC)
        for (int i0 = 0; i0 < hd; i0 += R) {
            for (int r = 0; r < R; ++r) acc[r] = 0;
            for (int j0 = 0; j0 < n_valid; j0 += C) {
#pragma HLS PIPELINE II=1
                CS_BEAT();
                for (int r = 0; r < R; ++r) {
#pragma HLS UNROLL
                    const int i = i0 + r;
                    if (i >= hd) continue;
                    for (int c = 0; c < C; ++c) {
#pragma HLS UNROLL
                        const int j = j0 + c;
                        if (j >= n_valid) continue;
                        const int64_t vq = read_bits_signed<cfg::PORT_BITS>(
                            gmem_kv, layout::kv_value_bit(base, kvh, tokens, hd, 1, g, j) + (uint64_t)i * cfg::KVBITS,
                            cfg::KVBITS);
                        acc[r] = wadd(acc[r], wmul(prob[j], vq * ((int64_t)1 << ve[j])));
                    }
                }
            }
            for (int r = 0; r < R && i0 + r < hd; ++r)
                abuf[dst + h * hd + i0 + r] = (int32_t)shift_round_sat32(acc[r], cfg::PROB_FRAC);
        }
    }
}

}  // namespace sfu
}  // namespace cs

#endif
