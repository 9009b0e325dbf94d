"""cocotb tests of hw/rtl/weight_beat.v (run-time weight precision, docs/RTL.md "Weight modes")
against a Python model of the packed streams (docs/NUMERICS.md; codesign.quant.pack.pack_bits).

The bench packs random W-bit lane fields (and, N:M sparse, their index bits) the way the packer
writes a beat of each mode, splits the stream into weight words of the build's WBITS beat (the last
word of a wide beat holds what is left), and drives them with random gaps (in_valid low) while
out_ready stalls at random (backpressure). Scoreboard: every accepted out_beat equals the beat's lanes
widened to WM bits (sign-extended symmetric, zero-extended with zero points, index above); a wide
beat takes exactly WPARTS accepted words; a reset in the middle of a wide beat drops the gathered words.

Parameters from the environment (tests/test_rtl_blocks.py): ROWS, COLS, WBITS, WBITS_HI, ZP, NM_M.
"""

from __future__ import annotations

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

P = {k: int(os.environ.get(k, d)) for k, d in dict(ROWS=2, COLS=8, WBITS=4, WBITS_HI=8, ZP=0, NM_M=1).items()}
ROWS, COLS, WB, WH, ZP, NM_M = (P[k] for k in ("ROWS", "COLS", "WBITS", "WBITS_HI", "ZP", "NM_M"))
IB = (NM_M - 1).bit_length()
LANES = ROWS * COLS
WM = max(WB, WH)
LWM = WM + IB
BEAT_BITS = -(-LANES * (WB + IB) // 8) * 8            # one weight word (a WBITS beat, whole bytes)
BEAT_BITS_HI = -(-LANES * (WH + IB) // 8) * 8
WPARTS = -(-BEAT_BITS_HI // BEAT_BITS) if WH else 1


def lanes(rng, bits):
    """Random (weight, index) pairs at ``bits``: the packer's signed or unsigned range."""
    lo, hi = (0, (1 << bits) - 1) if ZP else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return [(rng.randint(lo, hi), rng.randrange(NM_M)) for _ in range(LANES)]


def pack_fields(fields, bits):
    word = 0
    for i, (w, ix) in enumerate(fields):
        word |= ((w & ((1 << bits) - 1)) | (ix << bits)) << (i * (bits + IB))
    return word


def expected(fields):
    """The MPE's lane fields: the value in WM bits (two's complement), its index above."""
    return pack_fields(fields, WM)


def words_of(fields, hi):
    """The weight words the unpacker hands over for one beat: (bits, data) per word."""
    if not hi:
        return [(BEAT_BITS, pack_fields(fields, WB))]
    beat = pack_fields(fields, WH)
    out = []
    for p in range(WPARTS):
        n = BEAT_BITS if p < WPARTS - 1 else BEAT_BITS_HI - (WPARTS - 1) * BEAT_BITS
        out.append((n, (beat >> (p * BEAT_BITS)) & ((1 << n) - 1)))
    return out


async def reset(dut):
    await FallingEdge(dut.clk)
    dut.rst_n.value = 0
    dut.clear.value = 0
    dut.in_valid.value = 0
    dut.out_ready.value = 0
    dut.hi.value = 0
    dut.in_data.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1


async def stream(dut, rng, beats, p_gap=0.3, p_stall=0.3, abort_after=None):
    """Drive ``beats`` [(hi, fields)] through the block; returns the out_beats accepted and the words
    accepted per beat. ``abort_after``: pull reset after that many accepted words (mid-beat)."""
    got, taken, taken_total = [], [], 0
    for hi, fields in beats:
        words = words_of(fields, hi)
        n_words = 0
        for bits, data in words:
            while True:
                await FallingEdge(dut.clk)
                dut.hi.value = int(hi)
                dut.in_valid.value = int(rng.random() >= p_gap)
                dut.in_data.value = data
                dut.out_ready.value = int(rng.random() >= p_stall)
                await ReadOnly()
                if int(dut.in_valid.value) and int(dut.in_ready.value):
                    assert int(dut.in_bits.value) == bits, f"in_bits {int(dut.in_bits.value)}, want {bits}"
                    if int(dut.out_valid.value):
                        assert int(dut.out_ready.value)
                        got.append(int(dut.out_beat.value))
                    n_words += 1
                    taken_total += 1
                    break
                # a completing word may not be taken without out_ready; a gathered word is never refused
                assert not (int(dut.out_valid.value) and int(dut.out_ready.value)), "out fired without in"
            if abort_after is not None and taken_total == abort_after:
                return got, taken, True
        taken.append(n_words)
    await FallingEdge(dut.clk)
    dut.in_valid.value = 0
    return got, taken, False


@cocotb.test()
async def both_modes_with_backpressure(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = random.Random(7)
    modes = [False, True] if WH else [False]
    beats = [(hi, lanes(rng, WH if hi else WB)) for hi in (rng.choice(modes) for _ in range(60))]
    # extremes of each mode
    for hi in modes:
        bits = WH if hi else WB
        lo, top = (0, (1 << bits) - 1) if ZP else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        beats += [(hi, [(lo, NM_M - 1)] * LANES), (hi, [(top, 0)] * LANES)]
    got, taken, _ = await stream(dut, rng, beats)
    assert len(got) == len(beats)
    for i, ((hi, fields), g) in enumerate(zip(beats, got)):
        assert g == expected(fields), f"beat {i} ({'W%d' % WH if hi else 'W%d' % WB}): {g:#x} != {expected(fields):#x}"
        assert taken[i] == (WPARTS if hi else 1), f"beat {i}: {taken[i]} words"


@cocotb.test()
async def reset_mid_beat(dut):
    """A reset while a wide beat is half gathered: the next beat is whole, not spliced with the old words."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    rng = random.Random(11)
    if WPARTS > 1:
        _, _, aborted = await stream(dut, rng, [(True, lanes(rng, WH))], abort_after=1)
        assert aborted
        await reset(dut)
    # and `clear` (instruction start) drops a half-gathered beat the same way
    if WPARTS > 1:
        _, _, aborted = await stream(dut, rng, [(True, lanes(rng, WH))], abort_after=1)
        await FallingEdge(dut.clk)
        dut.in_valid.value = 0
        dut.clear.value = 1
        await FallingEdge(dut.clk)
        dut.clear.value = 0
    modes = [False, True] if WH else [False]
    beats = [(hi, lanes(rng, WH if hi else WB)) for hi in (rng.choice(modes) for _ in range(12))]
    got, _, _ = await stream(dut, rng, beats)
    assert got == [expected(f) for _, f in beats]
