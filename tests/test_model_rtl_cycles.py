"""The analytical model against recorded RTL simulations (tests/data/rtl_cycles/*.json): with the
simulated memory system (memory.SIMULATED_AXIRAM), every instruction type within 10% of the RTL."""

import json
from pathlib import Path

import pytest

from codesign.design import Hardware, Quant
from codesign.isa.instr import Instr
from codesign.model.cycles import instruction_cycles
from codesign.model.memory import SIMULATED_AXIRAM

RECORDS = sorted((Path(__file__).parent / "data" / "rtl_cycles").glob("*.json"))


def _per_type(rec, memory):
    ins = [Instr(**i) for i in rec["instructions"]]
    d = rec["design"]
    pred = instruction_cycles(ins, Quant(**d["quant"]), Hardware(**d["hw"]), d["device"], memory=memory)["cycles"]
    agg = {}
    for i, p, r in zip(ins, pred, rec["rtl_cycles"]):
        a = agg.setdefault(i.op, [0, 0.0])
        a[0] += r
        a[1] += float(p)
    return agg


@pytest.mark.parametrize("path", RECORDS, ids=[p.stem for p in RECORDS])
def test_every_instruction_type_within_10pct(path):
    rec = json.loads(path.read_text())
    assert len(rec["instructions"]) == len(rec["rtl_cycles"])
    agg = _per_type(rec, SIMULATED_AXIRAM)
    assert {"LOAD", "STORE", "GEMV", "NORM", "ROPE", "KVSTORE", "ATTN", "ACT", "ADD"} <= set(agg)
    bad = {op: f"rtl {r} model {m:.0f}" for op, (r, m) in agg.items() if abs(m - r) > 0.10 * r}
    assert not bad, bad


def test_device_memory_is_the_default_and_differs():
    """Without the simulated memory the model prices the device's HBM (latency, channels): the same
    formulas give other cycles (so the cross-check really depends on the memory parameter)."""
    rec = json.loads((RECORDS[0].parent / "smollm2_l0_best_verilator.json").read_text())
    sim, dev = _per_type(rec, SIMULATED_AXIRAM), _per_type(rec, None)
    assert dev["LOAD"][1] > 2 * sim["LOAD"][1]          # HBM + fabric latency on fetch and read
    assert dev["GEMV"][1] < 0.5 * sim["GEMV"][1]        # 28 weight channels instead of one port
