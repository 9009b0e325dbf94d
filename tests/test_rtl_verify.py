"""`codesign verify` on the quick designs of hw/rtl/designs (issue 20.3): a design whose buffers
cannot hold the SmolLM2-135M layer runs a small random layer instead and says so; a layer that
fits nowhere is an error that names what to change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codesign.design import load_design
from codesign.errors import CodesignError
from codesign.gen.rtl.verify import QUICK_DIMS, choose_layer

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ROOT / "hw" / "rtl" / "designs"


def test_layer_choice_per_design():
    assert choose_layer(load_design(DESIGNS / "small.json"), 16, None) == (None, None)   # SmolLM2 fits
    dims, note = choose_layer(load_design(DESIGNS / "tiny.json"), 16, None)
    assert dims == QUICK_DIMS
    assert "does not fit" in note and "hw.abuf_depth" in note and f"--random {QUICK_DIMS}" in note
    assert choose_layer(load_design(DESIGNS / "tiny.json"), 6, QUICK_DIMS) == (QUICK_DIMS, None)


def test_layer_that_fits_nowhere_says_what_to_do():
    tiny = load_design(DESIGNS / "tiny.json")
    with pytest.raises(CodesignError, match="hw.kvbuf_depth") as e:   # 16 keys; the quick layer too
        choose_layer(tiny, 40, None)
    assert "small.json" in str(e.value) and "--random" in str(e.value) and "--context" in str(e.value)
    with pytest.raises(CodesignError, match="hw.abuf_depth") as e:    # an explicit layer is not replaced
        choose_layer(tiny, 6, "d_model=512,n_heads=8,n_kv_heads=2,head_dim=64,d_ffn=1024")
    assert "smaller --random" in str(e.value)


@pytest.mark.sim
@pytest.mark.parametrize("sim", [pytest.param("icarus", marks=pytest.mark.slow), pytest.param("verilator", marks=pytest.mark.slow)])
def test_quick_design_verifies_as_documented(sim, tmp_path):
    """The README's quick run: `codesign verify --design hw/rtl/designs/tiny.json --sim SIM`."""
    env = {**os.environ, "CODESIGN_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "codesign", "verify", "--design", str(DESIGNS / "tiny.json"), "--sim", sim]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "PASS" in r.stdout and "note: smollm2-135m layer 0 does not fit this design" in r.stdout
    assert f"--random {QUICK_DIMS}" in r.stdout
    r = subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env, timeout=900)
    out = json.loads(r.stdout[r.stdout.index("{\n"):])
    assert r.returncode == 0 and out["passed"] and "random layer" in out["note"]
    assert len(out["report"]["steps"]) == 17
