// tb_model_run.cpp -- C-simulation driver of the LLM processor for a whole model over many tokens.
//
// Loads the three memory images once (folder argv[1]: gmem_w.bin, gmem_kv.bin, gmem_io.bin) and
// keeps them for the whole run, so the KV cache the kernel writes at one step is there at the next,
// as in the device's memory. The host (codesign/gen/hls/model_csim.py) drives it over stdin, one
// command per line, and reads one JSON line per command on stdout:
//   patch <io_addr> <file>        write the bytes of <file> into gmem_io at <io_addr>
//                                 (instruction words, embedded input tokens)
//   run <n_instr>                 llm_proc over the instruction list at gmem_io + 0; replies the
//                                 kernel's loop beats (cs_beats) of the run
//   dump <io_addr> <bytes> <file> write gmem_io[io_addr, +bytes) into <file> (the final hidden state)
//   quit
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "llm_proc.h"

namespace {

std::vector<cs::word_t> load_image(const std::string& path) {
    std::ifstream f(path.c_str(), std::ios::binary);
    if (!f) {
        fprintf(stderr, "tb_model_run: cannot open %s\n", path.c_str());
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

void put_byte(std::vector<cs::word_t>& img, uint64_t a, unsigned v) {
    const int lo = (int)(a % cs::PORT_BYTES) * 8;
    img[a / cs::PORT_BYTES](lo + 7, lo) = v;
}

unsigned get_byte(const std::vector<cs::word_t>& img, uint64_t a) {
    const int lo = (int)(a % cs::PORT_BYTES) * 8;
    return (unsigned)(ap_uint<8>)img[a / cs::PORT_BYTES](lo + 7, lo);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "images";
    std::vector<cs::word_t> w = load_image(dir + "/gmem_w.bin");
    std::vector<cs::word_t> kv = load_image(dir + "/gmem_kv.bin");
    std::vector<cs::word_t> io = load_image(dir + "/gmem_io.bin");
    const uint64_t io_bytes = (uint64_t)(io.size() - 2) * cs::PORT_BYTES;
    printf("{\"ready\": true}\n");
    fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream ss(line);
        std::string cmd;
        ss >> cmd;
        if (cmd == "patch" || cmd == "dump") {
            uint64_t addr = 0, n = 0;
            std::string path;
            ss >> addr;
            if (cmd == "dump") ss >> n;
            ss >> path;
            if (cmd == "patch") {
                std::ifstream f(path.c_str(), std::ios::binary);
                std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
                n = b.size();
                if (!f.good() && !f.eof()) n = 0;
                if (addr + n > io_bytes) {
                    printf("{\"error\": \"patch past the end of gmem_io\"}\n");
                    fflush(stdout);
                    return 2;
                }
                for (uint64_t i = 0; i < n; ++i) put_byte(io, addr + i, b[i]);
            } else {
                if (addr + n > io_bytes) {
                    printf("{\"error\": \"dump past the end of gmem_io\"}\n");
                    fflush(stdout);
                    return 2;
                }
                std::vector<char> b(n);
                for (uint64_t i = 0; i < n; ++i) b[i] = (char)get_byte(io, addr + i);
                std::ofstream f(path.c_str(), std::ios::binary);
                f.write(b.data(), (std::streamsize)n);
            }
            printf("{\"%s\": %llu}\n", cmd.c_str(), (unsigned long long)n);
        } else if (cmd == "run") {
            unsigned n_instr = 0;
            ss >> n_instr;
            const unsigned long long before = cs_beats;
            llm_proc(w.data(), kv.data(), io.data(), n_instr);
            printf("{\"run\": %u, \"beats\": %llu}\n", n_instr, cs_beats - before);
        } else if (cmd == "quit") {
            printf("{\"quit\": true}\n");
            fflush(stdout);
            return 0;
        } else if (!cmd.empty()) {
            printf("{\"error\": \"unknown command %s\"}\n", cmd.c_str());
            fflush(stdout);
            return 2;
        }
        fflush(stdout);
    }
    return 0;
}
