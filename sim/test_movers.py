"""cocotb tests of the memory movers (hw/rtl/axi_read_master.v, axi_write_master.v) through
tb_movers (reader -> writer copy engine) against cocotbext-axi AxiRam, with random
backpressure on every AXI channel (AR, R, AW, W, B) and on the stream between the movers."""

from __future__ import annotations

import itertools
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotbext.axi import AxiBus, AxiRam

DATA_W = int(os.environ.get("DATA_W", 64))
BYTES = DATA_W // 8
MEM = 1 << 16


def pause_gen(rng, p):
    """Pause (True) with probability p on each cycle."""
    while True:
        yield rng.random() < p


def set_backpressure(ram, rng, p):
    chans = (ram.write_if.aw_channel, ram.write_if.w_channel, ram.write_if.b_channel,
             ram.read_if.ar_channel, ram.read_if.r_channel)
    for ch in chans:
        if p:
            ch.set_pause_generator(pause_gen(random.Random(rng.random()), p))
        else:
            ch.clear_pause_generator()


async def setup(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst_n, reset_active_level=False,
                 size=MEM)
    for s in ("rd_cmd_valid", "wr_cmd_valid", "stall"):
        getattr(dut, s).value = 0
    dut.rst_n.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    await FallingEdge(dut.clk)
    return ram


async def copy(dut, src, dst, nbytes, rng, p_stall=0.0, abort_after=None, max_cycles=20000):
    """Issue both commands, run until the writer's done; returns cycles."""
    dut.rd_cmd_addr.value = src
    dut.rd_cmd_bytes.value = nbytes
    dut.wr_cmd_addr.value = dst
    dut.wr_cmd_bytes.value = nbytes
    dut.rd_cmd_valid.value = 1
    dut.wr_cmd_valid.value = 1
    await ReadOnly()
    assert int(dut.rd_cmd_ready.value) and int(dut.wr_cmd_ready.value), "movers not idle"
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rd_cmd_valid.value = 0
    dut.wr_cmd_valid.value = 0
    rd_done = wr_done = False
    for cycle in itertools.count(1):
        if abort_after is not None and cycle >= abort_after:
            return None
        if cycle > max_cycles:
            raise AssertionError(f"copy of {nbytes} B hung (rd_done={rd_done}, "
                                 f"words moved {int(dut.words_moved.value)})")
        dut.stall.value = int(rng.random() < p_stall)
        await ReadOnly()
        rd_done |= bool(int(dut.rd_done.value))
        if int(dut.wr_done.value):
            assert rd_done, "writer done before the reader"
            assert int(dut.wr_err.value) == 0, "BRESP error"
            await FallingEdge(dut.clk)
            dut.stall.value = 0
            return cycle
        await FallingEdge(dut.clk)


def check_copy(ram, src, dst, nbytes, guard=64):
    exp = ram.read(src, nbytes)
    got = ram.read(dst, nbytes)
    for i in range(nbytes):
        if exp[i] != got[i]:
            raise AssertionError(f"byte {i} of copy {src:#x}->{dst:#x} ({nbytes} B): "
                                 f"expected {exp[i]:#04x}, actual {got[i]:#04x}")
    tail = ram.read(dst + nbytes, guard)
    assert tail == bytes([0xEE]) * guard, f"write past the end at {dst + nbytes:#x}: {tail[:16].hex()}"


def fill(ram, rng):
    ram.write(0, bytes(rng.getrandbits(8) for _ in range(MEM // 2)))
    ram.write(MEM // 2, bytes([0xEE]) * (MEM // 2))


@cocotb.test()
async def copies_across_pages(dut):
    """Lengths from one byte to several 4 KiB pages, unaligned starts and tails, page crossings.
    The copy engine keeps byte lanes, so source and destination share their offset in a word."""
    rng = random.Random(21)
    ram = await setup(dut)
    fill(ram, rng)
    for nbytes, src_off in ((1, 0), (1, 3), (BYTES, 0), (BYTES * 3 + 5, BYTES), (BYTES * 2 + 1, BYTES + 5),
                            (4096 + 3 * BYTES, 4096 - 2 * BYTES), (3 * 4096 - BYTES, 512 + 7)):
        dst = MEM // 2 + 64 + src_off % BYTES
        await copy(dut, src_off, dst, nbytes, rng)
        check_copy(ram, src_off, dst, nbytes)
        head = ram.read(MEM // 2, dst - MEM // 2)
        assert head == bytes([0xEE]) * len(head), f"write before the start at {dst:#x}"
        ram.write(MEM // 2, bytes([0xEE]) * (nbytes + 192))


@cocotb.test()
async def random_backpressure_every_channel(dut):
    """AR, R, AW, W, B and the inter-mover stream pause at random; data stays exact."""
    rng = random.Random(22)
    ram = await setup(dut)
    fill(ram, rng)
    dst = MEM // 2 + 4096
    for p in (0.2, 0.5, 0.8):
        set_backpressure(ram, rng, p)
        nbytes = rng.randint(1, 40) * BYTES - rng.randint(0, BYTES - 1)
        src = rng.randint(0, 8) * 4096 // 8 // BYTES * BYTES
        await copy(dut, src, dst, nbytes, rng, p_stall=p / 2)
        check_copy(ram, src, dst, nbytes)
        ram.write(dst, bytes([0xEE]) * (nbytes + 64))
    set_backpressure(ram, rng, 0)


@cocotb.test()
async def streaming_rate(dut):
    """Without backpressure a long copy moves one word per cycle plus a fixed latency."""
    rng = random.Random(23)
    ram = await setup(dut)
    fill(ram, rng)
    words = 256
    cycles = await copy(dut, 0, MEM // 2, words * BYTES, rng)
    check_copy(ram, 0, MEM // 2, words * BYTES)
    assert cycles <= words + 24, f"{words} words took {cycles} cycles"
    dut._log.info("copy of %d words: %d cycles", words, cycles)


@cocotb.test()
async def reset_mid_transfer(dut):
    """Reset in the middle of a copy; after it the movers are idle and the next copy is exact."""
    rng = random.Random(24)
    ram = await setup(dut)
    fill(ram, rng)
    await copy(dut, 0, MEM // 2, 64 * BYTES, rng, abort_after=30)
    # the AxiRam model is reset together with the movers (same rst_n)
    dut.rst_n.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    await ReadOnly()
    assert int(dut.rd_cmd_ready.value) and int(dut.wr_cmd_ready.value), "movers not idle after reset"
    await FallingEdge(dut.clk)
    ram.write(MEM // 2, bytes([0xEE]) * (MEM // 2))
    await copy(dut, 1024, MEM // 2, 20 * BYTES, rng)
    check_copy(ram, 1024, MEM // 2, 20 * BYTES)
