// tb_llm_proc.cpp -- C-simulation testbench of the LLM processor.
//
// Loads the three memory images and the golden per-instruction expectations written by
// `codesign emit-hls` (folder given as argv[1], default "vectors"), runs llm_proc once over the
// whole instruction list, and compares the output of EVERY instruction through the debug trace
// hook (C-simulation), then the final off-chip images (also valid in co-simulation, where the hook
// is not called). Prints one JSON line per instruction (instr, op, elements, mismatches,
// max_abs_diff, beats and the first mismatch: index, expected, actual), a "final" line and a
// summary line; exits 1 on any mismatch.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "llm_proc.h"

namespace {


struct Check {
    int instr;
    std::string region;  // "abuf" (int32 elements at an element offset), "io" / "kv" (bytes at a byte address)
    uint64_t offset;
    uint64_t length;
    uint64_t expected_at;  // first expected value in expected.bin (int32 units)
};

std::vector<cs::word_t> load_image(const std::string& path) {
    std::ifstream f(path.c_str(), std::ios::binary);
    if (!f) {
        fprintf(stderr, "tb: cannot open %s\n", path.c_str());
        exit(2);
    }
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t words = bytes.size() / cs::PORT_BYTES + 2;  // +2: readers may fetch one word ahead
    std::vector<cs::word_t> img(words, cs::word_t(0));
    for (size_t i = 0; i < bytes.size(); ++i) {
        const int lo = (int)(i % cs::PORT_BYTES) * 8;
        img[i / cs::PORT_BYTES](lo + 7, lo) = bytes[i];
    }
    return img;
}

std::vector<int32_t> g_expected;
std::vector<Check> g_checks;
std::vector<cs::word_t>* g_kv = 0;
std::vector<cs::word_t>* g_io = 0;
long g_total_mismatches = 0;
int g_failed_instr = -1;

int64_t image_byte(const std::vector<cs::word_t>& img, uint64_t a) {
    return (int64_t)(unsigned)(ap_uint<8>)img[a / cs::PORT_BYTES]((int)(a % cs::PORT_BYTES) * 8 + 7,
                                                                  (int)(a % cs::PORT_BYTES) * 8);
}

unsigned long long g_last_beats = 0;

void trace(int index, const cs::Instr& ins, const cs::act_t* abuf) {
    const unsigned long long beats = cs_beats - g_last_beats;
    g_last_beats = cs_beats;
    const char* opname = (ins.op >= 0 && ins.op < cs::N_OPCODES) ? cs::OP_NAMES[ins.op] : "?";
    uint64_t elements = 0, mismatches = 0;
    int64_t max_diff = 0;
    bool have_first = false;
    uint64_t first_idx = 0;
    int64_t first_exp = 0, first_act = 0;
    for (size_t c = 0; c < g_checks.size(); ++c) {
        const Check& ck = g_checks[c];
        if (ck.instr != index) continue;
        for (uint64_t j = 0; j < ck.length; ++j) {
            int64_t actual;
            if (ck.region == "abuf") {
                actual = (int32_t)abuf[ck.offset + j];
            } else if (ck.region == "io") {
                actual = image_byte(*g_io, ck.offset + j);
            } else {
                actual = image_byte(*g_kv, ck.offset + j);
            }
            const int64_t expected = g_expected[ck.expected_at + j];
            const int64_t d = actual > expected ? actual - expected : expected - actual;
            if (d > max_diff) max_diff = d;
            if (d != 0) {
                if (!have_first) {
                    have_first = true;
                    first_idx = elements;
                    first_exp = expected;
                    first_act = actual;
                }
                ++mismatches;
            }
            ++elements;
        }
    }
    printf("{\"instr\": %d, \"op\": \"%s\", \"elements\": %llu, \"mismatches\": %llu, \"max_abs_diff\": %lld, "
           "\"beats\": %llu",
           index, opname, (unsigned long long)elements, (unsigned long long)mismatches, (long long)max_diff, beats);
    if (have_first)
        printf(", \"index\": %llu, \"expected\": %lld, \"actual\": %lld", (unsigned long long)first_idx,
               (long long)first_exp, (long long)first_act);
    printf("}\n");
    if (mismatches && g_failed_instr < 0) g_failed_instr = index;
    g_total_mismatches += (long)mismatches;
}

// After the run: the off-chip results (the KV rows a KVSTORE wrote, the output a STORE wrote) must be
// in the final images too. This check needs no trace hook, so it also holds in C/RTL co-simulation.
long final_check() {
    uint64_t elements = 0, mismatches = 0;
    for (size_t c = 0; c < g_checks.size(); ++c) {
        const Check& ck = g_checks[c];
        if (ck.region == "abuf") continue;
        for (uint64_t j = 0; j < ck.length; ++j) {
            const int64_t actual = image_byte(ck.region == "io" ? *g_io : *g_kv, ck.offset + j);
            if (actual != g_expected[ck.expected_at + j]) ++mismatches;
            ++elements;
        }
    }
    printf("{\"final\": true, \"elements\": %llu, \"mismatches\": %llu}\n", (unsigned long long)elements,
           (unsigned long long)mismatches);
    return (long)mismatches;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "vectors";
    std::vector<cs::word_t> w = load_image(dir + "/gmem_w.bin");
    std::vector<cs::word_t> kv = load_image(dir + "/gmem_kv.bin");
    std::vector<cs::word_t> io = load_image(dir + "/gmem_io.bin");
    g_kv = &kv;
    g_io = &io;

    std::ifstream ef((dir + "/expected.bin").c_str(), std::ios::binary);
    if (!ef) {
        fprintf(stderr, "tb: cannot open %s/expected.bin\n", dir.c_str());
        return 2;
    }
    std::vector<char> eb((std::istreambuf_iterator<char>(ef)), std::istreambuf_iterator<char>());
    g_expected.resize(eb.size() / 4);
    memcpy(g_expected.data(), eb.data(), g_expected.size() * 4);  // little-endian host

    std::ifstream cf((dir + "/checks.txt").c_str());
    if (!cf) {
        fprintf(stderr, "tb: cannot open %s/checks.txt\n", dir.c_str());
        return 2;
    }
    uint64_t instr_addr = 0;
    unsigned n_instr = 0;
    std::string line;
    while (std::getline(cf, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ss(line);
        std::string tag;
        ss >> tag;
        if (tag == "program") {
            ss >> instr_addr >> n_instr;
        } else if (tag == "check") {
            Check ck;
            ss >> ck.instr >> ck.region >> ck.offset >> ck.length >> ck.expected_at;
            if (ck.expected_at + ck.length > g_expected.size()) {
                fprintf(stderr, "tb: checks.txt refers past the end of expected.bin\n");
                return 2;
            }
            g_checks.push_back(ck);
        }
    }
    if (instr_addr != 0) {
        fprintf(stderr, "tb: the kernel runs the instruction list at gmem_io + 0, checks.txt says %llu\n",
                (unsigned long long)instr_addr);
        return 2;
    }
    cs_trace_hook = trace;
    llm_proc(w.data(), kv.data(), io.data(), n_instr);
    g_total_mismatches += final_check();
    printf("{\"summary\": true, \"instructions\": %u, \"mismatches\": %ld, \"first_failed_instr\": %d}\n", n_instr,
           g_total_mismatches, g_failed_instr);
    return g_total_mismatches ? 1 : 0;
}
