"""cocotb tests of hw/rtl/sfu/sfu_quant.v (per-token / KV power-of-two quantizer)."""

from __future__ import annotations

import random

import cocotb

from test_sfu_lib import (PortMap, Stream, on_top, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import quantize_pow2

LANES = env_int("SFU_LANES", 4)
# (op, quantized bits, output lane width): the standalone block has one QBITS; sfu_top
# carries the activation quantizer (ABITS) and the KV quantizer (KVBITS).
if on_top():
    VARIANTS = [("aquant", env_int("ABITS", 8)), ("kvquant", env_int("KVBITS", 8))]
else:
    VARIANTS = [("aquant", env_int("QBITS", 8))]
QW = 32 if on_top() else env_int("QW", 8)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


async def one_quant(dut, x, rng, op, QBITS, **kw):
    n = len(x)
    stream = Stream({"in_data": (32, beats(x, LANES) * 2)})   # the same vector twice
    nb = -(-n // LANES)
    res = await run_op(dut, lanes=LANES, cfg={"cfg_n": n}, stream=stream,
                       out_ports={"out_data": QW}, n_out_beats=nb, rng=rng,
                       scalars=("out_shift",),
                       port_map=PortMap(op, {"in_data": "in_a", "out_data": "out_a"}), **kw)
    if kw.get("abort_after") is None:
        q, e = quantize_pow2(x, QBITS)
        assert res.extra["out_shift"] == e, f"n={n}: shift {res.extra['out_shift']} != golden {e}"
        compare(f"sfu_quant QBITS={QBITS} n={n}", q, res.outputs["out_data"], n)
    return res


def rand_vec(rng, n):
    mag = rng.choice([3, 7, 12, 20, 31])
    return [rng.randint(-(1 << mag), (1 << mag) - 1) for _ in range(n)]


@cocotb.test()
@cocotb.parametrize((("op", "QBITS"), VARIANTS))
async def random_vectors_and_cycle_formula(dut, op, QBITS):
    """Random magnitudes (shift 0 and > 0); cycles = 2*B + 3 exactly."""
    rng = random.Random(11)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({1, LANES, LANES + 1, 2 * LANES + 3, 64}):
        for _ in range(2):
            res = await one_quant(dut, rand_vec(rng, n), rng, op, QBITS)
            nb = -(-n // LANES)
            assert res.cycles == 2 * nb + 3, f"n={n}: cycles {res.cycles} != 2B + 3 = {2 * nb + 3}"


@cocotb.test()
@cocotb.parametrize((("op", "QBITS"), VARIANTS))
async def corners(dut, op, QBITS):
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
        await one_quant(dut, x, rng, op, QBITS)


@cocotb.test()
@cocotb.parametrize((("op", "QBITS"), VARIANTS))
async def random_backpressure(dut, op, QBITS):
    rng = random.Random(13)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (3, 33, 70):
        await one_quant(dut, rand_vec(rng, n), rng, op, QBITS, p_valid=0.6, p_ready=0.5)


@cocotb.test()
@cocotb.parametrize((("op", "QBITS"), VARIANTS))
async def reset_mid_operation(dut, op, QBITS):
    """Reset in pass 1 and in pass 2; the next operation starts from a clean max."""
    rng = random.Random(14)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    big = [I32_MIN] * 9                      # would leave a large max behind
    small = [rng.randint(-50, 50) for _ in range(9)]
    for abort in (3, 9 // LANES + 4):
        await one_quant(dut, big, rng, op, QBITS, abort_after=abort, p_ready=0.5)
        await reset_pulse(dut)
        await one_quant(dut, small, rng, op, QBITS)
