"""cocotb tests of hw/rtl/sfu/sfu_softmax.v (integer softmax of one score row)."""

from __future__ import annotations

import random

import cocotb

from test_sfu_lib import (PortMap, Stream, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import softmax

LANES = env_int("SFU_LANES", 4)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
ONE = 1 << 16
DIV_QB = 33          # quotient bits of the reciprocal divider (sfu_softmax.v)
PORTS = PortMap("softmax", {"in_data": "in_a", "out_data": "out_a"})


def cycles_formula(n: int) -> int:
    """start..done: 3 passes of B beats, 2 cycles to drain the sum, the divider (QB + 1), 4 to switch pass and drain."""
    b = -(-n // LANES)
    return 3 * b + DIV_QB + 7


async def one_softmax(dut, s, rng, **kw):
    n = len(s)
    stream = Stream({"in_data": (32, beats(s, LANES) * 3)})     # the row three times
    res = await run_op(dut, lanes=LANES, cfg={"cfg_n": n}, stream=stream,
                       out_ports={"out_data": 32}, n_out_beats=-(-n // LANES), rng=rng,
                       port_map=PORTS, **kw)
    if kw.get("abort_after") is None:
        compare(f"sfu_softmax n={n}", softmax(s), res.outputs["out_data"], n)
    return res


def rand_scores(rng, n):
    spread = rng.choice([ONE // 4, 4 * ONE, 16 * ONE, 1 << 28])
    base = rng.randint(-(1 << 28), 1 << 28)
    return [base + rng.randint(-spread, spread) for _ in range(n)]


@cocotb.test()
async def random_rows_and_cycle_formula(dut):
    """Random rows (narrow and wide spreads); cycles = 3*B + 40 exactly."""
    rng = random.Random(51)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({1, 2, LANES, LANES + 1, 33, 100}):
        res = await one_softmax(dut, rand_scores(rng, n), rng)
        assert res.cycles == cycles_formula(n), \
            f"n={n}: cycles {res.cycles} != 3B + {DIV_QB + 7} = {cycles_formula(n)}"


@cocotb.test()
async def corners(dut):
    """int32 extremes (|s - max| = 2^32 - 1), all equal, one dominant, exponent bucket edges."""
    rng = random.Random(52)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    rows = [
        [I32_MAX, I32_MIN, 0, -1],
        [I32_MIN] * 5,
        [7 * ONE] * 9,
        [0, -ONE, -2 * ONE, -31 * ONE, -32 * ONE, -22 * ONE - 1, -22 * ONE + 1],
        [I32_MIN, I32_MIN + 1, I32_MIN + 45000, I32_MIN + 45454],
        [1000 * k for k in range(LANES * 3 + 1)],
    ]
    for r in rows:
        await one_softmax(dut, r, rng)


@cocotb.test()
async def random_backpressure(dut):
    rng = random.Random(53)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (6, 41):
        await one_softmax(dut, rand_scores(rng, n), rng, p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def reset_mid_operation(dut):
    """Reset in pass 1, in pass 2 and during the division; then an exact row."""
    rng = random.Random(54)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    s = rand_scores(rng, 20)
    b = -(-20 // LANES)
    for abort in (2, b + 2, 2 * b + 10):
        await one_softmax(dut, [I32_MAX] + s, rng, abort_after=abort)
        await reset_pulse(dut)
        await one_softmax(dut, s, rng)
