"""The committed SFU lookup tables (hw/rtl/sfu/sfu_tables.v) match the golden constants."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from codesign.quant import numerics as nm

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "hw" / "rtl" / "sfu" / "sfu_tables.v"


def _rom(module: str) -> dict[int, int]:
    text = TABLES.read_text()
    body = text.split(f"module {module} (")[1].split("endmodule")[0]
    return {int(i): int(v) for i, v in re.findall(r"'d(\d+): val = \d+'d(\d+);", body)}


def test_committed_tables_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "hw/rtl/sfu/gen_tables.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_rom_contents_equal_golden_tables():
    exp = _rom("sfu_exp_lut")
    assert [exp[i] for i in range(len(nm.EXP_LUT))] == nm.EXP_LUT.tolist()
    sig = _rom("sfu_sig_lut")
    assert [sig[i] for i in range(len(nm.SIG_LUT))] == nm.SIG_LUT.tolist()
    isq = _rom("sfu_isqrt_lut")
    base = 1 << (nm.ISQRT_LUT_BITS - 2)
    assert [isq[base + j] for j in range(len(nm.ISQRT_LUT))] == nm.ISQRT_LUT.tolist()
    assert np.all(nm.SIG_LUT < (1 << 16))   # the ROM is 16 bits wide
