// cs_ops.h -- scalar integer primitives of the golden model (codesign/quant/numerics.py, the
// function named in each comment), written for ap_int/int64 hardware. Every right shift of a
// signed value is arithmetic (floor), as numpy's >> is.
#ifndef CS_OPS_H
#define CS_OPS_H

#include <ap_int.h>
#include <stdint.h>

#include "codesign_config.h"

#ifndef __SYNTHESIS__
// C-simulation only: iterations of the kernel's pipelined (II=1) loops, counted per instruction by
// the testbench ("beats": cycles of those loops at II=1, without pipeline depth or overlap).
extern unsigned long long cs_beats;
#define CS_BEAT() (++cs_beats)
#else
#define CS_BEAT()
#endif

namespace cs {

typedef ap_int<32> act_t;  // residual stream / unit outputs, ACT_FRAC fractional bits

static const int64_t I32_MAX = 2147483647LL;
static const int64_t I32_MIN = -2147483648LL;

// numerics.sat32
static inline int64_t sat32(int64_t v) { return v > I32_MAX ? I32_MAX : (v < I32_MIN ? I32_MIN : v); }

// int64 add/multiply with two's-complement wrap (numpy int64 semantics, no C++ UB).
static inline int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t wmul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
// int64 left shift by 0..63 with two's-complement wrap (numpy int64 <<): shifts the uint64 bits.
static inline int64_t wshl(int64_t a, int s) { return (int64_t)((uint64_t)a << s); }

// numerics.shift_round_sat32: sh > 0: sat32((v + 2^(sh-1)) >> sh); sh <= 0: v << -sh, saturated.
static inline int64_t shift_round_sat32(int64_t v, int sh) {
    if (sh > 0) return sat32(wadd(v, (int64_t)1 << (sh - 1)) >> sh);
    const int lsh = -sh;
    const int64_t lim = I32_MAX >> (lsh < 62 ? lsh : 62);
    if (v > lim) return I32_MAX;
    if (v < -lim - 1) return I32_MIN;
    return sat32(v * ((int64_t)1 << (lsh < 31 ? lsh : 31)));
}

// numerics.bitlen for v >= 0 (leading-one detector).
static inline int bitlen(uint64_t v) {
    int b = 0;
    for (int i = 0; i < 64; ++i) {
#pragma HLS UNROLL
        if ((v >> i) & 1) b = i + 1;
    }
    return b;
}

// numerics.round_half_away_shift: sign(x) * ((|x| + 2^(e-1)) >> e).
static inline int64_t round_half_away_shift(int64_t x, int e) {
    if (e <= 0) return x;
    const int64_t a = x < 0 ? -x : x;
    const int64_t r = (a + ((int64_t)1 << (e - 1))) >> e;
    return x < 0 ? -r : r;
}

// numerics.quantize_pow2, exponent: e = max(0, bitlen(max|x|) - (QB - 1)).
static inline int pow2_exponent(uint64_t max_abs, int qb) {
    const int e = bitlen(max_abs) - (qb - 1);
    return e > 0 ? e : 0;
}

// numerics.quantize_pow2, value: clamp(round_half_away(x / 2^e), +-(2^(QB-1)-1)).
static inline int64_t quantize_pow2(int64_t x, int e, int qb) {
    const int64_t lim = ((int64_t)1 << (qb - 1)) - 1;
    const int64_t q = round_half_away_shift(x, e);
    return q > lim ? lim : (q < -lim ? -lim : q);
}

static inline uint64_t abs64(int64_t x) { return (uint64_t)(x < 0 ? -x : x); }

}  // namespace cs

#endif
