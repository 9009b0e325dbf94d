// cs_mpe.h -- the matrix processing engine: ROWS x COLS multiply-accumulate lanes.
//
// One GEMV instruction computes, per token, y[r] = shift_round_sat32(sum_g (acc_g[r] * scale_g[r])
// << (e_g - e0), shift - e0) for every output r < n, with acc_g = sum_{c in group g} (w[r][c] -
// z_g[r]) * xq[c] and e_g the power-of-two exponent of the activations' block g (one per weight
// group, e0 the token's smallest: numerics.gemv_q, docs/NUMERICS.md). Three processes run under DATAFLOW:
//   mpe::load  -- streams weight beats (ROWS x COLS W-bit values), scales and zero points from
//                 gmem_w in full port-width words (the memory mover);
//   mpe::array -- the ROWS x COLS lanes, one beat per cycle (PIPELINE II=1, lanes unrolled);
//   mpe::store -- writes each finished row tile of ROWS results into the activation buffer.
// Weight image of one matrix: docs/NUMERICS.md "Packed weight matrix" (cs_layout.h): per row
// tile of ROWS rows, the uint16 scales [group][row], the zero points (ZERO_POINT only; uint8, W16: uint16),
// then K'/BI beats of ROWS x COLS lane fields (row r, column c at bit (r*COLS + c)*(W + IB)).
// k is padded (by the writer) to a multiple of KSTEP = max(BI, GROUP) with w - z = 0.
// Mixed precision (cfg::WBITS_HI > 0): a GEMV whose Instr.wbits is WBITS_HI streams W_HI-bit lane fields
// (wider beats, the same scale and zero-point blocks); the lanes hold w - z in WM + 1 bits, WM the
// wider mode, so one array serves both (docs/HLS.md "Weight modes").
// N:M sparse streams (cfg::NM_N < cfg::NM_M; docs/NUMERICS.md "N:M sparse weight stream"): each lane
// field is W + IB bits, the kept weight and its index i in its block of M inputs; a beat covers
// BI = COLS * M / N inputs of each row. The loader splits the field; lane c of the array multiplies
// its weight by activation (c / N) * M + i of the beat (an M:1 mux per lane), so the pruned products
// are never computed: the same ROWS x COLS multipliers cover M/N times the inputs per beat. Dense is
// N = M = 1, IB = 0, BI = COLS (the index is the constant 0 and the mux is the wire to input c).
#ifndef CS_MPE_H
#define CS_MPE_H

#include <ap_int.h>
#include <hls_stream.h>
#include <stdint.h>

#include "codesign_config.h"
#include "cs_layout.h"
#include "cs_mem.h"
#include "cs_ops.h"

namespace cs {

namespace mpe {
static const int ROWS = cfg::ROWS;
static const int COLS = cfg::COLS;
static const int WB = cfg::WBITS;
static const int AB = cfg::ABITS;
static const int GROUP = cfg::GROUP;
static const int NN = cfg::NM_N, NMM = cfg::NM_M;    // N kept of every M inputs (dense: 1 of 1)
static const int IB = cfg::NM_IB;                    // index bits per lane (dense: 0)
static const int BI = cfg::BEAT_INPUTS;              // inputs of a row one beat covers: COLS * M / N
static const int SUBI = BI < GROUP ? BI : GROUP;     // inputs of one group slice
static const int SUB = SUBI * NN / NMM;              // lanes of one group slice
static const int NSUB = BI / SUBI;                   // group slices per beat
static const int BPG = GROUP / SUBI;                 // beats per group
static const int KSTEP = layout::KSTEP;
static_assert(BI == COLS * NMM / NN && COLS % NN == 0 && GROUP % NMM == 0, "N:M beat geometry");
static_assert(BI % SUBI == 0 && GROUP % SUBI == 0, "one of a beat's inputs, GROUP must divide the other");
static const int WBH = layout::WBITS_HI;             // the second weight mode (mixed precision; else WB)
static const int WM = WBH > WB ? WBH : WB;           // lane width: the wider mode
static const int DW = WM + 1;                       // (w - z) as a signed number
static const int GACC_W = DW + AB + 10;              // exact group sum: GROUP <= 256 = 2^8 terms
// Tokens that share one weight stream: a GEMM (prefill, m > 1) streams each matrix once per chunk of
// TM tokens, each beat is applied to every token of the chunk (one token per cycle).
static const int TM = 8;

typedef ap_int<DW> wdiff_t;
typedef ap_uint<(IB > 0 ? IB : 1)> widx_t;          // a kept weight's index in its block (dense: 0)
typedef ap_int<AB> xq_t;
typedef ap_int<GACC_W> gacc_t;
typedef ap_uint<cfg::SCALE_BITS> scale_t;
// Activation block exponents (numerics.quantize_pow2: 0..31) and their offsets e_g - e0 (0..31).
typedef ap_uint<6> xe_t;
// Offsets of one chunk: token t, block g at xe[t * K'/GROUP + g]; TM * K' <= ABUF_DEPTH + TM * KSTEP.
static const int XE_DEPTH = (cfg::ABUF_DEPTH + TM * KSTEP) / GROUP;

struct Beat {
    wdiff_t d[ROWS][COLS];    // w - z
    // N:M: each lane's input in its block of M (selects the activation); dense builds keep one
    // constant-0 column so the beat stream is not widened
    widx_t idx[ROWS][IB > 0 ? COLS : 1];
    scale_t scale[ROWS][NSUB];
    bool group_end;           // the slices of this beat close their groups
    bool tile_end;            // last beat of a row tile
};

struct Out {
    int32_t y[TM][ROWS];   // one row tile of results for each token of the chunk
};

static inline int padded(int v, int step) { return (v + step - 1) / step * step; }

// hi: the matrix is at the second weight mode (layout::wide_mode of the instruction's wbits): wider
// lane fields and beats; the lanes see w - z either way.
inline void load(const word_t* gmem_w, uint64_t addr, int n, int k, bool hi, hls::stream<Beat>& beats) {
    const int ntiles = padded(n, ROWS) / ROWS;
    const int kbeats = padded(k, KSTEP) / BI;
    const layout::WeightTile tile = layout::weight_tile(k, hi);
    for (int t = 0; t < ntiles; ++t) {
        const uint64_t base = addr + (uint64_t)t * tile.bytes;
        BitReader<cfg::PORT_BITS> sr(gmem_w, base + tile.scales);
        BitReader<cfg::PORT_BITS> zr(gmem_w, base + tile.zeros);
        BitReader<cfg::PORT_BITS> wr(gmem_w, base + tile.beats);
        scale_t scale[ROWS][NSUB];
        ap_uint<8 * layout::ZERO_BYTES> zero[ROWS][NSUB];
#pragma HLS ARRAY_PARTITION variable=scale complete dim=0
#pragma HLS ARRAY_PARTITION variable=zero complete dim=0
        for (int b = 0; b < kbeats; ++b) {
#pragma HLS PIPELINE II=1
            // Scales/zero points of the NSUB groups that start at this beat (stored group, then row).
            if (b % BPG == 0) {
                for (int j = 0; j < NSUB; ++j)
                    for (int r = 0; r < ROWS; ++r) {
                        scale[r][j] = sr.pop<cfg::SCALE_BITS>();
                        zero[r][j] = cfg::ZERO_POINT ? zr.pop<8 * layout::ZERO_BYTES>()
                                                     : ap_uint<8 * layout::ZERO_BYTES>(0);
                    }
            }
            Beat beat;
            if (IB == 0)
                for (int r = 0; r < ROWS; ++r) beat.idx[r][0] = 0;
            for (int r = 0; r < ROWS; ++r)
                for (int c = 0; c < COLS; ++c) {
                    // lane field: bits [0, W) the weight, [W, W + IB) its index (N:M sparse only);
                    // symmetric weights are W-bit two's complement; with zero points, unsigned
                    int wv;
                    widx_t ix;
                    if (hi) {
                        const ap_uint<layout::LANE_BITS_HI> field = wr.pop<layout::LANE_BITS_HI>();
                        const ap_uint<WBH> raw = field(WBH - 1, 0);
                        wv = cfg::ZERO_POINT ? (int)raw : (int)(ap_int<WBH>)raw;
                        ix = (widx_t)(field >> WBH);
                    } else {
                        const ap_uint<layout::LANE_BITS> field = wr.pop<layout::LANE_BITS>();
                        const ap_uint<WB> raw = field(WB - 1, 0);
                        wv = cfg::ZERO_POINT ? (int)raw : (int)(ap_int<WB>)raw;
                        ix = (widx_t)(field >> WB);
                    }
                    beat.d[r][c] = (wdiff_t)(wv - (int)zero[r][c / SUB]);
                    if (IB > 0) beat.idx[r][IB > 0 ? c : 0] = ix;
                }
            if (hi) {
                if (layout::BEAT_BYTES_HI * 8 != layout::BEAT_BITS_HI)
                    wr.skip(layout::BEAT_BYTES_HI * 8 - layout::BEAT_BITS_HI);
            } else if (layout::BEAT_BYTES * 8 != layout::BEAT_BITS) {
                wr.skip(layout::BEAT_BYTES * 8 - layout::BEAT_BITS);
            }
            for (int r = 0; r < ROWS; ++r)
                for (int j = 0; j < NSUB; ++j) beat.scale[r][j] = scale[r][j];
            beat.group_end = (b % BPG) == BPG - 1;
            beat.tile_end = b == kbeats - 1;
            beats.write(beat);
        }
    }
}

// xq: the chunk's quantized activations, token t at xq[t * kpad]; xe: their block exponent offsets
// e_g - e0, token t at xe[t * kpad / GROUP]; shift[t] = Instr.shift - e0 of token t.
inline void array(hls::stream<Beat>& beats, const xq_t xq[], const xe_t xe[], int tm, int n, int k,
                  const int shift[TM], hls::stream<Out>& outs) {
    const int ntiles = padded(n, ROWS) / ROWS;
    const int kpad = padded(k, KSTEP);
    const int kbeats = kpad / BI;
    const int nblk = kpad / GROUP;
    gacc_t gacc[TM][ROWS][NSUB];
    int64_t total[TM][ROWS];
#pragma HLS ARRAY_PARTITION variable=gacc complete dim=2
#pragma HLS ARRAY_PARTITION variable=gacc complete dim=3
#pragma HLS ARRAY_PARTITION variable=total complete dim=2
    for (int t = 0; t < TM; ++t)
        for (int r = 0; r < ROWS; ++r) {
            total[t][r] = 0;
            for (int j = 0; j < NSUB; ++j) gacc[t][r][j] = 0;
        }
    Beat beat;
    Out o;
    for (int i = 0; i < ntiles * kbeats * tm; ++i) {
#pragma HLS PIPELINE II=1
        const int t = i % tm;            // token of the chunk
        if (t == 0) beat = beats.read();  // a new beat, then reused by the other tm - 1 tokens
        CS_BEAT();
        const int kb = (i / tm) % kbeats;
        const xq_t* x = xq + t * kpad + kb * BI;   // the BI activations this beat covers
        const xe_t* xo = xe + t * nblk + kb / BPG * NSUB;  // this beat's NSUB blocks
        for (int r = 0; r < ROWS; ++r) {
#pragma HLS UNROLL
            for (int j = 0; j < NSUB; ++j) {
#pragma HLS UNROLL
                gacc_t s = 0;
                for (int c = 0; c < SUB; ++c) {
#pragma HLS UNROLL
                    // lane l = j*SUB + c holds slot l % N of block l / N: its M:1 mux picks input
                    // (l / N) * M + idx of the beat (dense: input l)
                    const int l = j * SUB + c;
                    s += beat.d[r][l] * x[l / NN * NMM + (int)beat.idx[r][IB > 0 ? l : 0]];
                }
                gacc[t][r][j] += s;
                if (beat.group_end) {
                    // int64 wrap-around sum of the scaled group sums, each aligned to the token's
                    // smallest block exponent (golden: 64-bit two's complement)
                    total[t][r] = wadd(total[t][r], wshl(wmul((int64_t)gacc[t][r][j], (int64_t)beat.scale[r][j]),
                                                         (int)xo[j]));
                    gacc[t][r][j] = 0;
                }
            }
        }
        if (beat.tile_end) {
            for (int r = 0; r < ROWS; ++r) {
#pragma HLS UNROLL
                o.y[t][r] = (int32_t)shift_round_sat32(total[t][r], shift[t]);  // numerics.gemv_q
                total[t][r] = 0;
            }
            if (t == tm - 1) outs.write(o);
        }
    }
}

// Results of token t go to abuf[dst + t * n + row].
inline void store(hls::stream<Out>& outs, act_t abuf[], int dst, int tm, int n) {
    const int ntiles = padded(n, ROWS) / ROWS;
    for (int tile = 0; tile < ntiles; ++tile) {
        const Out o = outs.read();
        for (int t = 0; t < tm; ++t)
            for (int r = 0; r < ROWS; ++r) {
#pragma HLS PIPELINE II=1
                const int row = tile * ROWS + r;
                if (row < n) abuf[dst + t * n + row] = o.y[t][r];
            }
    }
}

}  // namespace mpe
}  // namespace cs

#endif
