"""cocotb tests of hw/rtl/sfu/sfu_div.v (sequential unsigned divider used by softmax)."""

from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from test_sfu_lib import env_int

W = env_int("W", 32)
QB = env_int("QB", W)


async def divide(dut, num: int, den: int) -> tuple[int, int, int]:
    dut.num.value = num
    dut.den.value = den
    dut.start.value = 1
    await RisingEdge(dut.clk)
    cycles = 0
    while True:
        await FallingEdge(dut.clk)
        dut.start.value = 0
        cycles += 1
        await ReadOnly()
        if int(dut.done.value):
            q, r = int(dut.q.value), int(dut.r.value)
            await FallingEdge(dut.clk)
            return q, r, cycles


@cocotb.test()
async def random_and_corners(dut):
    """q, r exact for random and extreme operands with num >> QB < den; done QB + 1 cycles
    after start."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst_n.value = 0
    dut.start.value = 0
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    rng = random.Random(31)
    top = (1 << W) - 1
    cases = [(top, 1), (top, top), (0, 7), (1, top), (top, 2), (1 << (W - 1), 3)]
    cases += [(rng.randint(0, top), rng.randint(1, top >> rng.randint(0, W - 1))) for _ in range(60)]
    if QB < W:   # the softmax use: 2^47 / sum with sum >= 2^15
        cases += [(1 << (W - 1), (1 << 15) + k) for k in (0, 1, 77)]
        cases += [(1 << (W - 1), rng.randint(1 << 15, 1 << 40)) for _ in range(20)]
    cases = [(a, b) for a, b in cases if (a >> QB) < b]
    assert len(cases) > 20
    for num, den in cases:
        q, r, cycles = await divide(dut, num, den)
        assert (q, r) == divmod(num, den), f"{num} / {den}: got q={q} r={r}, expected {divmod(num, den)}"
        assert cycles == QB + 1, f"divider took {cycles} cycles, expected QB + 1 = {QB + 1}"
