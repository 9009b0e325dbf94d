"""cocotb tests of hw/rtl/mpe.v against the integer GEMV reference (sim/rtl_ref.py), with the
activations' per-group (block) exponents: the bench drives rel_g = e_g - e0 and shift - e0 as the
sequencer does (rtl_ref.mpe_inputs); the reference takes e_g and the instruction shift.

Parameters come from the environment (set by tests/test_rtl_blocks.py from the HDL parameters).
Inputs change on the falling edge; handshakes are sampled in ReadOnly before the rising edge,
which is exact on both Verilator and Icarus.

N:M sparse parameter sets (NM_N < NM_M): every tile's weights are pruned to N of each block of M
inputs (pruned weights = the group's zero point, so the dense reference sums them as 0); the bench
packs each beat's lanes as the packer does (docs/NUMERICS.md "N:M sparse weight stream": kept
weight in bits [0, W), its index in the block above it, slots in ascending index order) and the
scoreboard is the same dense integer reference (rtl_ref.gemv_tile) on the pruned matrix.
"""

from __future__ import annotations

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from rtl_ref import I32_MAX, I32_MIN, gemv_tile, mpe_inputs

P = {k: int(os.environ.get(k, d)) for k, d in
     dict(ROWS=4, COLS=8, WBITS=4, ABITS=8, GROUP=32, SCALE_BITS=16, ZP=0, REL_BITS=5,
          NM_N=1, NM_M=1).items()}
ROWS, COLS, WB, AB, GROUP, SB, ZP, RB = (P[k] for k in ("ROWS", "COLS", "WBITS", "ABITS", "GROUP",
                                                        "SCALE_BITS", "ZP", "REL_BITS"))
REL_MAX = (1 << RB) - 1
NM_N, NM_M = P["NM_N"], P["NM_M"]
IB = (NM_M - 1).bit_length()          # index bits: ceil(log2 M), 0 when dense
LW = WB + IB                          # one lane field
BI = COLS * NM_M // NM_N              # inputs one beat covers
SUB = min(BI, GROUP)                  # inputs per group slice
NSUB = BI // SUB
KSTEP = max(BI, GROUP)
MPE_LAT = 3   # cycles from the last beat to its result (mpe.v header)


def wrange():
    return (0, (1 << WB) - 1) if ZP else (-(1 << (WB - 1)), (1 << (WB - 1)) - 1)


def arange():
    return -(1 << (AB - 1)), (1 << (AB - 1)) - 1


def pack(vals, width):
    m = (1 << width) - 1
    word = 0
    for i, v in enumerate(vals):
        word |= (int(v) & m) << (i * width)
    return word


def unpack32(word, n):
    out = []
    for i in range(n):
        v = (word >> (32 * i)) & 0xFFFFFFFF
        out.append(v - (1 << 32) if v >> 31 else v)
    return out


def prune(w, zero, rng):
    """N:M pattern: per row and block of NM_M inputs keep NM_N random distinct inputs (ascending),
    the others take the group's zero point. Returns (pruned w, keep[r][block] = kept indices)."""
    k = len(w[0])
    if NM_N == NM_M:   # dense: every input kept (and the random stream is the dense bench's)
        return w, [[list(range(NM_M))] * (k // NM_M) for _ in range(ROWS)]
    w = [list(row) for row in w]
    keep = []
    for r in range(ROWS):
        kr = []
        for blk in range(k // NM_M):
            idx = sorted(rng.sample(range(NM_M), NM_N))
            for i in range(NM_M):
                if i not in idx:
                    w[r][blk * NM_M + i] = zero[r][blk * NM_M // GROUP]
            kr.append(idx)
        keep.append(kr)
    return w, keep


def lane_fields(w, keep, b):
    """The ROWS x COLS lane fields of beat b (row-major): weight | index << WBITS."""
    out = []
    for r in range(ROWS):
        for c in range(COLS):
            blk = b * BI // NM_M + c // NM_N
            i = keep[r][blk][c % NM_N]
            q = w[r][blk * NM_M + i] & ((1 << WB) - 1)
            out.append(q | (i << WB))
    return out


def beats_of(w, x, scale, zero, keep, rel):
    """Beat b: x[b*BI:(b+1)*BI], the (sparse) weight lanes, the scales/zeros/relative exponents of
    its group slices."""
    k = len(x)
    out = []
    for b in range(k // BI):
        cols = range(b * BI, (b + 1) * BI)
        bx = pack([x[i] for i in cols], AB)
        bw = pack(lane_fields(w, keep, b), LW)
        gs = [(b * BI + j * SUB) // GROUP for j in range(NSUB)]
        bs = pack([scale[r][g] for r in range(ROWS) for g in gs], SB)
        bz = pack([zero[r][g] for r in range(ROWS) for g in gs], WB)
        br = pack([rel[g] for g in gs], RB)
        out.append((bx, bw, bs, bz, br))
    return out


def random_tile(rng, k, extreme=False):
    lo, hi = wrange()
    alo, ahi = arange()
    ng = k // GROUP
    if extreme:
        w = [[rng.choice((lo, hi)) for _ in range(k)] for _ in range(ROWS)]
        x = [rng.choice((alo, ahi)) for _ in range(k)]
        scale = [[(1 << SB) - 1] * ng for _ in range(ROWS)]
    else:
        w = [[rng.randint(lo, hi) for _ in range(k)] for _ in range(ROWS)]
        x = [rng.randint(alo, ahi) for _ in range(k)]
        scale = [[rng.randint(0, (1 << SB) - 1) for _ in range(ng)] for _ in range(ROWS)]
    zero = [[rng.randint(0, (1 << WB) - 1) if ZP else 0 for _ in range(ng)] for _ in range(ROWS)]
    w, keep = prune(w, zero, rng)
    return w, x, scale, zero, keep


async def reset(dut):
    dut.rst_n.value = 0
    dut.in_valid.value = 0
    dut.out_ready.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1


def exps(rng, k, lo=0, hi=12, outlier=None):
    """Block exponents of one token: random in [lo, hi]; `outlier` = (group, e) overrides one."""
    e = [rng.randint(lo, hi) for _ in range(k // GROUP)]
    if outlier is not None:
        e[outlier[0]] = outlier[1]
    return e


async def run_tiles(dut, tiles, k, shift, rng, e=None, p_valid=1.0, p_ready=1.0, abort_after=None):
    """Stream tiles (row tiles of one token: exponents e shared) back to back; returns (results
    per tile, cycles first beat..last result)."""
    e = [0] * (k // GROUP) if e is None else e
    rel, sh = mpe_inputs(e, shift)
    assert -63 <= sh <= 63 and max(rel) <= REL_MAX, (sh, rel)
    dut.cfg_k.value = k
    dut.cfg_shift.value = sh & 0xFF
    stream = [b for t in tiles for b in beats_of(*t, rel)]
    sent, results, cycle, first = 0, [], 0, None
    while len(results) < len(tiles):
        await FallingEdge(dut.clk)
        cycle += 1
        if cycle > 50 * len(stream) + 100:
            raise AssertionError(f"MPE hung: sent {sent}/{len(stream)} beats, {len(results)} results")
        if abort_after is not None and cycle > abort_after:
            return results, None
        drive = sent < len(stream) and rng.random() < p_valid
        dut.in_valid.value = int(drive)
        if sent < len(stream):
            bx, bw, bs, bz, br = stream[sent]
            dut.in_x.value, dut.in_w.value, dut.in_scale.value, dut.in_zero.value = bx, bw, bs, bz
            dut.in_rel.value = br
        dut.out_ready.value = int(rng.random() < p_ready)
        await ReadOnly()
        if drive and int(dut.in_ready.value):
            first = cycle if first is None else first
            sent += 1
        if int(dut.out_valid.value) and int(dut.out_ready.value):
            results.append(unpack32(int(dut.out_data.value), ROWS))
    await FallingEdge(dut.clk)
    dut.in_valid.value = 0
    dut.out_ready.value = 0
    return results, cycle - first + 1


def check(tag, tiles, results, shift, e=None):
    for t, (tile, got) in enumerate(zip(tiles, results)):
        exp = gemv_tile(*tile[:4], group=GROUP, shift=shift, e=e)
        for r in range(ROWS):
            if exp[r] != got[r]:
                raise AssertionError(f"{tag}: tile {t} row {r}: expected {exp[r]}, actual {got[r]}")


async def start(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)


@cocotb.test()
async def random_tiles_and_cycles(dut):
    """Back-to-back tiles at full rate, random block exponents: bit-exact, and
    cycles = tiles*K/BI + MPE_LAT exactly (the exponents cost no cycle; dense BI = COLS)."""
    rng = random.Random(11)
    await start(dut)
    kstep = KSTEP
    for k_mult, n_tiles, shift, ehi in ((1, 1, 0, 0), (2, 3, 7, 6), (3, 2, 12, 12), (1, 2, -3, 3),
                                        (4, 2, 20, 9)):
        k = kstep * k_mult
        e = exps(rng, k, 0, ehi)
        tiles = [random_tile(rng, k) for _ in range(n_tiles)]
        res, cycles = await run_tiles(dut, tiles, k, shift, rng, e)
        check(f"k={k} shift={shift} e={e}", tiles, res, shift, e)
        exp_cycles = n_tiles * k // BI + MPE_LAT
        assert cycles == exp_cycles, f"k={k} tiles={n_tiles}: {cycles} cycles != {exp_cycles}"


@cocotb.test()
async def outlier_block(dut):
    """One group's activations carry an outlier exponent (first, middle, last group): that group's
    product is shifted up by up to REL_MAX, the others stay at e0 (which may be > 0)."""
    rng = random.Random(15)
    await start(dut)
    k = KSTEP * 3
    ng = k // GROUP
    for g, e_out, base in ((0, 9, 0), (ng // 2, 20, 2), (ng - 1, REL_MAX, 0), (ng - 1, REL_MAX + 3, 3)):
        e = [base] * ng
        e[g] = e_out
        tiles = [random_tile(rng, k) for _ in range(2)]
        shift = 30
        res, _ = await run_tiles(dut, tiles, k, shift, rng, e)
        check(f"outlier group {g} e={e_out} e0={base}", tiles, res, shift, e)


@cocotb.test()
async def random_backpressure(dut):
    """Random input gaps and output stalls never lose, duplicate or corrupt a result."""
    rng = random.Random(12)
    await start(dut)
    k = KSTEP * 2
    for pv, pr in ((0.5, 0.3), (0.9, 0.1), (0.3, 0.9)):
        e = exps(rng, k, 1, 10)
        tiles = [random_tile(rng, k) for _ in range(4)]
        res, _ = await run_tiles(dut, tiles, k, 5, rng, e, p_valid=pv, p_ready=pr)
        check(f"backpressure pv={pv} pr={pr}", tiles, res, 5, e)


@cocotb.test()
async def saturation_corners(dut):
    """Extreme weights/activations/scales: saturation to int32 both ways, large shifts, and
    relative exponents up to REL_MAX (the shifted products wrap at 64 bits, as the golden int64)."""
    rng = random.Random(13)
    await start(dut)
    k = KSTEP * 2
    for shift in (-63, -31, -5, 0, 1, 20, 40, 63):
        tiles = [random_tile(rng, k, extreme=True) for _ in range(2)]
        res, _ = await run_tiles(dut, tiles, k, shift, rng)
        check(f"extreme shift={shift}", tiles, res, shift)
    for shift in (0, 31, 60):
        e = exps(rng, k, 0, REL_MAX)
        e[rng.randrange(len(e))] = REL_MAX
        e[rng.randrange(len(e))] = 0
        tiles = [random_tile(rng, k, extreme=True) for _ in range(2)]
        res, _ = await run_tiles(dut, tiles, k, shift, rng, e)
        check(f"extreme shift={shift} e={e}", tiles, res, shift, e)
    # all weights at the same extreme saturate every row at shift 0
    lo, hi = wrange()
    alo, ahi = arange()
    ng = k // GROUP
    smax = [[(1 << SB) - 1] * ng for _ in range(ROWS)]
    zero = [[0] * ng for _ in range(ROWS)]
    w, keep = prune([[lo if ZP == 0 else hi] * k for _ in range(ROWS)], zero, rng)
    for x in ([alo] * k, [ahi] * k):
        tiles = [(w, x, smax, zero, keep)]
        res, _ = await run_tiles(dut, tiles, k, 0, rng)
        check("saturate", tiles, res, 0)
        peak = (hi - (0 if ZP == 0 else 0)) * max(-alo, ahi) * (k * NM_N // NM_M) * ((1 << SB) - 1)
        if peak > 2 * I32_MAX:   # these bit widths can overflow int32 at all
            assert all(v in (I32_MIN, I32_MAX) for v in res[0]), f"expected saturation, got {res[0]}"


@cocotb.test()
async def reset_mid_tile(dut):
    """Reset in the middle of a tile drops it; the next tile is exact."""
    rng = random.Random(14)
    await start(dut)
    k = KSTEP * 2
    tiles = [random_tile(rng, k) for _ in range(2)]
    await run_tiles(dut, tiles, k, 3, rng, exps(rng, k, 0, 20), abort_after=k // BI + 1)
    await reset(dut)
    await ReadOnly()
    assert int(dut.out_valid.value) == 0 and int(dut.busy.value) == 0, "reset left state behind"
    await FallingEdge(dut.clk)
    e = exps(rng, k, 0, 5)
    tiles = [random_tile(rng, k) for _ in range(2)]
    res, cycles = await run_tiles(dut, tiles, k, 3, rng, e)
    check("after reset", tiles, res, 3, e)
    assert cycles == 2 * k // BI + MPE_LAT
