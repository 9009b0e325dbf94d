// cs_mem.h -- memory movers: byte-addressed access to the m_axi ports.
//
// Every off-chip image (gmem_w, gmem_kv, gmem_io) is a flat little-endian byte image; a port
// word holds PORT_BYTES consecutive bytes (byte i of the word at bits [8i+7:8i]). Packed
// fields (W-bit weights, KV values) form one little-endian bit stream: element j of a run that
// starts at byte a occupies bits [j*W, j*W+W) counted from bit 0 of byte a. The readers here
// turn a run into elements with one port word per PORT_BITS bits, i.e. full-width bursts.
#ifndef CS_MEM_H
#define CS_MEM_H

#include <ap_int.h>
#include <hls_stream.h>
#include <stdint.h>

#include "codesign_config.h"

namespace cs {

typedef ap_uint<cfg::PORT_BITS> word_t;
static const int PORT_BYTES = cfg::PORT_BITS / 8;

// Sequential bit-stream reader over one port: pops N-bit fields (N <= PORT_BITS).
// It fetches the next port word only when its buffer runs short, so a run of fields is read
// as consecutive words (the HLS tool infers a burst from the incrementing index).
template <int PB>
class BitReader {
  public:
    BitReader(const ap_uint<PB>* port, uint64_t byte_addr)
        : port_(port), word_(byte_addr / (PB / 8)), nbits_(0), buf_(0) {
        const int skip = (int)(byte_addr % (PB / 8)) * 8;
        if (skip) {
            fill();
            buf_ >>= skip;
            nbits_ -= skip;
        }
    }
    template <int N>
    ap_uint<N> pop() {
        if (nbits_ < N) fill();
        ap_uint<N> v = buf_(N - 1, 0);
        buf_ >>= N;
        nbits_ -= N;
        return v;
    }

    void skip(int nbits) {  // drop nbits (< PB) of the stream
        if (nbits_ < nbits) fill();
        buf_ >>= nbits;
        nbits_ -= nbits;
    }

  private:
    void fill() {
        ap_uint<2 * PB> w = port_[word_];
        buf_ |= w << nbits_;
        nbits_ += PB;
        ++word_;
    }
    const ap_uint<PB>* port_;
    uint64_t word_;
    int nbits_;
    ap_uint<2 * PB> buf_;
};

// Little-endian field of nb bytes (nb <= 8) at a byte address.
template <int PB>
uint64_t read_bytes(const ap_uint<PB>* port, uint64_t byte_addr, int nb) {
    uint64_t v = 0;
    for (int i = 0; i < nb; ++i) {
#pragma HLS PIPELINE II=1
        const uint64_t a = byte_addr + i;
        const ap_uint<PB> w = port[a / (PB / 8)];
        const int lo = (int)(a % (PB / 8)) * 8;
        v |= (uint64_t)(ap_uint<8>)w(lo + 7, lo) << (8 * i);
    }
    return v;
}

template <int PB>
void write_bytes(ap_uint<PB>* port, uint64_t byte_addr, int nb, uint64_t v) {
    for (int i = 0; i < nb; ++i) {
#pragma HLS PIPELINE II=1
        const uint64_t a = byte_addr + i;
        ap_uint<PB> w = port[a / (PB / 8)];
        const int lo = (int)(a % (PB / 8)) * 8;
        w(lo + 7, lo) = (ap_uint<8>)((v >> (8 * i)) & 0xff);
        port[a / (PB / 8)] = w;
    }
}

// Signed `width`-bit field (width <= 32) at an absolute bit position of the image (one or two words).
template <int PB>
int64_t read_bits_signed(const ap_uint<PB>* port, uint64_t bitpos, int width) {
    const uint64_t wi = bitpos / PB;
    const int lo = (int)(bitpos % PB);
    ap_uint<2 * PB> two = port[wi];
    if (lo + width > PB) two |= (ap_uint<2 * PB>)port[wi + 1] << PB;
    const uint64_t raw = (uint64_t)(two >> lo) & ((1ULL << width) - 1);
    return (int64_t)(raw << (64 - width)) >> (64 - width);
}

// Write the low `width` bits of v (width <= 32) at an absolute bit position of the image
// (little-endian bit stream): a read-modify-write of the one or two port words it touches.
template <int PB>
void write_bits(ap_uint<PB>* port, uint64_t bitpos, int width, uint64_t v) {
    const uint64_t wi = bitpos / PB;
    const int lo = (int)(bitpos % PB);
    const int first = (PB - lo) < width ? (PB - lo) : width;  // bits in the first word
    ap_uint<PB> w = port[wi];
    w(lo + first - 1, lo) = (ap_uint<64>)v;
    port[wi] = w;
    if (first < width) {
        ap_uint<PB> w2 = port[wi + 1];
        w2(width - first - 1, 0) = (ap_uint<64>)(v >> first);
        port[wi + 1] = w2;
    }
}

}  // namespace cs

#endif
