"""Shared cocotb driver for the SFU blocks (hw/rtl/sfu/README.md conventions).

Not a test module itself: the per-block modules `test_sfu_<block>.py` import it.
One coroutine drives and samples everything once per clock: inputs change on the
falling edge, handshakes are read in the ReadOnly phase before the rising edge
that commits them, so the same code is exact on Verilator and Icarus.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Op codes of sfu_top (hw/rtl/sfu/sfu_top.v, README "sfu_top").
TOP_OPS = {"add": 0, "act": 1, "rope": 2, "norm": 3, "softmax": 4, "aquant": 5, "kvquant": 6,
           "xquant": 7}


def on_top() -> bool:
    """True when the toplevel is sfu_top (all blocks behind one port set) rather than a block."""
    return os.environ.get("SFU_TOPLEVEL", "") == "sfu_top"


@dataclass
class PortMap:
    """Block port names -> sfu_top port names, used only when the toplevel is sfu_top."""
    op: str
    names: dict[str, str] = field(default_factory=dict)

    def __call__(self, port: str) -> str:
        return self.names.get(port, port) if on_top() else port


def pack(values, width: int) -> int:
    """Lane i of the beat occupies bits [i*width +: width] (two's complement)."""
    m = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & m) << (i * width)
    return word


def unpack(word: int, lanes: int, width: int, signed: bool = True) -> list[int]:
    m = (1 << width) - 1
    out = []
    for i in range(lanes):
        v = (word >> (i * width)) & m
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out


def beats(vec, lanes: int) -> list[list[int]]:
    """Split a vector into beats of `lanes` elements; the last beat is padded with
    junk (not zero) so a block that fails to mask padding lanes is caught."""
    vec = [int(v) for v in vec]
    out = []
    for b in range(0, len(vec), lanes):
        chunk = vec[b:b + lanes]
        chunk += [0x5A5A5A5A - 17 * j for j in range(lanes - len(chunk))]
        out.append(chunk)
    return out


@dataclass
class Stream:
    """One input port group: name -> list of beats (each a list of lane values) + width."""
    ports: dict[str, tuple[int, list[list[int]]]]  # port -> (lane width, beats)

    @property
    def n_beats(self) -> int:
        return len(next(iter(self.ports.values()))[1])


@dataclass
class OpResult:
    outputs: dict[str, list[int]] = field(default_factory=dict)  # port -> flat lane values
    cycles: int | None = None          # start..done inclusive
    extra: dict[str, int] = field(default_factory=dict)


async def start_clock_and_reset(dut, idle_inputs: dict[str, int]) -> None:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst_n.value = 0
    dut.start.value = 0
    dut.in_valid.value = 0
    dut.out_ready.value = 0
    for k, v in idle_inputs.items():
        getattr(dut, k).value = v
    for _ in range(3):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1


async def run_op(dut, *, lanes: int, cfg: dict[str, int], stream: Stream,
                 out_ports: dict[str, int], n_out_beats: int, rng: random.Random,
                 p_valid: float = 1.0, p_ready: float = 1.0, abort_after: int | None = None,
                 scalars: tuple[str, ...] = (), max_cycles: int = 100000,
                 port_map: PortMap | None = None, on_cycle=None) -> OpResult:
    """Start one operation and stream `stream` in, collecting `n_out_beats` output beats.

    Call on a falling edge with the block idle. p_valid / p_ready < 1 throttle the
    input and apply random output backpressure. abort_after=k returns after k cycles
    without finishing (for the reset-in-the-middle tests). `scalars` are output ports
    sampled in the cycle `done` is high. With sfu_top as toplevel, `port_map` renames the
    block's ports, selects the op, and every output lane is 32 bits (sign-extended).
    `on_cycle(dut)` is called once per cycle in the ReadOnly phase (side-port monitors).
    """
    res = OpResult(outputs={p: [] for p in out_ports})
    pm = port_map or PortMap("")
    if on_top():
        cfg = {pm(k): v for k, v in cfg.items()} | {"cfg_op": TOP_OPS[pm.op]}
        stream = Stream({pm(k): v for k, v in stream.ports.items()})
        out_ports = {k: 32 for k in out_ports}
    out_names = {k: pm(k) for k in out_ports}
    # cycle 0: start with the operands
    assert int(dut.idle.value) == 1, "block not idle before start"
    dut.start.value = 1
    for k, v in cfg.items():
        getattr(dut, k).value = v
    await RisingEdge(dut.clk)
    cycle = 0
    sent = 0
    got = 0
    while True:
        await FallingEdge(dut.clk)
        cycle += 1
        dut.start.value = 0
        if abort_after is not None and cycle >= abort_after:
            dut.in_valid.value = 0
            return res
        if cycle > max_cycles:
            raise AssertionError(f"no done after {max_cycles} cycles (sent {sent} beats, got {got})")
        drive = sent < stream.n_beats and rng.random() < p_valid
        dut.in_valid.value = int(drive)
        if sent < stream.n_beats:
            for port, (width, bl) in stream.ports.items():
                getattr(dut, port).value = pack(bl[sent], width)
        dut.out_ready.value = int(rng.random() < p_ready)
        await ReadOnly()
        if on_cycle is not None:
            on_cycle(dut)
        if drive and int(dut.in_ready.value):
            sent += 1
        if int(dut.out_valid.value) and int(dut.out_ready.value):
            for port, width in out_ports.items():
                res.outputs[port] += unpack(int(getattr(dut, out_names[port]).value), lanes, width)
            got += 1
        if int(dut.done.value):
            res.cycles = cycle + 1
            for s in scalars:
                res.extra[s] = int(getattr(dut, pm(s)).value)
            if got != n_out_beats:
                raise AssertionError(f"done after {got} output beats, expected {n_out_beats}")
            if sent != stream.n_beats:
                raise AssertionError(f"done after {sent} input beats, expected {stream.n_beats}")
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
            dut.in_valid.value = 0
            dut.out_ready.value = 0
            await ReadOnly()
            if int(dut.idle.value) != 1:
                raise AssertionError("block not idle the cycle after done")
            await FallingEdge(dut.clk)
            return res


async def reset_pulse(dut, cycles: int = 2) -> None:
    """Synchronous reset in the middle of whatever the block is doing."""
    dut.rst_n.value = 0
    dut.in_valid.value = 0
    dut.start.value = 0
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    await ReadOnly()
    if int(dut.out_valid.value) != 0 or int(dut.idle.value) != 1:
        raise AssertionError("reset did not return the block to idle with out_valid low")
    await FallingEdge(dut.clk)


def compare(name: str, expected, actual, n: int) -> None:
    """Element-by-element check; the message names the index, expected and actual values."""
    expected = [int(v) for v in expected]
    actual = [int(v) for v in actual]
    for i in range(n):
        if expected[i] != actual[i]:
            raise AssertionError(f"{name}: mismatch at element {i}: expected {expected[i]}, "
                                 f"actual {actual[i]} (first of "
                                 f"{sum(e != a for e, a in zip(expected[:n], actual[:n]))} mismatches)")
    pad = actual[n:]
    if any(v != 0 for v in pad):
        raise AssertionError(f"{name}: padding lanes past n={n} not zero: {pad}")
