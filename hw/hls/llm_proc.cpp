// llm_proc.cpp -- the instruction sequencer and the top function of the LLM processor.
//
// The sequencer fetches INSTR_WORDS 32-bit words per instruction from gmem_io, decodes the fields
// (model dimensions are run-time values from the instructions; bit-widths and tile sizes are the
// constexpr parameters of codesign_config.h) and dispatches to the MPE or the SFU. The on-chip
// activation buffer (ABUF_DEPTH int32 elements) holds every intermediate vector of a layer.
#include "llm_proc.h"

#include "cs_layout.h"
#include "cs_mpe.h"
#include "cs_sfu.h"

#ifndef __SYNTHESIS__
cs_trace_fn cs_trace_hook = 0;
unsigned long long cs_beats = 0;
#endif

namespace cs {

static Instr fetch(const word_t* gmem_io, uint64_t addr) {
    uint32_t w[INSTR_WORDS];
#pragma HLS ARRAY_PARTITION variable=w complete
    BitReader<cfg::PORT_BITS> rd(gmem_io, addr);
    for (int i = 0; i < INSTR_WORDS; ++i) {
#pragma HLS PIPELINE II=1
        w[i] = (uint32_t)rd.pop<32>();
    }
    return decode_words(w);
}

static const int EPW = cfg::PORT_BITS / 32;  // int32 elements per port word

static void load_io(act_t abuf[], const word_t* gmem_io, uint64_t addr, int dst, int n) {
    BitReader<cfg::PORT_BITS> rd(gmem_io, addr);
    for (int i0 = 0; i0 < n; i0 += EPW) {  // one port word per beat
#pragma HLS PIPELINE II=1
        CS_BEAT();
        for (int l = 0; l < EPW; ++l) {
#pragma HLS UNROLL
            if (i0 + l < n) abuf[dst + i0 + l] = (int32_t)(uint32_t)rd.pop<32>();
        }
    }
}

static void store_io(const act_t abuf[], word_t* gmem_io, uint64_t addr, int src, int n) {
    for (int i0 = 0; i0 < n; i0 += EPW) {  // one port word per beat
#pragma HLS PIPELINE II=1
        CS_BEAT();
        for (int l = 0; l < EPW; ++l) {
#pragma HLS UNROLL
            const int i = i0 + l;
            if (i < n)
                write_bytes<cfg::PORT_BITS>(gmem_io, addr + 4 * (uint64_t)i, 4, (uint64_t)(uint32_t)(int32_t)abuf[src + i]);
        }
    }
}

// The GEMV/GEMM of one instruction, per chunk of up to mpe::TM tokens: the SFU's per-token
// activation quantizer, then the MPE's load -> array -> store processes under DATAFLOW (the weights
// are streamed once per chunk).
static void mpe_dataflow(const word_t* gmem_w, uint64_t addr, bool hi, const mpe::xq_t xq[], const mpe::xe_t xe[],
                         int tm, int n, int k, const int shift[mpe::TM], act_t abuf[], int dst) {
#pragma HLS DATAFLOW
    hls::stream<mpe::Beat> beats;
    hls::stream<mpe::Out> outs;
    mpe::load(gmem_w, addr, n, k, hi, beats);
    mpe::array(beats, xq, xe, tm, n, k, shift, outs);
    mpe::store(outs, abuf, dst, tm, n);
}

static void gemv(const word_t* gmem_w, act_t abuf[], const Instr& ins) {
    // m * k <= ABUF_DEPTH (the activations are in the buffer), so a chunk's padded rows fit here
    static mpe::xq_t xq[cfg::ABUF_DEPTH + mpe::TM * layout::KSTEP];
#pragma HLS ARRAY_PARTITION variable=xq cyclic factor=CS_BEAT_INPUTS
    // the MPE's per (token, block) exponent offsets e_b - e0, read NSUB per beat like the scales
    static mpe::xe_t xe[mpe::XE_DEPTH];
#pragma HLS ARRAY_PARTITION variable=xe cyclic factor=CS_NSUB
    // the quantizer's block exponents e_b of one token (pass 1 -> pass 2): ceil(kmax / GROUP) entries
    static mpe::xe_t eb[cfg::ABUF_DEPTH / cfg::GROUP + 1];
#pragma HLS ARRAY_PARTITION variable=eb cyclic factor=CS_XBLK_PORTS
    const int k = (int)ins.k, n = (int)ins.n, m = (int)ins.m;
    const int kpad = mpe::padded(k, layout::KSTEP);
    const int nblk = kpad / cfg::GROUP;  // blocks per token in xe (the padded ones get offset 0)
    for (int t0 = 0; t0 < m; t0 += mpe::TM) {
        const int tm = m - t0 < mpe::TM ? m - t0 : mpe::TM;
        int shift[mpe::TM];
        for (int t = 0; t < tm; ++t) {
            const int x0 = (int)ins.src + (t0 + t) * k;
            // numerics.quantize_activation(x, ABITS, GROUP): one power-of-two exponent per block of
            // GROUP inputs. Pass 1: max |x| per block -> e_b at the block's last element (the last
            // real block may be short), e0 = min over the real blocks.
            uint64_t amax = 0;
            int e0 = 63;
            for (int i0 = 0; i0 < k; i0 += cfg::SFU_LANES) {
#pragma HLS PIPELINE II=1
                CS_BEAT();
                for (int l = 0; l < cfg::SFU_LANES; ++l) {
#pragma HLS UNROLL
                    const int i = i0 + l;
                    if (i < k) {
                        const uint64_t a = abs64((int32_t)abuf[x0 + i]);
                        if (a > amax) amax = a;
                        if (i % cfg::GROUP == cfg::GROUP - 1 || i == k - 1) {
                            const int e = pow2_exponent(amax, cfg::ABITS);
                            eb[i / cfg::GROUP] = (mpe::xe_t)e;
                            if (e < e0) e0 = e;
                            amax = 0;
                        }
                    }
                }
            }
            // Pass 2: quantize each element with its block's exponent (zeros up to kpad); at each block
            // start, the block's offset e_b - e0 for the MPE (0 for the zero-padding blocks).
            for (int i0 = 0; i0 < kpad; i0 += cfg::SFU_LANES) {
#pragma HLS PIPELINE II=1
                CS_BEAT();
                for (int l = 0; l < cfg::SFU_LANES; ++l) {
#pragma HLS UNROLL
                    const int i = i0 + l;
                    if (i < kpad) {
                        const int b = i / cfg::GROUP;
                        const int e = i < k ? (int)eb[b] : 0;
                        if (i % cfg::GROUP == 0) xe[t * nblk + b] = (mpe::xe_t)(i < k ? e - e0 : 0);
                        xq[t * kpad + i] =
                            i < k ? (mpe::xq_t)quantize_pow2((int32_t)abuf[x0 + i], e, cfg::ABITS) : (mpe::xq_t)0;
                    }
                }
            }
            shift[t] = (int)ins.shift - e0;   // numerics.gemv_q: y = shift_round_sat32(total, shift - e0)
        }
        for (int t = tm; t < mpe::TM; ++t) shift[t] = 0;
        // the instruction's weight mode (Instr.wbits; 0 = WBITS)
        mpe_dataflow(gmem_w, ins.addr, layout::wide_mode((int)ins.wbits), xq, xe, tm, n, k, shift, abuf,
                     (int)ins.dst + t0 * n);
    }
}

}  // namespace cs

// The instruction list starts at gmem_io + 0 (docs/ISA.md), so the control registers are the RTL
// kernel's exactly (hw/rtl/axil_control.v): gmem_w 0x10, gmem_kv 0x1C, gmem_io 0x28, n_instr 0x34.
void llm_proc(const cs::word_t* gmem_w, cs::word_t* gmem_kv, cs::word_t* gmem_io, uint32_t n_instr) {
// One m_axi bundle per memory channel group (PORT_BITS wide; the Vitis link file maps each bundle to
// its HBM/DDR banks). depth: the testbench images, for cosim only.
#pragma HLS INTERFACE m_axi port=gmem_w bundle=gmem_w offset=slave depth=CS_GMEM_W_DEPTH max_read_burst_length=64 num_read_outstanding=16
#pragma HLS INTERFACE m_axi port=gmem_kv bundle=gmem_kv offset=slave depth=CS_GMEM_KV_DEPTH max_read_burst_length=64
#pragma HLS INTERFACE m_axi port=gmem_io bundle=gmem_io offset=slave depth=CS_GMEM_IO_DEPTH
#pragma HLS INTERFACE s_axilite port=gmem_w bundle=control
#pragma HLS INTERFACE s_axilite port=gmem_kv bundle=control
#pragma HLS INTERFACE s_axilite port=gmem_io bundle=control
#pragma HLS INTERFACE s_axilite port=n_instr bundle=control
#pragma HLS INTERFACE s_axilite port=return bundle=control
    using namespace cs;
    static act_t abuf[cfg::ABUF_DEPTH];
#pragma HLS ARRAY_PARTITION variable=abuf cyclic factor=CS_SFU_LANES
    for (uint32_t i = 0; i < n_instr; ++i) {
        const Instr ins = fetch(gmem_io, (uint64_t)i * INSTR_WORDS * 4);
        const int m = (int)ins.m, n = (int)ins.n, hd = (int)ins.head_dim;
        const int heads = (int)ins.heads, kvh = (int)ins.kv_heads;
        switch (ins.op) {
            case OP_LOAD: load_io(abuf, gmem_io, ins.addr, (int)ins.dst, m * n); break;
            case OP_STORE: store_io(abuf, gmem_io, ins.addr, (int)ins.src, m * n); break;
            case OP_GEMV: gemv(gmem_w, abuf, ins); break;
            case OP_NORM:
                sfu::rmsnorm(abuf, gmem_io, ins.addr, (int)ins.src, (int)ins.dst, m, n, (int)ins.shift,
                             (uint32_t)ins.mult, (int32_t)ins.imm);
                break;
            case OP_ROPE:  // in place; token t at position ctx + t
                for (int t = 0; t < m; ++t) {
                    for (int h = 0; h < heads; ++h) {
                        const int q = (int)ins.src + (t * heads + h) * hd;
                        sfu::rope_head(abuf, gmem_io, ins.addr, q, q, hd, (int)ins.ctx + t);
                    }
                    for (int h = 0; h < kvh; ++h) {
                        const int kk = (int)ins.src2 + (t * kvh + h) * hd;
                        sfu::rope_head(abuf, gmem_io, ins.addr, kk, kk, hd, (int)ins.ctx + t);
                    }
                }
                break;
            case OP_KVSTORE:  // rows ctx .. ctx + m - 1
                for (int t = 0; t < m; ++t)
                    for (int h = 0; h < kvh; ++h) {
                        const int off = (t * kvh + h) * hd;
                        sfu::kv_write(abuf, (int)ins.src + off, hd, gmem_kv, ins.addr, kvh, (int)ins.imm, 0, h,
                                      (int)ins.ctx + t);
                        sfu::kv_write(abuf, (int)ins.src2 + off, hd, gmem_kv, ins.addr, kvh, (int)ins.imm, 1, h,
                                      (int)ins.ctx + t);
                    }
                break;
            case OP_ATTN:  // token t attends ctx - m + t + 1 keys
                for (int t = 0; t < m; ++t)
                    sfu::attention(abuf, gmem_kv, ins.addr, (int)ins.src + t * heads * hd,
                                   (int)ins.dst + t * heads * hd, heads, kvh, hd, (int)ins.ctx - m + t + 1,
                                   (int)ins.imm, (uint32_t)ins.mult);
                break;
            case OP_ACT: sfu::act(abuf, (int)ins.src, (int)ins.src2, (int)ins.dst, m * n); break;
            case OP_ADD: sfu::add(abuf, (int)ins.src, (int)ins.src2, (int)ins.dst, m * n); break;
            default: break;
        }
#ifndef __SYNTHESIS__
        if (cs_trace_hook) cs_trace_hook((int)i, ins, abuf);
#endif
    }
}
