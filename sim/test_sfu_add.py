"""cocotb tests of hw/rtl/sfu/sfu_add.v (residual add / MoE combine with int32 saturation)."""

from __future__ import annotations

import random

import cocotb

from test_sfu_lib import (PortMap, Stream, beats, compare, env_int, on_top, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import residual_add

LANES = env_int("SFU_LANES", 4)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
PORTS = PortMap("add", {"out_data": "out_a"})
MODES = [None, 1 << 15, 12345, 0]      # plain ADD, then MoE weights 1.0, ~0.377, 0


def cfg(n: int, w: int | None) -> dict:
    if on_top():   # sfu_top: cfg_arg = {weighted, w[15:0]}
        return {"cfg_n": n, "cfg_arg": 0 if w is None else (1 << 16) | w}
    return {"cfg_n": n, "cfg_weighted": int(w is not None), "cfg_w": w or 0}


async def one_add(dut, a, b, rng, w=None, **kw):
    n = len(a)
    stream = Stream({"in_a": (32, beats(a, LANES)), "in_b": (32, beats(b, LANES))})
    res = await run_op(dut, lanes=LANES, cfg=cfg(n, w), stream=stream, out_ports={"out_data": 32},
                       n_out_beats=stream.n_beats, rng=rng, port_map=PORTS, **kw)
    if kw.get("abort_after") is None:
        compare(f"sfu_add n={n} w={w}", residual_add(a, b, w), res.outputs["out_data"], n)
    return res


def rand32(rng, n):
    return [rng.randint(I32_MIN, I32_MAX) for _ in range(n)]


@cocotb.test()
@cocotb.parametrize(w=MODES)
async def random_lengths_and_cycle_formula(dut, w):
    """Random int32 operands, lengths around lane multiples; cycles = B + 2 exactly."""
    rng = random.Random(1)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({1, LANES, LANES + 1, 2 * LANES - 1, 37}):
        res = await one_add(dut, rand32(rng, n), rand32(rng, n), rng, w)
        n_beats = -(-n // LANES)
        assert res.cycles == n_beats + 2, f"n={n}: cycles {res.cycles} != B + 2 = {n_beats + 2}"


@cocotb.test()
@cocotb.parametrize(w=MODES)
async def saturation_corners(dut, w):
    """Overflow both ways, max negative plus max negative, zero crossings, rounding halves."""
    rng = random.Random(2)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    a = [I32_MAX, I32_MIN, I32_MIN, I32_MAX, I32_MAX, -1, 0, I32_MIN, 1, 0, 0]
    b = [1, -1, I32_MIN, I32_MAX, I32_MIN, 1, 0, 0, I32_MAX, 1, -1]
    await one_add(dut, a, b, rng, w)


@cocotb.test()
async def random_backpressure(dut):
    """Random input gaps and random out_ready deassertion: same results."""
    rng = random.Random(3)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n, w in ((5, None), (29, 20000), (64, None)):
        await one_add(dut, rand32(rng, n), rand32(rng, n), rng, w, p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def reset_mid_operation(dut):
    """Reset while beats are in flight (weighted op); the next (plain) operation is exact."""
    rng = random.Random(4)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    a, b = rand32(rng, 40), rand32(rng, 40)
    await one_add(dut, a, b, rng, 777, p_ready=0.3, abort_after=4)
    await reset_pulse(dut)
    await one_add(dut, a, b, rng, None, p_valid=0.8, p_ready=0.8)
