"""Full-layer regressions of the processor (codesign_top) on per-layer mixed-precision designs (issue 16):
one build runs two weight modes, each GEMV at its instruction's bits (Instr.wbits, docs/ISA.md). The
layer's attention projections stream W4 beats (widened to the W8 lanes), its FFN projections W8 beats
(two weight words each through weight_beat.v). Bit-exact after every instruction against the golden
executor on a small random LLaMA layer (Icarus; Verilator with AXI backpressure and a reset inside a W8
GEMV in the full tier). SmolLM2-135M layer 0 on Icarus is the recorded run
tests/data/rtl_cycles/smollm2_l0_small_w4w8_icarus.json (tests/test_rtl_cycle_records.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))

from codesign.design import Design, Hardware, Quant  # noqa: E402
from codesign.gen.rtl.params import core_params  # noqa: E402
from codesign.isa.encoding import decode  # noqa: E402
from codesign.vectors import read_vectors  # noqa: E402

from test_rtl_core import SMALL, _vectors, core_build, design_of, run_layer  # noqa: E402

pytestmark = pytest.mark.sim

# mixed = 2 raises the accuracy table's two most sensitive units (layers 1 and 0 FFN): layer 0 runs
# attention at W4 and FFN at W8 (quant.mixed_precision.design_unit_wbits)
MIXED_POINTS = {
    # W8 beat = 128 bits = two 64-bit weight words over a 64-bit port
    "w4w8a8kv8-r2c8": (Quant(wbits=4, abits=8, kvbits=8, group=32, mixed=2, hi_wbits=8),
                       Hardware(rows=2, cols=8, sfu_lanes=4, abuf_depth=1024, kvbuf_depth=16, port_bits=64)),
    # with zero points and 2:4 sparse lanes (W + 1 index bit: 5-bit words, 9-bit W8 lanes), 3 rows, 128-bit port
    "w4w8a8kv8zp-nm24-r3c16": (Quant(wbits=4, abits=8, kvbits=8, group=32, zero_point=True, sparsity="2:4",
                                     mixed=2, hi_wbits=8),
                               Hardware(rows=3, cols=16, sfu_lanes=8, abuf_depth=1024, kvbuf_depth=16,
                                        port_bits=128)),
}

def test_core_params_carry_the_second_mode():
    """WBITS_HI is the mixed design's hi_wbits; a uniform design builds one mode (0); a raised width
    the hardware does not build (W16: 16-bit zero points, other lanes) is refused by name."""
    mixed = design_of(MIXED_POINTS["w4w8a8kv8-r2c8"])
    assert (core_params(mixed)["WBITS"], core_params(mixed)["WBITS_HI"]) == (4, 8)
    q, hw = MIXED_POINTS["w4w8a8kv8-r2c8"]
    assert core_params(design_of((Quant(wbits=4, abits=8, kvbits=8, group=32), hw)))["WBITS_HI"] == 0
    from codesign.errors import CodesignError
    with pytest.raises(CodesignError, match="quant.hi_wbits"):
        core_params(Design(model="smollm2-135m", device="u280", quant=Quant(wbits=4, group=32, mixed=2, hi_wbits=16),
                           hw=hw).validate())


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(f"mixed_icarus_{n}"))
                                  for n in MIXED_POINTS])
def test_mixed_layer_icarus(name, tmp_path, tmp_path_factory):
    design = design_of(MIXED_POINTS[name])
    vec = _vectors(design, tmp_path / "vec", 6, SMALL)
    gemvs = {i.layer_op: i.wbits for i in decode(read_vectors(vec).words) if i.op == "GEMV"}
    assert gemvs == {"wq": 0, "wk": 0, "wv": 0, "wo": 0, "ffn_gate": 8, "ffn_up": 8, "ffn_down": 8}
    runner, d = core_build("icarus", design, tmp_path_factory)
    rep = run_layer(runner, d, vec, f"layer_{name}")
    assert rep["mismatch"] is None and rep["done"]
    assert len(rep["steps"]) == 17 and all(s["ok"] for s in rep["steps"])


@pytest.mark.slow
@pytest.mark.xdist_group("mixed_verilator")
def test_mixed_layer_verilator_backpressure_and_reset(tmp_path, tmp_path_factory):
    """Verilator (one build): the W4/W8 layer plain, with random backpressure on every AXI channel, and
    with a reset inside the first W8 GEMV (ffn_gate), bit-exact."""
    design = design_of(MIXED_POINTS["w4w8a8kv8-r2c8"])
    vec = _vectors(design, tmp_path / "vec", 6, SMALL)
    instrs = decode(read_vectors(vec).words)
    gate = next(i for i, ins in enumerate(instrs) if ins.layer_op == "ffn_gate")
    assert instrs[gate].wbits == 8
    runner, d = core_build("verilator", design, tmp_path_factory)
    plain = run_layer(runner, d, vec, "plain")
    assert plain["mismatch"] is None and len(plain["steps"]) == 17
    bp = run_layer(runner, d, vec, "bp", BACKPRESSURE=0.4)
    assert bp["mismatch"] is None and bp["cycles"] > plain["cycles"]
    rs = run_layer(runner, d, vec, "reset", RESET_AT=gate - 1, RESET_DELAY=40)   # 40 cycles into the gate GEMV
    assert rs["mismatch"] is None and len(rs["steps"]) == 17
