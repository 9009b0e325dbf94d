"""cocotb tests of hw/rtl/sfu/sfu_quant.v: the power-of-two quantizer in its two modes.

* whole vector (Q heads, KV rows): one exponent e (numerics.quantize_pow2);
* blocked (GEMV input): one exponent per block of GROUP elements (numerics.quantize_activation),
  emitted on out_e* in pass 1; in pass 2 the bench plays the sequencer's exponent buffer and feeds
  each lane's block exponent on in_e; out_shift = e0 = min over the blocks.
Scored against the golden model (sim/test_sfu_ref.py) on both simulators.
"""

from __future__ import annotations

import random

import cocotb

from test_sfu_lib import (PortMap, Stream, on_top, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import quantize_blocks, quantize_pow2

LANES = env_int("SFU_LANES", 4)
GROUP = env_int("GROUP", 32)
# (op, quantized bits, blocked): the standalone block has one QBITS and runs both modes (cfg_blocked);
# sfu_top carries the activation quantizer (ABITS: AQUANT whole-vector, XQUANT blocked) and the
# KV quantizer (KVBITS, whole-vector only).
if on_top():
    VARIANTS = [("aquant", env_int("ABITS", 8), False), ("kvquant", env_int("KVBITS", 8), False),
                ("xquant", env_int("ABITS", 8), True)]
else:
    VARIANTS = [("aquant", env_int("QBITS", 8), False), ("aquant", env_int("QBITS", 8), True)]
QW = 32 if on_top() else env_int("QW", 8)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
JUNK_E = 0x2A   # exponent lanes the block must ignore (pass 1; every pass in whole-vector mode)


class ExpMonitor:
    """Records the block exponents the quantizer emits (what the sequencer writes to its buffer)."""

    def __init__(self):
        self.seen: list[tuple[int, int]] = []

    def __call__(self, dut):
        valid = int(dut.out_e_valid.value)
        if not valid:
            return
        ns = len(dut.out_e_valid)
        base = int(dut.out_e_idx.value)
        e = int(dut.out_e.value)
        for s in range(ns):
            if valid >> s & 1:
                self.seen.append((base + s, (e >> (6 * s)) & 63))


async def one_quant(dut, x, rng, op, QBITS, blocked, **kw):
    n = len(x)
    nb = -(-n // LANES)
    if blocked:
        q, e = quantize_blocks(x, QBITS, GROUP)
        lane_e = [e[i // GROUP] for i in range(n)]
    else:
        q, e1 = quantize_pow2(x, QBITS)
        e = [e1]
        lane_e = [JUNK_E] * n
    e_beats = [[JUNK_E] * LANES for _ in range(nb)] + beats(lane_e, LANES)
    ports = {"in_data": (32, beats(x, LANES) * 2), "in_e": (6, e_beats)}   # the same vector twice
    cfg = {"cfg_n": n} if on_top() else {"cfg_n": n, "cfg_blocked": int(blocked)}
    mon = ExpMonitor()
    res = await run_op(dut, lanes=LANES, cfg=cfg, stream=Stream(ports),
                       out_ports={"out_data": QW}, n_out_beats=nb, rng=rng,
                       scalars=("out_shift",), on_cycle=mon,
                       port_map=PortMap(op, {"in_data": "in_a", "out_data": "out_a"}), **kw)
    if kw.get("abort_after") is not None:
        return res
    tag = f"{op} QBITS={QBITS} GROUP={GROUP} blocked={blocked} n={n}"
    e0 = min(e)
    assert res.extra["out_shift"] == e0, f"{tag}: out_shift {res.extra['out_shift']} != golden e0 {e0}"
    if not (on_top() and op == "kvquant"):   # out_e* belong to the activation quantizer
        want = list(enumerate(e))
        assert sorted(mon.seen) == want, f"{tag}: emitted exponents {sorted(mon.seen)} != golden {want}"
    compare(tag, q, res.outputs["out_data"], n)
    return res


def rand_vec(rng, n):
    mag = rng.choice([3, 7, 12, 20, 31])
    return [rng.randint(-(1 << mag), (1 << mag) - 1) for _ in range(n)]


def block_vec(rng, n):
    """A different magnitude per block (exponents differ from block to block)."""
    out = []
    for b in range(0, n, GROUP):
        mag = rng.choice([2, 6, 9, 15, 22, 31])
        out += [rng.randint(-(1 << mag), (1 << mag) - 1) for _ in range(min(GROUP, n - b))]
    return out


def lengths():
    """Vector lengths around lane and block boundaries (short last block, one element past it)."""
    cand = {1, LANES, LANES + 1, 2 * LANES + 3, GROUP - 1, GROUP, GROUP + 1, 3 * GROUP + LANES,
            64}
    return sorted(v for v in cand if v >= 1)


@cocotb.test()
@cocotb.parametrize((("op", "QBITS", "blocked"), VARIANTS))
async def random_vectors_and_cycle_formula(dut, op, QBITS, blocked):
    """Random magnitudes (shift 0 and > 0), per-block magnitudes; cycles = 2*B + 3 exactly."""
    rng = random.Random(11)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in lengths():
        for gen in (rand_vec, block_vec):
            res = await one_quant(dut, gen(rng, n), rng, op, QBITS, blocked)
            nb = -(-n // LANES)
            assert res.cycles == 2 * nb + 3, f"n={n}: cycles {res.cycles} != 2B + 3 = {2 * nb + 3}"


@cocotb.test()
@cocotb.parametrize((("op", "QBITS", "blocked"), VARIANTS))
async def outlier_in_one_block(dut, op, QBITS, blocked):
    """One large element in one block: only that block's exponent grows (blocked mode); e0 stays
    the small blocks' exponent; the outlier's own block (first, middle, last-short) varies."""
    rng = random.Random(15)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    n = 3 * GROUP + max(1, GROUP // 2)
    for pos in (0, GROUP + GROUP // 2, n - 1, GROUP - 1, GROUP):
        x = [rng.randint(-100, 100) for _ in range(n)]
        x[pos] = rng.choice([I32_MIN, I32_MAX, 1 << 24, -(1 << 19)])
        await one_quant(dut, x, rng, op, QBITS, blocked)


@cocotb.test()
@cocotb.parametrize((("op", "QBITS", "blocked"), VARIANTS))
async def corners(dut, op, QBITS, blocked):
    """Max negative, max positive, all zero, exact halves (round half away), clamp."""
    rng = random.Random(12)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    qmax = (1 << (QBITS - 1)) - 1
    cases = [
        [I32_MIN, I32_MAX, 0, -1, 1],
        [I32_MIN] * 3,
        [0] * 7,
        [qmax, -qmax, 0, 5],                          # fits: shift 0
        [qmax + 1, -(qmax + 1), 1, -1],               # needs shift 1, halves
        [(qmax << 4) + 8, -((qmax << 4) + 8), 8, -8, 24, -24],  # halves at shift 5
        [-(1 << 20), (1 << 20) - 1, 3 << 12, -(3 << 12)],
    ]
    for x in cases:
        await one_quant(dut, x, rng, op, QBITS, blocked)


@cocotb.test()
@cocotb.parametrize((("op", "QBITS", "blocked"), VARIANTS))
async def random_backpressure(dut, op, QBITS, blocked):
    rng = random.Random(13)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (3, 33, 70, 2 * GROUP + 5):
        await one_quant(dut, block_vec(rng, n), rng, op, QBITS, blocked, p_valid=0.6, p_ready=0.5)


@cocotb.test()
@cocotb.parametrize((("op", "QBITS", "blocked"), VARIANTS))
async def reset_mid_operation(dut, op, QBITS, blocked):
    """Reset in pass 1 and in pass 2; the next operation starts from a clean max, block index
    and e0."""
    rng = random.Random(14)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    nbig = 2 * GROUP + 9
    big = [I32_MIN] * nbig                   # would leave a large max / exponents behind
    small = [rng.randint(-50, 50) for _ in range(GROUP + 9)]
    for abort in (3, -(-nbig // LANES) + 4):
        await one_quant(dut, big, rng, op, QBITS, blocked, abort_after=abort, p_ready=0.5)
        await reset_pulse(dut)
        await one_quant(dut, small, rng, op, QBITS, blocked)
