"""`codesign synth`: Yosys counts for a small MPE, slice scaling, argument errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


from codesign.gen.rtl.synth import mpe_slice


def test_mpe_slice_halves_rows_then_cols():
    p = dict(ROWS=32, COLS=64, WBITS=4, ABITS=8, GROUP=128, SCALE_BITS=16, ZP=0)
    s = mpe_slice(p, 128)
    assert (s["ROWS"], s["COLS"]) == (2, 64)
    s = mpe_slice(p, 16)
    assert (s["ROWS"], s["COLS"]) == (1, 16)
    assert mpe_slice(dict(p, ROWS=2, COLS=4), 128) == dict(p, ROWS=2, COLS=4)


def _design(tmp_path, **hw):
    d = {"model": "smollm2-135m", "device": "u280", "quant": {"wbits": 4, "abits": 8, "group": 32},
         "hw": {"rows": 1, "cols": 4, "sfu_lanes": 1, **hw}}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(d))
    return path


@pytest.mark.slow
def test_synth_mpe_counts(tmp_path):
    path = _design(tmp_path)
    out = subprocess.run([sys.executable, "-m", "codesign", "synth", "--design", str(path),
                          "--blocks", "mpe", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 1 and rows[0]["block"] == "mpe"
    r = rows[0]
    # 4 lanes of W4xA8 plus one group-scale multiplier: Yosys maps multipliers to DSP48E2
    assert r["dsp"] >= 1 and r["lut"] > 10 and r["ff"] > 50
    assert r["scaled_from"] is None


def test_synth_bad_blocks(tmp_path):
    path = _design(tmp_path)
    out = subprocess.run([sys.executable, "-m", "codesign", "synth", "--design", str(path),
                          "--blocks", "mpe,gpu"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "--blocks" in out.stderr and "mpe" in out.stderr


def test_synth_cols_group_mismatch(tmp_path):
    path = _design(tmp_path, cols=48)
    out = subprocess.run([sys.executable, "-m", "codesign", "synth", "--design", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "hw.cols" in out.stderr


@pytest.mark.slow
def test_synth_weight_beat_against_the_model(tmp_path):
    """weight_beat.v of a W4/W8 design (hw/rtl/designs/tiny_w4w8.json): Yosys LUT within 15% of the model's
    terms (a 2:1 mux per wide-lane bit), FF exactly the gathered word's registers and the word counter;
    the MPE is built at the wider mode (W8 lanes); a one-mode design's weight_beat is a wire (no cells)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "codesign", "synth", "--design",
                          str(root / "hw/rtl/designs/tiny_w4w8.json"), "--design", str(root / "hw/rtl/designs/tiny.json"),
                          "--blocks", "wbeat", "--json"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    mixed, one = json.loads(out.stdout)
    assert mixed["params"]["WBITS_HI"] == 8 and mixed["model"]["ff"] == 2 * 8 * 4 + 8
    assert mixed["ff"] == mixed["model"]["ff"]
    assert abs(mixed["lut"] - mixed["model"]["lut"]) <= 0.15 * mixed["lut"]
    assert (one["lut"], one["ff"], one["model"]["lut"]) == (0, 0, 0)
    from codesign.design import load_design
    from codesign.gen.rtl.params import mpe_params
    assert mpe_params(load_design(root / "hw/rtl/designs/tiny_w4w8.json"))["WBITS"] == 8
