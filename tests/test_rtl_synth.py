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
