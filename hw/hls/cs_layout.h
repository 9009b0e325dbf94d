// cs_layout.h -- addresses inside the memory images (docs/NUMERICS.md "Memory images";
// writer: codesign/quant/pack.py). Every region starts on a 64-byte boundary.
#ifndef CS_LAYOUT_H
#define CS_LAYOUT_H

#include <stdint.h>

#include "codesign_config.h"
#include "cs_mem.h"

namespace cs {
namespace layout {

static inline uint64_t pad64(uint64_t b) { return (b + 63) / 64 * 64; }
static inline int round_up(int v, int step) { return (v + step - 1) / step * step; }

// ---- packed weight matrix (gmem_w): per row tile of ROWS rows: scales, [zero points], beats
// A beat covers BEAT_INPUTS = COLS * M / N inputs of each row (dense: COLS); k is padded to KSTEP.
static const int KSTEP = cfg::BEAT_INPUTS > cfg::GROUP ? cfg::BEAT_INPUTS : cfg::GROUP;
// lane field: the W-bit weight, then (N:M sparse) its NM_IB-bit index in its block of M inputs
static const int LANE_BITS = cfg::WBITS + cfg::NM_IB;
static const int BEAT_BITS = cfg::ROWS * cfg::COLS * LANE_BITS;
static const int BEAT_BYTES = (BEAT_BITS + 7) / 8;
// the second weight mode of a mixed-precision build (cfg::WBITS_HI; a one-mode build keeps WBITS here,
// unused): its matrices have wider lane fields and beats, and the same scale / zero-point blocks
static const int WBITS_HI = cfg::WBITS_HI > 0 ? cfg::WBITS_HI : cfg::WBITS;
static const int LANE_BITS_HI = WBITS_HI + cfg::NM_IB;
static const int BEAT_BITS_HI = cfg::ROWS * cfg::COLS * LANE_BITS_HI;
static const int BEAT_BYTES_HI = (BEAT_BITS_HI + 7) / 8;

// a GEMV's weight mode (Instr.wbits: 0 or WBITS = the build's width, WBITS_HI the second mode)
static inline bool wide_mode(int wbits) { return cfg::WBITS_HI > 0 && wbits == cfg::WBITS_HI; }
// stored zero point: uint8 for W <= 8, uint16 for W = 16 (codesign.quant.pack.zero_bytes)
static const int ZERO_BYTES = cfg::WBITS <= 8 ? 1 : 2;

struct WeightTile {
    uint64_t scales, zeros, beats, bytes;
};

static inline WeightTile weight_tile(int k, bool hi = false) {
    const int kp = round_up(k, KSTEP);
    const uint64_t ng = (uint64_t)(kp / cfg::GROUP);
    WeightTile t;
    t.scales = 0;
    const uint64_t sb = pad64(2 * ng * cfg::ROWS);
    const uint64_t zb = cfg::ZERO_POINT ? pad64(ng * cfg::ROWS * ZERO_BYTES) : 0;
    t.zeros = sb;
    t.beats = sb + zb;
    t.bytes = sb + zb + pad64((uint64_t)(kp / cfg::BEAT_INPUTS) * (hi ? BEAT_BYTES_HI : BEAT_BYTES));
    return t;
}

// ---- RoPE table (gmem_io): int16 [cap][hd/2][2] (cos, sin)
static inline uint64_t rope_row_addr(uint64_t table, int pos, int hd) { return table + (uint64_t)pos * hd * 2; }

// ---- KV cache region (gmem_kv): K rows [kvh][cap], V rows, K exponents [kvh][cap], V exponents
static inline uint64_t kv_row_bytes(int hd) { return ((uint64_t)hd * cfg::KVBITS + 7) / 8; }

// bit position of element 0 of the row of (which: 0 = K, 1 = V, head, pos)
static inline uint64_t kv_value_bit(uint64_t base, int kvh, int cap, int hd, int which, int head, int pos) {
    const uint64_t row = ((uint64_t)which * kvh + head) * cap + pos;
    return (base + row * kv_row_bytes(hd)) * 8;
}

static inline uint64_t kv_exp_addr(uint64_t base, int kvh, int cap, int hd, int which, int head, int pos) {
    return base + 2 * (uint64_t)kvh * cap * kv_row_bytes(hd) + ((uint64_t)which * kvh + head) * cap + pos;
}

static inline int kv_read_exp(const word_t* kv, uint64_t base, int kvh, int cap, int hd, int which, int head, int pos) {
    return (int)read_bytes<cfg::PORT_BITS>(kv, kv_exp_addr(base, kvh, cap, hd, which, head, pos), 1);
}

static inline void kv_write_exp(word_t* kv, uint64_t base, int kvh, int cap, int hd, int which, int head, int pos,
                                int e) {
    write_bytes<cfg::PORT_BITS>(kv, kv_exp_addr(base, kvh, cap, hd, which, head, pos), 1, (uint64_t)e);
}

}  // namespace layout
}  // namespace cs

#endif
