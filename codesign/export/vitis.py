"""Vitis (Alveo) flow: Makefile with sw_emu/hw_emu/hw, the v++ link configuration, and an XRT host.

Written for Vitis 2023.2 and XRT 2.16 (the versions the README names). ``v++ -c`` compiles the HLS
kernel to an ``.xo``; the RTL kernel can replace it through ``make RTL=1`` (packaged by
``rtl/package_xo.tcl``); ``v++ -l`` links with ``link.cfg``, whose ``sp=`` lines come from the
memory plan, for the board's platform.
"""

from __future__ import annotations

from ..design import Design
from .boards import Board
from .memory_plan import PortBanks
from ..gen.ports import KernelArg

VITIS_VERSION = "2023.2"
XRT_VERSION = "2.16"


def link_cfg(top: str, board: Board, plan: list[PortBanks]) -> str:
    cu = f"{top}_1"
    lines = ["# v++ link configuration written by codesign export (one compute unit).",
             "# sp= maps each kernel port to the banks of the design's memory-channel plan:"]
    for pb in plan:
        lines.append(f"#   {pb.port} ({pb.role}, argument '{pb.arg}') -> {pb.sptag(board.mem_tag)}")
    lines += ["[connectivity]", f"nk={top}:1:{cu}"]
    lines += [f"sp={cu}.{pb.port}:{pb.sptag(board.mem_tag)}" for pb in plan]
    if board.mem_tag == "HBM":
        # The HBM stacks and their switch sit at the bottom of SLR0 on U280/U55C (UG1120, UG1468).
        lines.append(f"slr={cu}:SLR0")
    return "\n".join(lines) + "\n"


def makefile(top: str, rtl_top: str, board: Board, design: Design, hls_sources: list[str]) -> str:
    freq_hz = design.hw.freq_mhz * 1_000_000
    srcs = " ".join(hls_sources)
    return f"""# Build the codesign LLM processor for {board.name} ({board.platform}).
# Written for Vitis {VITIS_VERSION} / XRT {XRT_VERSION}. Source settings64.sh and /opt/xilinx/xrt/setup.sh first.
#   make sw_emu | hw_emu | hw        build the xclbin and the host for that target
#   make run TARGET=<target>        run the decode step on the golden vectors and check the outputs
#   make RTL=1 hw                   link the Verilog kernel (packaged with Vivado) instead of the HLS one
PLATFORM ?= {board.platform}
TARGET   ?= hw
FREQ_MHZ := {design.hw.freq_mhz}
FREQ_HZ  := {freq_hz}
RTL      ?= 0
ifeq ($(RTL),1)
KERNEL   := {rtl_top}
LINK_CFG := link_rtl.cfg
else
KERNEL   := {top}
LINK_CFG := link.cfg
endif
BUILD    := build/$(TARGET)
HLS_SRCS := {srcs}
XO       := $(BUILD)/$(KERNEL).xo
XCLBIN   := $(BUILD)/$(KERNEL).xclbin
HOST     := $(BUILD)/host
XRT_INC  ?= $(XILINX_XRT)/include
XRT_LIB  ?= $(XILINX_XRT)/lib

.PHONY: sw_emu hw_emu hw xclbin host run clean

sw_emu hw_emu hw:
\t$(MAKE) TARGET=$@ xclbin host

xclbin: $(XCLBIN)

ifeq ($(RTL),1)
$(XO): rtl/package_xo.tcl
\tmkdir -p $(BUILD)
\tvivado -mode batch -source rtl/package_xo.tcl -tclargs $(abspath $(XO))
else
$(XO): $(HLS_SRCS)
\tmkdir -p $(BUILD)
\tv++ -c -t $(TARGET) --platform $(PLATFORM) -k $(KERNEL) --hls.clock $(FREQ_HZ):$(KERNEL) \\
\t    -Ihls/src --temp_dir $(BUILD)/_x $(filter %.cpp,$(HLS_SRCS)) -o $@
endif

$(XCLBIN): $(XO) $(LINK_CFG)
\tv++ -l -t $(TARGET) --platform $(PLATFORM) --config $(LINK_CFG) --kernel_frequency $(FREQ_MHZ) \\
\t    --temp_dir $(BUILD)/_x $(XO) -o $@

host: $(HOST)

$(HOST): host/host.cpp
\tmkdir -p $(BUILD)
\tg++ -std=c++17 -O2 -Wall -Wextra -I$(XRT_INC) $< -L$(XRT_LIB) -lxrt_coreutil -pthread -o $@

run: $(XCLBIN) $(HOST)
ifneq ($(TARGET),hw)
\temconfigutil --platform $(PLATFORM) --od $(BUILD)
\tcd $(BUILD) && XCL_EMULATION_MODE=$(TARGET) ./host $(abspath $(XCLBIN)) $(abspath data) $(KERNEL)
else
\t$(HOST) $(XCLBIN) data $(KERNEL)
endif

clean:
\trm -rf build _x .Xil *.log *.jou
"""


def host_cpp(top: str, args: list[KernelArg]) -> str:
    """XRT native-API host: load each m_axi image from data/<bundle>.bin, scalars from data/scalars.txt,
    run one decode step, compare the regions listed in data/expected.txt, exit non-zero on mismatch."""
    bos, call = [], []
    for i, a in enumerate(args):
        if a.kind == "m_axi":
            bos.append(f'    xrt::bo bo_{a.name} = load_bo(device, kernel, {i}, data + "/{a.bundle}.bin");')
            bos.append(f'    bos["{a.bundle}"] = &bo_{a.name};')
            call.append(f"bo_{a.name}")
        else:
            bos.append(f'    const auto {a.name} = static_cast<{a.ctype.replace("const", "").strip()}>('
                       f'scalar(scalars, "{a.name}"));')
            call.append(a.name)
    bos_text = "\n".join(bos)
    call_text = ", ".join(call)
    return f"""// Host program for the codesign LLM processor (kernel '{top}'), XRT native C++ API.
// Usage: host <kernel.xclbin> <data dir> [kernel name, default {top}]
// The data dir holds one memory image per m_axi bundle (<bundle>.bin: weights, KV cache,
// instructions + activations, packed exactly as the golden model's vector writer packs them),
// scalars.txt ("name value" per line) and expected.txt ("bundle offset length file" per line):
// the regions the decode step must produce, compared byte for byte after the run.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

static std::vector<char> read_file(const std::string& path) {{
    std::ifstream f(path, std::ios::binary);
    if (!f) {{
        std::cerr << "host: cannot open " << path << std::endl;
        std::exit(2);
    }}
    return std::vector<char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}}

static xrt::bo load_bo(xrt::device& device, xrt::kernel& kernel, int arg, const std::string& path) {{
    std::vector<char> bytes = read_file(path);
    xrt::bo bo(device, bytes.size(), kernel.group_id(arg));
    bo.write(bytes.data(), bytes.size(), 0);
    bo.sync(XCL_BO_SYNC_BO_TO_DEVICE);
    return bo;
}}

static std::map<std::string, long long> read_scalars(const std::string& path) {{
    std::map<std::string, long long> values;
    std::ifstream f(path);
    std::string name;
    long long value;
    while (f >> name >> value) values[name] = value;
    return values;
}}

static long long scalar(const std::map<std::string, long long>& values, const std::string& name) {{
    auto it = values.find(name);
    if (it == values.end()) {{
        std::cerr << "host: scalars.txt has no value for '" << name << "'" << std::endl;
        std::exit(2);
    }}
    return it->second;
}}

int main(int argc, char** argv) {{
    if (argc != 3 && argc != 4) {{
        std::cerr << "usage: " << argv[0] << " <kernel.xclbin> <data dir> [kernel name]" << std::endl;
        return 2;
    }}
    const std::string xclbin = argv[1];
    const std::string data = argv[2];
    const std::string name = argc == 4 ? argv[3] : "{top}";
    xrt::device device(0);
    const xrt::uuid uuid = device.load_xclbin(xclbin);
    xrt::kernel kernel(device, uuid, name);
    const auto scalars = read_scalars(data + "/scalars.txt");
    std::map<std::string, xrt::bo*> bos;
{bos_text}

    xrt::run run = kernel({call_text});
    run.wait();

    std::ifstream expected(data + "/expected.txt");
    std::string line;
    long long checked = 0, mismatched = 0;
    while (std::getline(expected, line)) {{
        std::istringstream fields(line);
        std::string bundle, file;
        size_t offset = 0, length = 0;
        if (!(fields >> bundle >> offset >> length >> file)) continue;
        auto it = bos.find(bundle);
        if (it == bos.end()) {{
            std::cerr << "host: expected.txt names unknown bundle " << bundle << std::endl;
            return 2;
        }}
        it->second->sync(XCL_BO_SYNC_BO_FROM_DEVICE);
        std::vector<char> got(length);
        it->second->read(got.data(), length, offset);
        const std::vector<char> want = read_file(data + "/" + file);
        for (size_t i = 0; i < length && i < want.size(); ++i) {{
            ++checked;
            if (got[i] != want[i]) {{
                if (mismatched < 10)
                    std::fprintf(stderr, "MISMATCH %s byte %zu: expected %d got %d\\n", file.c_str(), i,
                                 static_cast<int>(want[i]), static_cast<int>(got[i]));
                ++mismatched;
            }}
        }}
    }}
    std::cout << (mismatched ? "FAIL" : "PASS") << ": " << checked << " bytes checked, " << mismatched
              << " mismatched" << std::endl;
    return mismatched ? 1 : 0;
}}
"""


def makefile_aved(top: str, rtl_top: str, board: Board, design: Design) -> str:
    """V80 (Versal HBM, AVED): no XRT platform exists, so the three targets map to the tools that do:
    sw_emu = Vitis HLS C-simulation, hw_emu = HLS C/RTL co-simulation, hw = the AVED Vivado flow with
    the kernel added to its block design."""
    return f"""# Build the codesign LLM processor for {board.name} (AMD AVED {board.platform}, part {board.part}).
# Written for Vitis/Vivado {VITIS_VERSION}. The V80 has no Vitis XRT platform: hw uses AVED's Vivado flow.
#   make sw_emu    C-simulation of the kernel on the golden vectors (hls/Makefile: g++, no vendor tool)
#   make hw_emu    Vitis HLS csim + synthesis + C/RTL co-simulation + export (hls/run_hls.tcl)
#   make hw        AVED design + this kernel -> PDI (set AVED=<path to an AVED checkout>)
AVED     ?= $(error set AVED=<path to the AVED repository checkout>)
FREQ_MHZ := {design.hw.freq_mhz}
HLS_TOP  := {top}
RTL_TOP  := {rtl_top}

.PHONY: sw_emu hw_emu hw clean
sw_emu:
\t$(MAKE) -C hls csim

hw_emu:
\tcd hls && vitis_hls -f run_hls.tcl

hw:
\tcd $(AVED)/hw/{board.platform}/src && vivado -mode batch -source create_design.tcl \\
\t    -source $(abspath vivado/aved_add_kernel.tcl) -source build_design.tcl

clean:
\trm -rf build hls/{top}_prj .Xil *.log *.jou
"""
