"""hw/rtl/sfu/synth_report.py: Yosys synth_xilinx counts of an SFU block scale with the lanes."""

from __future__ import annotations

from importlib import util
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]



def _report():
    spec = util.spec_from_file_location("sfu_synth_report", ROOT / "hw/rtl/sfu/synth_report.py")
    mod = util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_count_cells_groups_xilinx_primitives():
    r = _report().count_cells({"DSP48E2": 3, "LUT6": 10, "LUT2": 5, "INV": 1, "FDRE": 7, "FDSE": 1,
                               "CARRY8": 2, "SRL16E": 4, "RAMB36E2": 1, "RAMB18E2": 2})
    assert (r["dsp"], r["lut"], r["ff"], r["carry"], r["srl"], r["bram36"]) == (3, 16, 8, 2, 4, 2)


@pytest.mark.slow
def test_sfu_add_scales_with_lanes(tmp_path):
    rep = _report()
    one = rep.synth_block("sfu_add", {"SFU_LANES": 1}, tmp_path / "l1")
    two = rep.synth_block("sfu_add", {"SFU_LANES": 2}, tmp_path / "l2")
    # the MoE weight multiply (32 x 17 bits) maps to DSP48E2 slices, one set per lane
    assert one["dsp"] > 0 and two["dsp"] == 2 * one["dsp"]
    assert two["lut"] > one["lut"] > 0 and two["ff"] > one["ff"] > 0
