"""The recorded RTL runs (tests/data/rtl_cycles/*_icarus.json) reproduce instruction for instruction:
the same instruction list, bit-exact, and exactly the recorded cycles of every instruction. A change
of the RTL's structure (e.g. the sequencer split into modules) must keep every cycle; a change that
means to alter cycles re-records these files (and docs/RTL.md) on purpose.

The Verilator records (SmolLM2 on sweep best designs: 32 x 256 and 16 x 128 MPEs) are too large a
build for the suite; reproduce them by their `command` field."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from codesign.design import Design

DATA = Path(__file__).parent / "data" / "rtl_cycles"
RECORDS = {
    "random_small_tiny_icarus": pytest.param("random_small_tiny_icarus", marks=pytest.mark.sim),
    "smollm2_l0_small_icarus": pytest.param("smollm2_l0_small_icarus", marks=[pytest.mark.sim, pytest.mark.slow]),
    # N:M sparse (issue 16.3): the same regression on 2:4 designs (hw/rtl/designs/*_2of4.json)
    "random_small_tiny_2of4_icarus": pytest.param("random_small_tiny_2of4_icarus", marks=[pytest.mark.sim, pytest.mark.slow]),
    "smollm2_l0_small_2of4_icarus": pytest.param("smollm2_l0_small_2of4_icarus",
                                                 marks=[pytest.mark.sim, pytest.mark.slow]),
    # run-time weight precision (issue 16): attention W4, FFN W8 in one layer (hw/rtl/designs/*_w4w8.json)
    "random_small_tiny_w4w8_icarus": pytest.param("random_small_tiny_w4w8_icarus", marks=pytest.mark.sim),
    "smollm2_l0_small_w4w8_icarus": pytest.param("smollm2_l0_small_w4w8_icarus",
                                                 marks=[pytest.mark.sim, pytest.mark.slow]),
}


@pytest.mark.parametrize("name", list(RECORDS.values()), ids=list(RECORDS))
def test_recorded_run_reproduces_every_instruction(name, tmp_path, monkeypatch):
    from codesign.gen.rtl.verify import verify
    from codesign.isa.encoding import decode

    rec = json.loads((DATA / f"{name}.json").read_text())
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    design = Design.from_dict(rec["design"]).validate()
    m = re.search(r"--random (\S+)", rec["command"])
    res = verify(design, "icarus", context=rec["context"], random_dims=m.group(1) if m else None)
    assert res.passed, res.report.get("mismatch") or res.report.get("error")
    from codesign.vectors import read_vectors
    from codesign.isa.instr import Instr
    instrs = [{k: v for k, v in asdict(i).items()} for i in decode(read_vectors(res.vectors).words)]
    # a record written before a field existed holds that field's default (Instr.wbits: 0, the build's WBITS)
    recorded = [{**asdict(Instr(op=r["op"])), **r} for r in rec["instructions"]]
    assert instrs == recorded, "the regression ran another instruction list than the record"
    got = [s["cycles"] for s in res.report["steps"]]
    diff = [(i, rec["instructions"][i]["op"], want, have)
            for i, (want, have) in enumerate(zip(rec["rtl_cycles"], got)) if want != have]
    assert len(got) == len(rec["rtl_cycles"]) and not diff, f"(index, op, recorded, now): {diff}"
    assert res.report["cycles"] == rec["total_cycles"]
