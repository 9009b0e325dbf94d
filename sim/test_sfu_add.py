"""cocotb tests of hw/rtl/sfu/sfu_add.v (residual add with int32 saturation)."""

from __future__ import annotations

import random

import cocotb

from test_sfu_lib import (PortMap, Stream, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import residual_add

LANES = env_int("SFU_LANES", 4)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
PORTS = PortMap("add", {"out_data": "out_a"})


async def one_add(dut, a, b, rng, **kw):
    n = len(a)
    stream = Stream({"in_a": (32, beats(a, LANES)), "in_b": (32, beats(b, LANES))})
    nb = stream.n_beats
    res = await run_op(dut, lanes=LANES, cfg={"cfg_n": n}, stream=stream,
                       out_ports={"out_data": 32}, n_out_beats=nb, rng=rng, port_map=PORTS, **kw)
    if kw.get("abort_after") is None:
        compare(f"sfu_add n={n}", residual_add(a, b), res.outputs["out_data"], n)
    return res


@cocotb.test()
async def random_lengths_and_cycle_formula(dut):
    """Random int32 operands, lengths around lane multiples; cycles = B + 2 exactly."""
    rng = random.Random(1)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({1, LANES, LANES + 1, 2 * LANES - 1, 37, 3 * LANES}):
        a = [rng.randint(I32_MIN, I32_MAX) for _ in range(n)]
        b = [rng.randint(I32_MIN, I32_MAX) for _ in range(n)]
        res = await one_add(dut, a, b, rng)
        n_beats = -(-n // LANES)
        assert res.cycles == n_beats + 2, f"n={n}: cycles {res.cycles} != B + 2 = {n_beats + 2}"


@cocotb.test()
async def saturation_corners(dut):
    """Overflow both ways, max negative plus max negative, zero crossings."""
    rng = random.Random(2)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    a = [I32_MAX, I32_MIN, I32_MIN, I32_MAX, I32_MAX, -1, 0, I32_MIN, 1]
    b = [1, -1, I32_MIN, I32_MAX, I32_MIN, 1, 0, 0, I32_MAX]
    await one_add(dut, a, b, rng)


@cocotb.test()
async def random_backpressure(dut):
    """Random input gaps and random out_ready deassertion: same results."""
    rng = random.Random(3)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (5, 29, 64):
        a = [rng.randint(I32_MIN, I32_MAX) for _ in range(n)]
        b = [rng.randint(I32_MIN, I32_MAX) for _ in range(n)]
        await one_add(dut, a, b, rng, p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def reset_mid_operation(dut):
    """Reset while beats are in flight; the next operation is exact."""
    rng = random.Random(4)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    a = [rng.randint(I32_MIN, I32_MAX) for _ in range(40)]
    b = [rng.randint(I32_MIN, I32_MAX) for _ in range(40)]
    await one_add(dut, a, b, rng, p_ready=0.3, abort_after=4)
    await reset_pulse(dut)
    await one_add(dut, a, b, rng, p_valid=0.8, p_ready=0.8)
