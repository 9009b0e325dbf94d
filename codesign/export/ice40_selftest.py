"""A board-level self-test of one MPE tile for the iCEBreaker: the project's ``hw/rtl/mpe.v`` with the
design's ROWS, COLS, WBITS, ABITS, GROUP and N:M sparsity, fed from ROMs holding one GEMV tile (with one activation
exponent per group, as the quantizer produces them: the ROM carries e_g - e0 per group slice and
the MPE's shift is the weight shift - e0), its result checked against the golden model's expected
outputs on chip. It is one MPE tile, not the processor (no sequencer, SFU or movers): its top is
named ``ice40_mpe_tile_selftest`` for that; the whole processor is built for the ECP5 (``ecp5.py``).

An N:M sparse design gets a sparse tile: each block of M inputs of a row keeps N weights (random
positions), the ROM carries the lane fields as the sparse weight stream packs them (weight, then its
index in the block; docs/NUMERICS.md) and BI = COLS*M/N activations per beat, so the MPE's index
multiplexers are exercised; the expected outputs are the golden dense GEMV of the same matrix with
the pruned weights at the zero point (they add 0).

The green LED lights while every run of the tile has matched; the red LED latches on the first
mismatch. The tile re-runs continuously; the button restarts the check. The test data are drawn
from a fixed seed so the bitstream is reproducible.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from ..design import Design
from ..errors import CodesignError
from ..gen.rtl.params import MPE_PARAMS
from ..gen.template import template_params
from ..quant.numerics import sparse_index_bits

REPO_HW = Path(__file__).resolve().parents[2] / "hw" / "rtl"
TOP = "ice40_mpe_tile_selftest"      # one MPE tile with its check, not the processor


def beat_inputs(p: dict) -> int:
    """Activations one MPE beat reads: BI = COLS * M / N (mpe.v; dense: COLS)."""
    return p['COLS'] * p['NM_M'] // p['NM_N']


def tile_data(design: Design, seed: int = 2024) -> dict:
    """One GEMV tile: K = the smallest multiple of the beat's inputs (BI) and GROUP covering two
    groups. N:M sparse: ``keep[r, b]`` the N kept input positions of block b of row r (ascending)."""
    p = template_params(design)   # the one mapper from design.json (as the RTL and HLS read it)
    scale_bits = p['SCALE_BITS']
    if p['WBITS'] > 8 or p['ABITS'] > 8:
        raise CodesignError(f"the iCE40 self-test supports weights and activations up to 8 bits; got "
                            f"W{p['WBITS']}A{p['ABITS']}", field="quant.wbits")
    n, m = p['NM_N'], p['NM_M']
    k = math.lcm(beat_inputs(p), p['GROUP'])
    k = k * max(1, (2 * p['GROUP']) // k)
    rng = np.random.default_rng(seed)
    amax = (1 << (p['ABITS'] - 1)) - 1
    x = rng.integers(-amax, amax + 1, size=k)
    if p['ZP']:
        w = rng.integers(0, 1 << p['WBITS'], size=(p['ROWS'], k))
        zero = rng.integers(0, 1 << p['WBITS'], size=(p['ROWS'], k // p['GROUP']))
    else:
        wmax = (1 << (p['WBITS'] - 1)) - 1
        w = rng.integers(-wmax, wmax + 1, size=(p['ROWS'], k))
        zero = np.zeros((p['ROWS'], k // p['GROUP']), dtype=np.int64)
    keep = np.stack([np.stack([np.sort(rng.choice(m, size=n, replace=False)) for _ in range(k // m)])
                     for _ in range(p['ROWS'])])                        # [row, block, slot]
    if m > 1:                 # pruned positions hold the zero point: (w - z) = 0 adds nothing
        kept = np.zeros((p['ROWS'], k), dtype=bool)
        for r in range(p['ROWS']):
            kept[r, (np.arange(k // m)[:, None] * m + keep[r]).ravel()] = True
        w = np.where(kept, w, np.repeat(zero, p['GROUP'], axis=1))
    scale = rng.integers(1, 1 << scale_bits, size=(p['ROWS'], k // p['GROUP']))
    e = rng.integers(1, 5, size=k // p['GROUP'])          # block exponents: e0 >= 1, e_g - e0 <= 3
    shift = 12
    expected = golden_gemv(w, x, scale, zero, p['GROUP'], shift, p['WBITS'], p['ZP'], e)
    return {"k": k, "x": x, "w": w, "scale": scale, "zero": zero, "shift": shift, "e": e, "keep": keep,
            "expected": expected}


def golden_gemv(w, x, scale, zero, group: int, shift: int, bits: int, zero_point: bool,
                e=None) -> np.ndarray:
    """Expected tile outputs: the golden model's integer GEMV (``numerics.gemv_q``) with activation
    exponents e[g] per group (None: 0)."""
    from ..quant import numerics
    wq = numerics.WeightQ(q=np.asarray(w, dtype=np.int64), zero=np.asarray(zero, dtype=np.int64),
                          mant=np.asarray(scale, dtype=np.int64), shift=shift, bits=bits, group=group,
                          zero_point=zero_point, in_features=len(x))
    groups = len(x) // group
    e = np.zeros(groups, dtype=np.int64) if e is None else np.asarray(e, dtype=np.int64)
    return numerics.gemv_q(wq, np.asarray(x, dtype=np.int64)[None], e[None])[0]


def _hex(value: int, bits: int) -> str:
    return f"{bits}'h{value & ((1 << bits) - 1):0{(bits + 3) // 4}x}"


def _pack(values, bits: int) -> int:
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return out


def emit_selftest(design: Design, rtl_dir: Path) -> tuple[list[Path], str, float]:
    """Write ice40_selftest.v (+ a copy of mpe.v) into ``rtl_dir``; return (sources, top, clock MHz)."""
    p = template_params(design)
    scale_bits = p['SCALE_BITS']
    d = tile_data(design)
    n, m = p['NM_N'], p['NM_M']
    bi = beat_inputs(p)
    k, nb = d["k"], d["k"] // bi
    lw = p['WBITS'] + sparse_index_bits(m)         # lane field: weight, then (N:M) its index in the block
    sub = min(bi, p['GROUP'])                      # inputs per group slice (mpe.v SUB)
    nsub = bi // sub
    xw, ww = bi * p['ABITS'], p['ROWS'] * p['COLS'] * lw
    keep = d["keep"]
    sw, zw = p['ROWS'] * nsub * scale_bits, p['ROWS'] * nsub * p['WBITS']
    rel_bits = 5                                    # mpe.v REL_BITS
    rw = nsub * rel_bits
    e0 = int(d["e"].min())
    rom = []
    for b in range(nb):
        xb = _pack(d["x"][b * bi:(b + 1) * bi], p['ABITS'])
        lanes = []
        for r in range(p['ROWS']):
            for c in range(p['COLS']):
                blk = b * bi // m + c // n              # lane c: slot c % N of block c / N of the beat
                i = int(keep[r][blk][c % n]) if m > 1 else 0
                lanes.append((int(d["w"][r][blk * m + i]) & ((1 << p['WBITS']) - 1)) | (i << p['WBITS']))
        wb = _pack(lanes, lw)
        g0 = b * bi // p['GROUP']                       # group of the beat's first slice
        sb = _pack([d["scale"][r][g0 + j] for r in range(p['ROWS']) for j in range(nsub)], scale_bits)
        zb = _pack([d["zero"][r][g0 + j] for r in range(p['ROWS']) for j in range(nsub)], p['WBITS'])
        rb = _pack([int(d["e"][g0 + j]) - e0 for j in range(nsub)], rel_bits)
        rom.append(f"            {b}: begin x = {_hex(xb, xw)}; w = {_hex(wb, ww)}; "
                   f"s = {_hex(sb, sw)}; z = {_hex(zb, zw)}; e = {_hex(rb, rw)}; end")
    expected = _pack(d["expected"], 32)
    text = f"""// iCEBreaker self-test of one MPE tile, generated by `codesign export --board icebreaker`.
// One MPE tile, not the processor (the whole processor is the ECP5 build, codesign/export/ecp5.py).
// Design: MPE {p['ROWS']}x{p['COLS']}, W{p['WBITS']}A{p['ABITS']}, group {p['GROUP']}{', zero points' if p['ZP'] else ''}{f', {n}:{m} sparse ({bi} inputs per beat)' if m > 1 else ''}.
// ROMs hold one GEMV tile (K = {k}, seed 2024); EXPECTED is the golden model's output.
// Activation exponents per group minus e0 = {e0}: {[int(v) - e0 for v in d['e']]} (MPE shift {d['shift']} - e0).
// ledg_n (green) lit: every run matched; ledr_n (red) lit: a mismatch was seen (latched).
`default_nettype none
module {TOP} (
    input  wire clk,
    input  wire btn_n,
    output wire ledr_n,
    output wire ledg_n
);
    localparam integer NB = {nb};
    localparam [{p['ROWS'] * 32 - 1}:0] EXPECTED = {_hex(expected, p['ROWS'] * 32)};
    reg [3:0] por = 4'd0;             // power-on reset: 15 cycles
    wire rst_n = &por;
    always @(posedge clk) if (!rst_n) por <= por + 4'd1; else if (!btn_n) por <= 4'd0;

    reg [15:0] beat;
    reg [{xw - 1}:0] x;
    reg [{ww - 1}:0] w;
    reg [{sw - 1}:0] s;
    reg [{zw - 1}:0] z;
    reg [{rw - 1}:0] e;
    always @(*) begin
        x = 0; w = 0; s = 0; z = 0; e = 0;
        case (beat)
{chr(10).join(rom)}
            default: ;
        endcase
    end

    wire in_ready, out_valid, busy;
    wire [{p['ROWS'] * 32 - 1}:0] out_data;
    wire feeding = rst_n && beat < NB;
    mpe #({", ".join(f".{k}({v})" for k, v in p.items() if k in MPE_PARAMS)}) u_mpe (
        .clk(clk), .rst_n(rst_n), .cfg_k(32'd{k}), .cfg_shift(8'd{d['shift'] - e0}),
        .in_valid(feeding), .in_ready(in_ready), .in_x(x), .in_w(w), .in_scale(s), .in_zero(z),
        .in_rel(e),
        .out_valid(out_valid), .out_ready(1'b1), .out_data(out_data), .busy(busy));

    reg pass_seen, fail_seen;
    always @(posedge clk) begin
        if (!rst_n) begin
            beat <= 16'd0; pass_seen <= 1'b0; fail_seen <= 1'b0;
        end else begin
            if (feeding && in_ready) beat <= beat + 16'd1;
            if (out_valid) begin
                if (out_data == EXPECTED) pass_seen <= 1'b1; else fail_seen <= 1'b1;
                beat <= 16'd0;        // run the tile again
            end
        end
    end
    assign ledg_n = ~(pass_seen & ~fail_seen);
    assign ledr_n = ~fail_seen;
endmodule
`default_nettype wire
"""
    rtl_dir.mkdir(parents=True, exist_ok=True)
    (rtl_dir / f"{TOP}.v").write_text(text)
    shutil.copyfile(REPO_HW / "mpe.v", rtl_dir / "mpe.v")
    return [rtl_dir / "mpe.v", rtl_dir / f"{TOP}.v"], TOP, 12.0
