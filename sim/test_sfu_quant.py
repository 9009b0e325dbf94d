"""cocotb tests of hw/rtl/sfu/sfu_quant.v (per-token / KV power-of-two quantizer)."""

from __future__ import annotations

import random

import cocotb

from test_sfu_lib import (Stream, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import quantize_pow2

LANES = env_int("SFU_LANES", 4)
QBITS = env_int("QBITS", 8)
QW = env_int("QW", 8)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


async def one_quant(dut, x, rng, **kw):
    n = len(x)
    stream = Stream({"in_data": (32, beats(x, LANES) * 2)})   # the same vector twice
    nb = -(-n // LANES)
    res = await run_op(dut, lanes=LANES, cfg={"cfg_n": n}, stream=stream,
                       out_ports={"out_data": QW}, n_out_beats=nb, rng=rng,
                       scalars=("out_shift",), **kw)
    if kw.get("abort_after") is None:
        q, e = quantize_pow2(x, QBITS)
        assert res.extra["out_shift"] == e, f"n={n}: shift {res.extra['out_shift']} != golden {e}"
        compare(f"sfu_quant QBITS={QBITS} n={n}", q, res.outputs["out_data"], n)
    return res


def rand_vec(rng, n):
    mag = rng.choice([3, QBITS - 1, QBITS + 3, 20, 31])
    return [rng.randint(-(1 << mag), (1 << mag) - 1) for _ in range(n)]


@cocotb.test()
async def random_vectors_and_cycle_formula(dut):
    """Random magnitudes (shift 0 and > 0); cycles = 2*B + 3 exactly."""
    rng = random.Random(11)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({1, LANES, LANES + 1, 2 * LANES + 3, 64}):
        for _ in range(2):
            res = await one_quant(dut, rand_vec(rng, n), rng)
            nb = -(-n // LANES)
            assert res.cycles == 2 * nb + 3, f"n={n}: cycles {res.cycles} != 2B + 3 = {2 * nb + 3}"


@cocotb.test()
async def corners(dut):
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
        await one_quant(dut, x, rng)


@cocotb.test()
async def random_backpressure(dut):
    rng = random.Random(13)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (3, 33, 70):
        await one_quant(dut, rand_vec(rng, n), rng, p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def reset_mid_operation(dut):
    """Reset in pass 1 and in pass 2; the next operation starts from a clean max."""
    rng = random.Random(14)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    big = [I32_MIN] * 9                      # would leave a large max behind
    small = [rng.randint(-50, 50) for _ in range(9)]
    for abort in (3, 9 // LANES + 4):
        await one_quant(dut, big, rng, abort_after=abort, p_ready=0.5)
        await reset_pulse(dut)
        await one_quant(dut, small, rng)
