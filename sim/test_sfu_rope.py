"""cocotb tests of hw/rtl/sfu/sfu_rope.v (table-driven rotary embedding)."""

from __future__ import annotations

import math
import random

import cocotb

from test_sfu_lib import (PortMap, Stream, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import rope_rotate

LANES = env_int("SFU_LANES", 4)
FRAC = 14
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
PORTS = PortMap("rope", {"in_x0": "in_a", "in_x1": "in_b", "in_cos": "in_c", "in_sin": "in_d",
                         "out_y0": "out_a", "out_y1": "out_b"})


def table(rng, n):
    """cos/sin of random angles in Q1.14 (what the compiler's RoPE table holds)."""
    ang = [rng.uniform(-math.pi, math.pi) for _ in range(n)]
    return ([round(math.cos(a) * (1 << FRAC)) for a in ang],
            [round(math.sin(a) * (1 << FRAC)) for a in ang])


async def one_rope(dut, x0, x1, c, s, rng, **kw):
    n = len(x0)
    stream = Stream({"in_x0": (32, beats(x0, LANES)), "in_x1": (32, beats(x1, LANES)),
                     "in_cos": (16, beats(c, LANES)), "in_sin": (16, beats(s, LANES))})
    res = await run_op(dut, lanes=LANES, cfg={"cfg_n": n}, stream=stream,
                       out_ports={"out_y0": 32, "out_y1": 32}, n_out_beats=stream.n_beats,
                       rng=rng, port_map=PORTS, **kw)
    if kw.get("abort_after") is None:
        y0, y1 = rope_rotate(x0, x1, c, s)
        compare(f"sfu_rope y0 n={n}", y0, res.outputs["out_y0"], n)
        compare(f"sfu_rope y1 n={n}", y1, res.outputs["out_y1"], n)
    return res


def rand_x(rng, n, mag=24):
    return [rng.randint(-(1 << mag), (1 << mag) - 1) for _ in range(n)]


@cocotb.test()
async def random_pairs_and_cycle_formula(dut):
    """Random activations and angles; cycles = B + 3 exactly."""
    rng = random.Random(21)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({1, LANES, LANES + 1, 32}):
        c, s = table(rng, n)
        res = await one_rope(dut, rand_x(rng, n), rand_x(rng, n), c, s, rng)
        nb = -(-n // LANES)
        assert res.cycles == nb + 3, f"n={n}: cycles {res.cycles} != B + 3 = {nb + 3}"


@cocotb.test()
async def saturation_corners(dut):
    """Extreme activations with |cos| = |sin| = 1 (Q1.14 +-2^14) overflow int32: saturate."""
    rng = random.Random(22)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    one = 1 << FRAC
    x0 = [I32_MAX, I32_MIN, I32_MIN, I32_MAX, -1, 1, 0, I32_MIN]
    x1 = [I32_MAX, I32_MIN, I32_MAX, I32_MIN, 1, -1, 0, I32_MIN]
    c = [one, one, -one, 11585, -one, 0, one, -(1 << 15)]
    s = [-one, one, one, 11585, one, one, 0, -(1 << 15)]
    await one_rope(dut, x0, x1, c, s, rng)


@cocotb.test()
async def random_backpressure(dut):
    rng = random.Random(23)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (7, 40):
        c, s = table(rng, n)
        await one_rope(dut, rand_x(rng, n, 31), rand_x(rng, n, 31), c, s, rng,
                       p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def reset_mid_operation(dut):
    rng = random.Random(24)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    n = 24
    c, s = table(rng, n)
    x0, x1 = rand_x(rng, n), rand_x(rng, n)
    await one_rope(dut, x0, x1, c, s, rng, abort_after=4, p_ready=0.3)
    await reset_pulse(dut)
    await one_rope(dut, x0, x1, c, s, rng)
