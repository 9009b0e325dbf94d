"""Full-layer regression of codesign_top: a decoder layer's instruction list from the golden vectors
(codesign.vectors) runs on the processor, memory modelled by three cocotbext-axi AxiRam
(gmem_w, gmem_kv, gmem_io), control through AXI4-Lite exactly as a host drives a Vitis kernel.

After EVERY instruction (the core's `retire` pulse) the result is compared with the golden
executor's: the activation-buffer tensor it wrote, the KV region after a KVSTORE, the gmem_io bytes
after a STORE. A mismatch names the instruction, its index, the element, expected and actual.

Environment (set by tests/test_rtl_core.py or `codesign verify`):
  VECTORS     vector folder (write_vectors output)          REPORT  JSON report path
  BACKPRESSURE  pause probability on every AXI channel (0)  MAX_CYCLES  cycle limit
  FAULT       "weight": flip one weight bit in gmem_w first; "index" (N:M sparse designs): flip one
              bit of a lane's block index instead; the run must fail at that GEMV
  RESET_AT    instruction index after which ap_rst_n is pulsed; then the whole layer reruns
  CORE_PATH   hierarchy of codesign_core under the toplevel ("u_core" in codesign_top,
              "u_top.u_core" in the emit-rtl wrapper). When it does not resolve (external RTL
              with the same ports, e.g. exported from Vitis HLS), the bench runs ports-only: it
              polls ap_done over AXI4-Lite and compares the final KV region and layer output.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from codesign.isa.instr import OPCODES  # noqa: E402  (opcode names: the bench already needs the package)
from codesign.vectors import read_vectors  # noqa: E402

CLK_NS = 4
BASES = {"gmem_w": 0x1000, "gmem_kv": 0x2040, "gmem_io": 0x40}   # 64-byte aligned, not zero
X_VALUE = -(1 << 40)   # stands for an unresolved (X/Z) element in reports
REG = {"ctrl": 0x00, "w": 0x10, "kv": 0x1C, "io": 0x28, "n_instr": 0x34, "cycles": 0x3C, "status": 0x44}


def pause_gen(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


class Bench:
    def __init__(self, dut, vec, backpressure: float, seed: int = 7):
        self.dut, self.vec = dut, vec
        self.core = resolve(dut, os.environ.get("CORE_PATH", "u_core"))
        self.rams = {}
        images = vec.images()
        for name, img in images.items():
            size = 1 << max(16, (BASES[name] + len(img) + 4096).bit_length())
            ram = AxiRam(AxiBus.from_prefix(dut, f"m_axi_{name}"), dut.ap_clk, dut.ap_rst_n,
                         reset_active_level=False, size=size)
            self.rams[name] = ram
        self.images = images
        self.ctrl = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk, dut.ap_rst_n,
                                  reset_active_level=False)
        # the AXI models log every burst at INFO: keep the regression's log readable
        for ram in self.rams.values():
            ram.write_if.log.setLevel(logging.WARNING)
            ram.read_if.log.setLevel(logging.WARNING)
        self.ctrl.write_if.log.setLevel(logging.WARNING)
        self.ctrl.read_if.log.setLevel(logging.WARNING)
        if backpressure > 0:
            rng = random.Random(seed)
            for ram in self.rams.values():
                for ch in (ram.write_if.aw_channel, ram.write_if.w_channel, ram.write_if.b_channel,
                           ram.read_if.ar_channel, ram.read_if.r_channel):
                    ch.set_pause_generator(pause_gen(random.Random(rng.random()), backpressure))

    def load_images(self):
        for name, img in self.images.items():
            self.rams[name].write(BASES[name], bytes(img))

    async def reset(self, cycles: int = 4):
        self.dut.ap_rst_n.value = 0
        for _ in range(cycles):
            await RisingEdge(self.dut.ap_clk)
        self.dut.ap_rst_n.value = 1
        for _ in range(2):
            await RisingEdge(self.dut.ap_clk)

    async def start(self, n_instr: int):
        for reg, name in (("w", "gmem_w"), ("kv", "gmem_kv"), ("io", "gmem_io")):
            await self.ctrl.write_dword(REG[reg], BASES[name] & 0xFFFFFFFF)
            await self.ctrl.write_dword(REG[reg] + 4, BASES[name] >> 32)
        await self.ctrl.write_dword(REG["n_instr"], n_instr)
        await self.ctrl.write_dword(REG["ctrl"], 1)   # ap_start

    def abuf(self, offset: int, count: int) -> np.ndarray:
        arr = self.core.u_abuf.mem
        out = np.empty(count, dtype=np.int64)
        for i in range(count):
            v = arr[offset + i].value
            out[i] = v.to_signed() if v.is_resolvable else X_VALUE   # X/Z never equals a golden int32
        return out

    def mem(self, name: str, addr: int, count: int) -> np.ndarray:
        return np.frombuffer(self.rams[name].read(BASES[name] + addr, count), dtype=np.uint8).astype(np.int64)

    def actual(self, step: dict) -> np.ndarray:
        if step["kind"] == "buf":
            return self.abuf(step["offset"], step["elements"])
        return self.mem("gmem_kv" if step["kind"] == "kv" else "gmem_io", step["offset"], step["bytes"])


def resolve(dut, path: str):
    """The handle at a dotted hierarchy path, or None (external RTL: ports only)."""
    h = dut
    for part in filter(None, path.split(".")):
        try:
            h = getattr(h, part)
        except AttributeError:
            return None
    return h


def decoded_op_mismatch(core, step: dict) -> dict | None:
    """The opcode the core decoded (its `i_op`, hw/rtl/codesign_isa.vh values) must name the retired
    instruction's op; None when it does (or when the core does not expose i_op)."""
    h = resolve(core, "i_op")
    if h is None:
        return None
    v = h.value
    code = int(v) if v.is_resolvable else -1
    name = OPCODES[code] if 0 <= code < len(OPCODES) else f"unknown opcode {v}"
    if name == step["op"]:
        return None
    return {"index": step["index"], "op": step["op"], "layer_op": step["layer_op"], "position": None,
            "unit": "opcode", "expected": OPCODES.index(step["op"]), "actual": code, "mismatches": 1,
            "message": f"instruction {step['index']} ({step['op']} {step['layer_op']}): the core decoded "
                       f"{name} ({code})"}


def compare(step: dict, exp: np.ndarray, got: np.ndarray) -> dict | None:
    bad = np.nonzero(exp != got)[0]
    if bad.size == 0:
        return None
    i = int(bad[0])
    unit = "element" if step["kind"] == "buf" else "byte"
    return {"index": step["index"], "op": step["op"], "layer_op": step["layer_op"], "position": i,
            "unit": unit, "expected": int(exp[i]), "actual": int(got[i]), "mismatches": int(bad.size),
            "message": f"instruction {step['index']} ({step['op']} {step['layer_op']}): {unit} {i} of "
                       f"{exp.size}: expected {int(exp[i])}, actual {int(got[i])} ({bad.size} mismatches)"}


async def run_layer(bench: Bench, max_cycles: int, stop_after: int | None = None) -> dict:
    """Start the kernel and check every retired instruction; returns the report dict."""
    dut, vec = bench.dut, bench.vec
    steps = vec.manifest["steps"]
    n = vec.manifest["instructions"]
    await bench.start(n)
    report = {"steps": [], "mismatch": None, "done": False, "cycles": None}
    if bench.core is None:
        return await run_ports_only(bench, max_cycles, report)
    last = 0   # per-instruction cycles come from the core's own counter (start to retire)
    core = bench.core
    while True:
        # wake only on retire / done (cheap in Python), with a cycle limit
        trig = await First(RisingEdge(core.retire), RisingEdge(core.done),
                           Timer(max_cycles * CLK_NS, unit="ns"))
        await ReadOnly()
        if not (int(core.retire.value) or int(core.done.value)):
            report["error"] = f"no ap_done after {max_cycles} cycles (pc={int(core.pc.value)})"
            return report
        if int(core.retire.value):
            pc = int(core.pc.value)
            step = steps[pc]
            got = bench.actual(step)
            mm = decoded_op_mismatch(core, step) or compare(step, vec.expected(pc), got)
            hw = int(core.cycles.value)
            report["steps"].append({"index": pc, "op": step["op"], "layer_op": step["layer_op"],
                                    "cycles": hw - last, "ok": mm is None})
            last = hw
            if mm is not None:
                report["mismatch"] = mm
                dut._log.error(mm["message"])
                return report
            if stop_after is not None and pc == stop_after:
                return report
        if int(core.done.value):
            report["done"] = True
            report["cycles"] = int(core.cycles.value)
            report["error_flag"] = int(core.err.value)
            report["error_code"] = int(core.err_code.value)
            break
        await FallingEdge(dut.ap_clk)
    await FallingEdge(dut.ap_clk)
    if report.get("mode") == "ports-only":
        return report
    status = await bench.ctrl.read_dword(REG["status"])
    report["hw_cycles"] = await bench.ctrl.read_dword(REG["cycles"])
    ctrl = await bench.ctrl.read_dword(REG["ctrl"])
    report["ap_done_seen"] = bool(ctrl & 2)
    if status >> 31:
        report["error"] = f"core stopped with error code {status & 0xFFFF} (docs/RTL.md)"
    return report


async def run_ports_only(bench: Bench, max_cycles: int, report: dict) -> dict:
    """External RTL: wait for ap_done (polling CTRL), then compare the memories the layer wrote:
    the KV region (every KVSTORE step's expected bytes) and each STORE's bytes."""
    dut, vec = bench.dut, bench.vec
    report["mode"] = "ports-only"
    waited = 0
    while True:
        for _ in range(64):
            await RisingEdge(dut.ap_clk)
        waited += 64
        ctrl = await bench.ctrl.read_dword(REG["ctrl"])
        if ctrl & 2:
            break
        if waited > max_cycles:
            report["error"] = f"no ap_done after {max_cycles} cycles"
            return report
    report["done"] = True
    report["ap_done_seen"] = True
    report["cycles"] = waited
    last_kv = [s for s in vec.manifest["steps"] if s["kind"] == "kv"][-1:]
    for step in last_kv + [s for s in vec.manifest["steps"] if s["kind"] == "io"]:
        mm = compare(step, vec.expected(step["index"]), bench.actual(step))
        report["steps"].append({"index": step["index"], "op": step["op"], "layer_op": step["layer_op"],
                                "cycles": None, "ok": mm is None})
        if mm is not None:
            report["mismatch"] = mm
            dut._log.error(mm["message"])
            return report
    return report


def write_report(report: dict) -> None:
    path = os.environ.get("REPORT")
    if path:
        Path(path).write_text(json.dumps(report, indent=1, sort_keys=True))


@cocotb.test()
async def layer(dut):
    """The layer bit-exact after every instruction (or, with FAULT, the planted fault caught)."""
    vec = read_vectors(os.environ["VECTORS"])
    bp = float(os.environ.get("BACKPRESSURE", "0"))
    max_cycles = int(os.environ.get("MAX_CYCLES", "5000000"))
    fault = os.environ.get("FAULT", "")
    reset_at = os.environ.get("RESET_AT")
    cocotb.start_soon(Clock(dut.ap_clk, CLK_NS, unit="ns").start())
    bench = Bench(dut, vec, bp)
    fault_step = None
    if fault in ("weight", "index"):
        # flip one bit inside the first GEMV's first weight beat (after its scale/zero blocks):
        # "weight" bit 0 of lane 0; "index" (N:M sparse) bit 0 of the block index of the lane of
        # row 0 whose kept weight is largest in magnitude, so the lane multiplies another input
        gemv = next(s for s in vec.manifest["steps"] if s["op"] == "GEMV")
        from codesign.isa.encoding import decode
        from codesign.quant.numerics import parse_sparsity, sparse_index_bits
        from codesign.quant.pack import matrix_geometry
        ins = decode(vec.words)[gemv["index"]]
        q = vec.manifest["quant"]
        sparsity = q.get("sparsity", "dense")
        cols = vec.manifest["mpe"]["cols"]
        g = matrix_geometry(ins.n, ins.k, q["wbits"], q["group"], q["zero_point"], vec.manifest["mpe"]["rows"],
                            cols, sparsity)
        byte = ins.addr + g["scale_bytes"] + g["zero_bytes"]
        bit = 0
        if fault == "index":
            sp_n, sp_m = parse_sparsity(sparsity)
            assert sp_n < sp_m, "FAULT=index needs an N:M sparse design"
            wb, lw = q["wbits"], q["wbits"] + sparse_index_bits(sp_m)
            img = bench.images["gmem_w"]
            beat = int.from_bytes(bytes(img[byte:byte + g["beat_bytes"]]), "little")

            def mag(c):
                w = (beat >> (c * lw)) & ((1 << wb) - 1)
                if q["zero_point"]:
                    zero = img[ins.addr + g["scale_bytes"]]   # row 0, group 0 (the beat's first group)
                    return abs(w - zero)
                return abs(w - (1 << wb) if w >> (wb - 1) else w)
            lane = max(range(cols), key=mag)
            bit = lane * lw + wb
        bench.images["gmem_w"][byte + bit // 8] ^= 1 << (bit % 8)
        fault_step = gemv["index"]
    bench.load_images()
    dut.ap_rst_n.value = 0
    await bench.reset()
    if reset_at is not None:
        # run part of the layer, reset the kernel in the middle of the next instruction, rerun all
        partial = await run_layer(bench, max_cycles, stop_after=int(reset_at))
        assert partial["mismatch"] is None, partial["mismatch"]["message"]
        for _ in range(int(os.environ.get("RESET_DELAY", "60"))):   # into the next instruction
            await RisingEdge(dut.ap_clk)
        await bench.reset()
        await ReadOnly()
        assert bench.core is None or int(bench.core.idle.value) == 1, "core not idle after reset"
        await FallingEdge(dut.ap_clk)
    report = await run_layer(bench, max_cycles)
    report["fault"] = fault or None
    report["backpressure"] = bp
    write_report(report)
    if fault:
        mm = report["mismatch"]
        assert mm is not None, "planted fault NOT caught: the layer matched the golden vectors"
        assert mm["index"] == fault_step, f"fault caught at instruction {mm['index']}, planted in {fault_step}"
        dut._log.info("planted fault caught: %s", mm["message"])
        return
    assert "error" not in report, report.get("error")
    assert report["mismatch"] is None, report["mismatch"]["message"]
    assert report["done"], "kernel never finished"
    if report.get("mode") != "ports-only":
        assert len(report["steps"]) == vec.manifest["instructions"], "not every instruction retired"
    out_addr = vec.manifest["regions"]["gmem_io"]["x_out"][0]
    out = np.frombuffer(bench.rams["gmem_io"].read(BASES["gmem_io"] + out_addr, vec.output.size * 4), dtype="<i4")
    assert np.array_equal(out, vec.output.reshape(-1)), "layer output in gmem_io differs from the golden output"
    assert report["ap_done_seen"], "ap_done not visible in the control register"
