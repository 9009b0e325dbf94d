"""cocotb tests of hw/rtl/sfu/sfu_swiglu.v (SiLU via sigmoid LUT, SwiGLU)."""

from __future__ import annotations

import random

import cocotb

from test_sfu_lib import (PortMap, Stream, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import swiglu

LANES = env_int("SFU_LANES", 4)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
ONE = 1 << 16   # ACT_FRAC
PORTS = PortMap("act", {"in_gate": "in_a", "in_up": "in_b", "out_data": "out_a"})


async def one_act(dut, gate, up, rng, **kw):
    n = len(gate)
    stream = Stream({"in_gate": (32, beats(gate, LANES)), "in_up": (32, beats(up, LANES))})
    res = await run_op(dut, lanes=LANES, cfg={"cfg_n": n}, stream=stream,
                       out_ports={"out_data": 32}, n_out_beats=stream.n_beats, rng=rng,
                       port_map=PORTS, **kw)
    if kw.get("abort_after") is None:
        compare(f"sfu_swiglu n={n}", swiglu(gate, up), res.outputs["out_data"], n)
    return res


def rand_gate(rng, n):
    """Mostly inside the table range [-8, 8), some outside, a few huge."""
    out = []
    for _ in range(n):
        r = rng.random()
        out.append(rng.randint(-10 * ONE, 10 * ONE) if r < 0.85 else rng.randint(I32_MIN, I32_MAX))
    return out


def rand_up(rng, n):
    return [rng.randint(-(1 << rng.choice([8, 18, 24, 31])), (1 << 20)) for _ in range(n)]


@cocotb.test()
async def random_and_cycle_formula(dut):
    """Random gate/up; cycles = B + 4 exactly."""
    rng = random.Random(41)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({1, LANES, LANES + 1, 50}):
        res = await one_act(dut, rand_gate(rng, n), rand_up(rng, n), rng)
        nb = -(-n // LANES)
        assert res.cycles == nb + 4, f"n={n}: cycles {res.cycles} != B + 4 = {nb + 4}"


@cocotb.test()
async def table_edges_and_saturation(dut):
    """Table ends (-8, 8 - 2^-16, 8), bucket edges, int32 extremes times extreme up."""
    rng = random.Random(42)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    gate = [-8 * ONE, -8 * ONE - 1, 8 * ONE - 1, 8 * ONE, 0, -1, 1, 2047, 2048, -2048,
            I32_MAX, I32_MIN, I32_MAX, I32_MIN, 3 * ONE + 1024, -(3 * ONE + 1024)]
    up = [ONE, ONE, ONE, ONE, I32_MAX, I32_MIN, I32_MAX, ONE, -ONE, ONE,
          I32_MAX, I32_MIN, I32_MIN, I32_MAX, 12345, -12345]
    await one_act(dut, gate, up, rng)


@cocotb.test()
async def random_backpressure(dut):
    rng = random.Random(43)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (9, 45):
        await one_act(dut, rand_gate(rng, n), rand_up(rng, n), rng, p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def reset_mid_operation(dut):
    rng = random.Random(44)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    g, u = rand_gate(rng, 30), rand_up(rng, 30)
    await one_act(dut, g, u, rng, abort_after=5, p_ready=0.4)
    await reset_pulse(dut)
    await one_act(dut, g, u, rng)
