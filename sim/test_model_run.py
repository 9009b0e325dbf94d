"""A whole model generating tokens on codesign_top (issue 17): every layer's program, the final
RMSNorm, the KV cache kept in the AXI memory across tokens. The host side (embedding, LM head,
greedy sampling: ``codesign.vectors.model_run.Generation``) runs here, in the bench, between kernel
runs; per step it writes the instruction words and the embedded tokens into gmem_io, starts the
kernel through AXI4-Lite as a host drives a Vitis kernel, waits for ap_done and reads h_out.

Memory: three cocotbext-axi AxiRam (as sim/test_core_layer.py). Environment (set by
codesign/gen/rtl/model_rtl.py): RUN_SPEC (JSON: design, model, prompt ids, tokens, chunk),
REPORT (JSON written here), MAX_CYCLES (per step), CORE_PATH (u_core).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import First, ReadOnly, RisingEdge, Timer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from test_core_layer import BASES, CLK_NS, REG, Bench  # noqa: E402  (the layer bench's memories)

from codesign.design import Design  # noqa: E402
from codesign.vectors.model_run import Generation, model_from_spec, prepare_for  # noqa: E402


class _Images:
    """What Bench reads from a vector folder: the initial images."""

    def __init__(self, images: dict):
        self._images = images

    def images(self) -> dict:
        return {k: bytearray(v) for k, v in self._images.items()}


@cocotb.test()
async def model_run(dut):
    """Greedy generation on the RTL; the report carries the tokens, the hidden states and the cycles."""
    spec = json.loads(Path(os.environ["RUN_SPEC"]).read_text())
    max_cycles = int(os.environ.get("MAX_CYCLES", "50000000"))
    design = Design.from_dict(spec["design"]).validate()
    model = prepare_for(model_from_spec(spec["model"]), design)
    gen = Generation(model, design, spec["prompt_ids"], int(spec["tokens"]), chunk=spec.get("chunk"))
    cocotb.start_soon(Clock(dut.ap_clk, CLK_NS, unit="ns").start())
    bench = Bench(dut, _Images(gen.image.images()), 0.0)
    core = bench.core
    assert core is not None, "the model bench needs the core hierarchy (CORE_PATH)"
    bench.load_images()
    dut.ap_rst_n.value = 0
    await bench.reset()
    report = {"steps": [], "error": None}
    io = bench.rams["gmem_io"]
    while (step := gen.next_step()) is not None:
        for addr, data in step.patches:
            io.write(BASES["gmem_io"] + addr, bytes(data))
        t0 = time.perf_counter()
        await bench.start(step.n_instr)
        await First(RisingEdge(core.done), Timer(max_cycles * CLK_NS, unit="ns"))
        await ReadOnly()
        if not int(core.done.value):
            report["error"] = f"step at context {step.context}: no ap_done after {max_cycles} cycles"
            break
        cycles = int(core.cycles.value)
        if int(core.err.value):
            report["error"] = f"core error code {int(core.err_code.value)} at context {step.context}"
            break
        await RisingEdge(dut.ap_clk)
        status = await bench.ctrl.read_dword(REG["ctrl"])   # clears ap_done for the next start
        a, n = step.out
        out = io.read(BASES["gmem_io"] + a, n)
        gen.take(step, out, float(cycles), time.perf_counter() - t0)
        report["steps"].append({"context": step.context, "m": step.m, "cycles": cycles, "ctrl": status})
    res = gen.result
    report.update(prompt_ids=res.prompt_ids, new_ids=res.new_ids, result_steps=res.steps,
                  hidden=[h.astype(np.int64).tolist() for h in res.hidden])
    Path(os.environ["REPORT"]).write_text(json.dumps(report))
    assert report["error"] is None, report["error"]
    assert len(res.new_ids) == int(spec["tokens"]), "not every token generated"
