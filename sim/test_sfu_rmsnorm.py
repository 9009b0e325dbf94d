"""cocotb tests of hw/rtl/sfu/sfu_rmsnorm.v (RMSNorm: sum of squares, integer inverse sqrt, gamma)."""

from __future__ import annotations

import random

import cocotb
import numpy as np

from codesign.quant import numerics as nm
from test_sfu_lib import (PortMap, Stream, beats, compare, env_int, reset_pulse, run_op,
                          start_clock_and_reset)
from test_sfu_ref import rmsnorm

LANES = env_int("SFU_LANES", 4)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
ONE = 1 << 16
PORTS = PortMap("norm", {"in_x": "in_a", "in_gamma": "in_c", "out_data": "out_a",
                         "cfg_mult": "cfg_arg", "cfg_eps": "cfg_imm"})
# scalar chain: 1 cycle to drain pass 1, mean (3 partial products), normalise + seed (1),
# 3 multiplies per Newton step
C_ISQRT = 1 + 3 + 1 + 3 * nm.ISQRT_NEWTON


def cycles_formula(n: int) -> int:
    """start..done: 2 passes of B beats, the scalar chain, 3 pipeline stages + the done cycle."""
    return 2 * (-(-n // LANES)) + C_ISQRT + 4


async def one_norm(dut, x, gamma_q, gshift, rng, eps_q=None, **kw):
    n = len(x)
    eps_q = nm.eps_fixed(1e-5) if eps_q is None else eps_q
    mult = nm.recip_n(n)
    junk = [rng.randint(-32768, 32767) for _ in range(n)]    # gamma is ignored in pass 1
    stream = Stream({"in_x": (32, beats(x, LANES) * 2),
                     "in_gamma": (16, beats(junk, LANES) + beats(gamma_q, LANES))})
    res = await run_op(dut, lanes=LANES,
                       cfg={"cfg_n": n, "cfg_mult": mult, "cfg_eps": eps_q & 0xFFFFFFFF,
                            "cfg_shift": gshift & 0xFFFF},
                       stream=stream, out_ports={"out_data": 32}, n_out_beats=-(-n // LANES),
                       rng=rng, port_map=PORTS, **kw)
    if kw.get("abort_after") is None:
        compare(f"sfu_rmsnorm n={n}", rmsnorm(x, gamma_q, gshift, mult, eps_q),
                res.outputs["out_data"], n)
    return res


def rand_case(rng, n):
    mag = rng.choice([4, 12, 17, 22, 28, 31])
    x = [rng.randint(-(1 << mag), (1 << mag) - 1) for _ in range(n)]
    g = np.array([rng.uniform(-3.0, 3.0) for _ in range(n)])
    gq, gsh = nm.quantize_gamma(g)
    return x, gq.tolist(), gsh


@cocotb.test()
async def random_and_cycle_formula(dut):
    """Random magnitudes (tiny to full int32) and gains; cycles = 2*B + C_ISQRT + 4 exactly."""
    rng = random.Random(61)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in sorted({2, max(2, LANES), LANES + 1, 2 * LANES + 1, 64}):
        for _ in range(2):
            x, gq, gsh = rand_case(rng, n)
            res = await one_norm(dut, x, gq, gsh, rng)
            assert res.cycles == cycles_formula(n), \
                f"n={n}: cycles {res.cycles} != 2B + {C_ISQRT + 4} = {cycles_formula(n)}"


@cocotb.test()
async def corners(dut):
    """All zero (v = eps), eps 0 and negative (v clamps to 1), full-scale int32, a single
    nonzero spike, gain shifts 15 / 0 / negative (saturating left shift), max negative gamma."""
    rng = random.Random(62)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    n = 2 * LANES + 3
    await one_norm(dut, [0] * n, [32767] * n, 15, rng)
    await one_norm(dut, [0] * n, [32767] * n, 15, rng, eps_q=0)
    await one_norm(dut, [1, -1] + [0] * (n - 2), [-32768] * n, 0, rng, eps_q=-5)
    await one_norm(dut, [I32_MIN, I32_MAX] * (n // 2) + [I32_MIN], [-32768, 32767] * (n // 2) + [1], 15, rng)
    spike = [0] * n
    spike[3] = I32_MIN
    await one_norm(dut, spike, [20000] * n, 14, rng)
    x, gq, _ = rand_case(rng, n)
    await one_norm(dut, x, gq, -3, rng)
    await one_norm(dut, x, gq, 0, rng, eps_q=(1 << 31) - 1)


@cocotb.test()
async def random_backpressure(dut):
    rng = random.Random(63)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    for n in (5, 37):
        x, gq, gsh = rand_case(rng, n)
        await one_norm(dut, x, gq, gsh, rng, p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def reset_mid_operation(dut):
    """Reset in pass 1, in the inverse sqrt, in pass 2; the next norm starts from ss = 0."""
    rng = random.Random(64)
    await start_clock_and_reset(dut, {"cfg_n": 0})
    n = 3 * LANES + 1
    x, gq, gsh = rand_case(rng, n)
    b = -(-n // LANES)
    for abort in (2, b + 4, 2 * b + C_ISQRT):
        await one_norm(dut, [I32_MAX] * n, gq, gsh, rng, abort_after=abort)
        await reset_pulse(dut)
        await one_norm(dut, x, gq, gsh, rng)
